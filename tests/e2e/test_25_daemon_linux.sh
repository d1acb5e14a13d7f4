#!/usr/bin/env bash
# test_25_daemon_linux: the split toolstack with Linux images: `tinyx daemon` prepares shells of
# the nginx image built by test_01, and `tinyx create` starts 20 nginx guests at once on a bridge,
# each taking its MAC and IP from its device page (not the command line) and answering HTTP on
# that IP; the hello image runs to its end in a prepared shell; destroy leaves no VM, shell or
# tap behind.
# needs: kvm
# timeout: 1200
. "$(dirname "$0")/lib.sh"

N=${T25_GUESTS:-20}
NS="tinyx-t25-$$"
SOCK="$WORK/daemon.sock"
DPID=""
stop_daemon() {
    [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
    DPID=""
}
cleanup() { stop_daemon; ip netns del "$NS" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

if [ ! -x "$B/bin/tinyx-kvm" ] || [ ! -x "$TINYX" ]; then
    fail "tinyx or tinyx-kvm is not built ($B/bin): run make"; finish; exit
fi
if [ ! -c /dev/kvm ]; then
    fail "no /dev/kvm: tests/e2e/run runs this test where KVM runs Linux (in a nested L1 here)"
    finish; exit
fi
need_images || { finish; exit; }
NGINX="$E2E_IMAGES/nginx"
HELLO="$E2E_IMAGES/hello"
MEM=$(jq -r '.app.memory_mb // 128' "$NGINX/manifest.json")

# http_get IP: the first 4 KiB of GET / from IP:80, from inside the namespace, bounded.
http_get() {
    ip netns exec "$NS" timeout 10 bash -c \
        'exec 3<>"/dev/tcp/$1/80" && printf "GET / HTTP/1.0\r\nHost: t25\r\n\r\n" >&3 && head -c 4096 <&3' \
        _ "$1" 2>&1
}
taps_in_ns() { ip -n "$NS" -o link show 2>/dev/null | grep -c ': txd' || true; }

ip netns add "$NS" && ip -n "$NS" link set lo up && ip -n "$NS" link add br0 type bridge &&
    ip -n "$NS" addr add 10.0.1.1/24 dev br0 && ip -n "$NS" link set br0 up ||
    { fail "cannot make the test network (netns $NS, bridge br0)"; finish; exit; }

# The daemon in the namespace, so its taps land on that bridge; clients reach it by its socket.
ip netns exec "$NS" "$TINYX" daemon --socket "$SOCK" --pool 4 --mem "$MEM" --image "$NGINX" --keep-logs \
    >"$WORK/daemon.out" 2>"$WORK/daemon.err" &
DPID=$!
for _ in $(seq 300); do
    grep -q 'daemon ready on' "$WORK/daemon.out" 2>/dev/null && break
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.1
done
if grep -q 'daemon ready on' "$WORK/daemon.out"; then
    pass "daemon ready with prepared nginx shells ($MEM MiB)"
else
    fail "daemon did not get ready"; show daemon; finish; exit
fi

## N nginx guests at once, each on its own device-page IP --------------------------------------
created=0 prepared=0 booted=0
for i in $(seq 1 "$N"); do
    ip="10.0.1.$((i + 1))"
    extra=()
    [ "$i" -eq 1 ] && extra=(--cmdline tinyx.debug)
    # Boot bound: ~3 s each in a nested L1; a loaded host may take several times that.
    run "create$i" "$TINYX" create "$NGINX" --socket "$SOCK" --json "${extra[@]}" \
        --boot-timeout-ms 60000 --net ",bridge=br0,ip=$ip/24"
    if [ "$RC" -ne 0 ]; then
        fail "create nginx #$i ($ip): exit $RC"; show "create$i"
        # The guest's console up to its end (the daemon keeps the log: --keep-logs).
        vm=$(sed -n 's/.*vm \([0-9]*\) ended.*/\1/p' "$WORK/create$i.err" | head -1)
        [ -n "$vm" ] && tail -n 25 "$SOCK.vm/$vm.log" 2>/dev/null | sed 's/^/        > /'
        continue
    fi
    created=$((created + 1))
    jq -e '.shell == "prepared"' "$WORK/create$i.out" >/dev/null && prepared=$((prepared + 1))
    jq -e '.boot_us > 0' "$WORK/create$i.out" >/dev/null && booted=$((booted + 1))
done
[ "$created" -eq "$N" ] && pass "$N nginx guests created" || fail "only $created of $N nginx guests created"
[ "$booted" -eq "$created" ] && pass "each signalled its boot timer ($booted)" ||
    fail "$((created - booted)) of $created never signalled the boot timer"
[ "$prepared" -ge 4 ] && pass "$prepared of them started in prepared shells" ||
    fail "only $prepared started in prepared shells (pool 4)"
n=$("$TINYX" list --socket "$SOCK" --json | jq '.vms | length' 2>/dev/null)
[ "$n" = "$N" ] && pass "tinyx list shows $N VMs" || fail "tinyx list shows '$n' VMs, want $N"

answered=0 wrong=""
for i in $(seq 1 "$N"); do
    ip="10.0.1.$((i + 1))"
    ok=false
    for _ in $(seq 30); do # a guest may still be starting nginx: 15 s at most
        http_get "$ip" >"$WORK/http$i.out" && grep -q 'Welcome to nginx!' "$WORK/http$i.out" && { ok=true; break; }
        sleep 0.5
    done
    $ok && answered=$((answered + 1)) || wrong="$wrong $ip"
done
if [ "$answered" -eq "$N" ]; then
    pass "all $N guests answer HTTP on their own IP"
else
    fail "$answered of $N answered HTTP; silent:$wrong"
    for ip in $wrong; do # the end of each silent guest's console log (kept: --keep-logs)
        i=$((${ip##*.} - 1))
        log=$(jq -r .console "$WORK/create$i.out" 2>/dev/null)
        echo "        $ip (vm $(jq -r .id "$WORK/create$i.out" 2>/dev/null)): $log"
        tail -n 12 "$log" 2>/dev/null | sed 's/^/        > /'
    done
fi

# Guest 1 ran with tinyx.debug: its init says where its address came from.
id1=$(jq -r .id "$WORK/create1.out")
log1=$(jq -r .console "$WORK/create1.out")
if [ -f "$log1" ]; then
    grep -q 'tinyx-init: device page: net 0 (.*) is eth0' "$log1" &&
        pass "guest 1's init found its NIC in the device page" || { fail "no device-page line in guest 1's console"; tail -20 "$log1"; }
    grep -q 'tinyx-init: eth0 up: 10.0.1.2/24' "$log1" && pass "guest 1 configured 10.0.1.2/24 on eth0" ||
        fail "guest 1 did not configure 10.0.1.2/24"
    grep 'tinyx-init: started; command line:' "$log1" | grep -q 'tinyx.ip=' &&
        fail "the daemon put tinyx.ip= on the command line (the page must be the only source)" ||
        pass "no tinyx.ip= on the guest's command line: the address came from the device page"
else
    fail "guest 1's console log $log1 is missing"
fi
[ "$(taps_in_ns)" -eq "$N" ] && pass "$N taps on the bridge" || fail "$(taps_in_ns) taps, want $N"

run destroy "$TINYX" destroy --all --socket "$SOCK"
expect_rc destroy 0 "destroy --all"
n=$("$TINYX" list --socket "$SOCK" --json | jq '.vms | length' 2>/dev/null)
[ "$n" = 0 ] && pass "no VM left" || fail "$n VMs left after destroy --all"
[ "$(taps_in_ns)" -eq 0 ] && pass "no tap left" || fail "$(taps_in_ns) taps left after destroy"
http_get 10.0.1.2 >/dev/null && fail "10.0.1.2 still answers after destroy" || pass "the guests are gone"

## a Linux app that ends: hello in a fresh shell of its own size ---------------------------------
run hello "$TINYX" create "$HELLO" --socket "$SOCK" --json --mem "$(jq -r '.app.memory_mb // 64' "$HELLO/manifest.json")"
expect_rc hello 0 "create hello (a Linux image that prints and exits)"
hlog=$(jq -r .console "$WORK/hello.out" 2>/dev/null)
for _ in $(seq 100); do grep -q 'vm ended' "$hlog" 2>/dev/null && break; sleep 0.2; done
grep -q '^Hello, world!' "$hlog" 2>/dev/null && pass "hello printed its greeting in a daemon shell" ||
    { fail "no greeting in hello's console"; tail -20 "$hlog" 2>/dev/null; }
grep -q 'vm ended: .*status 0' "$hlog" 2>/dev/null && pass "hello's VM ended with status 0" ||
    { fail "hello's VM did not end with status 0"; tail -5 "$hlog" 2>/dev/null; }

stop_daemon
shells=0
for f in /proc/[0-9]*/cmdline; do
    tr '\0' ' ' <"$f" 2>/dev/null | grep -q "tinyx-kvm --shell" && shells=$((shells + 1))
done
[ "$shells" -eq 0 ] && pass "no shell left after the daemon stopped" || fail "$shells shells left"
finish
