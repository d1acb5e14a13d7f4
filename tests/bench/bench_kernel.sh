#!/usr/bin/env bash
# bench_kernel.sh: nginx on Debian's cloud kernel vs its Tinyx kernel before and after kconfig-min: sizes, boot and ready times.
# Started by tests/bench/run after the size part; options arrive in the environment and the
# scratch folder $WORK belongs to run. Writes $OUT/kernel.csv, $OUT/kernel-min.json (the
# minimizer's report), $OUT/kernel-min.config, $OUT/kernel.png and $OUT/logs/kernel-*.
set -u -o pipefail

for v in ROOT B OUT WORK BENCH_CACHE BENCH_WARM BENCH_KERNEL_BUDGET BENCH_KERNEL_RUNS; do
    if [ -z "${!v+set}" ]; then
        echo "bench_kernel.sh: \$$v is not set: start the benchmark with tests/bench/run (or make bench)" >&2
        exit 2
    fi
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TINYX="$B/bin/tinyx"
CACHE=$BENCH_CACHE
IMAGES="$OUT/images"
LOGS="$OUT/logs"
CSV="$OUT/kernel.csv"
REPORT="$OUT/kernel-min.json"
MIN_CONFIG="$OUT/kernel-min.config"
PNG="$OUT/kernel.png"
APP=nginx                 # the app whose kernel is minimized (the issue's goals are about nginx)
DEB_APP=$APP-debian       # the same recipe with kernel: {source: debian}
GOAL_BZIMAGE_BYTES=1000000 # "bzImage at most 1.0 MB", MB = 10^6 bytes (the stricter reading)
GOAL_SPEEDUP=3            # "boot-to-ready at least 3x faster than the cloud kernel"
BOOT_TIMEOUT=120          # seconds for one boot until ready (TCG, a loaded host)
T_START=$EPOCHREALTIME
STEP_PID="" NAP_PID=""

cd "$ROOT" || exit 1
mkdir -p "$CACHE" "$IMAGES" "$LOGS" || { echo "bench: error: cannot create $CACHE, $IMAGES or $LOGS" >&2; exit 1; }
rm -f "$LOGS"/kernel-*

# --- helpers (the same conventions as bench_sizes.sh) ----------------------------------------

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
progress() { printf '[%7.1f s] kernel: %s\n' "$(since "$T_START")" "$*"; }
warn() { progress "warning: $*"; }

