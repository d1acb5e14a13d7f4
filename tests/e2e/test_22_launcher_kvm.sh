#!/usr/bin/env bash
# test_22_launcher_kvm: bad input through `tinyx-launch run --backend kvm` (a missing, truncated
# or note-less kernel, an initrd bigger than --mem, a guest that never signals, one that
# triple-faults): each ends with its exit code and message, no hang, nothing left running. Then
# a Tinyx Linux image: refused with the way out where KVM is kvm_pvm, booted where it is
# hardware, and booted under --backend qemu everywhere; and the --blk/--net devices of
# test_21 through --backend qemu, the peer that creates them its own way.
. "$(dirname "$0")/lib.sh"

LAUNCH="$B/bin/tinyx-launch"
GUESTS="$ROOT/out/guests"
# No single case may take longer than this: a hang fails the test instead of stalling it.
BOUND=60
NS="tinyx-t22-$$"
NS_MADE=0
cleanup() {
    [ "$NS_MADE" -eq 1 ] && ip netns del "$NS" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ ! -x "$LAUNCH" ] || [ ! -x "$B/bin/tinyx-kvm" ]; then
    skip "tinyx-launch or tinyx-kvm is not built ($B/bin): run make"; finish; exit
fi
if [ ! -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
    skip "no usable /dev/kvm here: the KVM backend cannot run"; finish; exit
fi
if [ ! -s "$GUESTS/hello/kernel" ]; then
    fail "out/guests/hello is not built: run make first"; finish; exit
fi

# leftovers NAME: no process still mentions $WORK (every image of this test lives there, so a
# tinyx-kvm of ours would name it on its command line). Builtins only: no grep that would see
# its own arguments.
leftovers() {
    local p left="" args
    for p in /proc/[0-9]*; do
        [ "$p" = "/proc/$$" ] && continue
        mapfile -d '' args 2>/dev/null <"$p/cmdline" || continue
        [[ "${args[*]}" == *"$WORK"* ]] && left="$left ${p#/proc/}"
    done
    if [ -z "$left" ]; then pass "$1: no process left behind"; else fail "$1: still running:$left"; fi
}

# kvm_run NAME ARGS...: `tinyx-launch run --backend kvm ARGS`, bounded; sets RC and SECONDS_TAKEN.
kvm_run() {
    local name=$1 start
    shift
    start=$(date +%s)
    run "$name" timeout -k 5 "$BOUND" "$LAUNCH" run --backend kvm "$@"
    SECONDS_TAKEN=$(($(date +%s) - start))
    [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ] && fail "$name: hung (stopped after $BOUND s)"
    leftovers "$name"
}

# A copy of the hello guest's image directory to break.
hello_copy() {
    rm -rf "$WORK/$1"
    cp -r "$GUESTS/hello" "$WORK/$1"
}

## the kernel -----------------------------------------------------------------------------------
hello_copy nokernel
rm "$WORK/nokernel/kernel"
kvm_run nokernel "$WORK/nokernel" --timeout 10
expect_rc nokernel 8 "an image without its kernel file"
expect_text nokernel err "the image has no kernel .*nokernel/kernel is missing" "the missing kernel is named"

hello_copy kernelopt
kvm_run nokernel_opt "$WORK/kernelopt" --kernel "$WORK/no-such-vmlinux" --timeout 10
expect_rc nokernel_opt 2 "--kernel naming a missing file"
expect_text nokernel_opt err "--kernel: cannot open kernel .*no-such-vmlinux: No such file" "the missing --kernel file is named"

hello_copy truncated
head -c 10000 "$GUESTS/hello/kernel" >"$WORK/truncated/kernel"
kvm_run truncated "$WORK/truncated" --timeout 10
expect_rc truncated 8 "a truncated kernel ELF"
expect_text truncated err "truncated/kernel is a corrupt ELF file \(segment [0-9]+ needs bytes up to offset [0-9]+ and the file has 10000 bytes: truncated\?\)" "the truncation is explained"

hello_copy shortheader
head -c 40 "$GUESTS/hello/kernel" >"$WORK/shortheader/kernel"
kvm_run shortheader "$WORK/shortheader" --timeout 10
expect_rc shortheader 8 "a kernel cut inside its ELF header"
expect_text shortheader err "corrupt ELF file \(40 bytes, shorter than an ELF header" "the short header is explained"

# The guest with its PVH note's type changed from 18 (PHYS32_ENTRY) to 19: an ELF like any
# other, which nothing tells where to enter.
if command -v readelf >/dev/null; then
    hello_copy nopvh
    note_off=$(readelf -lW "$WORK/nopvh/kernel" | awk '$1 == "NOTE" { print $2; exit }')
    if [ -n "$note_off" ]; then
        printf '\023' | dd of="$WORK/nopvh/kernel" bs=1 seek=$((note_off + 8)) conv=notrunc status=none
        kvm_run nopvh "$WORK/nopvh" --timeout 10
        expect_rc nopvh 8 "a kernel ELF without the PVH entry note"
        expect_text nopvh err "has no PVH entry note \(ELF note \"Xen\", type 18\).*--backend qemu" "the missing note is named, with the way out"
    else
        fail "the hello guest has no NOTE segment to alter"
    fi
else
    skip "no PVH note: needs readelf (binutils) to find the note"
fi

## the initrd ----------------------------------------------------------------------------------
# 20 MiB of initrd (sparse) under 16 MiB of RAM; the manifest names it (no "initrd": null).
hello_copy bigrd
jq 'del(.initrd)' "$GUESTS/hello/manifest.json" >"$WORK/bigrd/manifest.json"
truncate -s 20M "$WORK/bigrd/initrd"
kvm_run bigrd "$WORK/bigrd" --mem 16 --timeout 10
expect_rc bigrd 2 "an initrd larger than --mem"
expect_text bigrd err "initrd .*bigrd/initrd \(20.00 MiB\) does not fit in 16 MiB of guest RAM .*give --mem [0-9]+ or more" "the size and the --mem that fits are named"
need=$(sed -n 's/.*give --mem \([0-9]*\) or more.*/\1/p' "$WORK/bigrd.err")
if [ -n "$need" ]; then
    kvm_run bigrd_fits "$WORK/bigrd" --mem "$need" --timeout 20
    expect_rc bigrd_fits 0 "the same image with the --mem the message asks for ($need MiB) boots"
    expect_text bigrd_fits out '^Hello from the Tinyx test guest!' "... and greets"
fi

## misbehaving guests --------------------------------------------------------------------------
hello_copy guest
kvm_run hang "$WORK/guest" --append hello.hang --timeout 5
expect_rc hang 7 "a guest that never signals ends at --timeout 5"
expect_text hang err "timed out after 5 s: the guest never signalled the boot timer" "the timeout says the boot timer never fired"
[ "$SECONDS_TAKEN" -le 15 ] && pass "hang: stopped in ${SECONDS_TAKEN} s" || fail "hang: took ${SECONDS_TAKEN} s for --timeout 5"

kvm_run fault "$WORK/guest" --append hello.fault --timeout 20
expect_rc fault 5 "a guest that triple-faults"
expect_text fault err "the guest reset without reporting an exit status" "the launcher says the guest reset without a status"
expect_text fault err "halted: the guest triple-faulted" "tinyx-kvm's reason is shown"
[ "$SECONDS_TAKEN" -le 15 ] && pass "fault: ended in ${SECONDS_TAKEN} s" || fail "fault: took ${SECONDS_TAKEN} s"

## a Linux image -------------------------------------------------------------------------------
# Tinyx's hello (a Linux kernel + initrd): cached in $TINYX_CACHE after test_01, minutes if not.
run linux_build timeout 1800 "$TINYX" build hello -o "$WORK/linux-hello"
expect_rc linux_build 0 "tinyx build hello (a Linux image)"
if [ "$RC" -eq 0 ]; then
    kvm_run linux_kvm "$WORK/linux-hello" --timeout 50
    if [ -d /sys/module/kvm_pvm ]; then
        expect_rc linux_kvm 6 "--backend kvm refuses a Linux kernel on kvm_pvm"
        expect_text linux_kvm err "it is a Linux kernel, and .*kvm_pvm.*use --backend qemu" "the refusal names --backend qemu"
        why=$(sed -n 's/^tinyx-launch: error: //p' "$WORK/linux_kvm.err" | head -1)
        skip "KVM cannot run Linux on this host (kvm_pvm): $why"
    else
        expect_rc linux_kvm 0 "--backend kvm boots the Linux image (hardware KVM)"
        expect_text linux_kvm out '^Hello, world!' "the Linux guest greets under the KVM backend"
    fi
    run linux_qemu timeout -k 5 "$BOUND" "$LAUNCH" run --backend qemu "$WORK/linux-hello" --timeout 50
    expect_rc linux_qemu 0 "--backend qemu boots the same Linux image"
    expect_text linux_qemu out '^Hello, world!' "the Linux guest greets under QEMU"
fi

## the same devices under --backend qemu -------------------------------------------------------
# QEMU gets -drive/-device virtio-blk-device, and a tap the launcher opened (and attached to the
# bridge) as -netdev tap,fd=N: no script, no user-mode network.
QEMU=${TINYX_QEMU:-qemu-system-x86_64}
if ! command -v "$QEMU" >/dev/null; then
    skip "devices under --backend qemu: $QEMU not found"
else
    head -c 65536 /dev/urandom >"$WORK/disk.img"
    want_crc=$(gzip -c <"$WORK/disk.img" | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n')
    run qemu_blk timeout -k 5 "$BOUND" "$LAUNCH" run --backend qemu "$GUESTS/blk" --blk "$WORK/disk.img,ro" --timeout 50
    expect_rc qemu_blk 0 "blk guest under --backend qemu --blk FILE,ro"
    expect_text qemu_blk out "^blk: sectors=128 crc32=$want_crc" "QEMU's disk reads back the file's CRC-32 ($want_crc)"

    if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! command -v ping >/dev/null; then
        skip "net under --backend qemu: needs root, ip (iproute2) and ping (iputils-ping)"
    elif ! ip netns add "$NS" 2>"$WORK/netns.err"; then
        skip "net under --backend qemu: cannot create a network namespace: $(cat "$WORK/netns.err")"
    else
        NS_MADE=1
        ip -n "$NS" link set lo up && ip -n "$NS" link add br0 type bridge &&
            ip -n "$NS" addr add 10.0.0.1/24 dev br0 && ip -n "$NS" link set br0 up ||
            fail "net: cannot set up bridge br0 in the namespace"
        ip netns exec "$NS" timeout -k 5 "$BOUND" "$LAUNCH" run --backend qemu "$GUESTS/net" \
            --net tap0,bridge=br0 --append net.count=3 --timeout 50 >"$WORK/qemu_net.out" 2>"$WORK/qemu_net.err" &
        vm=$!
        for _ in $(seq 150); do
            grep -qs '^net: ready ip=10.0.0.2' "$WORK/qemu_net.out" && break
            kill -0 "$vm" 2>/dev/null || break
            sleep 0.1
        done
        expect_text qemu_net out '^net: ready ip=10\.0\.0\.2 mac=02:74:78:' "net guest under --backend qemu is up, with the tap's derived MAC"
        master=$(ip -n "$NS" -o link show tap0 2>/dev/null | grep -o 'master [^ ]*')
        [ "$master" = "master br0" ] && pass "tap0 is on br0, attached by the launcher" || fail "tap0 not on br0: '$master'"
        run qemu_ping ip netns exec "$NS" ping -c 3 -i 0.3 -W 5 10.0.0.2
        expect_rc qemu_ping 0 "ping 10.0.0.2 through the launcher's tap under QEMU"
        wait "$vm"
        RC=$?
        expect_rc qemu_net 0 "net guest under QEMU exits 0 after 3 echo replies"
        ip -n "$NS" link show tap0 >/dev/null 2>&1 && fail "tap0 left behind after QEMU ended" ||
            pass "tap0 removed when QEMU ended"
    fi
fi
leftovers "devices under qemu"

finish
