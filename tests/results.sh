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

# results_in_l1 SUITE KVM-L1-OPTION... -- CMD... -- NAME...: run `CMD NAME...` inside a nested
# L1 (tests/nested/kvm-l1), whose results land in this file (its folder is written through).
# A NAME that never reported (the L1 wedged or died under it) runs once more in a fresh L1; one
# still missing then counts as failed. A NAME reports as itself without a ".sh". Sets
# L1_FAILED to the names that failed; true when none did.
results_in_l1() {
    local suite=$1 opts=() cmd=() names=() missing=() attempt n l1rc t0
    shift
    while [ "$1" != "--" ]; do opts+=("$1"); shift; done
    shift
    while [ "$1" != "--" ]; do cmd+=("$1"); shift; done
    shift
    names=("$@")
    L1_FAILED=()
    for attempt in 1 2; do
        echo "$suite: ${names[*]}: inside a nested L1 VM, because $(nested_why_l1)"
        t0=$(date +%s) l1rc=0
        "$(dirname "${BASH_SOURCE[0]}")/nested/kvm-l1" "${opts[@]}" \
            --rw "$(dirname "$TINYX_TEST_RESULTS")" -- "${cmd[@]}" "${names[@]}" || l1rc=$?
        echo "   (L1: $(($(date +%s) - t0)) s, exit $l1rc)"
        missing=()
        for n in "${names[@]}"; do results_has "$suite" "${n%.sh}" || missing+=("$n"); done
        [ ${#missing[@]} -eq 0 ] && break
        if [ "$attempt" -eq 1 ]; then
            # The L1 itself wedged or died (QEMU's emulation of nested SVM is not flawless):
            # what it never finished gets one fresh L1; a test that failed inside it does not.
            echo "$suite: the L1 ended (exit $l1rc) before ${missing[*]} reported: once more in a fresh L1"
            results_note "$suite" "${missing[0]%.sh}" "the nested L1 ended (exit $l1rc) during it; ${missing[*]} ran again in a fresh L1"
            names=("${missing[@]}")
        else
            for n in "${missing[@]}"; do
                echo "FAIL  ${n%.sh}: the nested L1 ended (exit $l1rc) before it reported, twice"
                results_count "$suite" "${n%.sh}" 0 1 0 0
            done
        fi
    done
    # Every name the L1 was given, whichever attempt ran it.
    for n in "${@}"; do results_failed "$suite" "${n%.sh}" && L1_FAILED+=("${n%.sh}"); done
    [ ${#L1_FAILED[@]} -eq 0 ]
}

# results_set_deadline SECONDS: inside a nested L1, tell the harness outside how long the next
# step may take; past that (plus a margin) it stops the L1 as wedged (tests/nested/kvm-l1).
results_set_deadline() {
    [ -n "${TINYX_L1_DEADLINE_FILE:-}" ] && echo "$1" >"$TINYX_L1_DEADLINE_FILE" 2>/dev/null
    true
}
