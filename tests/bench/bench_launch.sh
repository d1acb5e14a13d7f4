#!/usr/bin/env bash
# bench_launch.sh: the noop test guest on our KVM monitor (a fresh tinyx-kvm; a prepared shell of
# tinyx daemon) against the same guest as a QEMU microvm process, like for like: QEMU gets KVM
# wherever our monitor does. Where this host's KVM cannot run it (no /dev/kvm, kvm_pvm), the
# whole part runs inside a nested L1 (tests/nested/kvm-l1), where both sides get that L1's KVM.
# ROUNDS rounds (default 5), each RUNS boots per backend (default 20), backends interleaved per
# round; the ratio QEMU / ours is taken per round and reported as median [min-max] of the rounds.
# A ratio between different accelerators is refused, not printed.
# Writes $OUT/launch.csv (every boot), $OUT/launch-summary.csv (per round and backend: medians,
# VMM RSS/PSS; the ratios) and $OUT/launch.png. Run through tests/bench/run (make bench).
set -u
: "${ROOT:?run through tests/bench/run}" "${B:?}" "${OUT:?}" "${WORK:?}"
RUNS=${BENCH_LAUNCH_RUNS:-20}
ROUNDS=${BENCH_LAUNCH_ROUNDS:-5}
LAUNCH="$B/bin/tinyx-launch"
GUEST="$ROOT/out/guests/noop"
BACKENDS="kvm daemon qemu"
say() { printf 'bench: [launch] %s\n' "$*" >&2; }
. "$ROOT/tests/nested/lib.sh"

[ -x "$LAUNCH" ] || { echo "bench: error: $LAUNCH missing: run make" >&2; exit 6; }
[ -f "$GUEST/kernel" ] || { echo "bench: error: $GUEST missing: run make (it builds the test guests)" >&2; exit 6; }
for v in RUNS ROUNDS; do
    case "${!v}" in '' | *[!0-9]* | 0*) echo "bench: error: launch: $v wants a whole number >= 1, not '${!v}'" >&2; exit 2 ;; esac
done

if [ -z "${TINYX_NESTED_L1:-}" ] && ! nested_host_kvm_runs_linux; then
    say "inside a nested L1, because $(nested_why_l1): our monitor and QEMU both get its KVM"
    exec "$ROOT/tests/nested/kvm-l1" --mem 4096 --timeout 3600 --rw "$OUT" -- bash "$0"
fi
HOST_DESC="$(nproc) CPUs, $(uname -r)$([ -n "${TINYX_NESTED_L1:-}" ] && echo ", nested L1 under QEMU TCG")"

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
    # The socket on a local tmpfs (in L1, $WORK is on virtiofs).
    local sock i
    sock=$(mktemp -u /tmp/tinyx-bench-launch.XXXXXX.sock)
    "$B/bin/tinyx-launch" daemon --socket "$sock" --pool 4 --mem 16 --image "$GUEST" \
        >"$WORK/launch-daemon.log" 2>&1 &
    DAEMON_PID=$!
    for i in $(seq 1 200); do
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

# measure BACKEND ROUND: RUNS boots in a row, each a fresh VMM process (or prepared shell); the
# launcher reports every boot (launcher spawning the VMM -> the guest's boot-timer byte), their
# median, and the VMM's RSS/PSS sampled while the guest runs.
measure() {
    local backend=$1 round=$2 json="$WORK/launch-$1-$2.json" t0
    t0=$(date +%s)
    if ! "$LAUNCH" run --backend "$backend" --json --quiet --runs "$RUNS" --timeout 30 "$GUEST" \
        >"$json" 2>"$WORK/launch-$backend.err"; then
        echo "bench: error: $backend runs failed:" >&2
        tail -5 "$WORK/launch-$backend.err" >&2
        return 1
    fi
    say "round $round, $backend ($(jq -r .accel "$json")): $RUNS boots in $(($(date +%s) - t0)) s, median $(jq -r '.boot_us / 1000' "$json") ms"
}

start_daemon || exit 1
for r in $(seq 1 "$ROUNDS"); do
    for b in $BACKENDS; do measure "$b" "$r" || exit 1; done
done
stop_daemon

field() { jq -r "$3 // empty" "$WORK/launch-$1-$2.json"; }
{
    echo "round,backend,accel,run,boot_us"
    for r in $(seq 1 "$ROUNDS"); do
        for b in $BACKENDS; do
            jq -r --arg r "$r" --arg b "$b" '.accel as $a | .boot_us_all | to_entries[] |
                "\($r),\($b),\($a),\(.key + 1),\(.value)"' "$WORK/launch-$b-$r.json"
        done
    done
} >"$OUT/launch.csv.tmp" && mv "$OUT/launch.csv.tmp" "$OUT/launch.csv"

