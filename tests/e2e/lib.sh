# lib.sh: shared helpers for the end-to-end tests (sourced): paths, assertions, reporting.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${B:-build}
case "$B" in /*) ;; *) B="$ROOT/$B" ;; esac
TINYX="$B/bin/tinyx"
# One cache for all e2e tests (staged roots are reused between tests); CI starts it empty.
export TINYX_CACHE=${TINYX_CACHE:-$ROOT/.cache/tinyx-e2e}
WORK=$(mktemp -d /tmp/tinyx-e2e.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
T_PASS=0 T_FAIL=0 T_SKIP=0
T_NAME=$(basename "$0" .sh)

pass() { T_PASS=$((T_PASS + 1)); printf '  ok    %s\n' "$*"; }
fail() { T_FAIL=$((T_FAIL + 1)); printf '  FAIL  %s\n' "$*"; }
skip() { T_SKIP=$((T_SKIP + 1)); printf '  skip  %s\n' "$*"; }

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

finish() {
    echo "$T_NAME: $T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
    [ "$T_FAIL" -eq 0 ]
}
