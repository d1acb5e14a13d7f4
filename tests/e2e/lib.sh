# lib.sh: shared helpers for the end-to-end tests (sourced): paths, assertions, reporting.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${B:-build}
case "$B" in /*) ;; *) B="$ROOT/$B" ;; esac
TINYX="$B/bin/tinyx"
# One cache for all e2e tests (staged roots are reused between tests); CI starts it empty.
export TINYX_CACHE=${TINYX_CACHE:-$ROOT/.cache/tinyx-e2e}
# The shipped recipes' images, built by test_01 and booted again by later tests (in a nested L1
# too, which sees this folder read-only).
E2E_IMAGES=${E2E_IMAGES:-$ROOT/.cache/e2e-images}
E2E_APPS="hello nginx redis python-http"
WORK=$(mktemp -d /tmp/tinyx-e2e.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
T_PASS=0 T_FAIL=0 T_SKIP=0
T_NAME=$(basename "$0" .sh)
T_START=$(date +%s)
. "$ROOT/tests/results.sh"

pass() { T_PASS=$((T_PASS + 1)); printf '  ok    %s\n' "$*"; }
fail() { T_FAIL=$((T_FAIL + 1)); printf '  FAIL  %s\n' "$*"; }
# A skip is recorded with its reason; the suite fails on one that is not on tests/skips-allowed.
skip() {
    T_SKIP=$((T_SKIP + 1))
    printf '  skip  %s\n' "$*"
    [ -n "${TINYX_TEST_RESULTS:-}" ] && results_skip e2e "$T_NAME" "$*"
}

# run NAME CMD...: run a command, keeping its stdout/stderr in $WORK/NAME.{out,err}; sets RC.
run() {
    local name=$1; shift
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    RC=$?
}

# show NAME: print the captured output of a run (after a failure).
show() {
    sed 's/^/        | /' "$WORK/$1.err" | tail -${2:-25}
    sed 's/^/        > /' "$WORK/$1.out" | tail -${2:-25}
}

# expect_rc NAME WANT DESCRIPTION
expect_rc() {
    if [ "$RC" -eq "$2" ]; then pass "$3 (exit $RC)"; else fail "$3: exit $RC, want $2"; show "$1"; fi
}

# expect_text NAME out|err REGEX DESCRIPTION
expect_text() {
    if grep -Eq -- "$3" "$WORK/$1.$2"; then pass "$4"; else fail "$4: no /$3/ in $2"; show "$1"; fi
}

# need_images: every image test_01 builds must be there; a missing one fails the test (never a
# skip: the images are this run's, and a build in L1 is not possible).
need_images() {
    local app missing=""
    for app in $E2E_APPS; do
        [ -s "$E2E_IMAGES/$app/kernel" ] && [ -s "$E2E_IMAGES/$app/initrd" ] || missing="$missing $app"
    done
    [ -z "$missing" ] && return 0
    fail "images missing in $E2E_IMAGES:$missing (test_01_build_boot builds them: tests/e2e/run test_01 first)"
    return 1
}

# finish: report the totals (into the suite's results too); false when a check failed or when
# nothing was checked at all (a test that only skipped proved nothing).
finish() {
    echo "$T_NAME: $T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
    [ -n "${TINYX_TEST_RESULTS:-}" ] &&
        results_count e2e "$T_NAME" "$T_PASS" "$T_FAIL" "$T_SKIP" $(($(date +%s) - T_START))
    [ "$T_FAIL" -eq 0 ] && [ "$T_PASS" -gt 0 ]
}
