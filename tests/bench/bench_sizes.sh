#!/usr/bin/env bash
# bench_sizes.sh: Tinyx images vs debootstrap minbase + the same packages: sizes, build and boot times, staging tools.
# Started by tests/bench/run, which passes the options in the environment and owns the scratch
# folder $WORK. Writes $OUT/sizes.csv, $OUT/staging.csv, $OUT/sizes.png and $OUT/logs/.
set -u -o pipefail

for v in ROOT B OUT WORK BENCH_RECIPES BENCH_RUNS BENCH_WARM BENCH_STAGING_RUNS \
    BENCH_STAGING_RECIPE BENCH_CACHE; do
    if [ -z "${!v+set}" ]; then
        echo "bench_sizes.sh: \$$v is not set: start the benchmark with tests/bench/run (or make bench)" >&2
        exit 2
    fi
done
declare -F bench_remove_tree >/dev/null || {
    echo "bench_sizes.sh: start it with tests/bench/run (it provides bench_remove_tree)" >&2
    exit 2
}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TINYX="$B/bin/tinyx"
CACHE=$BENCH_CACHE
IMAGES="$OUT/images"
LOGS="$OUT/logs"
SIZES_CSV="$OUT/sizes.csv"
STAGING_CSV="$OUT/staging.csv"
# The level Tinyx's cpio writer uses for zstd (initramfs/cpio_writer.c: 19 unless told).
ZSTD_LEVEL=19
GOAL_IMAGE_BYTES=6000000 # "nginx image at most 6 MB", MB = 10^6 bytes (the stricter reading)
GOAL_ROOTFS_RATIO=15
T_START=$EPOCHREALTIME
STEP_PID=""
# Folders that hold big roots while a step runs; removed on exit whatever happens.
SCRATCH=()

