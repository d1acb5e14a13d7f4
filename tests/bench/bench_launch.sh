#!/usr/bin/env bash
# bench_launch.sh: the noop test guest on the KVM backend (tinyx-kvm) against the same guest as a
# QEMU microvm process, in one run: VMM start to boot-timer signal (median of N) and VMM memory.
# Writes $OUT/launch.csv and $OUT/launch.png. Run through tests/bench/run (make bench).
set -u
: "${ROOT:?run through tests/bench/run}" "${B:?}" "${OUT:?}" "${WORK:?}"
RUNS=${BENCH_LAUNCH_RUNS:-50}
LAUNCH="$B/bin/tinyx-launch"
GUEST="$ROOT/out/guests/noop"
say() { printf 'bench: [launch] %s\n' "$*" >&2; }

[ -x "$LAUNCH" ] || { echo "bench: error: $LAUNCH missing: run make" >&2; exit 6; }
[ -f "$GUEST/kernel" ] || { echo "bench: error: $GUEST missing: run make (it builds the test guests)" >&2; exit 6; }

# One backend, RUNS boots in a row, each a fresh VMM process; the launcher reports the median of
# boot_us (launcher spawning the VMM -> the guest's boot-timer byte) and of the VMM's RSS/PSS
# sampled while the guest runs.
measure() {
    local backend=$1 json="$WORK/launch-$1.json"
    local t0=$(date +%s)
    if ! "$LAUNCH" run --backend "$backend" --json --quiet --runs "$RUNS" --timeout 30 "$GUEST" \
        >"$json" 2>"$WORK/launch-$backend.err"; then
        echo "bench: error: $backend runs failed:" >&2
        tail -5 "$WORK/launch-$backend.err" >&2
        return 1
    fi
    say "$backend: $RUNS boots in $(( $(date +%s) - t0 )) s"
}

# The monitor's own view (process start -> boot-timer byte, no launcher in between), from
# tinyx-kvm --timing, median of RUNS.
monitor_only() {
    local kvm="$B/bin/tinyx-kvm" i
    : >"$WORK/timing.txt"
    for i in $(seq 1 "$RUNS"); do
        "$kvm" --kernel "$GUEST/kernel" --mem 16 --timing --console-fd 1 >/dev/null 2>"$WORK/t.err"
        grep -o '"boot_timer_us":[0-9]*' "$WORK/t.err" | cut -d: -f2 >>"$WORK/timing.txt"
    done
    sort -n "$WORK/timing.txt" | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'
}

# The KVM backend with prepared shells (the split toolstack, docs/daemon.md): a daemon on a
# private socket with a small pool; each run takes a prepared shell. Stopped on any exit.
DAEMON_PID=""
stop_daemon() {
    [ -n "$DAEMON_PID" ] || return 0
    kill -TERM "$DAEMON_PID" 2>/dev/null
    wait "$DAEMON_PID" 2>/dev/null
    DAEMON_PID=""
}
trap stop_daemon EXIT
trap 'stop_daemon; exit 130' INT TERM
start_daemon() {
    local sock="$WORK/launch-daemon.sock" i
    "$B/bin/tinyx-launch" daemon --socket "$sock" --pool 4 --mem 16 --image "$GUEST" \
        >"$WORK/launch-daemon.log" 2>&1 &
    DAEMON_PID=$!
    for i in $(seq 1 100); do
        grep -q 'daemon ready' "$WORK/launch-daemon.log" 2>/dev/null && break
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q 'daemon ready' "$WORK/launch-daemon.log"; then
        echo "bench: error: tinyx daemon did not start:" >&2
        tail -5 "$WORK/launch-daemon.log" >&2
        return 1
    fi
    export TINYX_DAEMON_SOCKET=$sock
}

measure kvm || exit 1
start_daemon || exit 1
measure daemon || exit 1
stop_daemon
measure qemu || exit 1
mon=$(monitor_only)

field() { jq -r "$2 // empty" "$WORK/launch-$1.json"; }
{
    echo "backend,runs,boot_us_median,boot_us_min,boot_us_max,vmm_rss_kb,vmm_pss_kb"
    for b in kvm daemon qemu; do
        echo "$b,$(field $b .runs),$(field $b .boot_us),$(field $b .boot_us_min),$(field $b .boot_us_max),$(field $b .vmm_rss_kb),$(field $b .vmm_pss_kb)"
    done
} >"$OUT/launch.csv"

