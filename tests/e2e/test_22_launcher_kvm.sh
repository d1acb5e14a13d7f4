#!/usr/bin/env bash
# test_22_launcher_kvm: bad input through `tinyx-launch run --backend kvm` (a missing, truncated
# or note-less kernel, an initrd bigger than --mem, a guest that never signals, one that
# triple-faults): each ends with its exit code and message, no hang, nothing left running. Then
# Tinyx's hello image (built by test_01) boots under --backend kvm and under --backend qemu.
# needs: kvm
. "$(dirname "$0")/lib.sh"

LAUNCH="$B/bin/tinyx-launch"
GUESTS="$ROOT/out/guests"
# No single case may take longer than this: a hang fails the test instead of stalling it.
BOUND=60

if [ ! -x "$LAUNCH" ] || [ ! -x "$B/bin/tinyx-kvm" ]; then
    fail "tinyx-launch or tinyx-kvm is not built ($B/bin): run make"; finish; exit
fi
if [ ! -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
    fail "no usable /dev/kvm: tests/e2e/run runs this test where KVM runs Linux (in a nested L1 here)"
    finish; exit
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
# Tinyx's hello (a Linux kernel + initrd), as test_01 built it.
if need_images; then
    kvm_run linux_kvm "$E2E_IMAGES/hello" --timeout 50
    expect_rc linux_kvm 0 "--backend kvm boots the Linux image"
    expect_text linux_kvm out '^Hello, world!' "the Linux guest greets under the KVM backend"
    run linux_qemu timeout -k 5 "$BOUND" "$LAUNCH" run --backend qemu "$E2E_IMAGES/hello" --timeout 50
    expect_rc linux_qemu 0 "--backend qemu boots the same Linux image"
    expect_text linux_qemu out '^Hello, world!' "the Linux guest greets under QEMU"
fi

finish
