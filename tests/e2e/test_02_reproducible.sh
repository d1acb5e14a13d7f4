#!/usr/bin/env bash
# test_02_reproducible: building nginx twice gives a byte-identical initrd and manifest; the
# second build reuses the staged root, downloads nothing and is faster.
. "$(dirname "$0")/lib.sh"

s1=$(date +%s%N)
run first "$TINYX" build -o "$WORK/a" nginx
t1=$(( ($(date +%s%N) - s1) / 1000000 ))
expect_rc first 0 "first build"
s2=$(date +%s%N)
run second "$TINYX" build -o "$WORK/b" nginx
t2=$(( ($(date +%s%N) - s2) / 1000000 ))
expect_rc second 0 "second build"
if cmp -s "$WORK/a/initrd" "$WORK/b/initrd"; then pass "initrd byte-identical ($(stat -c %s "$WORK/a/initrd") bytes)"; else fail "initrd differs between builds"; fi
if cmp -s "$WORK/a/manifest.json" "$WORK/b/manifest.json"; then pass "manifest.json identical"; else fail "manifest.json differs"; diff "$WORK/a/manifest.json" "$WORK/b/manifest.json" | head; fi
expect_text second err 'fetch +skipped: staged root cached' "second build fetches nothing"
expect_text second err 'stage +cached root' "second build reuses the staged root"
if grep -q 'updating package lists' "$WORK/second.err"; then fail "second build ran apt-get update"; else pass "second build did not update package lists"; fi
echo "  first build ${t1} ms, second ${t2} ms"
expect_text second err 'stage times: resolve' "stage times printed"
finish