kb=$(field kvm .boot_us); qb=$(field qemu .boot_us); db=$(field daemon .boot_us)
kr=$(field kvm .vmm_rss_kb); qr=$(field qemu .vmm_rss_kb)
ratio=$(awk -v q="$qb" -v k="$kb" 'BEGIN { printf "%.1f", q / k }')
dratio=$(awk -v q="$qb" -v k="$db" 'BEGIN { printf "%.1f", q / k }')
printf '\nnoop guest, %s boots each (medians; boot = launcher starts the VM -> guest boot-timer byte;\n  kvm: a new tinyx-kvm per boot; daemon: a prepared tinyx-kvm shell of a running tinyx daemon)\n' "$RUNS"
printf '  %-8s %10s %10s %10s %12s %12s\n' backend boot_ms min_ms max_ms rss_MiB pss_MiB
for b in kvm daemon qemu; do
    awk -v b="$b" -v m="$(field $b .boot_us)" -v lo="$(field $b .boot_us_min)" -v hi="$(field $b .boot_us_max)" \
        -v r="$(field $b .vmm_rss_kb)" -v p="$(field $b .vmm_pss_kb)" \
        'BEGIN { printf "  %-8s %10.2f %10.2f %10.2f %12.2f %12.2f\n", b, m/1000, lo/1000, hi/1000, r/1024, p/1024 }'
done
printf '  QEMU / KVM: %sx fresh, %sx prepared; tinyx-kvm alone (process start -> boot-timer byte): %s us median\n' "$ratio" "$dratio" "${mon:-?}"
awk -v k="$kb" 'BEGIN { printf "  %s: create+boot on the KVM backend, fresh VMM %.2f ms (goal < 2 ms)\n", (k < 2000 ? "PASS" : "MISS"), k/1000 }'
awk -v k="$db" 'BEGIN { printf "  %s: create+boot on the KVM backend, prepared shell %.2f ms (goal < 2 ms)\n", (k < 2000 ? "PASS" : "MISS"), k/1000 }'
awk -v r="$ratio" 'BEGIN { printf "  %s: fresh VMM %sx faster than QEMU (goal >= 20x)\n", (r >= 20 ? "PASS" : "MISS"), r }'
awk -v r="$dratio" 'BEGIN { printf "  %s: prepared shell %sx faster than QEMU (goal >= 20x)\n", (r >= 20 ? "PASS" : "MISS"), r }'
awk -v r="$kr" 'BEGIN { printf "  %s: VMM RSS %.2f MiB (goal <= 5 MiB)\n", (r <= 5120 ? "PASS" : "MISS"), r/1024 }'
echo "monitor_start_to_boot_timer_us,$mon" >>"$OUT/launch.csv"

dr=$(field daemon .vmm_rss_kb)
lab() { awk -v v="$1" -v d="$2" -v u="$3" 'BEGIN { printf "%.*f %s", d, v, u }'; }
gnuplot <<EOF 2>"$WORK/gnuplot-launch.err" || { echo "bench: warning: no launch.png (gnuplot failed)" >&2; cat "$WORK/gnuplot-launch.err" >&2; }
set terminal pngcairo size 1100,480 font ",11"
set output "$OUT/launch.png"
set multiplot layout 1,2 title "noop test guest: KVM backend (fresh tinyx-kvm; prepared shell of tinyx daemon) vs QEMU microvm (TCG here), $RUNS boots each"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.6
set grid ytics
set logscale y
set ylabel "ms, log scale"
set title "VM start to boot-timer byte (median)"
set yrange [0.1:*]
plot "-" using 2:xtic(1) notitle lc rgb "#4a7fb8", "" using 0:2:3 with labels offset 0,1 notitle
"tinyx-kvm" $(awk -v k="$kb" 'BEGIN{print k/1000}')
"daemon shell" $(awk -v k="$db" 'BEGIN{print k/1000}')
"QEMU" $(awk -v q="$qb" 'BEGIN{print q/1000}')
e
"tinyx-kvm" $(awk -v k="$kb" 'BEGIN{print k/1000}') "$(lab "$(awk -v k="$kb" 'BEGIN{print k/1000}')" 2 ms)"
"daemon shell" $(awk -v k="$db" 'BEGIN{print k/1000}') "$(lab "$(awk -v k="$db" 'BEGIN{print k/1000}')" 2 ms)"
"QEMU" $(awk -v q="$qb" 'BEGIN{print q/1000}') "$(lab "$(awk -v q="$qb" 'BEGIN{print q/1000}')" 1 ms)"
e
set title "VMM memory (RSS, median)"
set ylabel "MiB, log scale"
plot "-" using 2:xtic(1) notitle lc rgb "#e0956a", "" using 0:2:3 with labels offset 0,1 notitle
"tinyx-kvm" $(awk -v r="$kr" 'BEGIN{print r/1024}')
"daemon shell" $(awk -v r="$dr" 'BEGIN{print r/1024}')
"QEMU" $(awk -v r="$qr" 'BEGIN{print r/1024}')
e
"tinyx-kvm" $(awk -v r="$kr" 'BEGIN{print r/1024}') "$(lab "$(awk -v r="$kr" 'BEGIN{print r/1024}')" 1 MiB)"
"daemon shell" $(awk -v r="$dr" 'BEGIN{print r/1024}') "$(lab "$(awk -v r="$dr" 'BEGIN{print r/1024}')" 1 MiB)"
"QEMU" $(awk -v r="$qr" 'BEGIN{print r/1024}') "$(lab "$(awk -v r="$qr" 'BEGIN{print r/1024}')" 1 MiB)"
e
unset multiplot
EOF
say "wrote $OUT/launch.csv and $OUT/launch.png"
