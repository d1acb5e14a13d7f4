#!/usr/bin/env bash
# test_10_kernel_build: the kernel side for real: fetch and unpack linux-source, compose a
# tinyconfig-based config (one impossible setting reported), check the kconfig dump, build with
# ccache, find the build cached, rebuild one flipped option incrementally, boot the PVH vmlinux.
# timeout: 1800 (three kernel builds, one from scratch)
. "$(dirname "$0")/lib.sh"

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
val() { sed -n "s/^$2=//p" "$WORK/$1.out" | head -1; }

for tool in make gcc flex bison bc ccache strip readelf qemu-system-x86_64 pkg-config; do
    if ! command -v "$tool" >/dev/null; then
        fail "$tool is missing: make deps installs it"
        finish
        exit $?
    fi
done

# The driver links the kernel-side library like the unit tests do (sanitizers if $B has them).
DRIVER="$WORK/kbuild_driver"
SAN=""
if nm "$B/libtinyx.a" 2>/dev/null | grep -q __asan_; then
    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"
fi
PKGS="yaml-0.1 libarchive libelf jansson libkmod libcrypto libseccomp"
# shellcheck disable=SC2086
if cc -I"$ROOT" -D_GNU_SOURCE -O2 -g -std=gnu11 -Wall -Wextra -Werror -Wshadow $SAN \
    $(pkg-config --cflags $PKGS) -o "$DRIVER" "$ROOT/tests/e2e/kbuild_driver.c" \
    -Wl,--start-group "$B/libkmin.a" "$B/libtinyx.a" -Wl,--end-group \
    $(pkg-config --libs $PKGS) 2>"$WORK/cc.err"; then
    pass "driver built"
else
    fail "driver does not build"; cat "$WORK/cc.err"; finish; exit 1
fi
export TINYX_KCONFIG_DUMP_C="$B/share/tinyx/kconfig_dump.c"
mkdir -p "$TINYX_CACHE"

# 1. Source: fetched and unpacked once; a second call finds it.
t=$(date +%s%N)
run source "$DRIVER" source "$TINYX_CACHE"
t_source=$(ms_since "$t")
expect_rc source 0 "linux-source fetched and unpacked (${t_source} ms)"
SRC=$(val source dir)
[ -f "$SRC/Makefile" ] && pass "source tree at $SRC" || { fail "no source tree"; finish; exit 1; }
grep -E 'unpack' "$WORK/source.err" | sed 's/^/        /'
t=$(date +%s%N)
run source2 "$DRIVER" source "$TINYX_CACHE"
t_source2=$(ms_since "$t")
if grep -q unpacking "$WORK/source2.err"; then fail "second source call unpacked again"; else pass "second source call reuses the tree (${t_source2} ms)"; fi

# 2. Config: tinyconfig + a guest's settings; PCI_MSI cannot hold (PCI is off).
OBJ="$TINYX_CACHE/kernel/obj/e2e-test10"
rm -rf "$OBJ"
SETTINGS=(64BIT=y HYPERVISOR_GUEST=y PARAVIRT=y PVH=y KVM_GUEST=y PRINTK=y TTY=y SERIAL_8250=y
    SERIAL_8250_CONSOLE=y BINFMT_ELF=y PROC_FS=y SYSFS=y DEVTMPFS=y VIRTIO_MENU=y VIRTIO=y
    VIRTIO_MMIO=y VIRTIO_MMIO_CMDLINE_DEVICES=y FUTEX=y EPOLL=y PRINTK_TIME=n CMDLINE_BOOL=y
    CMDLINE='"tinyx=e2e"' PCI_MSI=y)
