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

measure kvm || exit 1
measure qemu || exit 1
mon=$(monitor_only)

field() { jq -r "$2 // empty" "$WORK/launch-$1.json"; }
{
    echo "backend,runs,boot_us_median,boot_us_min,boot_us_max,vmm_rss_kb,vmm_pss_kb"
    for b in kvm qemu; do
        echo "$b,$(field $b .runs),$(field $b .boot_us),$(field $b .boot_us_min),$(field $b .boot_us_max),$(field $b .vmm_rss_kb),$(field $b .vmm_pss_kb)"
    done
} >"$OUT/launch.csv"

kb=$(field kvm .boot_us); qb=$(field qemu .boot_us)
kr=$(field kvm .vmm_rss_kb); qr=$(field qemu .vmm_rss_kb)
ratio=$(awk -v q="$qb" -v k="$kb" 'BEGIN { printf "%.1f", q / k }')
printf '\nnoop guest, %s boots each (medians; boot = launcher spawns the VMM -> guest boot-timer byte)\n' "$RUNS"
printf '  %-8s %10s %10s %10s %12s %12s\n' backend boot_ms min_ms max_ms rss_MiB pss_MiB
for b in kvm qemu; do
    awk -v b="$b" -v m="$(field $b .boot_us)" -v lo="$(field $b .boot_us_min)" -v hi="$(field $b .boot_us_max)" \
        -v r="$(field $b .vmm_rss_kb)" -v p="$(field $b .vmm_pss_kb)" \
        'BEGIN { printf "  %-8s %10.2f %10.2f %10.2f %12.2f %12.2f\n", b, m/1000, lo/1000, hi/1000, r/1024, p/1024 }'
done
printf '  QEMU / KVM: %sx; tinyx-kvm alone (process start -> boot-timer byte): %s us median\n' "$ratio" "${mon:-?}"
awk -v k="$kb" 'BEGIN { printf "  %s: create+boot on the KVM backend %.2f ms (goal < 2 ms)\n", (k < 2000 ? "PASS" : "MISS"), k/1000 }'
awk -v r="$ratio" 'BEGIN { printf "  %s: %sx faster than QEMU (goal >= 20x)\n", (r >= 20 ? "PASS" : "MISS"), r }'
awk -v r="$kr" 'BEGIN { printf "  %s: VMM RSS %.2f MiB (goal <= 5 MiB)\n", (r <= 5120 ? "PASS" : "MISS"), r/1024 }'
echo "monitor_start_to_boot_timer_us,$mon" >>"$OUT/launch.csv"

gnuplot <<EOF 2>"$WORK/gnuplot-launch.err" || { echo "bench: warning: no launch.png (gnuplot failed)" >&2; cat "$WORK/gnuplot-launch.err" >&2; }
set terminal pngcairo size 1000,450 font ",11"
set output "$OUT/launch.png"
set multiplot layout 1,2 title "noop test guest: KVM backend (tinyx-kvm) vs QEMU microvm (TCG here), $RUNS boots each"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.6
set grid ytics
set logscale y
set ylabel "ms, log scale"
set title "VMM start to boot-timer byte (median)"
set yrange [0.1:*]
plot "-" using 2:xtic(1) notitle lc rgb "#4a7fb8", "" using 0:2:3 with labels offset 0,1 notitle
"tinyx-kvm" $(awk -v k="$kb" 'BEGIN{print k/1000}')
"QEMU" $(awk -v q="$qb" 'BEGIN{print q/1000}')
e
"tinyx-kvm" $(awk -v k="$kb" 'BEGIN{print k/1000}') "$(awk -v k="$kb" 'BEGIN{printf "%.2f ms", k/1000}')"
"QEMU" $(awk -v q="$qb" 'BEGIN{print q/1000}') "$(awk -v q="$qb" 'BEGIN{printf "%.1f ms (%sx)", q/1000, "'"$ratio"'"}')"
e
set title "VMM memory (RSS, median)"
set ylabel "MiB, log scale"
plot "-" using 2:xtic(1) notitle lc rgb "#e0956a", "" using 0:2:3 with labels offset 0,1 notitle
"tinyx-kvm" $(awk -v r="$kr" 'BEGIN{print r/1024}')
"QEMU" $(awk -v r="$qr" 'BEGIN{print r/1024}')
e
"tinyx-kvm" $(awk -v r="$kr" 'BEGIN{print r/1024}') "$(awk -v r="$kr" 'BEGIN{printf "%.1f MiB", r/1024}')"
"QEMU" $(awk -v r="$qr" 'BEGIN{print r/1024}') "$(awk -v r="$qr" 'BEGIN{printf "%.1f MiB", r/1024}')"
e
unset multiplot
EOF
say "wrote $OUT/launch.csv and $OUT/launch.png"
