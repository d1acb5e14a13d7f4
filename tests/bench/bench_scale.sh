#!/usr/bin/env bash
# bench_scale.sh: LightVM's scale figures: create and boot time of instance i = 1..N, all kept alive.
# Started by tests/bench/run (make bench, or tests/bench/run --parts scale); options arrive in the
# environment and the scratch folder $WORK belongs to run. Series, each one run, the idle test
# guest (out/guests/idle: boot-timer byte, then HLT with interrupts on) kept alive to the end:
#   qemu             a qemu-system-x86_64 -M microvm process per VM (TCG where KVM cannot run
#                    it), as many as memory allows (capped by --qemu-max)
#   tinyx-kvm        a plain tinyx-kvm process per VM, nothing prepared
#   daemon-pool0     `tinyx daemon --pool 0`: every create builds a fresh VM shell
#   daemon-prepared  `tinyx daemon --pool K`: creates take prepared shells (split toolstack)
#   runc             the container peer, cold: `runc run` of a static program that signals ready
#                    the same way (a byte on a descriptor), median of several runs, none kept
#   runc-prepared    the like-for-like peer of prepared shells: each container made ahead
#                    (`runc create`, untimed), then `runc start` timed to the same byte
# Where this host's KVM cannot run the guests (no /dev/kvm, kvm_pvm), the whole part runs in a
# nested L1 (tests/nested/kvm-l1), where QEMU gets the same KVM as tinyx-kvm and runc runs too.
# Writes $OUT/scale.csv (one row per instance per series), $OUT/scale-summary.csv and
# $OUT/scale.png; logs under $OUT/logs/scale-*. Nothing it starts outlives it (trap on exit).
# Environment (run sets the first two): BENCH_SCALE_N (instances per series, default 1000),
# BENCH_QEMU_MAX (default 500), BENCH_SCALE_POOL (prepared shells, default N),
# BENCH_RUNC_RUNS (container starts, default 20).
set -u -o pipefail

for v in ROOT B OUT WORK; do
    if [ -z "${!v+set}" ]; then
        echo "bench_scale.sh: \$$v is not set: start the benchmark with tests/bench/run --parts scale (or make bench)" >&2
        exit 2
    fi
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
N=${BENCH_SCALE_N:-1000}
QEMU_MAX=${BENCH_QEMU_MAX:-500}
POOL=${BENCH_SCALE_POOL:-$N}   # prepared shells of the daemon-prepared series (all N: see below)
RUNC_RUNS=${BENCH_RUNC_RUNS:-20}
GUEST="$ROOT/out/guests/idle"
KVM="$B/bin/tinyx-kvm"
TINYX="$B/bin/tinyx"
LOGS="$OUT/logs"
CSV="$OUT/scale.csv"
SUMMARY="$OUT/scale-summary.csv"
PNG="$OUT/scale.png"
S="$WORK/scale"                 # scratch: tools, logs of each instance, the runc bundle
MEM_MIB=16                      # guest RAM of every VM (the idle guest's manifest asks 16)
GOAL_CREATE_US=1000             # prepared median create < 1 ms
GOAL_SCALE_RATIO=1.2            # the 1000th create at most 1.2x the first
GOAL_MEM_KB=1953                # idle guest at most 2 MB host memory each (10^6 bytes: stricter)
T_START=$EPOCHREALTIME

. "$ROOT/tests/nested/lib.sh"
if [ -z "${TINYX_NESTED_L1:-}" ] && ! nested_host_kvm_runs_linux; then
    echo "bench: [scale] inside a nested L1, because $(nested_why_l1): QEMU gets the same KVM as tinyx-kvm" >&2
    exec "$ROOT/tests/nested/kvm-l1" --mem "${BENCH_SCALE_L1_MEM:-12288}" --timeout 5400 --rw "$OUT" -- bash "$0"
fi

STEP_PID=""       # the foreground step (driver, client), stopped first on a signal
DAEMON_PID=""     # a running `tinyx daemon`
DAEMON_VM_PIDS="" # file with the pids of its VMs (from the create replies)
RUNC_ROOT=""      # runc's state folder while the runc series runs

for v in N QEMU_MAX POOL RUNC_RUNS; do
    case "${!v}" in '' | *[!0-9]* | 0*) echo "bench: error: scale: $v wants a whole number >= 1, not '${!v}'" >&2; exit 2 ;; esac
done

# --- helpers ----------------------------------------------------------------------------------

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[%7.1f s] scale: %s\n' "$(since "$T_START")" "$*" >&2; }

