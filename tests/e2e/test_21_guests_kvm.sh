#!/usr/bin/env bash
# test_21_guests_kvm: noop, hello, idle, blk (CRC-32 = the file's) and net (ping via tap+bridge)
# on the KVM backend: `tinyx-launch run --backend kvm [--blk|--net]`, and tinyx-kvm directly for
# a few.
# needs: kvm
. "$(dirname "$0")/lib.sh"

KVM="$B/bin/tinyx-kvm"
LAUNCH="$B/bin/tinyx-launch"
GUESTS="$ROOT/out/guests"
NS="tinyx-t21-$$"

cleanup_ns() { ip netns del "$NS" 2>/dev/null || true; }
trap 'cleanup_ns; rm -rf "$WORK"' EXIT

# guest NAME: the guest's kernel and its image command line.
guest_kernel() { echo "$GUESTS/$1/kernel"; }
guest_cmdline() { cat "$GUESTS/$1/cmdline" 2>/dev/null || echo "console=ttyS0"; }

# Exit 159 = 128 + SIGSYS: the seccomp filter killed the monitor; say so instead of a bare code.
explain_rc() {
    [ "$RC" -eq 159 ] && echo "        (exit 159: killed by SIGSYS, a call the seccomp filter does not allow)"
    true
}

if [ ! -x "$KVM" ] || [ ! -x "$LAUNCH" ]; then
    fail "tinyx-kvm or tinyx-launch is not built ($B/bin): run make"; finish; exit
