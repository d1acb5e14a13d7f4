# lib.sh: helpers of the nested-KVM harness (sourced): where KVM runs Linux, the host's TSC
# rate, and the level-1 VM's kernel and initramfs (Debian's cloud kernel, cached).
NESTED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NESTED_ROOT=$(cd "$NESTED_DIR/../.." && pwd)
NESTED_CACHE=${TINYX_NESTED_CACHE:-$NESTED_ROOT/.cache/nested}
# The modules L1 loads, in dependency order, with their options: KVM with nested paging, the
# virtio-pci transport and virtiofs for the host's root, overlayfs, taps and bridges.
NESTED_MODULES="irqbypass
kvm
kvm-amd nested=1 npt=1
virtio_ring
virtio
virtio_pci_legacy_dev
virtio_pci_modern_dev
virtio_pci
fuse
virtiofs
overlay
tun
llc
stp
bridge
veth"

nested_die() {
    echo "kvm-l1: $*" >&2
    exit 125
}

# nested_host_kvm_runs_linux: true when this host's /dev/kvm can run a Linux guest (hardware
# KVM), false when there is none or it is kvm_pvm (runs tiny guests, not Linux).
nested_host_kvm_runs_linux() {
    [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]
}

# nested_why_l1: one line saying why tests go to L1 on this host.
nested_why_l1() {
    if [ ! -e /dev/kvm ]; then echo "this host has no /dev/kvm"
    elif [ -d /sys/module/kvm_pvm ]; then echo "this host's /dev/kvm is kvm_pvm, which does not run Linux"
    else echo "this host's /dev/kvm cannot be opened read-write"; fi
}

# nested_tsc_khz: the host's TSC rate in kHz, for L1's tsc_early_khz= (a wrong value makes
# L1's clock run fast or slow, and its timeouts fire falsely). The kernel's own calibration
# first, then /proc/cpuinfo on a constant-TSC CPU.
nested_tsc_khz() {
    local mhz
    mhz=$(dmesg 2>/dev/null | sed -n 's/.*Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' | tail -1)
    [ -n "$mhz" ] || mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p' | tail -1)
    if [ -z "$mhz" ] && grep -qw constant_tsc /proc/cpuinfo; then
        mhz=$(sed -n 's/^cpu MHz[[:space:]]*: \([0-9.]*\)/\1/p' /proc/cpuinfo | head -1)
    fi
    [ -n "$mhz" ] || nested_die "cannot tell this host's TSC rate (no 'tsc:' line in dmesg, no constant_tsc)"
    awk -v m="$mhz" 'BEGIN { printf "%d\n", m * 1000 + 0.5 }'
}

# nested_cloud_kernel: download and unpack Debian's cloud kernel once (not installed on the
# host). Sets L1_KVER and L1_KDIR.
nested_cloud_kernel() {
    local pkg deb tmp
    pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -1)
    [ -n "$pkg" ] || nested_die "apt knows no linux-image-cloud-amd64 (run apt-get update, or make deps)"
    L1_KVER=${pkg#linux-image-}
    L1_KDIR="$NESTED_CACHE/$pkg"
    [ -f "$L1_KDIR/.complete" ] && return 0
    echo "kvm-l1: fetching $pkg (Debian's cloud kernel, for L1; once)" >&2
    mkdir -p "$NESTED_CACHE"
    tmp=$(mktemp -d "$NESTED_CACHE/.fetch.XXXXXX")
    if ! (cd "$tmp" && apt-get download -q "$pkg" >download.log 2>&1); then
        cat "$tmp/download.log" >&2
        rm -rf "$tmp"
        nested_die "cannot download $pkg from Debian's archive"
    fi
    deb=$(ls "$tmp"/*.deb)
    dpkg-deb -x "$deb" "$tmp/x" || { rm -rf "$tmp"; nested_die "cannot unpack $deb"; }
    rm -f "$deb"
    touch "$tmp/x/.complete"
    rm -rf "$L1_KDIR"
    mv "$tmp/x" "$L1_KDIR" # atomic: a half-unpacked kernel never looks complete
    rm -rf "$tmp"
}

# nested_prepare_l1: L1's kernel and initramfs (busybox, the modules, l1-init), rebuilt when
# any input changes. Sets L1_KERNEL and L1_INITRD.
nested_prepare_l1() {
    nested_cloud_kernel
    L1_KERNEL="$L1_KDIR/boot/vmlinuz-$L1_KVER"
    [ -f "$L1_KERNEL" ] || nested_die "$L1_KERNEL is missing from the cloud kernel package"
    local busybox=/bin/busybox
    [ -x "$busybox" ] && "$busybox" --list | grep -x insmod >/dev/null ||
        nested_die "needs busybox-static (/bin/busybox with insmod): apt-get install busybox-static"
    local key
    key=$( {
        echo "$L1_KVER"
        echo "$NESTED_MODULES"
        cat "$NESTED_DIR/l1-init"
        sha256sum "$busybox"
    } | sha256sum | cut -c1-16)
    L1_INITRD="$NESTED_CACHE/l1-$key.cpio.gz"
    [ -f "$L1_INITRD" ] && return 0
    local stage mod
    stage=$(mktemp -d "$NESTED_CACHE/.initrd.XXXXXX")
    mkdir -p "$stage/bin" "$stage/lib/modules" "$stage/proc" "$stage/sys" "$stage/dev" "$stage/tmp"
    cp "$busybox" "$stage/bin/busybox"
    cp "$NESTED_DIR/l1-init" "$stage/init"
    chmod 755 "$stage/init"
    echo "$NESTED_MODULES" >"$stage/modules.order"
    while read -r mod _; do
        local f
        f=$(find "$L1_KDIR/lib/modules/$L1_KVER" -name "$mod.ko" -print -quit)
        [ -n "$f" ] || { rm -rf "$stage"; nested_die "module $mod.ko is not in $L1_KVER"; }
        cp "$f" "$stage/lib/modules/"
    done <<<"$NESTED_MODULES"
    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$stage.cpio.gz" ||
        { rm -rf "$stage" "$stage.cpio.gz"; nested_die "cannot write the L1 initramfs"; }
    rm -rf "$stage"
    mv "$stage.cpio.gz" "$L1_INITRD"
}