t=$(date +%s%N)
run config "$DRIVER" config "$SRC" "$OBJ" tinyconfig "${SETTINGS[@]}"
t_config=$(ms_since "$t")
expect_rc config 1 "kconfig_make reports an unmet setting (${t_config} ms)"
expect_text config out '^unmet: PCI_MSI=y \(got n\): depends on .*PCI( \[)?=n' "PCI_MSI=y reported with its dependency"
if [ "$(grep -c '^unmet:' "$WORK/config.out")" -eq 1 ]; then pass "every other setting held"; else fail "more than one unmet setting"; show config; fi
grep -q '^CONFIG_CMDLINE="tinyx=e2e"$' "$OBJ/.config" && pass "string setting held" || fail "CMDLINE not set"
sed 's/^/        /' "$WORK/config.out"

# 3. The kconfig dump agrees with .config.
run syms "$DRIVER" syms "$SRC" "$OBJ"
expect_rc syms 0 "kconfig dump matches .config"
sed -n 's/^symbols=/        symbols=/p' "$WORK/syms.out"

# 4. Build (the kernel entry for this config is removed first, so this really builds).
# entry_of NAME: the cache entry named by a hash run; never an empty name (an rm -rf of the
# parent folder would drop every cached kernel).
entry_of() {
    local h
    h=$(cat "$WORK/$1.out" 2>/dev/null)
    [ "$RC" -eq 0 ] && [[ "$h" =~ ^[0-9a-f]{16,}$ ]] || return 1
    echo "$TINYX_CACHE/kernel/built/$h"
}
run hash "$DRIVER" hash "$OBJ/.config"
ENTRY=$(entry_of hash) || { fail "cannot hash $OBJ/.config"; show hash; finish; exit 1; }
rm -rf "$ENTRY"
t=$(date +%s%N)
run build "$DRIVER" build "$SRC" "$OBJ" "$TINYX_CACHE"
t_build=$(ms_since "$t")
expect_rc build 0 "kernel built (${t_build} ms)"
if [ "$RC" -ne 0 ]; then finish; exit 1; fi
VMLINUX=$(val build vmlinux)
BZIMAGE=$(val build bzimage)
[ "$(val build cached)" = 0 ] && pass "first build was a real build" || fail "first build claims cached"
if readelf -nW "$VMLINUX" | grep -Eq 'Xen[[:space:]]+0x[0-9a-f]+[[:space:]]+(Unknown note type: \(0x00000012\)|.*PHYS32_ENTRY)'; then
    pass "stripped vmlinux keeps the PVH note (Xen PHYS32_ENTRY)"
else
    fail "stripped vmlinux has no PVH note"; readelf -nW "$VMLINUX" | head
fi
if readelf -SW "$VMLINUX" | grep -q '\.symtab'; then fail "vmlinux is not stripped"; else pass "vmlinux is stripped"; fi
FIRST_SUM=$(sha256sum <"$VMLINUX")
jq -e '.pvh == true and .vmlinux_bytes > 0 and .bzimage_bytes > 0' "$(dirname "$VMLINUX")/build.json" >/dev/null \
    && pass "build.json records sizes" || fail "build.json incomplete"

# 5. The same config again: answered from the cache.
t=$(date +%s%N)
run build2 "$DRIVER" build "$SRC" "$OBJ" "$TINYX_CACHE"
t_cached=$(ms_since "$t")
expect_rc build2 0 "second build of the same config"
[ "$(val build2 cached)" = 1 ] && [ "$(val build2 hash)" = "$(val build hash)" ] \
    && pass "second build is cached (${t_cached} ms)" || fail "second build was not cached"
run lookup "$DRIVER" lookup "$TINYX_CACHE" "$OBJ/.config"
expect_rc lookup 0 "kbuild_lookup finds it by the .config hash"

