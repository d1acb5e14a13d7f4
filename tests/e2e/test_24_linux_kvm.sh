#!/usr/bin/env bash
# test_24_linux_kvm: Tinyx's Linux images on our own monitor. The images test_01 built (hello,
# nginx, redis, python-http) each reach their boot timer under tinyx-kvm within a bound, or the
# test fails showing the monitor's last console lines (the calibrate_delay hang: no hypervisor
# CPUID bit, no timer). Each boots on `tinyx run --backend kvm` and passes its recipe's check
# from the host over a tap network: the automatic host link, and a tap on a bridge with the
# guest's address in its device page. `tinyx run` without --backend picks kvm here and says why.
# needs: kvm
. "$(dirname "$0")/lib.sh"

KVM="$B/bin/tinyx-kvm"
LAUNCH="$B/bin/tinyx-launch"
# Boot-timer bound for a Linux image: about 2-3 s in a nested L1 under TCG, well under 1 s on
# hardware. A hang fails at this bound instead of stalling the suite.
BOUND_S=${T24_BOUND_S:-30}
NS="tinyx-t24-$$"
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

if [ ! -x "$KVM" ] || [ ! -x "$LAUNCH" ]; then
    fail "tinyx-kvm or tinyx-launch is not built ($B/bin): run make"; finish; exit
fi
if [ ! -c /dev/kvm ] || [ -d /sys/module/kvm_pvm ]; then
    fail "no /dev/kvm that runs Linux: tests/e2e/run runs this test where KVM runs Linux (in a nested L1 here)"
    finish; exit
fi
need_images || { finish; exit; }
mem_of() { jq -r '.app.memory_mb // 128' "$E2E_IMAGES/$1/manifest.json"; }

## the regression: every image reaches its boot timer in bound ---------------------------------
# All four at once under tinyx-kvm directly (no launcher in between): the monitor's --timing line
# has boot_timer_us; servers run on until --timeout, hello powers off by itself.
for app in $E2E_APPS; do
    img="$E2E_IMAGES/$app"
    "$KVM" --kernel "$img/kernel" --initrd "$img/initrd" --cmdline "$(cat "$img/cmdline")" \
        --mem "$(mem_of "$app")" --timeout $((BOUND_S * 1000)) --timing \
        >"$WORK/bound-$app.out" 2>"$WORK/bound-$app.err" &
done
wait
for app in $E2E_APPS; do
    us=$(grep -o '"boot_timer_us":[0-9]*' "$WORK/bound-$app.err" | cut -d: -f2)
    if [ -n "$us" ] && [ "$us" -gt 0 ]; then
        pass "$app: Linux reaches its boot timer under tinyx-kvm in $((us / 1000)) ms (bound ${BOUND_S} s)"
    else
        fail "$app: no boot-timer byte within ${BOUND_S} s under tinyx-kvm; the monitor's last lines:"
        tail -n 15 "$WORK/bound-$app.out" | sed 's/^/        > /'
        tail -n 3 "$WORK/bound-$app.err" | sed 's/^/        | /'
    fi
done
grep -q '^Hello, world!' "$WORK/bound-hello.out" && pass "hello greets on tinyx-kvm's console" ||
    fail "hello printed no greeting under tinyx-kvm"
grep -q 'vm ended: status 0' "$WORK/bound-hello.err" && pass "hello's VM ends with its status 0" ||
    { fail "hello did not end with status 0"; tail -n 3 "$WORK/bound-hello.err"; }

## tinyx run: the automatic choice, and every recipe's check ------------------------------------
run pick_hello "$TINYX" run --timeout 120 "$E2E_IMAGES/hello"
expect_rc pick_hello 0 "tinyx run hello without --backend"
expect_text pick_hello err 'backend kvm \(.*runs Linux' "it picked kvm and said why"
expect_text pick_hello out '^Hello, world!' "hello greets through tinyx run on kvm"

for app in nginx redis python-http; do
    run "run-$app" "$TINYX" run --backend kvm --until-ready --json --timeout 180 "$E2E_IMAGES/$app"
    expect_rc "run-$app" 0 "$app: tinyx run --backend kvm passes its check over the host link"
    jq -e '.backend == "kvm" and .ready_us > 0 and .boot_us > 0' "$WORK/run-$app.out" >/dev/null &&
        pass "$app: boot $(jq .boot_us "$WORK/run-$app.out") us, ready $(jq .ready_us "$WORK/run-$app.out") us" ||
        { fail "$app: no boot_us/ready_us in the report"; show "run-$app"; }
done
run pick_nginx "$TINYX" run --until-ready --json --timeout 180 "$E2E_IMAGES/nginx"
expect_rc pick_nginx 0 "tinyx run nginx without --backend"
jq -e '.backend == "kvm"' "$WORK/pick_nginx.out" >/dev/null && pass "an app with ports goes to kvm too" ||
    { fail "nginx went to $(jq -r .backend "$WORK/pick_nginx.out" 2>/dev/null)"; show pick_nginx; }

## a tap on a bridge, the guest's address in its device page -----------------------------------
if ip netns add "$NS" && ip -n "$NS" link set lo up && ip -n "$NS" link add br0 type bridge &&
    ip -n "$NS" addr add 10.0.2.1/24 dev br0 && ip -n "$NS" link set br0 up; then
    run bridge ip netns exec "$NS" "$TINYX" run --backend kvm --until-ready --timeout 180 \
        --net tap0,bridge=br0,ip=10.0.2.7/24 --append tinyx.debug "$E2E_IMAGES/nginx"
    expect_rc bridge 0 "nginx on a bridge at 10.0.2.7 passes its check"
    expect_text bridge err 'guest ports: 80 at 10\.0\.2\.7:80' "the check went to 10.0.2.7:80"
    expect_text bridge out 'tinyx-init: eth0 up: 10\.0\.2\.7/24' "the guest took 10.0.2.7/24 from its device page"
    grep 'tinyx-init: started; command line' "$WORK/bridge.out" | grep -q 'tinyx\.ip=' &&
        fail "tinyx.ip= on the command line: the address must come from the device page" ||
        pass "no tinyx.ip= on the command line"
    ip -n "$NS" link show tap0 >/dev/null 2>&1 && fail "tap0 left behind" || pass "tap0 gone with the VM"
else
    fail "cannot make the test network (netns $NS, bridge br0)"
fi
finish
