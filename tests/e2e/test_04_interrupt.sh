#!/usr/bin/env bash
# test_04_interrupt: Ctrl-C in the middle of staging, of the kernel build and of the image write
# leaves no image folder, no half-made cache entry and no mounts, and says which stage it
# stopped; the next build of the same app succeeds from the cache as it stands.
. "$(dirname "$0")/lib.sh"

# An ad-hoc app whose root is not staged yet (bc), so the build spends seconds in mmdebstrap.
stage_dir="$TINYX_CACHE/stage"
# Only this test stages bc: drop a root left by an earlier run so there is staging to interrupt.
for d in "$stage_dir"/*/root/var/lib/dpkg/info/bc.list; do
    [ -e "$d" ] && rm -rf "${d%/root/var/lib/dpkg/info/bc.list}"
done

# interrupt_at NAME REGEX WAIT DELAY CMD...: start a build, send SIGINT DELAY s after its
# stderr matches REGEX (within WAIT s); sets RC. False (a failure) when the line never came.
interrupt_at() {
    local name=$1 re=$2 wait=$3 delay=$4 pid
    shift 4
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    pid=$!
    for _ in $(seq $((wait * 10))); do
        grep -Eq "$re" "$WORK/$name.err" 2>/dev/null && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -Eq "$re" "$WORK/$name.err"; then
        kill -INT $pid 2>/dev/null; wait $pid
        fail "$name: the build never printed /$re/ within $wait s: nothing was interrupted"; show "$name"
        return 1
    fi
    sleep "$delay"
    kill -INT $pid
    wait $pid
    RC=$?
}
no_leftovers() { # WHAT
    local left
    left=$(find "$TINYX_CACHE/stage" "$TINYX_CACHE/work" "$TINYX_CACHE/kernel/built" -maxdepth 1 \
        -name '*.tmp-*' 2>/dev/null | wc -l)
    [ "$left" -eq 0 ] && pass "$1: no temp folders left in the cache" || fail "$1: $left temp folders left"
    if grep -q "$TINYX_CACHE" /proc/self/mountinfo; then
        fail "$1: mounts left under the cache"; grep "$TINYX_CACHE" /proc/self/mountinfo | head -3
    else
        pass "$1: no mounts left"
    fi
}

# Staging: the bc root was removed above, so the build must stage (within 60 s).
if interrupt_at int 'stage: mmdebstrap' 60 3 "$TINYX" build -o "$WORK/bc" --package bc --cmd 'bc --version'; then
    expect_rc int 130 "interrupted build exits 130"
    expect_text int err "interrupted during stage: nothing was written" "says what happened, and in which stage"
    [ ! -e "$WORK/bc" ] && pass "no image folder" || fail "image folder exists after interrupt"
    no_leftovers stage
fi
# The cache is still valid: the same build now completes.
run again "$TINYX" build -o "$WORK/bc" --package bc --cmd 'bc --version'
expect_rc again 0 "the build after the interrupt succeeds"

# The kernel build: a config no run built before (a hostname of its own), stopped while make runs.
cat >"$WORK/kint.yaml" <<EOF
name: kint
packages: [hello]
cmd: [/usr/bin/hello]
kernel:
  options: ['DEFAULT_HOSTNAME="t04-$$-$RANDOM"']
EOF
if interrupt_at kint 'kernel: building Linux' 300 3 "$TINYX" build -o "$WORK/kint" "$WORK/kint.yaml"; then
    expect_rc kint 130 "a build interrupted in its kernel build exits 130"
    expect_text kint err "interrupted during kernel: nothing was written" "and says it stopped in the kernel stage"
    [ ! -e "$WORK/kint" ] && pass "kernel: no image folder" || fail "kernel: image folder exists after interrupt"
    if grep -rqs "t04-$$" "$TINYX_CACHE"/kernel/built/*/config 2>/dev/null; then
        fail "kernel: a cache entry exists for the interrupted config"
    else
        pass "kernel: no cache entry for the interrupted config"
    fi
    if pgrep -f "$TINYX_CACHE/kernel/obj" >/dev/null; then fail "kernel: make still runs after the interrupt"; else pass "kernel: no make left running"; fi
    no_leftovers kernel
fi

# The image write: nginx's initrd (zstd -19 of ~11 MiB: seconds), stopped once the kernel is done.
if interrupt_at img '^tinyx: kernel ' 300 0.5 "$TINYX" build -o "$WORK/img" nginx; then
    expect_rc img 130 "a build interrupted while writing its image exits 130"
    expect_text img err "interrupted during image: nothing was written" "and says it stopped in the image stage"
    [ ! -e "$WORK/img" ] && pass "image: no image folder" || fail "image: a folder exists after interrupt"
    [ -z "$(ls -A "$WORK" | grep '^img\.tmp-')" ] && pass "image: no half-written folder beside it" || fail "image: $(ls "$WORK" | grep '^img\.tmp-') left"
    no_leftovers image
fi
finish
