#!/usr/bin/env bash
# test_23_daemon: the launcher daemon (docs/daemon.md): create/destroy/list/stats through
# `tinyx`; prepared vs fresh shells; guests that power off, crash, hang (timeout) or are
# destroyed; a client that disconnects mid-request; 1000 concurrent guests; no fd or RSS leak
# over 10,000 create/destroy cycles; two net guests with different device pages each answering
# ping on their own IP; SIGKILL of the daemon leaves no shells nor taps, and a restart works.
# needs: kvm
. "$(dirname "$0")/lib.sh"

LAUNCH="$B/bin/tinyx-launch"
GUESTS="$ROOT/out/guests"
NS="tinyx-t23-$$"
SOCK="$WORK/daemon.sock"
DPID=""
# Enough for the leak check to mean something, small enough for CI (~1 min here).
# In a nested L1 (TCG underneath) a cycle costs ~50x more, so fewer; a leak of one descriptor or
# one page per cycle still shows.
CYCLES=${T23_CYCLES:-$([ -n "${TINYX_NESTED_L1:-}" ] && echo 1000 || echo 10000)}
CONCURRENT=${T23_CONCURRENT:-1000}

DNAME=""
stop_daemon() {
    [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
    DPID=""
    # Sanitizer builds (B=build-san): the daemon's exit-time leak check and any error report.
    if [ -n "$DNAME" ] && grep -q 'Sanitizer' "$WORK/$DNAME.err" 2>/dev/null; then
        fail "daemon $DNAME: sanitizer report"; grep -A12 'Sanitizer' "$WORK/$DNAME.err" | head -30
    fi
    DNAME=""
}
# ASan keeps freed memory in quarantine, so RSS says nothing about leaks there (LeakSanitizer
# does, at the daemon's exit).
ASAN=false; ldd "$LAUNCH" 2>/dev/null | grep -q libasan && ASAN=true
cleanup() { stop_daemon; ip netns del "$NS" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# start_daemon NAME [netns] ARGS...: the daemon in the background, waiting for its ready line.
start_daemon() {
    local name=$1; shift
    local pre=()
    if [ "${1:-}" = "--netns" ]; then pre=(ip netns exec "$NS"); shift 1; fi
    "${pre[@]}" "$TINYX" daemon --socket "$SOCK" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    DPID=$!
    DNAME=$name
    for _ in $(seq 100); do
        grep -q 'daemon ready on' "$WORK/$name.out" 2>/dev/null && return 0
        kill -0 "$DPID" 2>/dev/null || break
        sleep 0.1
    done
    fail "daemon ($name) did not print its ready line"; show "$name"; DPID=""; return 1
}

# count_procs REGEX: processes whose command line (words joined by spaces) matches (no procps
# needed).
count_procs() {
    local n=0 f
    for f in /proc/[0-9]*/cmdline; do
        { tr '\0' ' ' <"$f"; } 2>/dev/null | grep -Eq -- "$1" && n=$((n + 1))
    done
    echo "$n"
}
# shells_of PID: the tinyx-kvm shells of daemon PID.
shells_of() { count_procs "tinyx-kvm --shell --parent-pid $1 "; }

# stat KEY: one number from `tinyx stats --json`.
stat() { "$TINYX" stats --socket "$SOCK" --json | jq -r ".$1"; }

if [ ! -x "$LAUNCH" ] || [ ! -x "$B/bin/tinyx-kvm" ] || [ ! -x "$TINYX" ]; then
    fail "tinyx, tinyx-launch or tinyx-kvm is not built ($B/bin): run make"; finish; exit
fi
if [ ! -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
    fail "no usable /dev/kvm: tests/e2e/run runs this test where KVM runs (in a nested L1 here)"; finish; exit
fi
if ! command -v jq >/dev/null; then fail "needs jq: make deps installs it"; finish; exit; fi
for g in noop hello net; do
    [ -f "$GUESTS/$g/kernel" ] || { fail "test guest $g is not built (make guests)"; finish; exit; }
done
# An alive guest for the scale parts: idle (HLT forever) when built, else noop (ends at once).
ALIVE=noop; [ -f "$GUESTS/idle/kernel" ] && ALIVE=idle
echo "  note  alive guest for the scale checks: $ALIVE"

## no daemon --------------------------------------------------------------------------------
run nodaemon "$TINYX" stats --socket "$SOCK"
expect_rc nodaemon 6 "a client without a daemon exits 6"
expect_text nodaemon err "start one with .tinyx daemon" "and says how to start one"

## basics -----------------------------------------------------------------------------------
start_daemon d1 --pool 4 --image "$GUESTS/noop" --image "$GUESTS/$ALIVE" || { finish; exit; }
pass "daemon ready: $(cat "$WORK/d1.out")"
run second "$TINYX" daemon --socket "$SOCK"
expect_rc second 6 "a second daemon on the same socket is refused"
# The ready line comes once the shells are spawned; they need a few ms more to be prepared.
for _ in $(seq 100); do [ "$(stat prepared)" -ge 8 ] && break; sleep 0.1; done
[ "$(stat prepared)" -ge 8 ] && pass "prepared shells are ready after start ($(stat prepared))" ||
    fail "prepared shells after start: $(stat prepared), want 8 (2 images x --pool 4)"

run c_noop "$TINYX" create "$GUESTS/noop" --socket "$SOCK" --json
expect_rc c_noop 0 "create noop"
if jq -e '.ok and .create_us > 0 and .boot_us >= .create_us and .shell == "prepared" and .id > 0' \
    "$WORK/c_noop.out" >/dev/null; then
    pass "create reply: $(jq -c '{shell,create_us,boot_us}' "$WORK/c_noop.out")"
else fail "create reply lacks create_us/boot_us/shell"; show c_noop; fi
run c_human "$TINYX" create "$GUESTS/noop" --socket "$SOCK"
expect_text c_human out '^vm [0-9]+: pid [0-9]+, prepared shell, create [0-9.]+ ms, boot [0-9.]+ ms' "human create line"

run c_big "$TINYX" create "$GUESTS/noop" --socket "$SOCK" --mem 64 --json
expect_rc c_big 0 "create with more memory than a prepared shell has"
jq -e '.shell == "fresh" and .mem_mib == 64' "$WORK/c_big.out" >/dev/null &&
    pass "it is served by a fresh 64 MiB shell and says so" || { fail "bigger request not fresh"; show c_big; }

run c_alive "$TINYX" create "$GUESTS/$ALIVE" --socket "$SOCK" --json
id=$(jq -r .id "$WORK/c_alive.out")
if [ "$ALIVE" = idle ]; then
    run l1 "$TINYX" list --socket "$SOCK" --json
    jq -e --argjson id "$id" '.vms | map(select(.id == $id and .state == "running")) | length == 1' \
        "$WORK/l1.out" >/dev/null && pass "list shows vm $id running" || { fail "vm $id not listed"; show l1; }
    run d_one "$TINYX" destroy "$id" --socket "$SOCK"
    expect_rc d_one 0 "destroy $id"
    [ "$("$TINYX" list --socket "$SOCK" --json | jq '.vms | length')" = 0 ] && pass "list is empty after destroy" ||
        fail "list not empty after destroy"
fi
run d_gone "$TINYX" destroy 999999 --socket "$SOCK"
expect_rc d_gone 1 "destroying an unknown id fails"
expect_text d_gone err "no VM with id 999999" "and names the id"

## tinyx run through the daemon ----------------------------------------------------------------
export TINYX_DAEMON_SOCKET="$SOCK"
run r_hello "$TINYX" run "$GUESTS/hello" --backend daemon --append hello.t23=marker
expect_rc r_hello 0 "tinyx run --backend daemon: hello exits 0"
expect_text r_hello out 'hello: cmdline: .*hello\.t23=marker' "its console is streamed, with the extra words"
expect_text r_hello err 'daemon: vm [0-9]+, pid [0-9]+, (prepared|fresh) shell' "it ran in a shell of the daemon"
run r_json "$TINYX" run "$GUESTS/noop" --backend daemon --json
expect_rc r_json 0 "tinyx run --backend daemon --json: noop"
jq -e '.backend == "daemon" and .boot_us > 0 and .exit_status == 0' "$WORK/r_json.out" >/dev/null &&
    pass "the report has boot_us ($(jq .boot_us "$WORK/r_json.out") us)" || { fail "run report"; show r_json; }
run r_fault "$TINYX" run "$GUESTS/hello" --backend daemon --append hello.fault
expect_rc r_fault 5 "a triple fault through the daemon backend: exit 5"
expect_text r_fault err "triple-faulted" "with the monitor's reason"
run r_hang "$TINYX" run "$GUESTS/hello" --backend daemon --append hello.hang --timeout 2
expect_rc r_hang 7 "a hang through the daemon backend ends at --timeout"
# No --backend: a running daemon takes what it can boot; --backend still wins.
run r_auto "$TINYX" run "$GUESTS/noop" --json
expect_rc r_auto 0 "tinyx run without --backend while a daemon runs: noop"
jq -e '.backend == "daemon"' "$WORK/r_auto.out" >/dev/null &&
    pass "it went to the daemon" || { fail "run without --backend did not use the daemon"; show r_auto; }
expect_text r_auto err "a launcher daemon listens on" "and says so"
run r_forced "$TINYX" run "$GUESTS/noop" --json --backend qemu
expect_rc r_forced 0 "tinyx run --backend qemu with a daemon running: noop exits 0"
jq -e '.backend == "qemu"' "$WORK/r_forced.out" >/dev/null &&
    pass "--backend qemu still boots with QEMU while a daemon runs" || { fail "--backend ignored"; show r_forced; }
[ "$(stat vms)" = 0 ] && pass "no VM left after the runs" || fail "vms left: $(stat vms)"
unset TINYX_DAEMON_SOCKET
run r_nodaemon env TINYX_DAEMON_SOCKET="$WORK/none.sock" "$TINYX" run "$GUESTS/noop" --json
# This host's /dev/kvm runs the guest (the test needs one), so the automatic choice is kvm.
jq -e '.backend == "kvm"' "$WORK/r_nodaemon.out" >/dev/null &&
    pass "without a daemon, no --backend picks kvm here" || { fail "automatic backend"; show r_nodaemon; }
expect_text r_nodaemon err "backend kvm \\(" "and says why"
run r_none env TINYX_DAEMON_SOCKET="$WORK/none.sock" "$TINYX" run "$GUESTS/noop" --backend daemon
expect_rc r_none 6 "--backend daemon without a daemon exits 6"
expect_text r_none err "tinyx daemon --detach" "and says how to start one"

## bad requests ------------------------------------------------------------------------------
run c_missing "$TINYX" create "$WORK" --socket "$SOCK"
expect_rc c_missing 1 "create of a folder that is no image fails"
expect_text c_missing err "not a usable image folder" "with what is wrong"
run c_badnet "$TINYX" create "$GUESTS/noop" --socket "$SOCK" --net "t0,ip=300.1.1.1"
expect_rc c_badnet 1 "a bad IP address is refused"
expect_text c_badnet err 'ip "300.1.1.1" is not an IPv4 address' "naming it"

## lifecycle: poweroff, crash, hang, timeout ---------------------------------------------------
ended0=$(stat ended)
run c_off "$TINYX" create "$GUESTS/noop" --socket "$SOCK"
expect_rc c_off 0 "a guest that powers off right after its boot byte"
run c_fault "$TINYX" create "$GUESTS/hello" --socket "$SOCK" --cmdline hello.fault
expect_rc c_fault 1 "a guest that triple-faults before its boot byte: create fails"
expect_text c_fault err "ended before its boot-timer byte: exit code 5.*triple-faulted" "with how it ended"
run c_hang "$TINYX" create "$GUESTS/hello" --socket "$SOCK" --cmdline hello.hang --timeout-ms 1500 --boot-timeout-ms 300 --json
expect_rc c_hang 7 "a guest that never signals: create says so (exit 7)"
jq -e '.ok and .boot_us == null and (.warning | length > 0)' "$WORK/c_hang.out" >/dev/null &&
    pass "reply: boot_us null with a warning" || { fail "hang reply"; show c_hang; }
sleep 2
[ "$(stat vms)" = 0 ] && pass "the hanging guest was killed at its timeout" || fail "vms left: $(stat vms)"
[ "$(stat ended)" -ge $((ended0 + 3)) ] && pass "ended counts the poweroffs, crash and timeout ($(stat ended))" ||
    fail "ended: $(stat ended), want >= $((ended0 + 3))"

## a client that goes away mid-request ---------------------------------------------------------
# Its create waits for a boot-timer byte that never comes; the client is killed meanwhile.
( timeout -s KILL 0.5 "$TINYX" create "$GUESTS/hello" --socket "$SOCK" --cmdline hello.hang \
    --timeout-ms 30000 --boot-timeout-ms 20000 ) >/dev/null 2>&1
run after_kill "$TINYX" list --socket "$SOCK" --json
expect_rc after_kill 0 "the daemon survives a client killed mid-request"
jq -e '.vms | length == 1 and .[0].state == "booting"' "$WORK/after_kill.out" >/dev/null &&
    pass "the orphaned VM is listed (booting)" || { fail "orphaned VM not listed"; show after_kill; }
run after_kill_d "$TINYX" destroy --all --socket "$SOCK"
expect_rc after_kill_d 0 "and can be destroyed"
[ "$(stat vms)" = 0 ] && kill -0 "$DPID" && pass "the daemon keeps serving" || fail "daemon gone or VM left"
stop_daemon

## 1000 concurrent guests ------------------------------------------------------------------------
start_daemon d2 --pool 8 --image "$GUESTS/$ALIVE" || { finish; exit; }
fds0=$(stat daemon_fds)
per=$((CONCURRENT / 4))
start=$(date +%s%N)
clients=()
for k in 1 2 3 4; do
    "$TINYX" create "$GUESTS/$ALIVE" --socket "$SOCK" --count "$per" --json >"$WORK/conc$k.out" 2>"$WORK/conc$k.err" &
    clients+=($!)
done
wait "${clients[@]}"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
created=$(cat "$WORK"/conc?.out | jq -s 'map(select(.ok)) | length')
[ "$created" = $((per * 4)) ] && pass "$created guests created by 4 concurrent clients in $ms ms" ||
    { fail "created $created of $((per * 4))"; tail -3 "$WORK"/conc?.err; }
if [ "$ALIVE" = idle ]; then
    [ "$(stat vms)" = $((per * 4)) ] && pass "all $((per * 4)) are alive at once" || fail "alive: $(stat vms)"
fi
echo "  note  concurrent: median create_us $(cat "$WORK"/conc?.out | jq -s '[.[].create_us] | sort | .[length/2|floor]'), boot_us $(cat "$WORK"/conc?.out | jq -s '[.[].boot_us] | sort | .[length/2|floor]')"
run d_all "$TINYX" destroy --all --socket "$SOCK"
expect_rc d_all 0 "destroy --all"
[ "$(stat vms)" = 0 ] && pass "no VM left" || fail "vms left: $(stat vms)"
left=$(shells_of "$DPID")
[ "$left" -le 8 ] && pass "only the pool's shells are left as processes ($left)" ||
    fail "shell processes left: $left"
[ "$(stat daemon_fds)" = "$fds0" ] && pass "daemon fds back to $fds0" || fail "daemon fds: $(stat daemon_fds), was $fds0"

## leak check: create/destroy cycles --------------------------------------------------------------
"$TINYX" create "$GUESTS/$ALIVE" --socket "$SOCK" --count 300 --destroy >/dev/null 2>&1 # warm up
fds0=$(stat daemon_fds); rss0=$(stat daemon_rss_kb); c0=$(stat created)
start=$(date +%s)
run cycles "$TINYX" create "$GUESTS/$ALIVE" --socket "$SOCK" --count "$CYCLES" --destroy
expect_rc cycles 0 "$CYCLES create/destroy cycles in $(( $(date +%s) - start )) s: $(tail -1 "$WORK/cycles.out")"
fds1=$(stat daemon_fds); rss1=$(stat daemon_rss_kb)
[ "$(( $(stat created) - c0 ))" = "$CYCLES" ] && pass "the daemon counted $CYCLES creates" || fail "created: $(( $(stat created) - c0 ))"
[ "$fds1" = "$fds0" ] && pass "daemon fds: $fds0 before, $fds1 after" || fail "fd leak: $fds0 -> $fds1"
# A leak of even 64 bytes per cycle would show as 600 KiB over 10,000 cycles.
if $ASAN; then
    echo "  note  daemon RSS $rss0 -> $rss1 KiB (ASan build: quarantine, not judged)"
elif [ "$rss1" -le $((rss0 + 512)) ]; then pass "daemon RSS: $rss0 KiB before, $rss1 KiB after"
else fail "RSS grew: $rss0 -> $rss1 KiB"; fi
[ "$(stat vms)" = 0 ] && pass "no VM left after the cycles" || fail "vms left: $(stat vms)"
stop_daemon
[ -e "$SOCK" ] && fail "socket left after SIGTERM" || pass "SIGTERM: the daemon removed its socket"

## a monitor that never gets ready; --detach and --pidfile ----------------------------------------
# It becomes "sleep 599.<our pid>": a command line only it has.
printf '#!/bin/sh\nexec sleep 599.%s\n' "$$" >"$WORK/stuck-kvm"; chmod +x "$WORK/stuck-kvm"
TINYX_KVM="$WORK/stuck-kvm" TINYX_DAEMON_PREPARE_TIMEOUT_MS=400 start_daemon d5 --pool 2 || { finish; exit; }
run c_stuck timeout 20 "$TINYX" create "$GUESTS/noop" --socket "$SOCK"
expect_rc c_stuck 1 "a create whose shell never gets ready fails (not hangs)"
sleep 1.5
run c_broken timeout 20 "$TINYX" create "$GUESTS/noop" --socket "$SOCK"
expect_text c_broken err "die before they are ready" "after repeated failures the pool says it is broken"
kill -0 "$DPID" && pass "the daemon survives shells that never get ready" || fail "daemon died"
stop_daemon
[ "$(count_procs "^sleep 599\.$$ $")" = 0 ] && pass "no stuck monitor left" || fail "stuck monitors left"

run detach "$TINYX" daemon --socket "$SOCK" --pool 1 --detach --pidfile "$WORK/d.pid"
expect_rc detach 0 "daemon --detach returns once it listens"
dpid=$(cat "$WORK/d.pid" 2>/dev/null)
run det_stats "$TINYX" stats --socket "$SOCK"
expect_rc det_stats 0 "the detached daemon (pid $dpid) answers"
[ -n "$dpid" ] && kill "$dpid"
for _ in $(seq 50); do [ -e "$SOCK" ] || break; sleep 0.1; done
[ -e "$SOCK" ] && fail "the detached daemon left its socket" || pass "SIGTERM stops the detached daemon"

## net: two guests, two device pages, ping each ---------------------------------------------------
net_ok=true
if [ "$(id -u)" -ne 0 ]; then
    skip "net: taps and network namespaces need root"; net_ok=false
elif ! command -v ping >/dev/null || ! command -v ip >/dev/null; then
    skip "net: needs ip (iproute2) and ping (iputils-ping)"; net_ok=false
elif ! { ip netns add "$NS" && ip -n "$NS" link set lo up && ip -n "$NS" link add br0 type bridge &&
         ip -n "$NS" addr add 10.0.0.1/24 dev br0 && ip -n "$NS" link set br0 up; } 2>"$WORK/ns.err"; then
    skip "net: cannot set up a network namespace with a bridge: $(cat "$WORK/ns.err")"; net_ok=false
fi
if $net_ok && start_daemon d3 --netns --pool 2 --image "$GUESTS/net"; then
    run n1 "$TINYX" create "$GUESTS/net" --socket "$SOCK" --net "auto,ip=10.0.0.12/24,bridge=br0,mac=02:00:00:00:23:12" --json
    expect_rc n1 0 "net guest 1 (10.0.0.12) created"
    run n2 "$TINYX" create "$GUESTS/net" --socket "$SOCK" --net "auto,ip=10.0.0.13/24,bridge=br0,mac=02:00:00:00:23:13" --json
    expect_rc n2 0 "net guest 2 (10.0.0.13) created"
    for n in 1 2; do
        ip=10.0.0.1$((n + 1)); mac=02:00:00:00:23:1$((n + 1))
        con=$(jq -r .console "$WORK/n$n.out")
        for _ in $(seq 50); do grep -q '^net: ready' "$con" 2>/dev/null && break; sleep 0.1; done
        grep -q "^net: ready ip=$ip mac=$mac (from device page)" "$con" &&
            pass "guest $n read its own IP and MAC from its device page ($ip, $mac)" ||
            { fail "guest $n ready line: $(grep '^net:' "$con" | head -2)"; }
        if ip netns exec "$NS" ping -c 2 -i 0.3 -W 3 "$ip" >"$WORK/ping$n.out" 2>&1; then
            pass "ping $ip: $(grep -o '[0-9]* received' "$WORK/ping$n.out")"
        else fail "ping $ip failed"; sed 's/^/        > /' "$WORK/ping$n.out"; fi
        ip -n "$NS" neigh show "$ip" | grep -q "$mac" && pass "$ip answers from $mac" || fail "$ip: wrong MAC in the neighbour table"
    done
    taps=$(ip -n "$NS" -o link show | grep -c ': txd[0-9]*n0.*master br0')
    [ "$taps" = 2 ] && pass "two taps on br0, made by the daemon" || fail "taps on br0: $taps"

    ## SIGKILL: shells die with the daemon, taps go with them; a restart works -----------------
    shells=$(shells_of "$DPID")
    kill -9 "$DPID"; wait "$DPID" 2>/dev/null
    for _ in $(seq 50); do
        [ "$(shells_of "$DPID")" = 0 ] && break; sleep 0.1
    done
    left=$(shells_of "$DPID")
    [ "$left" = 0 ] && pass "SIGKILL of the daemon: its $shells shells died with it" || fail "$left shells left running"
    for _ in $(seq 30); do ip -n "$NS" -o link show | grep -q ': txd' || break; sleep 0.1; done
    ip -n "$NS" -o link show | grep -q ': txd' && fail "taps left: $(ip -n "$NS" -o link show | grep -o 'txd[^:@]*')" ||
        pass "no tap left behind"
    DPID=""; DNAME=""
    # A tap left by someone (persistent, as if a shell had survived) is swept at restart.
    ip -n "$NS" tuntap add dev txd999n0 mode tap 2>/dev/null
    if start_daemon d4 --netns --pool 1; then
        pass "restart on the same socket (the stale one is replaced)"
        ip -n "$NS" link show txd999n0 >/dev/null 2>&1 && fail "stale tap txd999n0 not removed at start" ||
            pass "a stale txd tap is removed at start"
        [ "$(stat vms)" = 0 ] && pass "the new daemon starts empty" || fail "vms: $(stat vms)"
        run n3 "$TINYX" create "$GUESTS/net" --socket "$SOCK" --net "auto,ip=10.0.0.14/24,bridge=br0" --json
        expect_rc n3 0 "a net guest after the restart"
        ip netns exec "$NS" ping -c 1 -W 3 10.0.0.14 >/dev/null 2>&1 && pass "and it answers ping" || fail "no ping after restart"
        # tinyx run --backend daemon with --net: the guest takes its image's address (no ip=).
        ip netns exec "$NS" env TINYX_DAEMON_SOCKET="$SOCK" "$TINYX" run "$GUESTS/net" --backend daemon \
            --net txdrun0,bridge=br0 --append net.count=2 --timeout 30 >"$WORK/rnet.out" 2>"$WORK/rnet.err" &
        rvm=$!
        for _ in $(seq 100); do grep -q '^net: ready' "$WORK/rnet.out" 2>/dev/null && break; sleep 0.1; done
        ip netns exec "$NS" ping -c 2 -i 0.3 -W 3 10.0.0.2 >/dev/null 2>&1 && pass "tinyx run --backend daemon --net: ping 10.0.0.2" ||
            fail "no ping through the run's tap"
        wait "$rvm"; RC=$?
        [ "$RC" = 0 ] && pass "and the run exits 0 after 2 echo replies" || { fail "run --net: exit $RC"; show rnet; }
        stop_daemon
        ip -n "$NS" -o link show | grep -q ': txd' && fail "taps left after SIGTERM" || pass "SIGTERM: no tap left"
    fi
fi

finish