# 6. One option flipped: an incremental rebuild.
run apply "$DRIVER" apply "$SRC" "$OBJ" PRINTK_TIME=y
expect_rc apply 0 "kconfig_apply PRINTK_TIME=y"
run hash2 "$DRIVER" hash "$OBJ/.config"
ENTRY2=$(entry_of hash2) || { fail "cannot hash the flipped .config"; show hash2; finish; exit 1; }
rm -rf "$ENTRY2"
t=$(date +%s%N)
run build3 "$DRIVER" build "$SRC" "$OBJ" "$TINYX_CACHE"
t_incr=$(ms_since "$t")
expect_rc build3 0 "incremental rebuild (${t_incr} ms)"
[ "$(val build3 hash)" != "$(val build hash)" ] && pass "the flipped config has another hash" || fail "same hash after a change"
[ "$t_incr" -lt "$t_build" ] && pass "incremental rebuild is faster than the first build" || fail "incremental rebuild not faster"

# 6b. Back to the first config, rebuilt (not from the cache): the vmlinux must be byte-identical.
run apply_back "$DRIVER" apply "$SRC" "$OBJ" PRINTK_TIME=n
expect_rc apply_back 0 "kconfig_apply PRINTK_TIME=n (the first config again)"
run hash3 "$DRIVER" hash "$OBJ/.config"
if ENTRY3=$(entry_of hash3) && [ "$ENTRY3" = "$ENTRY" ]; then
    rm -rf "$ENTRY3"
    run build4 "$DRIVER" build "$SRC" "$OBJ" "$TINYX_CACHE"
    expect_rc build4 0 "the first config rebuilt"
    if [ "$(val build4 cached)" = 0 ] && [ "$(sha256sum <"$(val build4 vmlinux)")" = "$FIRST_SUM" ]; then
        pass "vmlinux rebuilt from the same config is byte-identical (reproducible)"
    else
        fail "vmlinux rebuilt from the same config differs (or came from the cache): not reproducible"
    fi
else
    fail "flipping PRINTK_TIME back does not give the first config's hash"; show hash3
fi

# 7. Boot the PVH vmlinux (and the bzImage): no initrd, so the kernel panics after its banner.
boot() { # boot NAME KERNEL
    local start; start=$(date +%s%N)
    timeout 120 qemu-system-x86_64 -M microvm,acpi=off -accel tcg -cpu max -m 128 -nodefaults \
        -no-user-config -nographic -serial stdio -no-reboot -kernel "$2" \
        -append "console=ttyS0 panic=-1" >"$WORK/$1.out" 2>"$WORK/$1.err" &
    local pid=$! n=0
    # Stop it once the panic (or, at worst, the banner and 60 s) is seen.
    while kill -0 $pid 2>/dev/null && [ $n -lt 600 ]; do
        grep -q 'Kernel panic\|VFS: Unable' "$WORK/$1.out" 2>/dev/null && break
        sleep 0.1; n=$((n + 1))
    done
    kill $pid 2>/dev/null; wait $pid 2>/dev/null
    BOOT_MS=$(ms_since "$start")
}
boot boot_vmlinux "$VMLINUX"
expect_text boot_vmlinux out 'Linux version 6\.1\.[0-9]+ \(tinyx@tinyx\)' "vmlinux (PVH) boots: banner printed (${BOOT_MS} ms to panic)"
expect_text boot_vmlinux out 'Kernel command line:.*tinyx=e2e' "built-in CMDLINE reached the kernel"
expect_text boot_vmlinux out 'Kernel panic|VFS: Unable to mount root' "it runs up to the expected panic"
boot boot_bzimage "$BZIMAGE"
expect_text boot_bzimage out 'Linux version 6\.1' "bzImage boots too (${BOOT_MS} ms to panic)"

echo "  times: source ${t_source} ms (again ${t_source2} ms), config ${t_config} ms, build ${t_build} ms,"
echo "         cached ${t_cached} ms, incremental (PRINTK_TIME) ${t_incr} ms"
echo "  sizes: vmlinux (stripped) $(val build vmlinux_bytes) bytes, bzImage $(val build bzimage_bytes) bytes"
CCACHE_DIR="$TINYX_CACHE/kernel/ccache" ccache -s 2>/dev/null | grep -E '^ *(Hits|Misses):' | sed 's/^/  ccache /'
finish
