#!/usr/bin/env bash
# bench_linux.sh: nginx (a Linux image) on tinyx-kvm and the daemon's prepared shells vs QEMU microvm with KVM: boot-to-ready, and N guests kept alive.
# Started by tests/bench/run (make bench, or tests/bench/run --parts linux); options arrive in the
# environment and the scratch folder $WORK belongs to run. One run, everything side by side:
#   ready  boot-to-ready of nginx, R runs per variant, interleaved run by run (the order rotates),
#          each `tinyx-launch run --until-ready --json`:
#            tinyx-kvm  a fresh tinyx-kvm (--backend kvm), on its automatic tap host link
#            daemon     a prepared shell of `tinyx daemon` (--backend daemon), on a tap on a
#                       bridge, its address in the guest's device page (--net TAP,bridge=,ip=)
#            qemu       QEMU microvm -accel kvm (--backend qemu), user-mode network, forwarded port
#   scale  N nginx guests created one after another, all kept alive, each on the bridge at an
#          address of its own; then every guest must answer HTTP there, and the host PSS of the
#          VM processes is summed. Series: daemon-prepared (`tinyx daemon --pool N`),
#          daemon-pool0 (`--pool 0`: a fresh shell per create), qemu (`tinyx-launch run --backend
#          qemu --accel kvm --net TAP,bridge=,ip=` per guest: the address on the kernel command
#          line, QEMU writing no device page).
# Where: directly when this host's /dev/kvm runs Linux (tests/nested/lib.sh); otherwise inside a
# nested L1 VM (tests/nested/kvm-l1), where timings are distorted by emulation and only ratios
# measured side by side mean anything (the output and the CSVs say where). The image is built on
# this host first (`tinyx build` with the bench cache; it cannot run in L1).
# Writes $OUT/linux-ready.csv, linux-scale.csv, linux-summary.csv, linux.png, $OUT/logs/linux-*.
# A network namespace of its own holds the bridge and every tap; daemons, launchers and VMs are
# stopped on any exit (trap), so nothing it starts outlives it; Ctrl-C stops it cleanly.
# Environment (run sets the first two): BENCH_LINUX_RUNS (R, default 10), BENCH_LINUX_N (N,
# default 50), BENCH_LINUX_L1_MEM (MiB of the L1 VM, default 12288), BENCH_CACHE,
# BENCH_LINUX_STEPS (e.g. "qemu": redo only these steps of ready, daemon-prepared, daemon-pool0,
# qemu, keeping the others' results of the last run in $OUT).
# Internal: `bench_linux.sh --measure STEP` runs one step of the measurements (where KVM runs
# Linux): ready, daemon-prepared, daemon-pool0 or qemu;
# `bench_linux.sh --report` redoes the summary and the plot from the files of the last run.
set -u -o pipefail

for v in ROOT B OUT WORK; do
    if [ -z "${!v+set}" ]; then
        echo "bench_linux.sh: \$$v is not set: start the benchmark with tests/bench/run --parts linux (or make bench)" >&2
        exit 2
    fi
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
R=${BENCH_LINUX_RUNS:-10}
N=${BENCH_LINUX_N:-50}
L1_MEM=${BENCH_LINUX_L1_MEM:-12288}
CACHE=${BENCH_CACHE:-$ROOT/.cache/tinyx-bench}
APP=nginx
IMG="$OUT/images/$APP"
TINYX="$B/bin/tinyx"
LAUNCH="$B/bin/tinyx-launch"
LOGS="$OUT/logs"
READY_CSV="$OUT/linux-ready.csv"
SCALE_CSV="$OUT/linux-scale.csv"
SUMMARY="$OUT/linux-summary.csv"
PNG="$OUT/linux.png"
META="$LOGS/linux-meta.txt"         # measure -> report: one line per series, and the setting
FAILURES="$LOGS/linux-failures.txt" # measure -> report: one line per failure
RETRIES="$LOGS/linux-retries.txt"   # host -> report: steps whose L1 run was retried
BOOT_TIMEOUT_S=120                  # one boot until ready (the brief's --timeout 120)
GOAL_READY_FRESH=3                  # ready at least 3x faster than QEMU, fresh tinyx-kvm
GOAL_READY_PREPARED=10              # ... at least 10x with prepared shells
GOAL_PSS_FRACTION=0.25              # PSS per idle guest at most 1/4 of QEMU's
GOAL_SCALE_RATIO=1.2                # create of the Nth at most 1.2x the first
WINDOW=5                            # ... medians of the last 5 vs the first 5
NET=10.213                          # the bench's bridge: 10.213.0.1/16 on the host's side
VARIANTS=(tinyx-kvm daemon qemu)
STEPS=(ready daemon-prepared daemon-pool0 qemu) # the measurements, in order; one L1 each
T_START=$EPOCHREALTIME

for v in R N L1_MEM; do
    case "${!v}" in '' | *[!0-9]* | 0*) echo "bench: error: linux: $v wants a whole number >= 1, not '${!v}'" >&2; exit 2 ;; esac
done
[ "$N" -le 2000 ] || { echo "bench: error: linux: --linux-n $N: at most 2000 (the bench's addresses)" >&2; exit 2; }

# --- helpers ----------------------------------------------------------------------------------

# is_step WORD: WORD names one of STEPS.
is_step() { [[ " ${STEPS[*]} " == *" $1 "* ]]; }

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[%7.1f s] linux: %s\n' "$(since "$T_START")" "$*" >&2; }

