#!/usr/bin/env bash
# test_04_interrupt: Ctrl-C in the middle of staging leaves no image folder, no half-made cache
# entry and no mounts; the next build of the same app succeeds from the cache as it stands.
. "$(dirname "$0")/lib.sh"

# An ad-hoc app whose root is not staged yet (bc), so the build spends seconds in mmdebstrap.
stage_dir="$TINYX_CACHE/stage"
# Only this test stages bc: drop a root left by an earlier run so there is staging to interrupt.
for d in "$stage_dir"/*/root/var/lib/dpkg/info/bc.list; do
    [ -e "$d" ] && rm -rf "${d%/root/var/lib/dpkg/info/bc.list}"
done
"$TINYX" build -o "$WORK/bc" --package bc --cmd 'bc --version' >"$WORK/int.out" 2>"$WORK/int.err" &
pid=$!
for _ in $(seq 1 600); do
    grep -q 'stage: mmdebstrap' "$WORK/int.err" 2>/dev/null && break
    sleep 0.1
done
if ! grep -q 'stage: mmdebstrap' "$WORK/int.err"; then
    kill -INT $pid 2>/dev/null; wait $pid
    skip "the bc root was already staged: nothing to interrupt (clear $stage_dir to rerun)"
    finish; exit $?
fi
sleep 3
kill -INT $pid
wait $pid
RC=$?
expect_rc int 130 "interrupted build exits 130"
expect_text int err "interrupted: nothing was written" "says what happened"
[ ! -e "$WORK/bc" ] && pass "no image folder" || fail "image folder exists after interrupt"
left=$(find "$stage_dir" "$TINYX_CACHE/work" -maxdepth 1 -name '*.tmp-*' 2>/dev/null | wc -l)
[ "$left" -eq 0 ] && pass "no temp folders left in the cache" || fail "$left temp folders left in the cache"
if grep -q "$TINYX_CACHE" /proc/self/mountinfo; then fail "mounts left under the cache"; grep "$TINYX_CACHE" /proc/self/mountinfo | head -3; else pass "no mounts left under the cache"; fi
# The cache is still valid: the same build now completes.
run again "$TINYX" build -o "$WORK/bc" --package bc --cmd 'bc --version'
expect_rc again 0 "the build after the interrupt succeeds"
finish