cd "$ROOT" || exit 1
mkdir -p "$CACHE" "$IMAGES" "$LOGS" || { echo "bench: error: cannot create $CACHE, $IMAGES or $LOGS" >&2; exit 1; }
rm -f "$LOGS"/*.log

# --- helpers ----------------------------------------------------------------------------------

# since T0: seconds elapsed since an $EPOCHREALTIME stamp, two decimals.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

progress() { printf '[%7.1f s] %s\n' "$(since "$T_START")" "$*"; }

# fail MESSAGE [LOG]: stop the benchmark with a message and the end of the step's log.
fail() {
    echo "bench: error: $1" >&2
    if [ $# -ge 2 ] && [ -s "$2" ]; then
        echo "bench: last lines of $2:" >&2
        tail -n 25 "$2" | sed 's/^/    | /' >&2
    fi
    exit 1
}

cleanup() {
    local d
    rm -f "$SIZES_CSV.tmp" "$STAGING_CSV.tmp"
    for d in "${SCRATCH[@]+"${SCRATCH[@]}"}"; do
        bench_remove_tree "$d" || echo "bench: error: could not remove $d; remove it by hand" >&2
    done
}
trap cleanup EXIT
on_signal() {
    if [ -n "$STEP_PID" ]; then
        kill -TERM "$STEP_PID" 2>/dev/null
        wait "$STEP_PID" 2>/dev/null
    fi
    exit 130
}
trap on_signal INT TERM

# step LOG TIMEOUT CMD...: run one step with a time limit, output to LOG; returns its status.
# It runs in the background so that a signal to the benchmark stops it at once (the trap above).
step() {
    local log=$1 limit=$2 rc
    shift 2
    timeout -k 20 "$limit" "$@" >"$log" 2>&1 &
    STEP_PID=$!
    wait "$STEP_PID"
    rc=$?
    STEP_PID=""
    if [ "$rc" -eq 124 ]; then
        echo "bench: step timed out after $limit s: $*" >>"$log"
    fi
    return "$rc"
}

# median N...: the median of numbers (mean of the middle two for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) exit 1
              if (NR % 2) printf "%.10g\n", v[(NR + 1) / 2]
              else printf "%.10g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "" }'; }
mb() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1e6 }'; }
mbo() { if [ -n "$1" ]; then mb "$1"; else echo -; fi; } # mb, or - when there is no value

# tree_stats DIR: "BYTES FILES" of the regular files under DIR, each inode once (hard links are
# one file), not crossing into other filesystems. The same measure as manifest.json's
# sizes.rootfs_bytes, which sums the image's regular files.
tree_stats() {
    find "$1" -xdev -type f -printf '%i %s\n' | sort -u | awk '{ s += $2; n++ } END { printf "%d %d\n", s, n }'
}

# measure DIR: sets TREE_BYTES and TREE_FILES (tree_stats), failing if DIR cannot be read.
measure() {
    read -r TREE_BYTES TREE_FILES <<<"$(tree_stats "$1")"
    [ "${TREE_FILES:-0}" -gt 0 ] || fail "no files measured under $1"
}

# pack_bytes DIR LOG: sets PACKED to the size of DIR as a newc cpio compressed like a Tinyx
# initrd (zstd -19). Not a $(...) helper: the benchmark must be able to stop it and fail from it.
# zstd -T0 uses both cores; it gives the same bytes as one thread here (checked on the nginx
# peer: 82609315 both ways), and the Tinyx tree packed this way matches its initrd within 0.1%
# (the bench prints that check each run).
pack_bytes() {
    local dir=$1 log=$2 out="$WORK/pack.bytes"
    rm -f "$out"
    step "$log" 1800 bash -c 'set -o pipefail
        (cd "$1" && find . -xdev -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) |
            zstd -"$2" -T0 -q -c | wc -c >"$3"' _ "$dir" "$ZSTD_LEVEL" "$out" ||
        fail "packing $dir as cpio.zst failed" "$log"
    PACKED=$(tr -d ' \n' <"$out")
    [ "${PACKED:-0}" -gt 0 ] || fail "packing $dir gave no bytes" "$log"
}

# mirror_of SOURCES: "URI SUITE" from the first "deb [options] URI SUITE main" line whose suite
# has no "-" (the release itself, not -updates or -security).
mirror_of() {
    awk '$1 == "deb" {
            i = 2
            if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
            if (i + 1 <= NF && $(i + 1) !~ /-/) { print $i, $(i + 1); exit }
        }' "$1"
}

manifest() { jq -r "$2" "$IMAGES/$1/manifest.json"; }

# --- one recipe -------------------------------------------------------------------------------

# tinyx_build NAME LOG [ARGS...]: one `tinyx build` of the recipe into $IMAGES/NAME; sets
# BUILD_S (wall time) and STAGE_STATE (new or cached root, from the build's stage line).
tinyx_build() {
    local name=$1 log=$2 t0
    shift 2
    t0=$EPOCHREALTIME
    step "$log" 1800 "$TINYX" build --cache "$CACHE" -o "$IMAGES/$name" "$@" "$name" ||
        fail "tinyx build $name failed" "$log"
    BUILD_S=$(since "$t0")
    if grep -Eq '^tinyx: stage +new root' "$log"; then
        STAGE_STATE=cold
    elif grep -Eq '^tinyx: stage +cached root' "$log"; then
        STAGE_STATE=cached
    else
        fail "cannot tell from the log of tinyx build $name whether it staged a new root" "$log"
    fi
}

# forget_stage NAME: delete the recipe's staged root from the bench cache (key from its last
# manifest), so that the next build stages from scratch.
forget_stage() {
    local key=""
    [ -f "$IMAGES/$1/manifest.json" ] && key=$(manifest "$1" '.inputs.stage_key // empty')
    [ -n "$key" ] && [ -d "$CACHE/stage/$key" ] && bench_remove_tree "$CACHE/stage/$key"
    return 0
}

bench_recipe() {
    local name=$1 cold_s cold_state cold_stage cold_fetch warm_s tree packages pkgs_csv mirror suite
    local t0 peer raw_bytes peer_bytes peer_files peer_zst debootstrap_s tree_zst
    local -a boots readys rss

    # Tinyx, cold: the first build of the recipe in the bench cache stages its root.
    [ "$BENCH_WARM" = 1 ] || forget_stage "$name"
    progress "$name: tinyx build (first)"
    tinyx_build "$name" "$LOGS/$name.build-cold.log"
    if [ "$STAGE_STATE" = cached ] && [ "$BENCH_WARM" != 1 ]; then
        # A staged root left without a manifest (an interrupted bench): drop it, build again.
        progress "$name: its staged root was already cached; removing it and building again"
        forget_stage "$name"
        tinyx_build "$name" "$LOGS/$name.build-cold.log"
    fi
    cold_s=$BUILD_S cold_state=$STAGE_STATE
    cold_stage=$(sed -n 's/^tinyx: stage times:.* stage \([0-9.]*\) s.*/\1/p' "$LOGS/$name.build-cold.log")
    cold_fetch=$(sed -n 's/^tinyx: stage times:.* fetch \([0-9.]*\) s.*/\1/p' "$LOGS/$name.build-cold.log")
    progress "$name: first build $cold_s s ($cold_state root; fetch ${cold_fetch:-?} s, staging ${cold_stage:-?} s)"

    # Tinyx, warm: everything cached. Keep the tree to check the peer's packing against.
    tree="$CACHE/bench-tree.$name"
    SCRATCH+=("$tree")
    tinyx_build "$name" "$LOGS/$name.build-warm.log" --keep-tree "$tree"
    warm_s=$BUILD_S
    [ "$STAGE_STATE" = cached ] || progress "$name: warning: the second build staged a new root"
    progress "$name: second build $warm_s s"

    packages=$(manifest "$name" '.recipe.packages | join(" ")')
    pkgs_csv=$(echo "$packages" | tr ' ' ',')
    [ -n "$packages" ] || fail "$IMAGES/$name/manifest.json lists no recipe packages"
    local sizes
    sizes=$(manifest "$name" '.sizes | "\(.files) \(.rootfs_bytes) \(.initrd_bytes) \(.kernel_bytes) \(.image_bytes)"') ||
        fail "cannot read .sizes from $IMAGES/$name/manifest.json"
    local t_files t_rootfs t_initrd t_kernel t_image
    read -r t_files t_rootfs t_initrd t_kernel t_image <<<"$sizes"
    # Tinyx kernels ship a bzImage beside the PVH vmlinux: the smallest bootable form.
    local t_bz="" t_image_bz=""
    if [ -s "$IMAGES/$name/bzImage" ]; then
        t_bz=$(stat -c %s "$IMAGES/$name/bzImage") && t_image_bz=$((t_bz + t_initrd))
    fi

    tree_zst=""
    if [ -d "$tree" ]; then
        pack_bytes "$tree" "$LOGS/$name.pack-tinyx.log"
        tree_zst=$PACKED
        bench_remove_tree "$tree"
        progress "$name: packing check: Tinyx tree as cpio | zstd -$ZSTD_LEVEL = $tree_zst bytes, its initrd $t_initrd bytes"
    else
        progress "$name: warning: tinyx build did not keep its tree; packing check skipped"
    fi

    # The peer: debootstrap minbase + the recipe's packages, from the mirror Tinyx used.
    [ -f "$CACHE/apt/sources.list" ] || fail "$CACHE/apt/sources.list is missing after tinyx build"
    read -r mirror suite <<<"$(mirror_of "$CACHE/apt/sources.list")"
    [ -n "${suite:-}" ] || fail "no 'deb URI SUITE' line without '-' in $CACHE/apt/sources.list"
    peer="$WORK/peer-$name"
    SCRATCH+=("$peer")
    progress "$name: debootstrap --variant=minbase --include=$pkgs_csv $suite ($mirror)"
    t0=$EPOCHREALTIME
    step "$LOGS/$name.debootstrap.log" 1800 debootstrap --variant=minbase --include="$pkgs_csv" \
        "$suite" "$peer" "$mirror" || fail "debootstrap of $name's peer failed" "$LOGS/$name.debootstrap.log"
    debootstrap_s=$(since "$t0")
    measure "$peer"
    raw_bytes=$TREE_BYTES
    # Measure the system, not apt's download cache: debootstrap leaves the .debs and the package
    # lists in the root; `apt-get clean` and an image build would drop them.
    rm -rf --one-file-system "$peer"/var/cache/apt/archives/*.deb "$peer"/var/cache/apt/*.bin \
        "$peer"/var/lib/apt/lists/*_* || fail "cannot clean apt caches in $peer"
    measure "$peer"
    peer_bytes=$TREE_BYTES peer_files=$TREE_FILES
    progress "$name: peer root $(mb "$peer_bytes") MB in $peer_files files ($(mb "$raw_bytes") MB with apt caches), debootstrap $debootstrap_s s; packing it"
    pack_bytes "$peer" "$LOGS/$name.pack-peer.log"
    peer_zst=$PACKED
    bench_remove_tree "$peer" || fail "could not remove $peer"
    progress "$name: peer cpio.zst $(mb "$peer_zst") MB"

    # Boots.
    local i out
    boots=() readys=() rss=()
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        out="$LOGS/$name.boot-$i.json"
        step "$LOGS/$name.boot-$i.log" 300 bash -c '"$1" run --until-ready --json "$2" >"$3"' _ \
            "$TINYX" "$IMAGES/$name" "$out" || fail "tinyx run $IMAGES/$name failed (run $i)" "$LOGS/$name.boot-$i.log"
        local b r k
        read -r b r k <<<"$(jq -r '"\(.boot_us) \(.ready_us) \(.vmm_rss_kb)"' "$out")" ||
            fail "cannot read the JSON of tinyx run ($out)"
        [ "$(jq -r .outcome "$out")" = ready ] || fail "$name did not become ready (run $i): see $out"
        boots+=("$b") readys+=("$r") rss+=("$k")
    done
    local boot_med ready_med rss_med
    boot_med=$(median "${boots[@]}") ready_med=$(median "${readys[@]}") rss_med=$(median "${rss[@]}")
    progress "$name: boot median $boot_med us, ready $ready_med us over $BENCH_RUNS run(s)"

    echo "$name,$packages,$suite,$t_files,$t_rootfs,$t_initrd,$t_kernel,$t_image,$cold_state,$cold_s,$cold_fetch,$cold_stage,$warm_s,$(ratio "$cold_s" "$warm_s"),$peer_files,$peer_bytes,$raw_bytes,$peer_zst,$debootstrap_s,$(ratio "$peer_bytes" "$t_rootfs"),$(ratio "$raw_bytes" "$t_rootfs"),$(ratio "$peer_zst" "$t_initrd"),$tree_zst,$BENCH_RUNS,$boot_med,$ready_med,$rss_med,$t_bz,$t_image_bz" >>"$SIZES_CSV.tmp"
}

# --- staging tools ----------------------------------------------------------------------------

# stage_once TOOL RUN PACKAGES SUITE MIRROR: one timed staging run, a row of staging.csv
# (PACKAGES comma-separated as --include wants; space-separated in the CSV).
stage_once() {
    local tool=$1 run=$2 pkgs=$3 suite=$4 mirror=$5 dir="$WORK/staging-$1" log t0 s bytes files
    log="$LOGS/staging-$tool-$run.log"
    SCRATCH+=("$dir")
    t0=$EPOCHREALTIME
    case "$tool" in
    mmdebstrap) step "$log" 1800 mmdebstrap --mode=root --variant=minbase --include="$pkgs" "$suite" "$dir" "$mirror" ;;
    debootstrap) step "$log" 1800 debootstrap --variant=minbase --include="$pkgs" "$suite" "$dir" "$mirror" ;;
    esac || fail "$tool failed (staging run $run)" "$log"
    s=$(since "$t0")
    measure "$dir"
    bytes=$TREE_BYTES files=$TREE_FILES
    bench_remove_tree "$dir" || fail "could not remove $dir"
    progress "staging: $tool run $run: $s s ($(mb "$bytes") MB, $files files)"
    echo "$tool,$run,$s,$bytes,$files,${pkgs//,/ },$suite,$mirror" >>"$STAGING_CSV.tmp"
}

bench_staging() {
    local name=$BENCH_STAGING_RECIPE pkgs mirror suite run
    [ -f "$IMAGES/$name/manifest.json" ] || fail "no image for $name: include it in --recipes or pick another --staging-recipe"
    pkgs="$(manifest "$name" '.recipe.packages | join(",")'),busybox-static"
    read -r mirror suite <<<"$(mirror_of "$CACHE/apt/sources.list")"
    echo "tool,run,wall_s,root_bytes,root_files,packages,suite,mirror" >"$STAGING_CSV.tmp"
    progress "staging: mmdebstrap vs debootstrap, minbase + $pkgs, $BENCH_STAGING_RUNS run(s) each, alternating"
    for ((run = 1; run <= BENCH_STAGING_RUNS; run++)); do
        # Alternate which goes first so neither always meets the warmer mirror/page cache.
        if ((run % 2)); then
            stage_once mmdebstrap "$run" "$pkgs" "$suite" "$mirror"
            stage_once debootstrap "$run" "$pkgs" "$suite" "$mirror"
        else
            stage_once debootstrap "$run" "$pkgs" "$suite" "$mirror"
            stage_once mmdebstrap "$run" "$pkgs" "$suite" "$mirror"
        fi
    done
    local tool med
    for tool in mmdebstrap debootstrap; do
        local -a walls
        mapfile -t walls < <(awk -F, -v t="$tool" '$1 == t { print $3 }' "$STAGING_CSV.tmp")
        med=$(median "${walls[@]}")
        echo "$tool,median,$med,,,${pkgs//,/ },$suite,$mirror" >>"$STAGING_CSV.tmp"
    done
    mv "$STAGING_CSV.tmp" "$STAGING_CSV"
}

# --- report -----------------------------------------------------------------------------------

col() { awk -F, -v r="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
    $1 == r { print $(h[c]) }' "$SIZES_CSV"; }

report() {
    local r
    echo
    echo "Sizes (MB = 10^6 bytes). Peer: debootstrap --variant=minbase --include=<recipe packages>,"
    echo "apt caches removed (with them: 'raw'). Compressed: newc cpio + zstd -$ZSTD_LEVEL, as Tinyx packs its initrd."
    printf '%-12s %6s %9s %8s %9s %7s %6s | %9s %9s %6s | %7s %8s %8s %8s\n' recipe files rootfs peer_files \
        peer_root ratio raw_x initrd peer_zst ratio kernel image bzImage image_bz
    for r in $BENCH_RECIPES; do
        printf '%-12s %6s %9s %8s %9s %6sx %5sx | %9s %9s %5sx | %7s %8s %8s %8s\n' "$r" "$(col "$r" tinyx_files)" \
            "$(mb "$(col "$r" tinyx_rootfs_bytes)")" "$(col "$r" peer_files)" \
            "$(mb "$(col "$r" peer_rootfs_bytes)")" "$(col "$r" rootfs_ratio)" "$(col "$r" raw_rootfs_ratio)" \
            "$(mb "$(col "$r" tinyx_initrd_bytes)")" "$(mb "$(col "$r" peer_cpio_zst_bytes)")" \
            "$(col "$r" compressed_ratio)" "$(mb "$(col "$r" tinyx_kernel_bytes)")" \
            "$(mb "$(col "$r" tinyx_image_bytes)")" "$(mbo "$(col "$r" tinyx_bzimage_bytes)")" \
            "$(mbo "$(col "$r" tinyx_image_bz_bytes)")"
    done
    echo
    local first=${BENCH_RECIPES%% *}
    echo "Times (s; boot and ready: median of $BENCH_RUNS tinyx run --until-ready, QEMU accel $(jq -r .accel "$LOGS/$first.boot-1.json"))"
    printf '%-12s %8s %7s %8s %9s %11s | %8s %8s %8s\n' recipe first stage second first/2nd debootstrap \
        boot ready rss_MiB
    for r in $BENCH_RECIPES; do
        printf '%-12s %8s %7s %8s %8sx %11s | %8s %8s %8s\n' "$r" \
            "$(col "$r" build_cold_s)$([ "$(col "$r" first_build)" = cold ] || echo '*')" \
            "$(col "$r" build_cold_stage_s)" "$(col "$r" build_warm_s)" "$(col "$r" cold_warm_ratio)" \
            "$(col "$r" peer_debootstrap_s)" \
            "$(awk -v u="$(col "$r" boot_us_median)" 'BEGIN { printf "%.3f", u / 1e6 }')" \
            "$(awk -v u="$(col "$r" ready_us_median)" 'BEGIN { printf "%.3f", u / 1e6 }')" \
            "$(awk -v k="$(col "$r" vmm_rss_kb_median)" 'BEGIN { printf "%.0f", k / 1024 }')"
    done
    [ "$BENCH_WARM" = 1 ] && echo "(--warm: * marks a first build that reused its staged root)"

    if [ -f "$STAGING_CSV" ] && [ "$BENCH_STAGING_RUNS" -gt 0 ]; then
        local mm db
        mm=$(awk -F, '$1 == "mmdebstrap" && $2 == "median" { print $3 }' "$STAGING_CSV")
        db=$(awk -F, '$1 == "debootstrap" && $2 == "median" { print $3 }' "$STAGING_CSV")
        echo
        echo "Staging minbase + $(awk -F, '$2 == "median" { print $6; exit }' "$STAGING_CSV") from the mirror," \
            "median of $BENCH_STAGING_RUNS: mmdebstrap $mm s, debootstrap $db s:" \
            "$(awk -v m="$mm" -v d="$db" 'BEGIN { if (m < d) printf "mmdebstrap is %.2fx faster", d / m
                                               else printf "debootstrap is %.2fx faster", m / d }')"
    fi

    echo
    if [[ " $BENCH_RECIPES " == *" nginx "* ]]; then
        local image kernel initrd rootfs peer rawpeer rr rawr
        image=$(col nginx tinyx_image_bytes) kernel=$(col nginx tinyx_kernel_bytes) initrd=$(col nginx tinyx_initrd_bytes)
        printf 'GOAL nginx image (kernel + initrd) <= 6 MB, with the image'"'"'s kernel (%s): %s: %s MB = kernel %s MB + initrd %s MB (%s MiB)\n' \
            "$(jq -r .kernel.format "$IMAGES/nginx/manifest.json")" \
            "$([ "$image" -le "$GOAL_IMAGE_BYTES" ] && echo PASS || echo MISS)" "$(mb "$image")" \
            "$(mb "$kernel")" "$(mb "$initrd")" "$(awk -v a="$image" 'BEGIN { printf "%.2f", a / 1048576 }')"
        local bz image_bz
        bz=$(col nginx tinyx_bzimage_bytes) image_bz=$(col nginx tinyx_image_bz_bytes)
        if [ -n "$bz" ]; then
            # Not a verdict: the launcher boots the image's own kernel (above), not this one.
            printf 'info nginx image with its bzImage instead (not what boots by default): %s: %s MB = bzImage %s MB + initrd %s MB (%s MiB)\n' \
                "$([ "$image_bz" -le "$GOAL_IMAGE_BYTES" ] && echo "would be within 6 MB" || echo "over 6 MB too")" "$(mb "$image_bz")" \
                "$(mb "$bz")" "$(mb "$initrd")" "$(awk -v a="$image_bz" 'BEGIN { printf "%.2f", a / 1048576 }')"
        fi
        rootfs=$(col nginx tinyx_rootfs_bytes) peer=$(col nginx peer_rootfs_bytes) rawpeer=$(col nginx peer_raw_bytes)
        rr=$(col nginx rootfs_ratio) rawr=$(col nginx raw_rootfs_ratio)
        printf 'GOAL Tinyx rootfs >= %sx smaller than minbase+nginx: %s: %sx (%s MB vs %s MB; %sx against the root as debootstrap leaves it, %s MB with apt caches)\n' \
            "$GOAL_ROOTFS_RATIO" "$(awk -v r="$rr" -v g="$GOAL_ROOTFS_RATIO" 'BEGIN { print (r >= g) ? "PASS" : "MISS" }')" \
            "$rr" "$(mb "$rootfs")" "$(mb "$peer")" "$rawr" "$(mb "$rawpeer")"
    else
        echo "GOAL nginx image <= 6 MB: not measured (nginx not in --recipes)"
        echo "GOAL rootfs ratio >= ${GOAL_ROOTFS_RATIO}x: not measured (nginx not in --recipes)"
    fi
    echo
    echo "Wrote $SIZES_CSV, $([ -f "$STAGING_CSV" ] && echo "$STAGING_CSV, ")$OUT/sizes.png; logs in $LOGS"
}

# --- main -------------------------------------------------------------------------------------

progress "bench: recipes: $BENCH_RECIPES; boots per image: $BENCH_RUNS; cache $CACHE$([ "$BENCH_WARM" = 1 ] && echo ' (--warm)')"
echo "recipe,packages,suite,tinyx_files,tinyx_rootfs_bytes,tinyx_initrd_bytes,tinyx_kernel_bytes,tinyx_image_bytes,first_build,build_cold_s,build_cold_fetch_s,build_cold_stage_s,build_warm_s,cold_warm_ratio,peer_files,peer_rootfs_bytes,peer_raw_bytes,peer_cpio_zst_bytes,peer_debootstrap_s,rootfs_ratio,raw_rootfs_ratio,compressed_ratio,tinyx_tree_cpio_zst_bytes,boot_runs,boot_us_median,ready_us_median,vmm_rss_kb_median,tinyx_bzimage_bytes,tinyx_image_bz_bytes" >"$SIZES_CSV.tmp"
for recipe in $BENCH_RECIPES; do
    bench_recipe "$recipe"
done
mv "$SIZES_CSV.tmp" "$SIZES_CSV"

if [ "$BENCH_STAGING_RUNS" -gt 0 ]; then
    bench_staging
else
    rm -f "$STAGING_CSV"
fi

step "$LOGS/plot.log" 120 gnuplot -c "$HERE/plot_sizes.gp" "$SIZES_CSV" "$OUT/sizes.png" ||
    fail "gnuplot failed to draw $OUT/sizes.png" "$LOGS/plot.log"
report
progress "bench: done"
