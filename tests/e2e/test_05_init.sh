#!/usr/bin/env bash
# test_05_init: the guest's PID 1 (tinyx-init) for real, in QEMU boots of two ad-hoc images whose
# app is a shell script: the app's exit status passed out as `tinyx run`'s; the recipe's user,
# cwd and env; hostname and DNS from the kernel command line; a SIGTERM to PID 1 forwarded to
# the app; when the app's main process ends, the processes it left get SIGTERM, then SIGKILL.
. "$(dirname "$0")/lib.sh"

# One script for every case; the case comes from the kernel command line (t05.mode=...).
# (dash is /bin/sh; id, hostname, sleep and grep are BusyBox applets in the image.)
SCRIPT='echo "t05: uid=$(id -u) cwd=$(pwd) var=$T05_VAR host=$(hostname)"; grep "^nameserver" /etc/resolv.conf | sed "s/^/t05: /";
case "$(cat /proc/cmdline)" in
*t05.mode=term*) trap "echo t05: app got TERM; exit 7" TERM; kill -TERM 1; sleep 20 & wait; echo "t05: no TERM came"; exit 1;;
*t05.mode=rest*) sh -c "trap \"\" HUP; trap \"echo t05: child got TERM; exit 0\" TERM; while :; do sleep 1; done" &
  sh -c "trap \"\" TERM HUP; exec sleep 1000" & sleep 1; echo "t05: main exits"; exit 0;;
*) exit 3;;
esac'
# recipe NAME USER: a recipe running SCRIPT as USER (PID 1 takes signals only from root).
recipe() {
    {
        echo "name: $1"
        echo "packages: [hello]"
        echo "user: $2"
        echo "cwd: /etc"
        echo "env: {T05_VAR: \"two words\"}"
        printf "cmd: [/bin/sh, -c, '%s']\n" "${SCRIPT//\'/\'\'}"
    } >"$WORK/$1.yaml"
}
recipe t05user nobody
recipe t05root root
for img in t05user t05root; do
    run "build_$img" "$TINYX" build --no-trace -o "$WORK/$img" "$WORK/$img.yaml"
    expect_rc "build_$img" 0 "ad-hoc image $img built"
    [ "$RC" -eq 0 ] || { finish; exit; }
done

boot() { # NAME IMAGE APPEND...
    local name=$1 img=$2
    shift 2
    local args=()
    for w in "$@"; do args+=(--append "$w"); done
    run "$name" timeout -k 5 120 "$TINYX" run --timeout 90 "${args[@]}" "$WORK/$img"
}

# The app's status is the run's exit status; the recipe's user, cwd and env reach it.
boot status t05user tinyx.hostname=t05host tinyx.dns=192.0.2.53
expect_rc status 3 "the app's exit status 3 is tinyx run's"
expect_text status out '^t05: uid=65534 cwd=/etc var=two words host=t05host' "user nobody, cwd /etc, env and hostname as asked"
expect_text status out '^t05: nameserver 192\.0\.2\.53' "DNS server from tinyx.dns= in /etc/resolv.conf"

# SIGTERM to PID 1 goes on to the app, whose handler's status comes out.
boot term t05root t05.mode=term
expect_rc term 7 "SIGTERM to PID 1 is forwarded: the app's handler exits 7"
expect_text term out '^t05: app got TERM' "the app saw the SIGTERM"
expect_text term out '^t05: uid=0 ' "(this image runs as root, which may signal PID 1)"

# The main process exits 0; a child that handles SIGTERM ends on it, one that ignores it is
# killed after the grace time; the VM then powers off with the main process's status. (Both
# ignore SIGHUP, which the console's session sends when the main process, its leader, ends:
# as daemons do, and so that the init's own TERM and KILL are what ends them.)
t=$(date +%s%N)
boot rest t05user t05.mode=rest tinyx.debug
ms=$((($(date +%s%N) - t) / 1000000))
expect_rc rest 0 "the main process's status 0 passes out once the rest are gone"
expect_text rest out 'sending SIGTERM to the remaining processes' "the init sends SIGTERM to what is left"
expect_text rest out '^t05: child got TERM' "a child that handles SIGTERM ends on it"
expect_text rest out 'sending SIGKILL to the remaining processes' "one that ignores SIGTERM gets SIGKILL after the grace time"
[ "$ms" -lt 60000 ] && pass "the VM ended in ${ms} ms (no wait for the ignoring child's 1000 s)" ||
    fail "the run took ${ms} ms: the ignoring child was not killed"
finish
