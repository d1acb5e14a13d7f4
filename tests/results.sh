# results.sh: one results file for the whole suite (sourced by the runners and the e2e tests).
#
# $TINYX_TEST_RESULTS is a tab-separated file, one line per fact:
#   count  SUITE  TEST  PASSED  FAILED  SKIPPED  SECONDS   a test's totals (unit: cmocka
#                                                          tests; e2e: checks)
#   skip   SUITE  TEST  REASON                             one skipped test or check, and why
#   note   SUITE  TEST  TEXT                               what the summary must also say
# A runner started on its own (no $TINYX_TEST_RESULTS) makes a file and prints the summary
# (tests/summary) itself; under tests/run, every runner appends to the one file.

# results_start: use the suite's results file, or make one (RESULTS_OWNER=true: this runner
# prints the summary at the end).
results_start() {
    RESULTS_OWNER=false
    if [ -z "${TINYX_TEST_RESULTS:-}" ]; then
        TINYX_TEST_RESULTS=$(mktemp -d /tmp/tinyx-results.XXXXXX)/results.tsv
        : >"$TINYX_TEST_RESULTS"
        RESULTS_OWNER=true
        # Interrupted before the summary: the file goes anyway.
        trap 'rm -rf "$(dirname "$TINYX_TEST_RESULTS")"' EXIT
    fi
    export TINYX_TEST_RESULTS
}

# Tabs and newlines in free text would break the columns.
results_clean() { printf '%s' "$*" | tr '\t\n' '  '; }

results_count() { # SUITE TEST PASSED FAILED SKIPPED SECONDS
    printf 'count\t%s\t%s\t%d\t%d\t%d\t%d\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$TINYX_TEST_RESULTS"
}
results_skip() { # SUITE TEST REASON...
    local s=$1 t=$2
    shift 2
    printf 'skip\t%s\t%s\t%s\n' "$s" "$t" "$(results_clean "$*")" >>"$TINYX_TEST_RESULTS"
}
results_note() { # SUITE TEST TEXT...
    local s=$1 t=$2
    shift 2
    printf 'note\t%s\t%s\t%s\n' "$s" "$t" "$(results_clean "$*")" >>"$TINYX_TEST_RESULTS"
}
# results_has SUITE TEST: true when TEST reported its totals.
results_has() {
    awk -F'\t' -v s="$1" -v t="$2" '$1 == "count" && $2 == s && $3 == t { f = 1 } END { exit !f }' \
        "$TINYX_TEST_RESULTS"
}

# results_failed SUITE TEST: true when TEST reported a failure.
results_failed() {
    awk -F'\t' -v s="$1" -v t="$2" '$1 == "count" && $2 == s && $3 == t && $5 > 0 { f = 1 } END { exit !f }' \
        "$TINYX_TEST_RESULTS"
}

# results_finish: the owner prints the summary; returns the summary's verdict.
results_finish() {
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    if $RESULTS_OWNER; then
        "$here/summary" "$TINYX_TEST_RESULTS"
        local rc=$?
        rm -rf "$(dirname "$TINYX_TEST_RESULTS")"
        return $rc
    fi
}

# results_set_deadline SECONDS: inside a nested L1, tell the harness outside how long the next
# step may take; past that (plus a margin) it stops the L1 as wedged (tests/nested/kvm-l1).
results_set_deadline() {
    [ -n "${TINYX_L1_DEADLINE_FILE:-}" ] && echo "$1" >"$TINYX_L1_DEADLINE_FILE" 2>/dev/null
    true
}