# fail MESSAGE [LOG]: stop with a message and the end of the step's log (the trap cleans up).
fail() {
    echo "bench: error: linux: $1" >&2
    if [ $# -ge 2 ] && [ -s "$2" ]; then
        echo "bench: last lines of $2:" >&2
        tail -n 15 "$2" | sed 's/^/    | /' >&2
    fi
    exit 1
}

# failure MESSAGE [LOG]: a failure of the run that does not stop it (a boot that failed, a guest
# that does not answer): said now, with the end of LOG, and listed again in the summary.
failure() {
    echo "bench: FAILURE: linux: $1" >&2
    if [ $# -ge 2 ] && [ -s "$2" ]; then
        tail -n 12 "$2" | sed 's/^/    | /' >&2
    fi
    echo "$1" >>"$FAILURES"
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

# median: of the numbers on stdin (empty when there are none).
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit
        if (NR % 2) printf "%.0f\n", v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.2f", a / b }'; }
secs() { awk -v u="$1" 'BEGIN { if (u == "") print "-"; else printf "%.3f", u / 1e6 }'; }
memavail_kb() { awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo; }

# ip_of BLOCK K: the K-th guest address (K >= 1) of a block of 10 /24s of the bench's /16.
ip_of() { echo "$NET.$(($1 + ($2 - 1) / 250)).$((($2 - 1) % 250 + 2))"; }

# pss_of PID...: "COUNT PSS_KB RSS_KB" summed over those of the processes still alive.
pss_of() {
    local pid key val n=0 pss=0 rss=0
    for pid in "$@"; do
        [ -r "/proc/$pid/smaps_rollup" ] || continue
        n=$((n + 1))
        while read -r key val _; do
            case "$key" in Pss:) pss=$((pss + val)) ;; Rss:) rss=$((rss + val)) ;; esac
        done <"/proc/$pid/smaps_rollup"
    done
    echo "$n $pss $rss"
}

# =================================================================================================
# The measurements (--measure): where /dev/kvm runs Linux, on this host or in L1.
# =================================================================================================

measure_main() {
    local where=${BENCH_LINUX_WHERE:-host} step=${1:-}
    is_step "$step" || fail "--measure STEP: one of ${STEPS[*]}; not '$step'"
    S=$(mktemp -d "${TMPDIR:-/tmp}/tinyx-bench-linux.XXXXXX") || fail "cannot create a scratch folder"
    NS="tinyx-bench-linux-$$"
    # "${IN_NS[@]}" CMD...: CMD in the bench's network namespace. Not a function: started in the
    # background, `ip netns exec` execs CMD, so $! is CMD's own pid (one to stop, to measure).
    IN_NS=(ip netns exec "$NS")
    BR=br0
    STEP_PID="" DAEMON_PID="" DAEMON_SOCK="" DAEMON_LOG="" NS_MADE=0
    LAUNCHERS=() # background `tinyx-launch run` of the qemu series
    trap measure_cleanup EXIT
    trap 'echo "bench: linux: interrupted, cleaning up" >&2; exit 130' INT TERM

    [ -c /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] ||
        fail "--measure needs a /dev/kvm that runs Linux (bench_linux.sh without --measure finds one, in L1 if need be)"
    [ -f "$IMG/manifest.json" ] || fail "$IMG is not an image folder (bench_linux.sh builds it before measuring)"
    for exe in "$TINYX" "$LAUNCH" "$B/bin/tinyx-kvm"; do [ -x "$exe" ] || fail "$exe is missing: run make"; done
    for tool in ip curl jq qemu-system-x86_64; do command -v "$tool" >/dev/null || fail "$tool is missing: run make deps"; done
    MEM=$(jq -r '.app.memory_mb // 128' "$IMG/manifest.json")
    touch "$FAILURES"
    # The first step says where; the series lines follow, one per scale step.
    grep -q '^where ' "$META" 2>/dev/null || {
        echo "where $where"
        echo "cpus $(nproc)"
        echo "mem_total_kb $(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)"
        echo "guest_mem_mib $MEM"
        echo "kernel $(uname -r)"
    } >>"$META"

    ip netns add "$NS" && NS_MADE=1 && ip -n "$NS" link set lo up &&
        ip -n "$NS" link add "$BR" type bridge && ip -n "$NS" addr add "$NET.0.1/16" dev "$BR" &&
        ip -n "$NS" link set "$BR" up || fail "cannot make the bench network (netns $NS, bridge $BR, $NET.0.1/16)"
    say "measuring in $where: $(nproc) CPUs, $(($(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo) / 1024)) MiB," \
        "load $(cut -d' ' -f1-3 /proc/loadavg); network namespace $NS, bridge $BR at $NET.0.1/16; $APP guests of $MEM MiB"

    case "$step" in
    ready) ready_part ;;
    daemon-prepared) scale_setup && scale_daemon daemon-prepared "$N" 10 ;;
    daemon-pool0) scale_setup && scale_daemon daemon-pool0 0 20 ;;
    qemu) scale_setup && scale_qemu 30 ;;
    esac
    say "$step: measured in $(since "$T_START") s"
}

measure_cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    [ -n "$STEP_PID" ] && stop_pid "$STEP_PID" 20
    for pid in "${LAUNCHERS[@]+"${LAUNCHERS[@]}"}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${LAUNCHERS[@]+"${LAUNCHERS[@]}"}"; do stop_pid "$pid" 15; done
    stop_daemon
    [ "$NS_MADE" = 1 ] && { ip netns del "$NS" 2>/dev/null || echo "bench: error: linux: cannot delete network namespace $NS (ip netns del $NS)" >&2; }
    rm -rf --one-file-system "$S"
    exit "$rc"
}


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

