#!/usr/bin/env bash
# test_11_kconfig_min: the kconfig minimizer for real (real kernel builds, real QEMU boots) on a
# small candidate list: options the hello image needs must stay, removable ones must go, and a
# rerun resumes from the verdicts on disk without building or booting again.
# timeout: 1800 (trial kernel builds and boots)
. "$(dirname "$0")/lib.sh"

run build "$TINYX" build -o "$WORK/hello" hello
expect_rc build 0 "hello image with its own kernel"
[ "$RC" -eq 0 ] || { finish; exit 1; }

# Needed: RD_ZSTD (the initrd is zstd: without it the kernel cannot unpack it). Removable for
# hello: the other decompressors, #! scripts, epoll, inotify, AIO, sysctl.
only=RD_ZSTD,RD_XZ,RD_GZIP,BINFMT_SCRIPT,EPOLL,INOTIFY_USER,AIO,PROC_SYSCTL
run kmin "$TINYX" kconfig-min --image "$WORK/hello" --only "$only" --runs 1 \
    --report "$WORK/report.json" -o "$WORK/min.config" hello
expect_rc kmin 0 "kconfig-min on 8 options"
if [ -s "$WORK/report.json" ]; then
    removed=$(jq -r '.removed[]' "$WORK/report.json" | tr '\n' ' ')
    kept=$(jq -r '.kept[]' "$WORK/report.json" | tr '\n' ' ')
    echo "  removed: $removed"
    echo "  kept:    $kept"
    grep -qx 'CONFIG_RD_ZSTD=y' "$WORK/min.config" && pass "RD_ZSTD (needed) stays" || fail "RD_ZSTD was removed"
    n=$(jq '.removed | length' "$WORK/report.json")
    [ "$n" -ge 1 ] && pass "$n removable option(s) removed" || fail "nothing was removed"
    grep -q '^# CONFIG_RD_XZ is not set' "$WORK/min.config" && pass "RD_XZ (unused) removed" || fail "RD_XZ kept"
    b=$(jq .bzimage_before "$WORK/report.json"); a=$(jq .bzimage_after "$WORK/report.json")
    [ "$a" -lt "$b" ] && pass "bzImage shrank: $b -> $a bytes" || fail "bzImage did not shrink ($b -> $a)"
    t=$(jq .trials "$WORK/report.json")
    [ "$t" -lt 16 ] && pass "$t trials for 8 options (fewer than 2 per option)" || fail "$t trials for 8 options"
else
    fail "no report written"
fi

# The minimized kernel (cached under its config's hash) boots the app.
final=$(jq -r .final_hash "$WORK/report.json" 2>/dev/null)
run boot "$TINYX" run --timeout 120 --kernel "$TINYX_CACHE/kernel/built/$final/vmlinux" \
    --virtio-mmio cmdline "$WORK/hello"
expect_rc boot 0 "hello boots on the minimized kernel"
expect_text boot out '^Hello, world!' "greeting on the minimized kernel"

# Resume: the same command again judges nothing new.
run again "$TINYX" kconfig-min --image "$WORK/hello" --only "$only" --runs 1 \
    --report "$WORK/report2.json" -o "$WORK/min2.config" hello
expect_rc again 0 "rerun"
if [ -s "$WORK/report2.json" ]; then
    b2=$(jq .builds "$WORK/report2.json"); c2=$(jq .cache_hits "$WORK/report2.json")
    [ "$b2" -eq 0 ] && pass "rerun built nothing ($c2 verdicts from the cache)" || fail "rerun built $b2 kernels"
    cmp -s "$WORK/min.config" "$WORK/min2.config" && pass "same minimized config" || fail "rerun gave another config"
else
    fail "the rerun wrote no report ($WORK/report2.json)"; show again
fi
finish