# fail MESSAGE [LOG]: stop with a message and the end of the step's log.
fail() {
    echo "bench: error: $1" >&2
    if [ $# -ge 2 ] && [ -s "$2" ]; then
        echo "bench: last lines of $2:" >&2
        tail -n 25 "$2" | sed 's/^/    | /' >&2
    fi
    exit 1
}

cleanup() { rm -f "$CSV.tmp"; }
trap cleanup EXIT
on_signal() {
    [ -n "$NAP_PID" ] && kill "$NAP_PID" 2>/dev/null
    if [ -n "$STEP_PID" ]; then
        # kconfig-min stops at the next trial boundary on TERM and keeps its verdicts.
        kill -TERM "$STEP_PID" 2>/dev/null
        wait "$STEP_PID" 2>/dev/null
    fi
    exit 130
}
trap on_signal INT TERM

# step LOG TIMEOUT CMD...: one step with a time limit, output to LOG, in the background so that
# a signal stops it at once; returns its status.
step() {
    local log=$1 limit=$2 rc
    shift 2
    timeout -k 20 "$limit" "$@" >"$log" 2>&1 &
    STEP_PID=$!
    wait "$STEP_PID"
    rc=$?
    STEP_PID=""
    [ "$rc" -eq 124 ] && echo "bench: step timed out after $limit s: $*" >>"$log"
    return "$rc"
}

# watched_step LOG TIMEOUT PATTERN CMD...: step, printing about every minute the newest log
# line that matches PATTERN (from the match on), so that a long step shows where it is.
watched_step() {
    local log=$1 limit=$2 pattern=$3 rc line last="" naps=0
    shift 3
    timeout -k 20 "$limit" "$@" >"$log" 2>&1 &
    STEP_PID=$!
    while kill -0 "$STEP_PID" 2>/dev/null; do
        sleep 5 &
        NAP_PID=$!
        wait "$NAP_PID"
        NAP_PID=""
        naps=$((naps + 1))
        [ $((naps % 12)) -eq 0 ] || continue
        line=$(grep -Eo "$pattern.*" "$log" 2>/dev/null | tail -n 1)
        if [ -n "$line" ] && [ "$line" != "$last" ]; then
            progress "$line"
            last=$line
        fi
    done
    wait "$STEP_PID"
    rc=$?
    STEP_PID=""
    [ "$rc" -eq 124 ] && echo "bench: step timed out after $limit s: $*" >>"$log"
    return "$rc"
}

# median/min/max of numbers, one per line on stdin.
stat_of() {
    sort -g | awk -v what="$1" '{ v[NR] = $1 }
        END { if (NR == 0) exit 1
              if (what == "min") print v[1]
              else if (what == "max") print v[NR]
              else if (NR % 2) printf "%.0f\n", v[(NR + 1) / 2]
              else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "" }'; }
mb() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1e6 }'; }
sec() { awk -v u="$1" 'BEGIN { printf "%.3f", u / 1e6 }'; }
bytes_of() { stat -c %s "$1"; }

# --- the two images ---------------------------------------------------------------------------

# build NAME RECIPE: tinyx build into $IMAGES/NAME. A first build compiles the Tinyx kernel
# (minutes); later ones find it cached by its config's hash.
build() {
    local name=$1 recipe=$2 t0 log="$LOGS/kernel-build-$1.log"
    t0=$EPOCHREALTIME
    step "$log" 3600 "$TINYX" build --cache "$CACHE" -o "$IMAGES/$name" "$recipe" ||
        fail "tinyx build $name failed" "$log"
    progress "$name: built in $(since "$t0") s ($(jq -r .kernel.source "$IMAGES/$name/manifest.json"))"
}

# The Debian variant: the recipe as shipped plus kernel: {source: debian}, named $DEB_APP.
write_debian_recipe() {
    local src="$ROOT/recipes/$APP.yaml" dst="$WORK/$DEB_APP.yaml"
    [ -f "$src" ] || fail "$src is missing"
    grep -q '^kernel:' "$src" &&
        fail "$src already has a kernel: key; the bench adds kernel: {source: debian} itself, so remove it or adapt bench_kernel.sh"
    grep -q "^name: $APP\$" "$src" || fail "$src has no line 'name: $APP' to rename"
    { sed "s/^name: $APP\$/name: $DEB_APP/" "$src"
      echo "# Added by tests/bench/bench_kernel.sh: the same app on Debian's cloud kernel."
      echo "kernel: {source: debian}"; } >"$dst" || fail "cannot write $dst"
    DEB_RECIPE=$dst
}

# The cloud kernel as an ELF vmlinux (PVH entry), to compare formats fairly: Linux's own
# scripts/extract-vmlinux from the unpacked linux-source tree. Optional: a failure is a warning.
extract_cloud_vmlinux() {
    local script="" s log="$LOGS/kernel-extract-vmlinux.log"
    CLOUD_ELF=""
    for s in "$CACHE"/kernel/src/*/scripts/extract-vmlinux "$CACHE"/kernel/src/*/*/scripts/extract-vmlinux; do
        [ -x "$s" ] && script=$s && break
    done
    if [ -z "$script" ]; then
        warn "no scripts/extract-vmlinux under $CACHE/kernel/src; the cloud kernel is measured as bzImage only"
        return 0
    fi
    if ! step "$log" 300 bash -c '"$1" "$2" >"$3"' _ "$script" "$IMAGES/$DEB_APP/kernel" "$WORK/cloud.vmlinux" ||
        ! [ -s "$WORK/cloud.vmlinux" ]; then
        warn "extract-vmlinux failed on the cloud kernel (see $log); it is measured as bzImage only"
        return 0
    fi
    CLOUD_ELF="$WORK/cloud.vmlinux"
}

# --- minimization -----------------------------------------------------------------------------

minimize() {
    local log="$LOGS/kernel-min.log" limit t0
    # Without --warm the search starts with no verdicts (a rerun would otherwise resume the last
    # search and get more than its budget). Kernels already built stay cached by config hash,
    # and ccache stays warm: that is how tinyx kconfig-min is meant to run.
    if [ "$BENCH_WARM" != 1 ]; then
        rm -f "$CACHE/kmin/$APP/verdicts.jsonl" || fail "cannot remove $CACHE/kmin/$APP/verdicts.jsonl"
    fi
    rm -f "$REPORT" "$MIN_CONFIG"
    # The budget bounds the search; add room for the baseline, a trial in flight (a build may
    # take up to an hour) and the final measurements. kconfig-min has its own limits inside.
    limit=$(awk -v m="$BENCH_KERNEL_BUDGET" 'BEGIN { printf "%d", m * 60 + 4500 }')
    progress "$APP: tinyx kconfig-min --budget $BENCH_KERNEL_BUDGET (log $log; a line a minute)"
    t0=$EPOCHREALTIME
    watched_step "$log" "$limit" 'kconfig-min: (trial|starting|building|measuring|stopped|done)' "$TINYX" kconfig-min --cache "$CACHE" \
        --image "$IMAGES/$APP" --budget "$BENCH_KERNEL_BUDGET" --runs "$BENCH_KERNEL_RUNS" \
        --report "$REPORT" -o "$MIN_CONFIG" "$APP" ||
        fail "tinyx kconfig-min $APP failed (exit $?)" "$log"
    [ -s "$REPORT" ] || fail "tinyx kconfig-min wrote no report $REPORT" "$log"
    MIN_S=$(since "$t0")
    local hash
    hash=$(jq -r '.final_hash // empty' "$REPORT")
    [ -n "$hash" ] || fail "$REPORT has no final_hash"
    MIN_DIR="$CACHE/kernel/built/$hash"
    { [ -s "$MIN_DIR/vmlinux" ] && [ -s "$MIN_DIR/bzImage" ]; } ||
        fail "the minimized kernel is not in $MIN_DIR (vmlinux, bzImage), though $REPORT names it"
    progress "$APP: minimized in $MIN_S s: $(jq -r '"\(.removed | length) of \(.candidates) options removed, \(.trials) trials (\(.builds) builds), complete: \(.complete); bzImage \(.bzimage_before) -> \(.bzimage_after) bytes"' "$REPORT")"
}

# --- boots ------------------------------------------------------------------------------------

# Variants, in table order: id|kernel|format|initrd|image folder|kernel file|virtio-mmio
# An empty kernel file boots the image as shipped (its own kernel and manifest).
VARIANTS=()
add_variant() { VARIANTS+=("$(IFS='|'; echo "$*")"); }

declare -A FAILED=() RETRIED=()
ACCEL="?"

# boot_once ID IMAGE KERNEL VIRTIO ROUND: one boot until ready; appends
# "boot_us ready_us kernel_bytes initrd_bytes" to $WORK/kboot.ID. A failed boot is retried once
# (and counted); a second failure drops the variant from the table with a warning, except the
# cloud kernel's, without which nothing compares: that stops the benchmark.
boot_once() {
    local id=$1 image=$2 kernel=$3 virtio=$4 round=$5 json log try
    local -a args=(run --until-ready --json --quiet --timeout "$BOOT_TIMEOUT")
    [ -n "$kernel" ] && args+=(--kernel "$kernel" --virtio-mmio "$virtio")
    for try in 1 2; do
        json="$LOGS/kernel-boot-$id-$round-$try.json" log="$LOGS/kernel-boot-$id-$round-$try.log"
        if step "$log" $((BOOT_TIMEOUT + 60)) bash -c '"$@" >"$0"' "$json" "$TINYX" "${args[@]}" "$image" &&
            [ "$(jq -r .outcome "$json" 2>/dev/null)" = ready ]; then
            jq -r '"\(.boot_us) \(.ready_us) \(.kernel_bytes) \(.initrd_bytes)"' "$json" >>"$WORK/kboot.$id" ||
                fail "cannot read $json"
            ACCEL=$(jq -r '.accel // "?"' "$json")
            return 0
        fi
        warn "$id did not become ready (round $round, try $try): $(jq -r '.message // "no message"' "$json" 2>/dev/null); see $log"
        [ "$try" = 1 ] && RETRIED[$id]=$((${RETRIED[$id]:-0} + 1))
    done
    [ "$id" = cloud-bz ] &&
        fail "the cloud kernel did not boot $image twice in a row: nothing to compare with" "$log"
    warn "$id failed twice in a row: dropped from the table (command: tinyx ${args[*]} $image)"
    FAILED[$id]=1
}

# Round-robin: every round boots every variant once, so that a change in the host's load
# touches all variants alike instead of whichever happened to run then.
boot_all() {
    local round v id image kernel virtio line
    rm -f "$WORK"/kboot.*
    for ((round = 1; round <= BENCH_KERNEL_RUNS; round++)); do
        line=""
        for v in "${VARIANTS[@]}"; do
            IFS='|' read -r id _ _ _ image kernel virtio <<<"$v"
            [ -n "${FAILED[$id]:-}" ] && continue
            boot_once "$id" "$image" "$kernel" "$virtio" "$round"
            [ -f "$WORK/kboot.$id" ] && [ -z "${FAILED[$id]:-}" ] &&
                line="$line $id $(tail -n 1 "$WORK/kboot.$id" | awk '{ printf "%.2f", $2 / 1e6 }')"
        done
        progress "boot round $round of $BENCH_KERNEL_RUNS, ready (s):$line"
    done
}

# --- table ------------------------------------------------------------------------------------

write_csv() {
    local v id kern fmt initrd image kernel virtio kb ib ibytes label
    local cloud_ready="" cloud_image=""
    echo "variant,kernel,format,initrd,label,kernel_file,virtio_mmio,kernel_bytes,initrd_bytes,image_bytes,runs,boot_us_median,boot_us_min,boot_us_max,ready_us_median,ready_us_min,ready_us_max,ready_speedup_vs_cloud,image_ratio_vs_cloud,retried_boots" >"$CSV.tmp"
    for v in "${VARIANTS[@]}"; do
        IFS='|' read -r id kern fmt initrd image kernel virtio <<<"$v"
        [ -n "${FAILED[$id]:-}" ] && continue
        local f="$WORK/kboot.$id" n bmed bmin bmax rmed rmin rmax
        n=$(wc -l <"$f")
        bmed=$(awk '{ print $1 }' "$f" | stat_of median) bmin=$(awk '{ print $1 }' "$f" | stat_of min)
        bmax=$(awk '{ print $1 }' "$f" | stat_of max)
        rmed=$(awk '{ print $2 }' "$f" | stat_of median) rmin=$(awk '{ print $2 }' "$f" | stat_of min)
        rmax=$(awk '{ print $2 }' "$f" | stat_of max)
        read -r kb ib <<<"$(awk 'NR == 1 { print $3, $4 }' "$f")"
        ibytes=$((kb + ib))
        if [ "$id" = cloud-bz ]; then cloud_ready=$rmed cloud_image=$ibytes; fi
        label="$kern $fmt + $initrd initrd" # no comma: this is a CSV field
        [ -z "$kernel" ] && label="$label (as shipped)"
        echo "$id,$kern,$fmt,$initrd,$label,${kernel:-$image/kernel},${virtio:-manifest},$kb,$ib,$ibytes,$n,$bmed,$bmin,$bmax,$rmed,$rmin,$rmax,$(ratio "$cloud_ready" "$rmed"),$(ratio "$cloud_image" "$ibytes"),${RETRIED[$id]:-0}" >>"$CSV.tmp"
    done
    mv "$CSV.tmp" "$CSV"
}

col() { awk -F, -v r="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
    $1 == r { print $(h[c]) }' "$CSV"; }

report() {
    local id r
    echo
    echo "Kernels for $APP (MB = 10^6 bytes; times: median [min-max] of $BENCH_KERNEL_RUNS boots until ready, QEMU $ACCEL; x = vs cloud bzImage)"
    printf '%-12s %-10s %-8s %-7s | %8s %8s %8s %6s | %-24s %-24s %6s\n' variant kernel format initrd \
        kernel initrd image smaller boot_s ready_s faster
    while IFS=, read -r id _; do
        [ "$id" = variant ] && continue
        printf '%-12s %-10s %-8s %-7s | %8s %8s %8s %5sx | %-24s %-24s %5sx\n' "$id" "$(col "$id" kernel)" \
            "$(col "$id" format)" "$(col "$id" initrd)" "$(mb "$(col "$id" kernel_bytes)")" \
            "$(mb "$(col "$id" initrd_bytes)")" "$(mb "$(col "$id" image_bytes)")" "$(col "$id" image_ratio_vs_cloud)" \
            "$(sec "$(col "$id" boot_us_median)") [$(sec "$(col "$id" boot_us_min)")-$(sec "$(col "$id" boot_us_max)")]" \
            "$(sec "$(col "$id" ready_us_median)") [$(sec "$(col "$id" ready_us_min)")-$(sec "$(col "$id" ready_us_max)")]" \
            "$(col "$id" ready_speedup_vs_cloud)"
    done <"$CSV"
    local retried
    retried=$(awk -F, 'NR > 1 && $NF > 0 { printf " %s (%s)", $1, $NF }' "$CSV")
    [ -n "$retried" ] && echo "Boots that failed once and were retried:$retried"

    echo
    jq -r '"Minimizer: \(.removed | length) of \(.candidates) candidate options removed, \(.kept | length) kept, \(if .complete then "complete" else "stopped by the budget" end); \(.trials) trials, \(.builds) builds, \(.boots) boots, \(.cache_hits) cached; \(.seconds | floor) s in all",
            "  vmlinux \(.vmlinux_before) -> \(.vmlinux_after) bytes, bzImage \(.bzimage_before) -> \(.bzimage_after) bytes",
            "  removed: \(.removed | join(" "))"' "$REPORT"

    echo
    local bz before_bz fmt
    bz=$(bytes_of "$MIN_DIR/bzImage") before_bz=$(bytes_of "$IMAGES/$APP/bzImage")
    printf 'GOAL minimized %s bzImage <= 1.0 MB (10^6 bytes): %s: %s bytes (%s MB, %s MiB; before minimization %s MB)\n' \
        "$APP" "$([ "$bz" -le "$GOAL_BZIMAGE_BYTES" ] && echo PASS || echo MISS)" "$bz" "$(mb "$bz")" \
        "$(awk -v a="$bz" 'BEGIN { printf "%.2f", a / 1048576 }')" "$(mb "$before_bz")"
    for id in min-elf min-bz; do
        fmt=vmlinux
        [ "$id" = min-bz ] && fmt=bzImage
        r=$(col "$id" ready_speedup_vs_cloud)
        if [ -z "$r" ]; then
            printf 'GOAL ready >= %sx faster than the cloud kernel, same (Debian) initrd, minimized %s: MISS: it did not boot that initrd\n' \
                "$GOAL_SPEEDUP" "$fmt"
            continue
        fi
        printf 'GOAL ready >= %sx faster than the cloud kernel, same (Debian) initrd, minimized %s: %s: %sx (%s s vs %s s)\n' \
            "$GOAL_SPEEDUP" "$fmt" \
            "$(awk -v r="$r" -v g="$GOAL_SPEEDUP" 'BEGIN { print (r >= g) ? "PASS" : "MISS" }')" "$r" \
            "$(sec "$(col "$id" ready_us_median)")" "$(sec "$(col cloud-bz ready_us_median)")"
    done
    if [ -n "$(col cloud-elf ready_us_median)" ] && [ -n "$(col min-elf ready_us_median)" ]; then
        printf 'Same format: cloud vmlinux %s s vs minimized vmlinux %s s: %sx\n' \
            "$(sec "$(col cloud-elf ready_us_median)")" "$(sec "$(col min-elf ready_us_median)")" \
            "$(ratio "$(col cloud-elf ready_us_median)" "$(col min-elf ready_us_median)")"
    fi
    echo
    echo "Wrote $CSV, $REPORT, $MIN_CONFIG, $PNG; logs in $LOGS/kernel-*"
}

# --- main -------------------------------------------------------------------------------------

progress "$APP: Debian cloud kernel vs Tinyx kernel before/after kconfig-min (budget $BENCH_KERNEL_BUDGET min, $BENCH_KERNEL_RUNS boots each); cache $CACHE$([ "$BENCH_WARM" = 1 ] && echo ' (--warm: the search resumes)')"
build "$APP" "$APP"
{ [ "$(jq -r .kernel.format "$IMAGES/$APP/manifest.json")" = elf ] && [ -s "$IMAGES/$APP/bzImage" ]; } ||
    fail "$IMAGES/$APP does not have a Tinyx kernel (an ELF vmlinux plus bzImage): does recipes/$APP.yaml set kernel.source?"
write_debian_recipe
build "$DEB_APP" "$DEB_RECIPE"
[ "$(jq -r .kernel.format "$IMAGES/$DEB_APP/manifest.json")" = bzImage ] ||
    fail "$IMAGES/$DEB_APP was meant to have Debian's cloud kernel (a bzImage): see $LOGS/kernel-build-$DEB_APP.log"
extract_cloud_vmlinux
minimize

DEB_IMG="$IMAGES/$DEB_APP" TX_IMG="$IMAGES/$APP"
add_variant cloud-bz cloud bzImage debian "$DEB_IMG" "" ""
[ -n "$CLOUD_ELF" ] && add_variant cloud-elf cloud vmlinux debian "$DEB_IMG" "$CLOUD_ELF" acpi
add_variant tinyx-elf tinyx vmlinux debian "$DEB_IMG" "$TX_IMG/kernel" cmdline
add_variant tinyx-bz tinyx bzImage debian "$DEB_IMG" "$TX_IMG/bzImage" cmdline
add_variant min-elf tinyx-min vmlinux debian "$DEB_IMG" "$MIN_DIR/vmlinux" cmdline
add_variant min-bz tinyx-min bzImage debian "$DEB_IMG" "$MIN_DIR/bzImage" cmdline
add_variant own-elf tinyx vmlinux tinyx "$TX_IMG" "" ""
add_variant own-min-elf tinyx-min vmlinux tinyx "$TX_IMG" "$MIN_DIR/vmlinux" cmdline
add_variant own-min-bz tinyx-min bzImage tinyx "$TX_IMG" "$MIN_DIR/bzImage" cmdline
progress "booting ${#VARIANTS[@]} variants, $BENCH_KERNEL_RUNS round(s)"
boot_all
write_csv

step "$LOGS/kernel-plot.log" 120 gnuplot -c "$HERE/plot_kernel.gp" "$CSV" "$PNG" "$APP" ||
    fail "gnuplot failed to draw $PNG" "$LOGS/kernel-plot.log"
report
# The cloud kernel as vmlinux is an extra control; any other variant must boot.
unset 'FAILED[cloud-elf]'
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "bench: error: variant(s) that did not boot: ${!FAILED[*]} (logs: $LOGS/kernel-boot-*)" >&2
    exit 1
fi
progress "done"
