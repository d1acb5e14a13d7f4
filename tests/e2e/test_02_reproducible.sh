#!/usr/bin/env bash
# test_02_reproducible: building nginx twice gives a byte-identical initrd and manifest; the
# second build reuses the staged root, downloads nothing and is faster.
# timeout: 1200
. "$(dirname "$0")/lib.sh"

# Drop nginx's staged root (test_01 made one): the first build stages it again from the cached
# .debs, so the second build has something to be faster at.
for f in "$TINYX_CACHE"/stage/*/root/var/lib/dpkg/info/nginx*.list; do
    [ -e "$f" ] && rm -rf "${f%/root/var/lib/dpkg/info/*}"
done
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
expect_text first err 'stage: mmdebstrap' "first build stages the root"
[ "$t2" -lt "$t1" ] && pass "second build is faster (${t1} -> ${t2} ms)" || fail "second build not faster: ${t1} -> ${t2} ms"
expect_text second err 'stage times: resolve' "stage times printed"
finish
