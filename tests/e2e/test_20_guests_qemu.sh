#!/usr/bin/env bash
# test_20_guests_qemu: the test guests (out/guests/, built by `make`) under QEMU microvm (TCG):
# noop exits 0, hello prints its command line, blk's CRC-32 equals the disk file's (legacy and
# modern virtio-mmio), net answers a ping through a tap on a bridge in a test network namespace;
# then noop and hello through `tinyx run --backend qemu` like any image, and the launcher's
# --blk/--net devices (of test_21) under --backend qemu, the peer that makes them its own way.
. "$(dirname "$0")/lib.sh"

GUESTS="$ROOT/out/guests"
QEMU=${TINYX_QEMU:-qemu-system-x86_64}
NS="tinyx-e2e-guests-$$"
NS2="tinyx-e2e-devs-$$"
NS_MADE=0 NS2_MADE=0
cleanup() {
    [ "$NS_MADE" -eq 1 ] && ip netns del "$NS" 2>/dev/null
    [ "$NS2_MADE" -eq 1 ] && ip netns del "$NS2" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v "$QEMU" >/dev/null; then
    fail "$QEMU not found: make deps installs qemu-system-x86"
    finish
    exit $?
fi
for g in noop hello net blk; do
    for f in kernel cmdline manifest.json; do
        if [ ! -s "$GUESTS/$g/$f" ]; then
            fail "out/guests/$g/$f missing: run make first"
            finish
            exit $?
        fi
    done
done

# qemu_guest NAME GUEST [QEMU ARGS...]: boot out/guests/GUEST/kernel the way the brief's
# reference command line does. QEMU's exit code is (status << 1) | 1 (isa-debug-exit).
QEMU_ARGS=(-M microvm,acpi=off -accel tcg -m 16 -nodefaults -no-user-config -nographic
    -no-reboot -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x01)
qemu_guest() {
    local name=$1 guest=$2
    shift 2
    run "$name" timeout 60 "$QEMU" "${QEMU_ARGS[@]}" -kernel "$GUESTS/$guest/kernel" "$@"
}
# expect_status NAME STATUS DESCRIPTION: the guest powered off with STATUS through the port.
expect_status() {
    local want=$(($2 * 2 + 1))
    if [ "$RC" -eq "$want" ]; then pass "$3 (status $2)"; else fail "$3: QEMU exit $RC, want $want (status $2)"; show "$1"; fi
}
# The zlib/gzip CRC-32 of a file, as 8 lowercase hex digits: gzip's trailer holds it.
crc32_of() {
    gzip -c "$1" | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n'
}

# noop: no console at all, status 0.
qemu_guest noop noop
expect_status noop 0 "noop powers off"
[ ! -s "$WORK/noop.out" ] && pass "noop prints nothing" || { fail "noop printed something"; show noop; }

# hello: the greeting and the whole command line, then the boot ABI's exit line.
qemu_guest hello hello -append "console=ttyS0 tg.word=42 last"
expect_status hello 0 "hello powers off"
expect_text hello out '^Hello from the Tinyx test guest!' "hello greets"
expect_text hello out '^hello: cmdline: console=ttyS0 tg.word=42 last' "hello prints its command line"
expect_text hello out 'tinyx-init: exit status 0' "hello prints the exit line"

# The misbehaving guests a launcher must survive: a triple fault ends QEMU (-no-reboot) with
# exit 0 and no status; a guest that never signals runs until it is stopped.
qemu_guest hello-fault hello -append "hello.fault"
expect_rc hello-fault 0 "hello.fault: the triple fault ends QEMU"
expect_text hello-fault out '^hello: triple-faulting' "hello.fault says what it does"
run hello-hang timeout 3 "$QEMU" "${QEMU_ARGS[@]}" -kernel "$GUESTS/hello/kernel" -append "hello.hang"
expect_rc hello-hang 124 "hello.hang runs until stopped"

# blk: a 1 MiB file of random bytes; legacy virtio-mmio (QEMU 7.2 microvm's default) and
# modern (version 2, what tinyx-kvm offers).
head -c 1048576 /dev/urandom >"$WORK/disk.img"
want=$(crc32_of "$WORK/disk.img")
head -c $((100 * 512)) "$WORK/disk.img" >"$WORK/disk100.img"
want100=$(crc32_of "$WORK/disk100.img")
BLK=(-drive "file=$WORK/disk.img,format=raw,if=none,id=d0,readonly=on" -device virtio-blk-device,drive=d0)
for mode in legacy modern; do
    extra=()
    [ "$mode" = modern ] && extra=(-global virtio-mmio.force-legacy=false)
    qemu_guest "blk-$mode" blk "${BLK[@]}" "${extra[@]}"
    expect_status "blk-$mode" 0 "blk ($mode) reads the disk"
    expect_text "blk-$mode" out "virtio-mmio version $([ $mode = modern ] && echo 2 || echo 1) " "blk ($mode) uses virtio-mmio $mode"
    expect_text "blk-$mode" out "^blk: sectors=2048 crc32=$want" "blk ($mode) CRC-32 equals the file's ($want)"
    qemu_guest "blk100-$mode" blk "${BLK[@]}" "${extra[@]}" -append "blk.sectors=100"
    expect_text "blk100-$mode" out "^blk: sectors=100 crc32=$want100" "blk ($mode) blk.sectors=100: CRC-32 of the first 100 sectors"
done
qemu_guest blk-nodev blk
expect_status blk-nodev 3 "blk without a disk"
expect_text blk-nodev out 'no virtio-mmio device with DeviceID 2' "blk without a disk says so"
qemu_guest blk-toobig blk "${BLK[@]}" -append "blk.sectors=4096"
expect_status blk-toobig 2 "blk.sectors past the end"
qemu_guest net-noaddr net -append "console=ttyS0"
expect_status net-noaddr 2 "net without an address"
expect_text net-noaddr out 'no address: add tinyx.ip=' "net without an address says which word to add"

# net: QEMU on a tap attached to a bridge inside a namespace of our own; the host side of the
# bridge pings the guest. Needs root and iproute2's netns; ping from iputils-ping.
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! command -v ping >/dev/null; then
    skip "net: needs root, ip (iproute2) and ping (iputils-ping)"
elif ! ip netns add "$NS" 2>"$WORK/netns.err"; then
    skip "net: cannot create a network namespace: $(cat "$WORK/netns.err")"
else
    NS_MADE=1
    ip netns exec "$NS" sh -e -c '
        ip link set lo up
        ip link add tgbr0 type bridge
        ip tuntap add dev tgtap0 mode tap
        ip link set tgtap0 master tgbr0
        ip addr add 10.0.0.1/24 dev tgbr0
        ip link set tgbr0 up
        ip link set tgtap0 up' >"$WORK/netns.out" 2>&1 || fail "net: namespace setup: $(cat "$WORK/netns.out")"
    for mode in legacy modern; do
        extra=()
        [ "$mode" = modern ] && extra=(-global virtio-mmio.force-legacy=false)
        out="$WORK/net-$mode.out"
        # Forget the last guest's MAC (the same one each time), so the guest must answer ARP.
        ip netns exec "$NS" ip neigh flush dev tgbr0 2>/dev/null
        ip netns exec "$NS" timeout 60 "$QEMU" "${QEMU_ARGS[@]}" -kernel "$GUESTS/net/kernel" \
            -append "console=ttyS0 tinyx.ip=10.0.0.2/24 net.count=3" "${extra[@]}" \
            -netdev tap,id=n0,ifname=tgtap0,script=no,downscript=no \
            -device virtio-net-device,netdev=n0 >"$out" 2>"$WORK/net-$mode.err" &
        qpid=$!
        for _ in $(seq 100); do
            grep -qs '^net: ready' "$out" && break
            kill -0 "$qpid" 2>/dev/null || break
            sleep 0.1
        done
        expect_text "net-$mode" out '^net: ready ip=10\.0\.0\.2 mac=' "net ($mode) is ready"
        run "ping-$mode" ip netns exec "$NS" ping -c 3 -i 0.2 -W 5 10.0.0.2
        expect_rc "ping-$mode" 0 "net ($mode): ping from the namespace's bridge is answered"
        expect_text "ping-$mode" out '3 received' "net ($mode): 3 of 3 echo replies"
        wait "$qpid"
        RC=$?
        expect_status "net-$mode" 0 "net ($mode) powers off after net.count=3 replies"
        expect_text "net-$mode" out '^net: arp reply to 10\.0\.0\.1' "net ($mode) answered ARP"
        expect_text "net-$mode" out '^net: done: 3 echo replies' "net ($mode) counted 3 echo replies"
    done
fi

# Through the launcher, like any image (the QEMU backend; exit status = the guest's).
LAUNCH="$B/bin/tinyx-launch"
if [ ! -x "$LAUNCH" ]; then
    fail "launcher: $LAUNCH missing: run make first"
else
    run launch-noop "$LAUNCH" run --backend qemu --json --timeout 60 "$GUESTS/noop"
    expect_rc launch-noop 0 "launcher: noop exits 0"
    expect_text launch-noop out '"boot_us": *[0-9]+' "launcher: noop reports boot_us"
    run launch-hello "$LAUNCH" run --backend qemu --timeout 60 "$GUESTS/hello"
    expect_rc launch-hello 0 "launcher: hello exits 0"
    expect_text launch-hello out '^hello: cmdline: console=ttyS0' "launcher: hello prints the image's command line"
    run launch-hello-ready "$LAUNCH" run --backend qemu --until-ready --json --timeout 60 "$GUESTS/hello"
    expect_rc launch-hello-ready 0 "launcher: hello's output check passes"
    run launch-fault "$LAUNCH" run --backend qemu --timeout 60 --append hello.fault "$GUESTS/hello"
    expect_rc launch-fault 5 "launcher: a triple-faulting guest ends as a reset without status"
    run launch-hang "$LAUNCH" run --backend qemu --timeout 3 --append hello.hang "$GUESTS/hello"
    expect_rc launch-hang 7 "launcher: a guest that never signals ends at --timeout"
fi
## the launcher's --blk/--net devices under --backend qemu --------------------------------------
# QEMU gets -drive/-device virtio-blk-device, and a tap the launcher opened (and attached to the
# bridge) as -netdev tap,fd=N: no script, no user-mode network.
{
    head -c 65536 /dev/urandom >"$WORK/disk.img"
    want_crc=$(gzip -c <"$WORK/disk.img" | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n')
    run qemu_blk timeout -k 5 60 "$LAUNCH" run --backend qemu "$GUESTS/blk" --blk "$WORK/disk.img,ro" --timeout 50
    expect_rc qemu_blk 0 "blk guest under --backend qemu --blk FILE,ro"
    expect_text qemu_blk out "^blk: sectors=128 crc32=$want_crc" "QEMU's disk reads back the file's CRC-32 ($want_crc)"

    if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! command -v ping >/dev/null; then
        skip "net under --backend qemu: needs root, ip (iproute2) and ping (iputils-ping)"
    elif ! ip netns add "$NS2" 2>"$WORK/netns.err"; then
        skip "net under --backend qemu: cannot create a network namespace: $(cat "$WORK/netns.err")"
    else
        NS2_MADE=1
        ip -n "$NS2" link set lo up && ip -n "$NS2" link add br0 type bridge &&
            ip -n "$NS2" addr add 10.0.0.1/24 dev br0 && ip -n "$NS2" link set br0 up ||
            fail "net: cannot set up bridge br0 in the namespace"
        ip netns exec "$NS2" timeout -k 5 60 "$LAUNCH" run --backend qemu "$GUESTS/net" \
            --net tap0,bridge=br0 --append net.count=3 --timeout 50 >"$WORK/qemu_net.out" 2>"$WORK/qemu_net.err" &
        vm=$!
        for _ in $(seq 150); do
            grep -qs '^net: ready ip=10.0.0.2' "$WORK/qemu_net.out" && break
            kill -0 "$vm" 2>/dev/null || break
            sleep 0.1
        done
        expect_text qemu_net out '^net: ready ip=10\.0\.0\.2 mac=02:74:78:' "net guest under --backend qemu is up, with the tap's derived MAC"
        master=$(ip -n "$NS2" -o link show tap0 2>/dev/null | grep -o 'master [^ ]*')
        [ "$master" = "master br0" ] && pass "tap0 is on br0, attached by the launcher" || fail "tap0 not on br0: '$master'"
        run qemu_ping ip netns exec "$NS2" ping -c 3 -i 0.3 -W 5 10.0.0.2
        expect_rc qemu_ping 0 "ping 10.0.0.2 through the launcher's tap under QEMU"
        wait "$vm"
        RC=$?
        expect_rc qemu_net 0 "net guest under QEMU exits 0 after 3 echo replies"
        ip -n "$NS2" link show tap0 >/dev/null 2>&1 && fail "tap0 left behind after QEMU ended" ||
            pass "tap0 removed when QEMU ended"
    fi
}

finish