# start_daemon NAME POOL: `tinyx daemon --pool POOL` in the namespace (its taps land on the
# bridge), the image prepared, console logs kept; waits until it is ready and its pool is full.
start_daemon() {
    local name=$1 pool=$2 t0=$SECONDS
    DAEMON_SOCK="$S/$name.sock" DAEMON_LOG="$LOGS/linux-daemon-$name.log"
    "${IN_NS[@]}" "$TINYX" daemon --socket "$DAEMON_SOCK" --pool "$pool" --mem "$MEM" --image "$IMG" --keep-logs \
        >"$DAEMON_LOG" 2>&1 &
    DAEMON_PID=$!
    until grep -qs 'daemon ready on' "$DAEMON_LOG"; do
        kill -0 "$DAEMON_PID" 2>/dev/null || fail "tinyx daemon ($name) exited before it was ready" "$DAEMON_LOG"
        [ $((SECONDS - t0)) -lt 120 ] || fail "tinyx daemon ($name) not ready after 120 s" "$DAEMON_LOG"
        sleep 0.2
    done
    if [ "$pool" -gt 0 ]; then
        wait_prepared "$pool" $((120 + pool * 10)) ||
            fail "tinyx daemon ($name) did not prepare $pool shells (it has $(daemon_stat prepared))" "$DAEMON_LOG"
    fi
    say "daemon ($name): --pool $pool, $pool shells prepared in $((SECONDS - t0)) s"
}

# stop_daemon: destroy its VMs and stop it (its shells die with it: PR_SET_PDEATHSIG).
stop_daemon() {
    [ -n "$DAEMON_PID" ] || return 0
    if kill -0 "$DAEMON_PID" 2>/dev/null; then
        timeout 60 "$TINYX" destroy --all --socket "$DAEMON_SOCK" >>"$DAEMON_LOG" 2>&1 ||
            echo "bench: warning: linux: tinyx destroy --all failed; stopping the daemon anyway" >&2
    fi
    stop_pid "$DAEMON_PID" 20
    DAEMON_PID=""
}

# daemon_stat FIELD: one number from `tinyx stats --json` (empty when it does not answer).
daemon_stat() {
    timeout 20 "$TINYX" stats --json --socket "$DAEMON_SOCK" 2>/dev/null | jq -r ".$1 // empty" 2>/dev/null
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

# --- ready: boot-to-ready, R runs per variant, interleaved -----------------------------------

# ready_one VARIANT RUN: one `tinyx-launch run --until-ready --json`; appends its row (empty
# figures when it failed, which is listed as a failure).
ready_one() {
    local v=$1 r=$2 out="$S/ready-$1-$2.json" err="$S/ready-$1-$2.err" rc
    local args=(run --until-ready --json --quiet --timeout "$BOOT_TIMEOUT_S") env=()
    case "$v" in
    tinyx-kvm) args+=(--backend kvm) ;;
    daemon) args+=(--backend daemon --net "tlr$r,bridge=$BR,ip=$(ip_of 1 "$r")/16")
        env=(env "TINYX_DAEMON_SOCKET=$DAEMON_SOCK") ;;
    qemu) args+=(--backend qemu --accel kvm) ;;
    esac
    step "${IN_NS[@]}" "${env[@]+"${env[@]}"}" "$LAUNCH" "${args[@]}" "$IMG" >"$out" 2>"$err"
    rc=$?
    [ "$rc" -eq 130 ] && exit 130
    if [ "$rc" -ne 0 ] || ! jq -e '.ready_us > 0' "$out" >/dev/null 2>&1; then
        cp "$err" "$LOGS/linux-ready-$v-$r.err"
        failure "ready: $v run $r failed (tinyx-launch exit $rc; $LOGS/linux-ready-$v-$r.err)" "$err"
        echo "$v,$r,,,,$WHERE_TAG" >>"$READY_CSV.tmp"
        LAST=failed
    else
        jq -r --arg v "$v" --arg r "$r" --arg w "$WHERE_TAG" \
            '[$v, $r, .boot_us, .ready_us, (.vmm_pss_kb // ""), $w] | map(tostring) | join(",")' "$out" >>"$READY_CSV.tmp"
        LAST="$(secs "$(jq -r .ready_us "$out")") s"
    fi
    # The next variant must not share the CPUs with the daemon refilling its pool.
    if [ "$v" = daemon ] && ! wait_prepared 2 120; then
        failure "ready: the daemon did not refill its pool of 2 after run $r" "$DAEMON_LOG"
    fi
}

ready_part() {
    local r k v line
    say "ready: $R runs per variant, interleaved (the order rotates each run): ${VARIANTS[*]}"
    echo "variant,run,boot_us,ready_us,vmm_pss_kb,where" >"$READY_CSV.tmp"
    start_daemon ready 2
    for ((r = 1; r <= R; r++)); do
        line=""
        for k in 0 1 2; do
            v=${VARIANTS[$(((r - 1 + k) % 3))]}
            ready_one "$v" "$r"
            line+="${line:+, }$v $LAST"
        done
        say "ready: run $r/$R: $line"
    done
    stop_daemon
    mv "$READY_CSV.tmp" "$READY_CSV"
}

# --- scale: N guests alive per series ---------------------------------------------------------

# room_for_one: false when the host's MemAvailable is below the reserve (then a series stops
# creating guests and says so).
room_for_one() { [ "$(memavail_kb)" -ge "$RESERVE_KB" ]; }