fi
if [ ! -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
    fail "no usable /dev/kvm: tests/e2e/run runs this test where KVM runs (in a nested L1 here)"; finish; exit
fi
for g in noop hello blk net idle; do
    if [ ! -f "$(guest_kernel $g)" ]; then
        fail "test guest $g is not built (make guests): the KVM guest tests need all of them"
        finish; exit
    fi
done
[ -d /sys/module/kvm_pvm ] && echo "  note  /dev/kvm is kvm_pvm here: tiny PVH guests only (no Linux)"

## noop and hello ------------------------------------------------------------------------------
run noop "$KVM" --kernel "$(guest_kernel noop)" --cmdline "$(guest_cmdline noop)" --timeout 10000 --timing
expect_rc noop 0 "noop guest boots and powers off with status 0"; explain_rc
expect_text noop err '"boot_timer_us":[1-9]' "noop guest's boot-timer byte is timestamped"

run hello "$KVM" --kernel "$(guest_kernel hello)" --cmdline "$(guest_cmdline hello) tinyx.t21=marker" --timeout 10000
expect_rc hello 0 "hello guest exits 0"; explain_rc
expect_text hello out 'tinyx\.t21=marker' "hello guest prints its command line"

# idle signals the boot timer, then waits in HLT with interrupts on: alive (and asleep, with no
# irqchip to wake it) until the monitor's --timeout ends it with 7.
run idle "$KVM" --kernel "$(guest_kernel idle)" --cmdline "$(guest_cmdline idle)" --timeout 1500 --timing
expect_rc idle 7 "idle guest signals boot and keeps running until the timeout"; explain_rc
expect_text idle err '"boot_timer_us":[1-9]' "idle guest's boot-timer byte is timestamped"
expect_text idle err 'it is halted \(HLT\), waiting for an interrupt' "idle guest was idling in HLT at the timeout"

# Through the launcher: the same guest, its boot measured.
run launch_noop "$LAUNCH" run "$GUESTS/noop" --backend kvm --json --timeout 10
expect_rc launch_noop 0 "tinyx-launch run noop --backend kvm"; explain_rc
expect_text launch_noop out '"boot_us": *[0-9]+' "the launcher reports noop's boot_us"

## blk -----------------------------------------------------------------------------------------
# 256 KiB of random data; the guest reads all of it and prints its CRC-32 (zlib's).
DISK="$WORK/disk.img"
head -c 262144 /dev/urandom > "$DISK"
# gzip's trailer holds the CRC-32 of its input (little-endian): no extra tool needed.
want_crc=$(gzip -c < "$DISK" | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n')
run blk "$LAUNCH" run "$GUESTS/blk" --backend kvm --blk "$DISK" --timeout 60
expect_rc blk 0 "blk guest reads the whole disk and exits 0 (tinyx-launch --blk)"
expect_text blk out "blk: sectors=512 crc32=$want_crc" "blk guest's CRC-32 equals the file's ($want_crc)"

# Read-only attach reads the same: through the launcher, and tinyx-kvm's own --blk once.
want_ro=$(head -c 32768 "$DISK" | gzip -c | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n')
run blk_ro "$LAUNCH" run "$GUESTS/blk" --backend kvm --blk "$DISK,ro" --append blk.sectors=64 --timeout 60
expect_rc blk_ro 0 "blk guest on a read-only disk (tinyx-launch --blk FILE,ro)"
expect_text blk_ro out "blk: sectors=64 crc32=$want_ro" "read-only disk: CRC-32 of the first 64 sectors"
run blk_direct "$KVM" --kernel "$(guest_kernel blk)" --cmdline "$(guest_cmdline blk) blk.sectors=64" --blk="$DISK,ro" --timeout 60000
expect_rc blk_direct 0 "blk guest under tinyx-kvm --blk=FILE,ro directly"; explain_rc
expect_text blk_direct out "blk: sectors=64 crc32=$want_ro" "tinyx-kvm directly: the same CRC-32"

# Bad disks: a clear message and a usage error before any VM starts.
run blk_missing "$LAUNCH" run "$GUESTS/blk" --backend kvm --blk "$WORK/nonexistent.img" --timeout 5
expect_rc blk_missing 2 "--blk with a missing file is refused"
expect_text blk_missing err "disk image .*nonexistent.img does not exist" "missing disk named"
head -c 100 /dev/zero > "$WORK/tiny.img"
run blk_tiny "$LAUNCH" run "$GUESTS/blk" --backend kvm --blk "$WORK/tiny.img" --timeout 5
expect_rc blk_tiny 2 "--blk with a file smaller than a sector is refused"
expect_text blk_tiny err "smaller than one 512-byte sector" "tiny disk explained"
# The blk guest without a disk: its own error (no device), not a monitor crash.
run blk_none "$LAUNCH" run "$GUESTS/blk" --backend kvm --timeout 10
expect_rc blk_none 3 "blk guest without --blk reports no device (guest status 3)"

## net -----------------------------------------------------------------------------------------
net_ok=true
if [ "$(id -u)" -ne 0 ]; then
    skip "net: taps and network namespaces need root"; net_ok=false
elif ! command -v ping >/dev/null || ! command -v ip >/dev/null; then
    skip "net: needs ip (iproute2) and ping (iputils-ping)"; net_ok=false
elif ! ip netns add "$NS" 2>"$WORK/netns.err"; then
    skip "net: cannot create a network namespace: $(cat "$WORK/netns.err")"; net_ok=false
elif ! { ip -n "$NS" link set lo up && ip -n "$NS" link add br0 type bridge &&
         ip -n "$NS" addr add 10.0.0.1/24 dev br0 && ip -n "$NS" link set br0 up; } 2>"$WORK/br.err"; then
    skip "net: cannot create bridge br0 in the namespace: $(cat "$WORK/br.err")"; net_ok=false
fi

if $net_ok; then
    # The guest answers ARP and ping for tinyx.ip (its image's 10.0.0.2) and powers off after
    # 3 echo replies; the launcher streams its console to stdout.
    ip netns exec "$NS" "$LAUNCH" run "$GUESTS/net" --backend kvm --net tap0,bridge=br0 \
        --append net.count=3 --timeout 30 >"$WORK/net.out" 2>"$WORK/net.err" &
    vm=$!
    ready=false
    for _ in $(seq 100); do
        grep -q '^net: ready ip=10.0.0.2' "$WORK/net.out" 2>/dev/null && { ready=true; break; }
        kill -0 "$vm" 2>/dev/null || break
        sleep 0.1
    done
    if $ready; then
        pass "net guest is up (its ready line)"
        master=$(ip -n "$NS" -o link show tap0 2>/dev/null | grep -o 'master [^ ]*')
        [ "$master" = "master br0" ] && pass "tap0 is on bridge br0, attached by tinyx-kvm" ||
            fail "tap0 not on br0: '$master'"
        ip -n "$NS" -o link show tap0 | grep -q '<[^>]*UP' && pass "tap0 is up" || fail "tap0 is not up"
        if ip netns exec "$NS" ping -c 3 -i 0.3 -W 3 10.0.0.2 >"$WORK/ping.out" 2>&1; then
            pass "ping 10.0.0.2 from the namespace: $(grep -o '[0-9]* received' "$WORK/ping.out")"
        else
            fail "ping 10.0.0.2 failed"; sed 's/^/        > /' "$WORK/ping.out"
        fi
    else
        fail "net guest never printed its ready line"
    fi
    # net.count=3: the guest ends by itself after the third reply; --timeout bounds it anyway.
    wait "$vm"; RC=$?
    if [ "$RC" -eq 0 ]; then pass "net guest exits 0 after 3 echo replies (tinyx-launch --net)"
    else fail "net guest: exit $RC, want 0"; show net; fi
    grep -q '^net: echo reply to 10.0.0.1' "$WORK/net.out" && pass "the guest logged its echo replies" ||
        fail "no echo reply in the guest's console"
    grep -q 'devices: net on tap tap0 (bridge br0)' "$WORK/net.err" &&
        pass "the launcher says which device it gave the guest" || fail "no device line in the launcher's output"
    # The monitor created the tap, so closing it removed it.
    ip -n "$NS" link show tap0 >/dev/null 2>&1 && fail "tap0 left behind after the VM ended" ||
        pass "tap0 removed when the VM ended"

    # Bad bridge: refused before the guest runs, with the fix.
    run net_nobr ip netns exec "$NS" "$LAUNCH" run "$GUESTS/net" --backend kvm --net tap1,bridge=nosuchbr --timeout 5
    expect_rc net_nobr 2 "--net with a missing bridge is refused"
    expect_text net_nobr err "bridge nosuchbr does not exist" "missing bridge named, with the fix"
    # Bad option: a usage error naming the setting.
    run net_badopt "$LAUNCH" run "$GUESTS/net" --backend kvm --net tap1,speed=10 --timeout 5
    expect_rc net_badopt 2 "--net with an unknown setting is a usage error"
    expect_text net_badopt err "unknown setting 'speed=10'" "unknown --net setting named"
fi

finish