# Per round: each backend's median, and QEMU's median over ours when the accelerators match.
ratio_or_na() { # OURS ROUND
    if [ "$(field qemu "$2" .accel)" != "$(field "$1" "$2" .accel)" ]; then echo "n/a"; return; fi
    awk -v q="$(field qemu "$2" .boot_us)" -v k="$(field "$1" "$2" .boot_us)" 'BEGIN { printf "%.2f", q / k }'
}
{
    echo "# noop guest, $ROUNDS rounds x $RUNS boots per backend, $(date -u +%Y-%m-%dT%H:%MZ), $HOST_DESC; tests/bench/run --parts launch"
    echo "round,backend,accel,runs,boot_us_median,boot_us_min,boot_us_max,vmm_rss_kb,vmm_pss_kb,qemu_over_this"
    for r in $(seq 1 "$ROUNDS"); do
        for b in $BACKENDS; do
            rat=""
            [ "$b" != qemu ] && rat=$(ratio_or_na "$b" "$r")
            echo "$r,$b,$(field $b $r .accel),$(field $b $r .runs),$(field $b $r .boot_us),$(field $b $r .boot_us_min),$(field $b $r .boot_us_max),$(field $b $r .vmm_rss_kb),$(field $b $r .vmm_pss_kb),$rat"
        done
    done
} >"$OUT/launch-summary.csv.tmp" && mv "$OUT/launch-summary.csv.tmp" "$OUT/launch-summary.csv"

# stats BACKEND COLUMN: median [min-max] over the rounds of one summary column.
stats() {
    awk -F, -v b="$1" -v c="$2" '
        NR == 2 { for (i = 1; i <= NF; i++) col[$i] = i }
        NR > 2 && $2 == b && $col[c] != "" && $col[c] != "n/a" { v[++n] = $col[c] }
        END {
            if (!n) { print "n/a"; exit }
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            printf "%s %s %s\n", m, v[1], v[n]
        }' "$OUT/launch-summary.csv"
}
ms3() { awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { printf "%.2f [%.2f-%.2f]", a / 1000, b / 1000, c / 1000 }'; }

printf '\nnoop guest: %s rounds x %s boots per backend; boot = launcher starts the VM -> guest boot-timer byte\n' "$ROUNDS" "$RUNS"
printf '  (%s; kvm: a new tinyx-kvm per boot; daemon: a prepared shell of a running tinyx daemon)\n' "$HOST_DESC"
printf '  %-7s %-5s %-36s %s\n' backend accel "boot ms: median of rounds [min-max]" "RSS MiB"
for b in $BACKENDS; do
    read -r m lo hi <<<"$(stats "$b" boot_us_median)"
    read -r rss _ _ <<<"$(stats "$b" vmm_rss_kb)"
    printf '  %-7s %-5s %-36s %s\n' "$b" "$(field "$b" 1 .accel)" "$(ms3 "$m" "$lo" "$hi")" \
        "$(awk -v r="$rss" 'BEGIN { printf "%.2f", r / 1024 }')"
done
verdicts=()
for b in kvm daemon; do
    read -r m lo hi <<<"$(stats "$b" qemu_over_this)"
    what=$([ "$b" = kvm ] && echo "fresh tinyx-kvm" || echo "prepared shell")
    if [ "$m" = "n/a" ]; then
        printf '  QEMU / %s: not like for like (accelerators differ): no ratio\n' "$what"
        continue
    fi
    awk -v w="$what" -v m="$m" -v lo="$lo" -v hi="$hi" -v n="$ROUNDS" \
        'BEGIN { printf "  QEMU / %s: %.2fx, median of %d rounds [%.2f-%.2f]\n", w, m, n, lo, hi }'
    verdicts+=("$(awk -v r="$m" -v w="$what" 'BEGIN { printf "%s: %s %.2fx faster than QEMU with the same accelerator (goal >= 20x)", (r >= 20 ? "PASS" : "MISS"), w, r }')")
done
read -r km _ _ <<<"$(stats kvm boot_us_median)"
read -r dm _ _ <<<"$(stats daemon boot_us_median)"
read -r kr _ _ <<<"$(stats kvm vmm_rss_kb)"
awk -v k="$km" 'BEGIN { printf "  %s: create+boot on the KVM backend, fresh VMM %.2f ms (goal < 2 ms)\n", (k < 2000 ? "PASS" : "MISS"), k/1000 }'
awk -v k="$dm" 'BEGIN { printf "  %s: create+boot on the KVM backend, prepared shell %.2f ms (goal < 2 ms)\n", (k < 2000 ? "PASS" : "MISS"), k/1000 }'
for v in "${verdicts[@]}"; do echo "  $v"; done
awk -v r="$kr" 'BEGIN { printf "  %s: VMM RSS %.2f MiB (goal <= 5 MiB)\n", (r <= 5120 ? "PASS" : "MISS"), r/1024 }'

gnuplot -c "$ROOT/tests/bench/plot_launch.gp" "$OUT/launch.csv" "$OUT/launch.png" "$HOST_DESC" \
    2>"$WORK/gnuplot-launch.err" || { echo "bench: warning: no launch.png (gnuplot failed)" >&2; cat "$WORK/gnuplot-launch.err" >&2; }
say "wrote $OUT/launch.csv, $OUT/launch-summary.csv and $OUT/launch.png"