# http_check SERIES IP...: every guest must answer GET / with nginx's page (up to 120 s for
# all, from inside the namespace). Prints the silent addresses (none: all answered).
http_check() {
    local series=$1
    shift
    # shellcheck disable=SC2016 # the script runs in the namespace, with its own arguments
    "${IN_NS[@]}" bash -c '
        left=("$@") deadline=$((SECONDS + 120))
        while [ ${#left[@]} -gt 0 ] && [ $SECONDS -lt $deadline ]; do
            next=()
            for ip in "${left[@]}"; do
                curl -s -m 3 "http://$ip/" 2>/dev/null | grep -q "Welcome to nginx!" || next+=("$ip")
            done
            left=("${next[@]+"${next[@]}"}")
            [ ${#left[@]} -gt 0 ] && sleep 1
        done
        echo "${left[@]+"${left[@]}"}"' _ "$@" 2>>"$LOGS/linux-http-$series.log"
}

# booted_ips SERIES BLOCK: the addresses of the series' guests that have a row (they booted).
booted_ips() {
    awk -F, -v s="$1" -v b="$2" -v net="$NET" '$1 == s {
        k = $2 - 1; printf "%s.%d.%d\n", net, b + int(k / 250), k % 250 + 2 }' "$SCALE_CSV.tmp"
}

# series_end SERIES CREATED PIDFILE SILENT MANAGER_PIDS NOTE: memory of the VM processes and the
# series' line of the meta file; the failures for silent guests are the caller's.
series_end() {
    local series=$1 created=$2 pids=$3 silent=$4 managers=$5 note=$6 alive pss rss mpss
    # shellcheck disable=SC2046 # one pid per line
    read -r alive pss rss <<<"$(pss_of $(cat "$pids"))"
    # shellcheck disable=SC2086 # pids separated by spaces
    read -r _ mpss _ <<<"$(pss_of $managers)"
    local answered=$((created - $(wc -w <<<"$silent")))
    echo "series $series target=$N created=$created alive=$alive answered=$answered pss_kb=$pss rss_kb=$rss manager_pss_kb=$mpss memavail_kb=$(memavail_kb) note=$note" >>"$META"
    say "$series: $created created, $alive VM processes alive, $answered answer HTTP;" \
        "PSS $((pss / 1024)) MiB in all, $((pss / (alive > 0 ? alive : 1))) KiB per VM"
    [ "$alive" -eq "$created" ] || failure "$series: only $alive of $created VM processes were alive at the end"
}

# scale_daemon SERIES POOL BLOCK: N creates against `tinyx daemon --pool POOL`, one `tinyx
# create` each (its own address), all kept alive.
scale_daemon() {
    local series=$1 pool=$2 block=$3 i ip out created=0 note="" silent pids="$S/$1.pids"
    local log="$LOGS/linux-$series.log"
    say "$series: tinyx daemon --pool $pool; $N guests created one after another, all kept alive"
    start_daemon "$series" "$pool"
    : >"$pids"
    : >"$log"
    for ((i = 1; i <= N; i++)); do
        if ! room_for_one; then
            note="memory allowed $((i - 1)) of $N (MemAvailable below $((RESERVE_KB / 1024)) MiB)"
            say "$series: stopping at $((i - 1)) guests: $note"
            break
        fi
        ip=$(ip_of "$block" "$i") out="$S/$series-$i.json"
        step timeout 300 "$TINYX" create "$IMG" --socket "$DAEMON_SOCK" --json --mem "$MEM" \
            --boot-timeout-ms $((BOOT_TIMEOUT_S * 1000)) --net ",bridge=$BR,ip=$ip/16" >"$out" 2>>"$log"
        local rc=$?
        [ "$rc" -eq 130 ] && exit 130
        # One jq: "PID CREATE_US BOOT_US SHELL", a field "-" when missing (processes are slow
        # to start in L1, and the gap between creates is part of what is timed).
        local pid c b shell
        read -r pid c b shell <<<"$(jq -r '[.pid, .create_us, .boot_us, .shell] | map(. // "-" | tostring) | join(" ")' \
            "$out" 2>/dev/null)"
        if [ "$rc" -ne 0 ] || [ "${b:--}" = - ] || [ "$b" -le 0 ]; then
            cat "$out" >>"$log"
            local console
            console=$(jq -r '.console // empty' "$out" 2>/dev/null)
            [ -n "$console" ] && [ -f "$console" ] && cp "$console" "$LOGS/linux-$series-$i.console"
            failure "$series: create $i ($ip) failed (exit $rc: $(jq -r '.error // .warning // empty' "$out" 2>/dev/null | cut -c1-300))" \
                "${console:-$log}"
            [ "${pid:--}" != - ] && echo "$pid" >>"$pids"
            continue
        fi
        created=$((created + 1))
        echo "$pid" >>"$pids"
        echo "$series,$i,$c,$b,$shell,$WHERE_TAG" >>"$SCALE_CSV.tmp"
        [ "$i" -eq 1 ] || [ $((i % 10)) -eq 0 ] || [ "$i" -eq "$N" ] &&
            say "$series: $i/$N created; guest $i: create $(secs "$c") s, boot $(secs "$b") s ($shell shell)"
    done
    local ips
    mapfile -t ips < <(booted_ips "$series" "$block")
    say "$series: checking that the $created guests answer HTTP"
    silent=$(http_check "$series" "${ips[@]+"${ips[@]}"}")
    series_end "$series" "$created" "$pids" "$silent" "$DAEMON_PID" "${note:-pool=$pool}"
    for ip in $silent; do
        i=$(awk -v ip="$ip" -v b="$block" 'BEGIN { split(ip, a, "."); print (a[3] - b) * 250 + a[4] - 1 }')
        local console
        console=$(jq -r '.console // empty' "$S/$series-$i.json" 2>/dev/null)
        [ -n "$console" ] && [ -f "$console" ] && cp "$console" "$LOGS/linux-$series-$i.console"
        failure "$series: guest $i ($ip, vm $(jq -r .id "$S/$series-$i.json" 2>/dev/null)) does not answer HTTP; console: $LOGS/linux-$series-$i.console" \
            "$console"
    done
    stop_daemon
}

# boot_ms ERRFILE: sets BOOT_MS to X of the launcher's "boot-timer signal after X ms" (-v), or
# to nothing yet; read by bash itself, so polling starts no process while a guest boots.
boot_ms() {
    local line
    BOOT_MS=""
    [ -r "$1" ] || return 0 # not created yet by the launcher's redirection
    while IFS= read -r line; do
        case "$line" in *"boot-timer signal after "*" ms"*)
            line=${line#*boot-timer signal after }
            BOOT_MS=${line%% ms*}
            return 0 ;;
        esac
    done <"$1"
}

# scale_qemu BLOCK: N `tinyx-launch run --backend qemu --accel kvm --net ...` in the background,
# one after another (each waits for the previous guest's boot-timer byte), all kept alive. -v
# makes the launcher say when the byte came ("boot-timer signal after X ms"); its console
# stream is the guest's console log.
scale_qemu() {
    local series=qemu block=$1 i ip t0 created=0 note="" pid boot silent pids="$S/qemu.pids"
    say "$series: tinyx-launch run --backend qemu --accel kvm per guest; $N guests one after another, all kept alive"
    : >"$pids"
    for ((i = 1; i <= N; i++)); do
        if ! room_for_one; then
            note="memory allowed $((i - 1)) of $N (MemAvailable below $((RESERVE_KB / 1024)) MiB)"
            say "$series: stopping at $((i - 1)) guests: $note"
            break
        fi
        ip=$(ip_of "$block" "$i")
        "${IN_NS[@]}" "$LAUNCH" run -v --backend qemu --accel kvm --timeout 86400 --net "tlq$i,bridge=$BR,ip=$ip/16" \
            "$IMG" >"$S/qemu-$i.console" 2>"$S/qemu-$i.err" &
        pid=$!
        LAUNCHERS+=("$pid")
        t0=$SECONDS boot=""
        while :; do
            boot_ms "$S/qemu-$i.err"
            boot=$BOOT_MS
            [ -n "$boot" ] && break
            kill -0 "$pid" 2>/dev/null || break
            [ $((SECONDS - t0)) -lt "$BOOT_TIMEOUT_S" ] || break
            sleep 0.1
        done
        if [ -z "$boot" ]; then
            cp "$S/qemu-$i.console" "$LOGS/linux-qemu-$i.console" 2>/dev/null
            cp "$S/qemu-$i.err" "$LOGS/linux-qemu-$i.err" 2>/dev/null
            failure "qemu: guest $i ($ip) gave no boot-timer byte within $BOOT_TIMEOUT_S s (launcher $(kill -0 "$pid" 2>/dev/null && echo running || echo ended); $LOGS/linux-qemu-$i.err)" \
                "$S/qemu-$i.err"
            continue
        fi
        created=$((created + 1))
        boot=$(awk -v m="$boot" 'BEGIN { printf "%.0f", m * 1000 }')
        echo "$series,$i,,$boot,,$WHERE_TAG" >>"$SCALE_CSV.tmp"
        [ "$i" -eq 1 ] || [ $((i % 10)) -eq 0 ] || [ "$i" -eq "$N" ] &&
            say "$series: $i/$N created; guest $i: boot $(secs "$boot") s"
    done
    # The VMM processes: the launchers' children (QEMU), not the launchers themselves.
    for pid in "${LAUNCHERS[@]+"${LAUNCHERS[@]}"}"; do
        cat /proc/"$pid"/task/*/children 2>/dev/null | tr ' ' '\n' | grep . >>"$pids"
    done
    local ips
    mapfile -t ips < <(booted_ips "$series" "$block")
    say "$series: checking that the $created guests answer HTTP"
    silent=$(http_check "$series" "${ips[@]+"${ips[@]}"}")
    series_end "$series" "$created" "$pids" "$silent" "${LAUNCHERS[*]+"${LAUNCHERS[*]}"}" "${note:-launchers=${#LAUNCHERS[@]}}"
    for ip in $silent; do
        i=$(awk -v ip="$ip" -v b="$block" 'BEGIN { split(ip, a, "."); print (a[3] - b) * 250 + a[4] - 1 }')
        cp "$S/qemu-$i.console" "$LOGS/linux-qemu-$i.console" 2>/dev/null
        failure "qemu: guest $i ($ip) does not answer HTTP; console: $LOGS/linux-qemu-$i.console" "$S/qemu-$i.console"
    done
    for pid in "${LAUNCHERS[@]+"${LAUNCHERS[@]}"}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${LAUNCHERS[@]+"${LAUNCHERS[@]}"}"; do stop_pid "$pid" 15; done
    LAUNCHERS=()
}

# scale_setup: the memory reserve of a scale step (its rows go to $SCALE_CSV.tmp, which the
# host started; it renames it when every step is done).
scale_setup() {
    local total
    total=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
    RESERVE_KB=$((total / 10))
    [ "$RESERVE_KB" -lt 524288 ] && RESERVE_KB=524288
    say "scale: $N $APP guests, each answering HTTP at its own address; the series stops early" \
        "when MemAvailable falls below $((RESERVE_KB / 1024)) MiB"
    sleep 2
}

# =================================================================================================
# On this host: build the image, measure here or in L1, report.
# =================================================================================================

HOST_STEP=""
host_signal() {
    [ -n "$HOST_STEP" ] && stop_pid "$HOST_STEP" 60
    echo "bench: linux: interrupted" >&2
    exit 130
}

# host_step LOG CMD...: a long step in the background (so that a signal stops it at once).
host_step() {
    local rc
    "$@" &
    HOST_STEP=$!
    wait "$HOST_STEP"
    rc=$?
    HOST_STEP=""
    return "$rc"
}

# drop_step STEP: forget a step's rows, series line and failures (every failure line starts
# with "STEP: "), before it is measured again.
drop_step() {
    awk -F, -v s="$1" '$1 != s' "$SCALE_CSV.tmp" >"$SCALE_CSV.tmp2" && mv "$SCALE_CSV.tmp2" "$SCALE_CSV.tmp"
    [ -f "$META" ] && awk -v s="$1" '!($1 == "series" && $2 == s)' "$META" >"$META.tmp" && mv "$META.tmp" "$META"
    grep -v "^$1: " "$FAILURES" >"$FAILURES.tmp"
    mv "$FAILURES.tmp" "$FAILURES"
}

# host_measure STEP: one step of the measurements, here or in a fresh L1 (long runs of many L2
# guests have locked up or crashed the emulated L1 here, rarely: one step's L1 is retried once,
# its partial rows dropped, and the retry is listed in the summary).
host_measure() {
    local step=$1 attempt rc timeout_s
    case "$step" in
    ready) timeout_s=$((900 + R * 3 * 150)) ;;
    *) timeout_s=$((900 + N * 90)) ;;
    esac
    for attempt in 1 2; do
        if [ "$BENCH_LINUX_WHERE" = host ]; then
            host_step timeout -k 20 "$timeout_s" bash "$HERE/bench_linux.sh" --measure "$step"
        else
            host_step "$ROOT/tests/nested/kvm-l1" --mem "$L1_MEM" --timeout "$timeout_s" --rw "$OUT" -- \
                bash "$HERE/bench_linux.sh" --measure "$step"
        fi
        rc=$?
        [ "$rc" -eq 130 ] && exit 130
        [ "$rc" -eq 0 ] && return 0
        [ "$attempt" -eq 1 ] && [ "$BENCH_LINUX_WHERE" = L1 ] || break
        say "$step: the L1 run failed (exit $rc; see above): retrying the step once in a fresh L1"
        echo "$step: its first L1 run failed (exit $rc) and was retried" >>"$RETRIES"
        drop_step "$step" # the failed attempt's rows, series line and failures
    done
    fail "the measurements failed in step $step (exit $rc; see above)"
}

host_main() {
    trap host_signal INT TERM
    mkdir -p "$LOGS" "$OUT/images" "$CACHE" || fail "cannot create $LOGS, $OUT/images or $CACHE"
    local steps=${BENCH_LINUX_STEPS:-} step
    if [ -z "$steps" ]; then
        rm -f "$LOGS"/linux-* "$READY_CSV" "$SCALE_CSV" "$SUMMARY" "$PNG"
    else
        # Redo these steps only, keeping the other steps' results of the last run.
        for step in $steps; do
            is_step "$step" || fail "BENCH_LINUX_STEPS: '$step' is not one of ${STEPS[*]}"
        done
        [ -s "$META" ] && { [ -s "$SCALE_CSV" ] || [ -s "$SCALE_CSV.tmp" ]; } ||
            fail "BENCH_LINUX_STEPS redoes steps of the last run, but there is none in $OUT: run the whole part"
        [ -s "$SCALE_CSV" ] && mv "$SCALE_CSV" "$SCALE_CSV.tmp"
        rm -f "$SUMMARY" "$PNG"
    fi
    command -v gnuplot >/dev/null || fail "gnuplot is missing: run make deps"
    command -v jq >/dev/null || fail "jq is missing: run make deps"
    # shellcheck source=tests/nested/lib.sh
    . "$ROOT/tests/nested/lib.sh"

    say "building $APP with the bench cache ($CACHE) into $IMG"
    local log="$LOGS/linux-build.log"
    host_step timeout -k 20 3600 "$TINYX" build --cache "$CACHE" -o "$IMG" "$APP" >"$log" 2>&1 ||
        fail "tinyx build $APP failed" "$log"
    say "built $IMG in $(since "$T_START") s"

    if nested_host_kvm_runs_linux; then
        export BENCH_LINUX_WHERE=host
        WHERE_LONG="this host's KVM"
        say "measuring on this host ($WHERE_LONG): R = $R runs per variant, N = $N guests per series"
    else
        export BENCH_LINUX_WHERE=L1
        local avail mem=$L1_MEM timeout_s
        avail=$(($(memavail_kb) / 1024 - 2048))
        if [ "$avail" -lt "$mem" ]; then
            say "warning: only $avail MiB to spare here: L1 gets that instead of $mem MiB (fewer guests may fit)"
            mem=$avail
        fi
        [ "$mem" -ge 2048 ] || fail "not enough free memory for the nested L1 VM ($mem MiB; it needs 2048 at least)"
        WHERE_LONG="a nested L1 VM (tests/nested/kvm-l1: QEMU TCG -cpu max, its kvm_amd runs the guests; $(nested_why_l1))"
        say "measuring in $WHERE_LONG, $mem MiB, a fresh L1 per step: R = $R runs per variant, N = $N guests per series"
        say "in L1 every timing is slowed and distorted by emulation: only the ratios measured side by side mean anything"
        L1_MEM=$mem
    fi
    if [ -z "$steps" ]; then
        echo "series,i,create_us,boot_us,shell,where" >"$SCALE_CSV.tmp"
        : >"$FAILURES"
    else
        touch "$FAILURES"
        for step in $steps; do drop_step "$step"; done
    fi
    for step in ${steps:-${STEPS[*]}}; do
        host_measure "$step"
    done
    mv "$SCALE_CSV.tmp" "$SCALE_CSV"
    [ -s "$READY_CSV" ] && [ -s "$SCALE_CSV" ] && [ -s "$META" ] || fail "the measurements left no results ($READY_CSV, $SCALE_CSV)"
    report
}

# --- report: medians, ratios, goals, summary CSV, plot ------------------------------------------

report() {
    local where cpus l1mem
    where=$(awk '$1 == "where" { print $2 }' "$META")
    cpus=$(awk '$1 == "cpus" { print $2 }' "$META")
    l1mem=$(awk '$1 == "mem_total_kb" { printf "%d", $2 / 1024 }' "$META")
    # col CSV KEYCOL KEY COL: the values of COL in the rows of CSV whose KEYCOL is KEY, in order.
    col() {
        awk -F, -v kc="$2" -v k="$3" -v c="$4" 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == kc) a = i; if ($i == c) b = i }; next }
            $a == k && $b != "" { print $b }' "$1"
    }
    # meta SERIES KEY: one key=value of a series line of the meta file.
    meta() { awk -v s="$1" -v k="$2" '$1 == "series" && $2 == s { for (i = 3; i <= NF; i++) if (index($i, k "=") == 1) { sub(/^[^=]*=/, "", $i); print $i } }' "$META"; }
    metanote() { awk -v s="$1" '$1 == "series" && $2 == s { sub(/.* note=/, ""); print }' "$META"; }

    local v
    declare -A RB RR RP RN
    for v in "${VARIANTS[@]}"; do
        RB[$v]=$(col "$READY_CSV" variant "$v" boot_us | median)
        RR[$v]=$(col "$READY_CSV" variant "$v" ready_us | median)
        RP[$v]=$(col "$READY_CSV" variant "$v" vmm_pss_kb | median)
        RN[$v]=$(col "$READY_CSV" variant "$v" ready_us | wc -l)
    done
    local r_fresh r_prep
    r_fresh=$(ratio "${RR[qemu]}" "${RR[tinyx-kvm]}")
    r_prep=$(ratio "${RR[qemu]}" "${RR[daemon]}")

    local s series=(daemon-prepared daemon-pool0 qemu)
    declare -A SC SB SF SL SX SP SA SH SCR
    for s in "${series[@]}"; do
        SC[$s]=$(col "$SCALE_CSV" series "$s" create_us | median)
        SB[$s]=$(col "$SCALE_CSV" series "$s" boot_us | median)
        SF[$s]=$(col "$SCALE_CSV" series "$s" boot_us | head -n "$WINDOW" | median)
        SL[$s]=$(col "$SCALE_CSV" series "$s" boot_us | tail -n "$WINDOW" | median)
        SX[$s]=$(ratio "${SL[$s]}" "${SF[$s]}")
        SCR[$s]=$(ratio "$(col "$SCALE_CSV" series "$s" create_us | tail -n "$WINDOW" | median)" \
            "$(col "$SCALE_CSV" series "$s" create_us | head -n "$WINDOW" | median)")
        SA[$s]=$(meta "$s" alive)
        SH[$s]=$(meta "$s" answered)
        SP[$s]=$(awk -v p="$(meta "$s" pss_kb)" -v n="${SA[$s]}" 'BEGIN { if (n > 0) printf "%.0f", p / n }')
    done
    local pss_frac pss_x
    pss_frac=$(ratio "${SP[daemon-prepared]}" "${SP[qemu]}")
    pss_x=$(ratio "${SP[qemu]}" "${SP[daemon-prepared]}")

    verdict() { awk -v v="$1" -v g="$2" -v op="$3" 'BEGIN { if (v == "") print "SKIP"; else if (op == ">=" ? v + 0 >= g + 0 : v + 0 <= g + 0) print "PASS"; else print "MISS" }'; }
    local v_fresh v_prep v_pss v_scale
    v_fresh=$(verdict "$r_fresh" "$GOAL_READY_FRESH" ">=")
    v_prep=$(verdict "$r_prep" "$GOAL_READY_PREPARED" ">=")
    v_pss=$(verdict "$pss_frac" "$GOAL_PSS_FRACTION" "<=")
    v_scale=$(verdict "${SCR[daemon-prepared]}" "$GOAL_SCALE_RATIO" "<=")
    local nfail=0
    [ -s "$FAILURES" ] && nfail=$(wc -l <"$FAILURES")

    {
        echo "metric,value,goal,verdict"
        echo "measured_in,$where,,"
        echo "cpus,$cpus,,"
        echo "mem_mib,$l1mem,,"
        for v in "${VARIANTS[@]}"; do
            echo "ready_runs:$v,${RN[$v]},,"
            echo "boot_median_us:$v,${RB[$v]},,"
            echo "ready_median_us:$v,${RR[$v]},,"
            echo "vmm_pss_kb_median:$v,${RP[$v]},,"
        done
        echo "ready_qemu_over_tinyx-kvm,$r_fresh,>=$GOAL_READY_FRESH,$v_fresh"
        echo "ready_qemu_over_daemon,$r_prep,>=$GOAL_READY_PREPARED,$v_prep"
        for s in "${series[@]}"; do
            echo "guests_created:$s,$(meta "$s" created),$N,"
            echo "guests_alive:$s,${SA[$s]},,"
            echo "guests_answering_http:$s,${SH[$s]},$(meta "$s" created),$([ "${SH[$s]}" = "$(meta "$s" created)" ] && echo PASS || echo FAIL)"
            echo "pss_kb_per_vm:$s,${SP[$s]},,"
            echo "create_median_us:$s,${SC[$s]},,"
            echo "boot_median_us:$s,${SB[$s]},,"
            echo "boot_first${WINDOW}_median_us:$s,${SF[$s]},,"
            echo "boot_last${WINDOW}_median_us:$s,${SL[$s]},,"
            echo "boot_last${WINDOW}_over_first${WINDOW}:$s,${SX[$s]},,"
            [ -n "${SCR[$s]}" ] && echo "create_last${WINDOW}_over_first${WINDOW}:$s,${SCR[$s]},,"
        done
        echo "pss_per_vm_daemon-prepared_over_qemu,$pss_frac,<=$GOAL_PSS_FRACTION,$v_pss"
        echo "create_last${WINDOW}_over_first${WINDOW}:daemon-prepared (goal),${SCR[daemon-prepared]},<=$GOAL_SCALE_RATIO,$v_scale"
        echo "failures,$nfail,0,$([ "$nfail" -eq 0 ] && echo PASS || echo FAIL)"
    } >"$SUMMARY"

    local title="nginx: tinyx-kvm and tinyx daemon vs QEMU microvm -accel kvm"
    [ "$where" = L1 ] && title+=" (measured in a nested L1 VM: ratios only)"
    gnuplot -c "$HERE/plot_linux.gp" "$READY_CSV" "$SCALE_CSV" "$PNG" "$title" \
        "${SP[daemon-prepared]:-0}" "${SP[daemon-pool0]:-0}" "${SP[qemu]:-0}" >"$LOGS/linux-plot.log" 2>&1 ||
        fail "gnuplot failed to draw $PNG" "$LOGS/linux-plot.log"

    # The human summary.
    printf '\nLinux guests (%s): %s, %s CPUs, %s MiB' "$APP" \
        "$([ "$where" = L1 ] && echo "measured in a nested L1 VM (KVM under QEMU TCG)" || echo "measured on this host")" "$cpus" "$l1mem"
    [ "$where" = L1 ] && printf '\n  (timings in L1 are slowed and distorted by emulation: only ratios measured side by side here mean anything)'
    printf '\n\nBoot-to-ready, %s runs per variant interleaved (medians; boot = launcher starts the VM -> boot-timer byte,\nready = -> first HTTP 200 from nginx):\n' "$R"
    printf '  %-34s %5s %10s %10s %10s\n' variant runs boot_s ready_s pss_MiB
    for v in "${VARIANTS[@]}"; do
        local label
        case "$v" in
        tinyx-kvm) label="tinyx-kvm, fresh (host link)" ;;
        daemon) label="daemon, prepared shell (bridge)" ;;
        qemu) label="QEMU microvm -accel kvm (user net)" ;;
        esac
        printf '  %-34s %5s %10s %10s %10s\n' "$label" "${RN[$v]}" "$(secs "${RB[$v]}")" "$(secs "${RR[$v]}")" \
            "$(awk -v k="${RP[$v]}" 'BEGIN { if (k == "") print "-"; else printf "%.1f", k / 1024 }')"
    done
    printf '  ready QEMU / tinyx-kvm: %sx; QEMU / daemon: %sx; boot QEMU / tinyx-kvm: %sx, QEMU / daemon: %sx\n' \
        "${r_fresh:--}" "${r_prep:--}" "$(ratio "${RB[qemu]}" "${RB[tinyx-kvm]}")" "$(ratio "${RB[qemu]}" "${RB[daemon]}")"
    printf '\n%s nginx guests per series, created one after another and kept alive (create = request -> vCPU started,\ndaemon only; boot = request -> boot-timer byte: the daemon'"'"'s figure, or the launcher starting QEMU):\n' "$N"
    printf '  %-16s %7s %6s %7s | %9s %9s %9s %9s %8s | %9s\n' series created alive http create_s boot_s first5_s last5_s last/1st PSS/VM_KiB
    for s in "${series[@]}"; do
        printf '  %-16s %7s %6s %7s | %9s %9s %9s %9s %8s | %9s\n' "$s" "$(meta "$s" created)" "${SA[$s]}" "${SH[$s]}" \
            "$(secs "${SC[$s]}")" "$(secs "${SB[$s]}")" "$(secs "${SF[$s]}")" "$(secs "${SL[$s]}")" "${SX[$s]:--}" "${SP[$s]:--}"
        local note
        note=$(metanote "$s")
        case "$note" in memory*) printf '    %s: %s\n' "$s" "$note" ;; esac
    done
    printf '  daemon-prepared: create (request -> vCPU) last %s / first %s: %sx\n' "$WINDOW" "$WINDOW" "${SCR[daemon-prepared]:--}"
    echo
    echo "  $v_fresh: ready ${r_fresh:--}x faster than QEMU with a fresh tinyx-kvm (goal >= ${GOAL_READY_FRESH}x)"
    echo "  $v_prep: ready ${r_prep:--}x faster than QEMU with a prepared shell (goal >= ${GOAL_READY_PREPARED}x)"
    echo "  $v_pss: host PSS per idle nginx guest ${SP[daemon-prepared]:--} KiB (prepared shells) vs ${SP[qemu]:--} KiB (QEMU): ${pss_frac:--} of it, ${pss_x:--}x less (goal <= 1/4)"
    echo "  $v_scale: create (request -> vCPU started) of the last $WINDOW guests vs the first $WINDOW (medians; prepared shells): ${SCR[daemon-prepared]:--}x (goal <= ${GOAL_SCALE_RATIO}x)"
    [ -s "$RETRIES" ] && sed 's/^/  note: /' "$RETRIES"
    if [ "$nfail" -gt 0 ]; then
        echo "  FAIL: $nfail failure(s) in this run:"
        sed 's/^/    - /' "$FAILURES"
    fi
    say "wrote $READY_CSV, $SCALE_CSV, $SUMMARY and $PNG ($(since "$T_START") s)"
    [ "$nfail" -eq 0 ]
}

WHERE_TAG=${BENCH_LINUX_WHERE:-host}
case "${1:-}" in
--measure) measure_main "${2:-}" ;;
--report) report ;;
*) host_main ;;
esac