# fail MESSAGE [LOG]: stop with a message and the end of the step's log (the trap cleans up).
fail() {
    echo "bench: error: scale: $1" >&2
    if [ $# -ge 2 ] && [ -s "$2" ]; then
        echo "bench: last lines of $2:" >&2
        tail -n 15 "$2" | sed 's/^/    | /' >&2
    fi
    exit 1
}

# stop_pid PID GRACE: SIGTERM, then SIGKILL after GRACE seconds; reaps it if it is our child.
stop_pid() {
    local pid=$1 grace=$2 t
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for ((t = 0; t < grace * 10; t++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# stop_daemon: destroy its VMs, stop it, and make sure none of its VM processes survived (its
# shells die with it by PR_SET_PDEATHSIG; this checks, by their --parent-pid argument).
stop_daemon() {
    local pid dpid=$DAEMON_PID left=0
    [ -n "$dpid" ] || return 0
    if kill -0 "$dpid" 2>/dev/null &&
        ! timeout 60 "$TINYX" destroy --all --socket "$S/daemon.sock" >>"$LOGS/scale-daemon.log" 2>&1 &&
        kill -0 "$dpid" 2>/dev/null; then
        echo "bench: warning: scale: tinyx destroy --all failed; stopping the daemon anyway" >&2
    fi
    stop_pid "$dpid" 20
    DAEMON_PID=""
    if [ -n "$DAEMON_VM_PIDS" ] && [ -s "$DAEMON_VM_PIDS" ]; then
        while read -r pid; do
            if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
                tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--parent-pid $dpid "; then
                kill -KILL "$pid" 2>/dev/null && left=$((left + 1))
            fi
        done <"$DAEMON_VM_PIDS"
        [ "$left" -eq 0 ] || echo "bench: error: scale: $left VM process(es) outlived the daemon; killed them" >&2
    fi
    DAEMON_VM_PIDS=""
}

# stop_runc: delete whatever container is left in our private runc state folder.
stop_runc() {
    local id
    [ -n "$RUNC_ROOT" ] && [ -d "$RUNC_ROOT" ] || return 0
    for id in $("$RUNC_BIN" --root "$RUNC_ROOT" list -q 2>/dev/null); do
        "$RUNC_BIN" --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 ||
            echo "bench: error: scale: cannot delete runc container $id (runc --root $RUNC_ROOT delete -f $id)" >&2
    done
    RUNC_ROOT=""
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "$STEP_PID" ] && stop_pid "$STEP_PID" 30
    stop_daemon
    stop_runc
    rm -rf --one-file-system "$S" "$CSV.tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench: scale: interrupted, cleaning up" >&2; exit 130' INT TERM

# step CMD...: run a command in the background (so that a signal reaches the script at once)
# and return its status.
step() {
    local rc
    "$@" &
    STEP_PID=$!
    wait "$STEP_PID"
    rc=$?
    STEP_PID=""
    return "$rc"
}

# median: of the numbers on stdin (empty when there are none).
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit
        if (NR % 2) printf "%.0f\n", v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# column SERIES NAME: the values of one column of scale.csv for one series, in instance order.
column() {
    awk -F, -v s="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
        $1 == s && $k != "" { print $k }' "$CSV.tmp"
}

# mem_of PIDFILE: "COUNT PSS_KB RSS_KB" summed over the live processes listed in PIDFILE.
mem_of() {
    local pid key val n=0 pss=0 rss=0
    while read -r pid; do
        [ -r "/proc/$pid/smaps_rollup" ] || continue
        n=$((n + 1))
        while read -r key val _; do
            case "$key" in Pss:) pss=$((pss + val)) ;; Rss:) rss=$((rss + val)) ;; esac
        done <"/proc/$pid/smaps_rollup"
    done <"$1"
    echo "$n $pss $rss"
}

memavail_kb() { awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.2f", a / b }'; }
ms() { awk -v u="$1" 'BEGIN { if (u == "") print "-"; else printf "%.2f", u / 1000 }'; }

# --- prerequisites ----------------------------------------------------------------------------

mkdir -p "$S" "$LOGS" || fail "cannot create $S or $LOGS"
rm -f "$LOGS"/scale-*
[ -f "$GUEST/kernel" ] || fail "$GUEST/kernel is missing: run make (it builds the test guests, idle among them)"
command -v gnuplot >/dev/null || fail "gnuplot is missing: run make deps"
command -v jq >/dev/null || fail "jq is missing: run make deps"
CC=${CC:-cc}
"$CC" -std=c11 -O2 -Wall -Wextra -Werror -Wshadow -o "$S/scale_spawn" "$HERE/scale_spawn.c" \
    >"$LOGS/scale-build.log" 2>&1 || fail "cannot build tests/bench/scale_spawn.c" "$LOGS/scale-build.log"
SPAWN="$S/scale_spawn"
CMDLINE=$(cat "$GUEST/cmdline" 2>/dev/null || echo "console=ttyS0")

KVM_OK=0 KVM_WHY=""
if [ ! -x "$KVM" ]; then
    KVM_WHY="$KVM is missing (run make)"
elif [ ! -c /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    KVM_WHY="no usable /dev/kvm on this host"
else
    KVM_OK=1
fi
if [ -d /sys/module/kvm_pvm ] || [ "$KVM_OK" = 0 ]; then
    QEMU_ACCEL=(-accel tcg -cpu max) QEMU_ACCEL_NAME=tcg
else
    QEMU_ACCEL=(-accel kvm -cpu host) QEMU_ACCEL_NAME=kvm
fi
QEMU_BIN=$(command -v qemu-system-x86_64 || true)
RUNC_BIN=$(command -v runc || true)

echo "series,i,create_us,boot_us,pid,shell" >"$CSV.tmp"
: >"$S/mem.txt" # SERIES ALIVE PSS_KB RSS_KB MEMAVAIL_DROP_KB EXTRA_PSS_KB NOTE...
SKIPPED=""       # "series: reason" lines

say "N = $N instances per series, idle guest ($GUEST), $MEM_MIB MiB each; host: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
if awk -v n="$(nproc)" '{ exit !($1 > n) }' /proc/loadavg; then
    say "warning: the host is busy (load above its $(nproc) CPUs): expect noisy timings; compare series side by side"
fi

# settle: a pause between series, so that the last one's teardown (processes exiting, KVM
# freeing its VMs) is not timed as part of the next.
settle() { sleep 2; }

# --- process-per-VM series (scale_spawn) ------------------------------------------------------

# spawn_series SERIES COUNT [DRIVER OPTIONS] -- CMD...: COUNT instances in a row, all held
# alive by scale_spawn; writes its "i,boot_us,pid" rows to $S/SERIES.rows and adds a line to
# mem.txt (memory measured by the driver once all are up).
spawn_series() {
    local series=$1 count=$2
    shift 2
    local extra=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do extra+=("$1"); shift; done
    shift
    mkdir -p "$S/$series-logs"
    step "$SPAWN" --hold --label "$series" --logs "$S/$series-logs" --summary "$S/$series.sum" \
        "${extra[@]+"${extra[@]}"}" "$count" -- "$@" >"$S/$series.rows" 2>"$LOGS/scale-$series.log"
    local rc=$?
    # The driver's progress lines belong on the console too.
    grep '^bench: \[scale\]' "$LOGS/scale-$series.log" >&2
    [ "$rc" -eq 130 ] && exit 130
    [ "$rc" -eq 0 ] || fail "$series: the series failed (see above; instance logs were in $S/$series-logs)" "$LOGS/scale-$series.log"
    local started alive pss rss b a
    started=$(awk '$1 == "started" { print $2 }' "$S/$series.sum")
    alive=$(awk '$1 == "alive" { print $2 }' "$S/$series.sum")
    pss=$(awk '$1 == "pss_kb" { print $2 }' "$S/$series.sum")
    rss=$(awk '$1 == "rss_kb" { print $2 }' "$S/$series.sum")
    b=$(awk '$1 == "memavail_before_kb" { print $2 }' "$S/$series.sum")
    a=$(awk '$1 == "memavail_after_kb" { print $2 }' "$S/$series.sum")
    echo "$series $alive $pss $rss $((b - a)) 0 started=$started" >>"$S/mem.txt"
}

# tinyx-kvm: the monitor's own milestones (--timing, printed when it is stopped) split the
# driver's fork -> boot-timer byte into create (fork -> VM and vCPU created) and the guest's run.
if [ "$KVM_OK" = 1 ]; then
    say "tinyx-kvm: $N processes, one VM each, kept alive"
    settle
    spawn_series tinyx-kvm "$N" -- "$KVM" --kernel "$GUEST/kernel" --mem "$MEM_MIB" \
        --cmdline "$CMDLINE" --timer-fd 3 --timing
    # create_us = boot_us - (boot_timer_us - created_us): the guest's part, timed by the
    # monitor, taken off the driver's fork -> byte. One awk over the instances' stderr files.
    # shellcheck disable=SC2016 # an awk program
    find "$S/tinyx-kvm-logs" -name '*.err' -print0 | xargs -0 -r awk '
        function num(key) {
            if (!match($0, "\"" key "\":[0-9]+")) return ""
            return substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
        }
        /"tinyx_kvm_timing"/ { f = FILENAME; sub(/.*\//, "", f); sub(/\.err$/, "", f)
                               print f, num("created_us"), num("boot_timer_us") }' >"$S/tinyx-kvm.timing"
    [ -s "$S/tinyx-kvm.timing" ] || fail "tinyx-kvm printed no --timing line (see $LOGS/scale-tinyx-kvm.log)"
    awk -F, -v OFS=, 'NR == FNR { split($0, t, " "); created[t[1]] = t[2]; timer[t[1]] = t[3]; next }
        { c = ($1 in timer && timer[$1] != "" && created[$1] != "") ? $2 - (timer[$1] - created[$1]) : ""
          print "tinyx-kvm", $1, c, $2, $3, "" }' "$S/tinyx-kvm.timing" "$S/tinyx-kvm.rows" >>"$CSV.tmp"
else
    SKIPPED+="tinyx-kvm: skipped: $KVM_WHY"$'\n'
    say "tinyx-kvm: skipped: $KVM_WHY"
fi

# QEMU: as many as memory allows. A probe of 3 measures one QEMU's RSS; the series keeps
# max(2 GiB, 15% of RAM) free (and stops early if the host's MemAvailable falls below it).
QEMU_N=0
if [ -n "$QEMU_BIN" ]; then
    # shellcheck disable=SC2054 # the commas belong to QEMU's option values
    QEMU_CMD=("$QEMU_BIN" -M microvm,acpi=off "${QEMU_ACCEL[@]}" -m "$MEM_MIB" -nodefaults
        -no-user-config -display none -serial null -monitor none -no-reboot
        -kernel "$GUEST/kernel" -append "$CMDLINE"
        -device isa-debug-exit,iobase=0xf4,iosize=0x01
        -chardev file,id=bt,path=/dev/fd/3 -device isa-debugcon,iobase=0x3f0,chardev=bt)
    settle
    mkdir -p "$S/qemu-probe-logs"
    step "$SPAWN" --hold --label qemu-probe --logs "$S/qemu-probe-logs" --summary "$S/qemu-probe.sum" \
        3 -- "${QEMU_CMD[@]}" >/dev/null 2>"$LOGS/scale-qemu-probe.log"
    rc=$?
    [ "$rc" -eq 130 ] && exit 130
    [ "$rc" -eq 0 ] || fail "QEMU cannot run the idle guest (3-instance probe)" "$S/qemu-probe-logs/1.err"
    rss_each=$(awk '$1 == "rss_kb" { r = $2 } $1 == "alive" { n = $2 } END { if (n) printf "%d", r / n }' "$S/qemu-probe.sum")
    total=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
    reserve=$((total * 15 / 100))
    [ "$reserve" -lt 2097152 ] && reserve=2097152
    fit=$((($(memavail_kb) - reserve) / rss_each))
    [ "$fit" -lt 0 ] && fit=0
    QEMU_N=$fit
    # In a nested L1, ~50 idle QEMUs saturate its two emulated CPUs (the next one does not boot
    # within 30 s): at most 40 there, whatever --qemu-max says.
    if [ -n "${TINYX_NESTED_L1:-}" ] && [ "$QEMU_MAX" -gt 40 ]; then
        say "qemu: at most 40 in the nested L1 (more saturate its emulated CPUs), not --qemu-max $QEMU_MAX"
        QEMU_MAX=40
    fi
    [ "$QEMU_N" -gt "$QEMU_MAX" ] && QEMU_N=$QEMU_MAX
    [ "$QEMU_N" -gt "$N" ] && QEMU_N=$N
    QEMU_NOTE="memory allows $fit at $((rss_each / 1024)) MiB RSS each (keeping $((reserve / 1024)) MiB free); --qemu-max $QEMU_MAX"
    say "qemu ($QEMU_ACCEL_NAME): $QEMU_N processes ($QEMU_NOTE)"
    if [ "$QEMU_N" -ge 1 ]; then
        spawn_series qemu "$QEMU_N" --min-avail-mb $((reserve / 1024)) -- "${QEMU_CMD[@]}"
        # QEMU has no separate create phase to time from outside: create = fork -> the byte.
        awk -F, '{ print "qemu," $1 "," $2 "," $2 "," $3 "," }' "$S/qemu.rows" >>"$CSV.tmp"
        short=$(awk '$1 == "short_reason" && $2 != "-" { $1 = ""; print }' "$S/qemu.sum")
        [ -n "$short" ] && say "qemu: stopped early:$short"
    else
        SKIPPED+="qemu: skipped: not enough free memory for one more QEMU ($QEMU_NOTE)"$'\n'
    fi
else
    SKIPPED+="qemu: skipped: qemu-system-x86_64 not found (make deps installs qemu-system-x86)"$'\n'
    say "qemu: skipped: qemu-system-x86_64 not found (make deps)"
fi

# --- the daemon: pool 0 (nothing prepared) and pool K (prepared shells) -------------------------

# daemon_stat FIELD: one number from `tinyx stats --json` (empty when it does not answer).
daemon_stat() {
    timeout 20 "$TINYX" stats --json --socket "$S/daemon.sock" 2>/dev/null | jq -r ".$1 // empty" 2>/dev/null
}

# wait_prepared K SECONDS: until the daemon has K prepared shells; false on timeout.
wait_prepared() {
    local want=$1 limit=$2 t0=$SECONDS got
    while :; do
        got=$(daemon_stat prepared)
        [ "${got:-0}" -ge "$want" ] && return 0
        [ $((SECONDS - t0)) -ge "$limit" ] && return 1
        sleep 0.5
    done
}

# daemon_series SERIES POOL: start `tinyx daemon --pool POOL` on a private socket, wait until
# the pool is full, create N VMs over one connection (`tinyx create --count N --json`), measure
# the VM processes' memory, destroy them all, stop the daemon.
daemon_series() {
    local series=$1 pool=$2 log="$LOGS/scale-$1.log" out="$S/$1.json" t0 n shown=0 base after
    settle
    say "$series: tinyx daemon --pool $pool; $N creates over one connection, all kept alive"
    rm -f "$S/daemon.sock"
    "$TINYX" daemon --socket "$S/daemon.sock" --pool "$pool" --mem "$MEM_MIB" --image "$GUEST" \
        >"$log" 2>&1 &
    DAEMON_PID=$!
    t0=$SECONDS
    until grep -qs 'daemon ready on' "$log"; do
        kill -0 "$DAEMON_PID" 2>/dev/null || fail "$series: tinyx daemon exited before it was ready" "$log"
        [ $((SECONDS - t0)) -lt 60 ] || fail "$series: tinyx daemon not ready after 60 s" "$log"
        sleep 0.1
    done
    local shells_note=""
    if [ "$pool" -gt 0 ]; then
        wait_prepared "$pool" 600 || fail "$series: the daemon did not prepare $pool shells within 10 minutes (it has $(daemon_stat prepared))" "$log"
        say "$series: $pool shells prepared in $((SECONDS - t0)) s"
        # What the prepared shells cost while they wait (no VM created yet: every child of the
        # daemon is a shell): part of the split toolstack's price, counted.
        sleep 0.5
        pgrep -P "$DAEMON_PID" >"$S/$series.shells" || true
        local sn spss
        read -r sn spss _ <<<"$(mem_of "$S/$series.shells")"
        shells_note="idle_shells=$sn idle_shells_pss_kb=$spss"
        say "$series: $sn prepared shells idle: PSS $((spss / 1024)) MiB total, $((spss / (sn > 0 ? sn : 1))) KiB each"
    fi
    base=$(memavail_kb)
    DAEMON_VM_PIDS="$S/$series.pids"
    : >"$DAEMON_VM_PIDS"
    # stdbuf: one reply line at a time, so the progress below follows the creates.
    local buf=()
    command -v stdbuf >/dev/null && buf=(stdbuf -oL)
    "${buf[@]+"${buf[@]}"}" "$TINYX" create "$GUEST" --json --count "$N" --mem "$MEM_MIB" \
        --socket "$S/daemon.sock" >"$out" 2>"$S/$series.err" &
    STEP_PID=$!
    while kill -0 "$STEP_PID" 2>/dev/null; do
        n=$(grep -c '"create_us"' "$out" 2>/dev/null)
        if [ "${n:-0}" -ge $((shown + 100)) ]; then
            shown=$((n / 100 * 100))
            say "$series: $n/$N created"
        fi
        sleep 0.5
    done
    wait "$STEP_PID"
    local rc=$?
    STEP_PID=""
    jq -r 'select(.pid != null) | .pid' "$out" >"$DAEMON_VM_PIDS" 2>/dev/null
    [ "$rc" -eq 0 ] || { cat "$S/$series.err" >>"$log"; fail "$series: tinyx create --count $N failed (exit $rc)" "$log"; }
    # Instances are numbered in reply order (the creates are sequential).
    jq -r --arg s "$series" 'select(.create_us != null) |
        [$s, "", (.create_us | tostring), ((.boot_us // "") | tostring), (.pid | tostring),
         (.shell // "")] | join(",")' "$out" | awk -F, -v OFS=, '{ $2 = NR; print }' >"$S/$series.rows" ||
        fail "$series: cannot read the create replies ($out)" "$log"
    cat "$S/$series.rows" >>"$CSV.tmp"
    n=$(wc -l <"$S/$series.rows")
    [ "$n" -eq "$N" ] || fail "$series: $n of $N creates answered" "$log"
    say "$series: $N created in $((SECONDS - t0)) s since the daemon started"
    # Memory: the VMs' processes, and the daemon itself (reported apart). The pool refills in
    # the background; wait for it, so that MemAvailable compares like with like.
    [ "$pool" -gt 0 ] && { wait_prepared "$pool" 300 || say "$series: warning: the pool did not refill to $pool within 5 minutes"; }
    sleep 0.5
    read -r alive pss rss <<<"$(mem_of "$DAEMON_VM_PIDS")"
    after=$(memavail_kb)
    echo "$DAEMON_PID" >"$S/daemon.pid"
    read -r _ dpss _ <<<"$(mem_of "$S/daemon.pid")"
    echo "$series $alive $pss $rss $((base - after)) $dpss pool=$pool $shells_note" >>"$S/mem.txt"
    say "$series: $alive of $N VM processes alive; PSS $((pss / 1024)) MiB total; daemon PSS $((dpss / 1024)) MiB"
    [ "$alive" -eq "$N" ] || fail "$series: only $alive of $N VMs were still running" "$log"
    stop_daemon
}

DAEMON_OK=0 DAEMON_WHY=""
if [ "$KVM_OK" = 0 ]; then
    DAEMON_WHY=$KVM_WHY
elif [ ! -x "$TINYX" ] || ! "$TINYX" daemon --help >/dev/null 2>&1; then
    DAEMON_WHY="daemon not available (\`$TINYX daemon --help\` fails: build the daemon, docs/daemon.md)"
else
    DAEMON_OK=1
fi
if [ "$DAEMON_OK" = 1 ]; then
    daemon_series daemon-pool0 0
    # Prepared shells for all N creates: the pool refills in the background, but on 2 CPUs not
    # as fast as a create takes one, so a smaller pool would measure fresh shells after a while.
    daemon_series daemon-prepared "$POOL"
else
    SKIPPED+="daemon-pool0: skipped: $DAEMON_WHY"$'\n'"daemon-prepared: skipped: $DAEMON_WHY"$'\n'
    say "daemon series skipped: $DAEMON_WHY"
fi

# --- runc: the container peer ------------------------------------------------------------------

# runc_series: RUNC_RUNS container starts one after the other; sets RUNC_MED. On failure it
# says why (with the end of the log) and returns 1: the VM series are still reported.
runc_series() {
    local log="$LOGS/scale-runc.log" cc=$CC rc err
    say "runc: $RUNC_RUNS container starts (runc run -> the program's ready byte), one at a time"
    mkdir -p "$S/runc/bundle/rootfs" "$S/runc/state" "$S/runc-logs"
    command -v musl-gcc >/dev/null && cc=musl-gcc
    if ! "$cc" -std=c11 -Os -Wall -Wextra -Werror -static -s -o "$S/runc/bundle/rootfs/ready" \
        "$HERE/runc_ready/ready.c" >"$log" 2>&1; then
        RUNC_WHY="cannot build tests/bench/runc_ready/ready.c statically (musl-tools from make deps, or libc static libraries); see $log"
        return 1
    fi
    if ! (cd "$S/runc/bundle" && "$RUNC_BIN" spec) >>"$log" 2>&1 ||
        ! jq '.process.terminal = false | .process.args = ["/ready"] | .root.readonly = true' \
            "$S/runc/bundle/config.json" >"$S/runc/config.json" 2>>"$log" ||
        ! mv "$S/runc/config.json" "$S/runc/bundle/config.json"; then
        RUNC_WHY="cannot make the runc bundle (runc spec, jq); see $log"
        return 1
    fi
    RUNC_ROOT="$S/runc/state"
    step "$SPAWN" --label runc --logs "$S/runc-logs" "$RUNC_RUNS" -- "$RUNC_BIN" --root "$RUNC_ROOT" run \
        --preserve-fds 1 --bundle "$S/runc/bundle" "tinyx-scale-$$-%i" >"$S/runc.rows" 2>>"$log"
    rc=$?
    [ "$rc" -eq 0 ] && runc_prepared_series
    [ "$rc" -eq 130 ] && exit 130
    stop_runc
    if [ "$rc" -ne 0 ]; then
        err="$S/runc-logs/$(wc -l <"$S/runc.rows" | awk '{ print $1 + 1 }').err" # the run that failed
        cp "$err" "$LOGS/scale-runc-failed.err" 2>/dev/null
        RUNC_WHY="runc could not start the container (its error: $(tail -n 1 "$err" 2>/dev/null | cut -c1-200); all of it in $LOGS/scale-runc-failed.err; crun is no substitute here: it refuses hybrid cgroups)"
        return 1
    fi
    awk -F, '{ print "runc," $1 ",," $2 "," $3 "," }' "$S/runc.rows" >>"$CSV.tmp"
    RUNC_MED=$(cut -d, -f2 "$S/runc.rows" | median)
    say "runc: median $(ms "$RUNC_MED") ms start -> ready over $RUNC_RUNS runs"
    if [ -s "$S/runc-prepared.rows" ]; then
        awk -F, '{ print "runc-prepared," $1 ",," $2 "," $3 "," }' "$S/runc-prepared.rows" >>"$CSV.tmp"
        RUNC_PREP_MED=$(cut -d, -f2 "$S/runc-prepared.rows" | median)
        say "runc-prepared: median $(ms "$RUNC_PREP_MED") ms runc start -> ready over $RUNC_RUNS containers created ahead"
    else
        SKIPPED+="runc-prepared: skipped: $RUNC_PREP_WHY"$'\n'
    fi
}

# runc_prepared_series: like a prepared shell, each container is made before it is asked for
# (`runc create`, untimed); then `runc start` is timed to the program's ready byte.
runc_prepared_series() {
    local log="$LOGS/scale-runc-prepared.log" rc
    say "runc-prepared: $RUNC_RUNS containers, each created ahead (runc create), then runc start -> ready byte"
    mkdir -p "$S/runc-prepared-logs"
    step "$SPAWN" --label runc-prepared --logs "$S/runc-prepared-logs" "$RUNC_RUNS" -- \
        "$RUNC_BIN" --root "$RUNC_ROOT" create --preserve-fds 1 --bundle "$S/runc/bundle" "tinyx-scale-$$-p%i" \
        --then "$RUNC_BIN" --root "$RUNC_ROOT" start "tinyx-scale-$$-p%i" >"$S/runc-prepared.rows" 2>>"$log"
    rc=$?
    [ "$rc" -eq 130 ] && exit 130
    if [ "$rc" -ne 0 ]; then
        RUNC_PREP_WHY="runc create/start failed; see $log"
        rm -f "$S/runc-prepared.rows"
    fi
    return 0
}

RUNC_MED="" RUNC_PREP_MED="" RUNC_WHY="runc not found (make deps installs it)" RUNC_PREP_WHY="no runc"
if [ -z "$RUNC_BIN" ] || ! runc_series; then
    SKIPPED+="runc: skipped: $RUNC_WHY"$'\n'
    say "runc: skipped: $RUNC_WHY"
fi

# --- summary ----------------------------------------------------------------------------------

mv "$CSV.tmp" "$CSV"
cp "$CSV" "$CSV.tmp" # column() reads the .tmp name; removed on exit

# per TOTAL: TOTAL divided by the instances alive at the end ($alive), rounded.
per() { awk -v a="${1:-}" -v n="${alive:-0}" 'BEGIN { if (a != "" && n > 0) printf "%.0f", a / n }'; }

# window COUNT: the size of the first/last windows compared (50 for 1000 instances).
window() { local w=$(($1 / 4)); [ "$w" -gt 50 ] && w=50; [ "$w" -lt 1 ] && w=1; echo "$w"; }

# joined VALUE...: the values as one CSV line.
joined() { local IFS=,; echo "$*"; }

{
    joined series instances alive create_median_us create_first_us create_last_us \
        create_first_window_median_us create_last_window_median_us create_last_over_first window \
        boot_median_us boot_first_window_median_us boot_last_window_median_us boot_max_us \
        pss_kb_per_instance rss_kb_per_instance memavail_drop_kb_per_instance manager_pss_kb \
        prepared_shells_used note
    for s in qemu tinyx-kvm daemon-pool0 daemon-prepared runc runc-prepared; do
        count=$(column "$s" i | wc -l)
        [ "$count" -gt 0 ] || continue
        w=$(window "$count")
        cm=$(column "$s" create_us | median)
        cf=$(column "$s" create_us | head -n 1)
        cl=$(column "$s" create_us | tail -n 1)
        cwf=$(column "$s" create_us | head -n "$w" | median)
        cwl=$(column "$s" create_us | tail -n "$w" | median)
        bm=$(column "$s" boot_us | median)
        bwf=$(column "$s" boot_us | head -n "$w" | median)
        bwl=$(column "$s" boot_us | tail -n "$w" | median)
        bmax=$(column "$s" boot_us | sort -g | tail -n 1)
        prepared=""
        [ "${s#daemon}" != "$s" ] && prepared=$(column "$s" shell | grep -c '^prepared$')
        read -r _ alive pss rss drop mgr memnote <<<"$(awk -v s="$s" '$1 == s' "$S/mem.txt")"
        case "$s" in
        qemu) note="create = boot: fork -> boot-timer byte (no create phase of its own);"
            note+=" $QEMU_ACCEL_NAME; $QEMU_NOTE" ;;
        tinyx-kvm) note="create = fork -> VM and vCPU created (monitor --timing); boot = fork -> boot-timer byte" ;;
        daemon-*) note="from the daemon's replies: create = request -> vCPU started,"
            note+=" boot = request -> boot-timer byte; $memnote" ;;
        runc) note="boot = runc run -> the container program's ready byte; not kept alive" alive="" ;;
        runc-prepared) note="created ahead (runc create, untimed); boot = runc start -> the ready byte; not kept alive" alive="" ;;
        esac
        joined "$s" "$count" "${alive:-}" "$cm" "$cf" "$cl" "$cwf" "$cwl" "$(ratio "$cwl" "$cwf")" "$w" \
            "$bm" "$bwf" "$bwl" "$bmax" "$(per "${pss:-}")" "$(per "${rss:-}")" "$(per "${drop:-}")" \
            "${mgr:-}" "$prepared" "\"$note\""
    done
} >"$SUMMARY"

# field SERIES NAME: one value of scale-summary.csv.
field() {
    awk -F, -v s="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
        $1 == s { print $k }' "$SUMMARY"
}

printf '\nScale: the idle guest, %s instances per series kept alive, one run each (host: %s CPUs, load %s)\n' \
    "$N" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-16s %6s %6s | %9s %9s %9s %8s | %9s %9s %9s | %9s %9s\n' series n alive "create" "first$(window "$N")" "last$(window "$N")" ratio \
    "boot" "first" "last" "PSS/VM" "avail/VM"
printf '  %-16s %6s %6s | %9s %9s %9s %8s | %9s %9s %9s | %9s %9s\n' "" "" "" "med ms" "med ms" "med ms" "last/1st" \
    "med ms" "med ms" "med ms" "KiB" "KiB"
for s in qemu tinyx-kvm daemon-pool0 daemon-prepared runc runc-prepared; do
    [ -n "$(field "$s" instances)" ] || continue
    printf '  %-16s %6s %6s | %9s %9s %9s %8s | %9s %9s %9s | %9s %9s\n' "$s" "$(field "$s" instances)" \
        "$(field "$s" alive)" "$(ms "$(field "$s" create_median_us)")" \
        "$(ms "$(field "$s" create_first_window_median_us)")" "$(ms "$(field "$s" create_last_window_median_us)")" \
        "$(field "$s" create_last_over_first)" "$(ms "$(field "$s" boot_median_us)")" \
        "$(ms "$(field "$s" boot_first_window_median_us)")" "$(ms "$(field "$s" boot_last_window_median_us)")" \
        "$(field "$s" pss_kb_per_instance)" "$(field "$s" memavail_drop_kb_per_instance)"
done
[ -n "$SKIPPED" ] && printf '%s' "$SKIPPED" | sed 's/^/  /'
for s in qemu tinyx-kvm daemon-pool0 daemon-prepared; do
    c1=$(field "$s" create_first_us) cN=$(field "$s" create_last_us)
    [ -n "$c1" ] && printf '  %s: raw create #1 %s ms, #%s %s ms (%sx); boot max %s ms\n' "$s" "$(ms "$c1")" \
        "$(field "$s" instances)" "$(ms "$cN")" "$(ratio "$cN" "$c1")" "$(ms "$(field "$s" boot_max_us)")"
done
# The trend behind the windows: medians of ten consecutive slices of each series.
for s in qemu tinyx-kvm daemon-pool0 daemon-prepared; do
    count=$(field "$s" instances)
    if [ -z "$count" ] || [ "$count" -lt 10 ]; then continue; fi
    slices=$(column "$s" create_us | awk -v n="$count" '{ print int((NR - 1) * 10 / n), $1 }' |
        sort -k1,1n -k2,2g | awk '{ v[$1, ++c[$1]] = $2 }
            END { for (k = 0; k < 10; k++) printf "%s%.2f", (k ? " " : ""), v[k, int((c[k] + 1) / 2)] / 1000 }')
    printf '  %s: create medians of each tenth of the instances, ms: %s\n' "$s" "$slices"
done
if [ -n "$(field daemon-prepared instances)" ]; then
    d=$(field daemon-prepared manager_pss_kb) used=$(field daemon-prepared prepared_shells_used)
    printf '  daemon-prepared: %s of %s creates took a prepared shell; the daemon itself: %s MiB PSS\n' \
        "$used" "$N" "$(awk -v k="${d:-0}" 'BEGIN { printf "%.1f", k / 1024 }')"
    read -r sn spss <<<"$(awk '$1 == "daemon-prepared" { for (i = 7; i <= NF; i++) { split($i, kv, "=")
        v[kv[1]] = kv[2] } print v["idle_shells"], v["idle_shells_pss_kb"] }' "$S/mem.txt")"
    [ -n "$sn" ] && [ "$sn" -gt 0 ] &&
        printf '  daemon-prepared: its %s idle prepared shells, before any create: %s MiB PSS, %s KiB each (the price of the pool)\n' \
            "$sn" "$(awk -v k="$spss" 'BEGIN { printf "%.1f", k / 1024 }')" "$((spss / sn))"
fi
q=$(field qemu boot_median_us)
for s in tinyx-kvm daemon-pool0 daemon-prepared; do
    b=$(field "$s" boot_median_us)
    [ -n "$b" ] && [ -n "$q" ] && printf '  %s boots %sx faster than a QEMU process (medians)\n' "$s" "$(ratio "$q" "$b")"
    [ -n "$b" ] && [ -n "$RUNC_MED" ] && printf '  %s boots %sx faster than a cold runc run starts a container (medians)\n' "$s" "$(ratio "$RUNC_MED" "$b")"
    [ -n "$b" ] && [ -n "$RUNC_PREP_MED" ] && printf '  %s boots %sx faster than runc start of a container created ahead (medians)\n' "$s" "$(ratio "$RUNC_PREP_MED" "$b")"
done

# Goals: on the split toolstack (daemon-prepared); the boot and memory goals also for tinyx-kvm.
verdict() { if [ "$1" = 1 ]; then echo PASS; else echo MISS; fi; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a + 0 < b + 0) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a + 0 <= b + 0) }'; }
echo
if [ -z "$(field daemon-prepared instances)" ]; then
    echo "  SKIP: prepared median create < 1 ms: $DAEMON_WHY"
    echo "  SKIP: create #$N <= ${GOAL_SCALE_RATIO}x create #1 (prepared shells): $DAEMON_WHY"
else
    cm=$(field daemon-prepared create_median_us)
    lt "$cm" "$GOAL_CREATE_US" && ok=1 || ok=0
    echo "  $(verdict "$ok"): prepared median create $(ms "$cm") ms (goal < 1 ms)"
    r=$(field daemon-prepared create_last_over_first) w=$(field daemon-prepared window)
    le "$r" "$GOAL_SCALE_RATIO" && ok=1 || ok=0
    raw=$(ratio "$(field daemon-prepared create_last_us)" "$(field daemon-prepared create_first_us)")
    echo "  $(verdict "$ok"): create of the last $w vs the first $w (medians): ${r}x" \
        "(goal <= ${GOAL_SCALE_RATIO}x; raw #$N/#1: ${raw}x)"
fi
# Like for like: prepared shells against containers created ahead; a fresh monitor against a
# cold runc run.
for s in daemon-prepared tinyx-kvm; do
    [ -n "$(field "$s" instances)" ] || continue
    b=$(field "$s" boot_median_us) bl=$(field "$s" boot_last_window_median_us) bmax=$(field "$s" boot_max_us)
    if [ "$s" = daemon-prepared ]; then peer=$RUNC_PREP_MED peer_name="runc start (created ahead)"
    else peer=$RUNC_MED peer_name="runc run (cold)"; fi
    if [ -n "$peer" ]; then
        lt "$b" "$peer" && lt "$bl" "$peer" && ok=1 || ok=0
        echo "  $(verdict "$ok"): $s boots faster than $peer_name starts a container: median $(ms "$b") ms," \
            "last $(field "$s" window) $(ms "$bl") ms, max $(ms "$bmax") ms vs $(ms "$peer") ms"
    else
        echo "  SKIP: $s boots faster than $peer_name: no runc figure (see above)"
    fi
    p=$(field "$s" pss_kb_per_instance) m=$(field "$s" memavail_drop_kb_per_instance)
    le "$p" "$GOAL_MEM_KB" && ok=1 || ok=0
    echo "  $(verdict "$ok"): $s host memory per idle VM: $p KiB PSS (goal <= 2 MB = 1953 KiB);" \
        "MemAvailable drop per VM (kernel memory too): $m KiB"
done

# --- plot -------------------------------------------------------------------------------------

gnuplot -c "$HERE/plot_scale.gp" "$CSV" "$SUMMARY" "$PNG" "${RUNC_MED:-}" >"$LOGS/scale-plot.log" 2>&1 ||
    fail "gnuplot failed to draw $PNG" "$LOGS/scale-plot.log"
say "wrote $CSV, $SUMMARY and $PNG ($(since "$T_START") s)"
