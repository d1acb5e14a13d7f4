/* test_suggest.c: edit distance, "did you mean" suggestions, and the strvec/strmap containers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyx/strmap.h"
#include "tinyx/strvec.h"
#include "tinyx/suggest.h"

static void expect_distance(const char *a, const char *b, size_t want)
{
    size_t ab = tinyx_edit_distance(a, b), ba = tinyx_edit_distance(b, a);
    if (ab != want || ba != want)
        fail_msg("distance('%s', '%s') = %zu / reverse %zu, want %zu", a, b, ab, ba, want);
}

static void test_edit_distance(void **state)
{
    (void)state;
    expect_distance("", "", 0);
    expect_distance("abc", "", 3);
    expect_distance("nginx", "nginx", 0);
    expect_distance("kitten", "sitting", 3);
    expect_distance("flaw", "lawn", 2);
    expect_distance("nginx", "ngnix", 1); /* adjacent transposition counts as one */
    expect_distance("ab", "ba", 1);
    expect_distance("python3", "pyhton3", 1);
    expect_distance("packages", "pakages", 1);
    expect_distance("abc", "abd", 1);
    /* Optimal string alignment, not full Damerau: "ca" -> "abc" is 3, not 2. */
    expect_distance("ca", "abc", 3);
    expect_distance("a", "b", 1);
    expect_distance("www-data", "www-date", 1);
}

/* Run tinyx_suggest and compare with the NULL-terminated want list. */
static void expect_suggest(const char *word, const char *const *cands, size_t n, size_t max,
                           const char *const *want)
{
    struct strvec out = STRVEC_INIT;
    size_t added = tinyx_suggest(word, (char *const *)cands, n, max, &out);
    size_t n_want = 0;
    while (want[n_want])
        n_want++;
    char problem[512] = "";
    if (added != n_want || out.n != n_want)
        snprintf(problem, sizeof problem,
                 "suggest('%s'): %zu added (%zu in out), want %zu (%s, %s)", word, added, out.n,
                 n_want, out.n ? out.v[0] : "-", out.n > 1 ? out.v[1] : "-");
    for (size_t i = 0; !problem[0] && i < n_want; i++)
        if (strcmp(out.v[i], want[i]) != 0)
            snprintf(problem, sizeof problem, "suggest('%s')[%zu] = '%s', want '%s'", word, i,
                     out.v[i], want[i]);
    /* Free before failing so LeakSanitizer stays quiet about the test itself. */
    tinyx_strvec_free(&out);
    if (problem[0])
        fail_msg("%s", problem);
}

static void test_suggest_by_distance(void **state)
{
    (void)state;
    const char *pkgs[] = {"apache2", "nginx-light", "nginx", "ngircd", "nginx-full"};
    const char *w1[] = {"nginx", NULL};
    expect_suggest("ngnix", pkgs, 5, 3, w1);
    /* Ties are broken by name. */
    const char *words[] = {"hat", "car", "cab", "bat", "dog"};
    const char *w2[] = {"bat", "cab", "car", NULL};
    expect_suggest("cat", words, 5, 3, w2);
    const char *w3[] = {"bat", "cab", "car", "hat", NULL};
    expect_suggest("cat", words, 5, 10, w3);
    /* Closer first. */
    const char *vis[] = {"vile", "vim", "elvis", "nvi"};
    const char *w4[] = {"nvi", "vim", "vile", NULL};
    expect_suggest("vi", vis, 4, 5, w4);
    /* The limit grows with the word: 18 letters allow 6 edits ("writer" comes in as a
     * substring, after them). */
    const char *long_names[] = {"writer", "libreoffice-calc", "libreoffice-write"};
    const char *w5[] = {"libreoffice-write", "libreoffice-calc", "writer", NULL};
    expect_suggest("libreoffice-writer", long_names, 3, 3, w5);
}

static void test_suggest_by_substring(void **state)
{
    (void)state;
    /* Substring matches rank after distance matches, shorter length difference first. */
    const char *pkgs[] = {"nginx-extras", "nginx-light", "ngin", "nginx-full", "apache2"};
    const char *w1[] = {"ngin", "nginx-full", "nginx-light", "nginx-extras", NULL};
    expect_suggest("nginx", pkgs, 5, 5, w1);
    /* A candidate the word contains. */
    const char *py[] = {"python3", "perl"};
    const char *w2[] = {"python3", NULL};
    expect_suggest("python3-minimal", py, 2, 3, w2);
    /* Words under three letters get no substring matches. */
    const char *vs[] = {"xvxxxxx"};
    const char *none[] = {NULL};
    expect_suggest("vx", vs, 1, 3, none);
}

static void test_suggest_never_offers_the_word_itself(void **state)
{
    (void)state;
    /* Regression guard: an earlier tinyx_suggest skipped an exact match in the distance
     * branch only, and the substring branch (strstr(c, word)) added it back, so "nginx"
     * suggested 'nginx' itself. */
    const char *pkgs[] = {"nginx", "ngin"};
    const char *want[] = {"ngin", NULL};
    expect_suggest("nginx", pkgs, 2, 3, want);
}

static void test_suggest_limits_and_existing(void **state)
{
    (void)state;
    const char *words[] = {"hat", "car", "cab", "bat"};
    struct strvec out = STRVEC_INIT;
    tinyx_strvec_push(&out, "bat");
    /* Already present names are skipped and do not count towards max. */
    assert_int_equal(tinyx_suggest("cat", (char *const *)words, 4, 2, &out), 2);
    assert_int_equal(out.n, 3);
    assert_string_equal(out.v[0], "bat");
    assert_string_equal(out.v[1], "cab");
    assert_string_equal(out.v[2], "car");
    assert_null(out.v[3]);
    assert_int_equal(tinyx_suggest("cat", (char *const *)words, 4, 0, &out), 0);
    assert_int_equal(tinyx_suggest("cat", NULL, 0, 3, &out), 0);
    assert_int_equal(out.n, 3);
    tinyx_strvec_free(&out);
    const char *far[] = {"zzzzzz", "qqq"};
    const char *none[] = {NULL};
    expect_suggest("apache2", far, 2, 3, none);
}

static void expect_phrase(const char *const *names, const char *want)
{
    struct strvec sv = STRVEC_INIT;
    for (size_t i = 0; names[i]; i++)
        tinyx_strvec_push(&sv, names[i]);
    char *got = tinyx_suggest_phrase(&sv);
    assert_string_equal(got, want);
    free(got);
    tinyx_strvec_free(&sv);
}

static void test_suggest_phrase(void **state)
{
    (void)state;
    const char *none[] = {NULL};
    expect_phrase(none, "");
    const char *one[] = {"nginx", NULL};
    expect_phrase(one, " (did you mean 'nginx'?)");
    const char *two[] = {"a", "b", NULL};
    expect_phrase(two, " (did you mean 'a' or 'b'?)");
    const char *three[] = {"nginx", "nginx-light", "nginx-full", NULL};
    expect_phrase(three, " (did you mean 'nginx', 'nginx-light' or 'nginx-full'?)");
    const char *four[] = {"a", "bb", "ccc", "dddd", NULL};
    expect_phrase(four, " (did you mean 'a', 'bb', 'ccc' or 'dddd'?)");
}

static void test_strvec(void **state)
{
    (void)state;
    struct strvec sv = STRVEC_INIT;
    char **argv = tinyx_strvec_argv(&sv);
    assert_non_null(argv);
    assert_null(argv[0]);
    assert_int_equal(sv.n, 0);
    char local[] = "copied";
    tinyx_strvec_push(&sv, local);
    local[0] = 'X';
    assert_string_equal(sv.v[0], "copied");
    tinyx_strvec_push_owned(&sv, strdup("owned"));
    tinyx_strvec_pushf(&sv, "%s-%d", "fmt", 42);
    assert_int_equal(sv.n, 3);
    assert_string_equal(sv.v[2], "fmt-42");
    assert_null(sv.v[3]);
    assert_true(tinyx_strvec_contains(&sv, "owned"));
    assert_false(tinyx_strvec_contains(&sv, "own"));
    for (int i = 0; i < 1000; i++)
        tinyx_strvec_pushf(&sv, "n%03d", i % 500);
    assert_int_equal(sv.n, 1003);
    assert_null(sv.v[1003]);
    tinyx_strvec_push(&sv, "copied");
    tinyx_strvec_sort_unique(&sv);
    /* 500 distinct n### plus copied, fmt-42, owned. */
    assert_int_equal(sv.n, 503);
    assert_string_equal(sv.v[0], "copied");
    assert_string_equal(sv.v[1], "fmt-42");
    assert_string_equal(sv.v[2], "n000");
    assert_string_equal(sv.v[501], "n499");
    assert_string_equal(sv.v[502], "owned");
    assert_null(sv.v[503]);
    assert_ptr_equal(tinyx_strvec_argv(&sv), sv.v);
    tinyx_strvec_free(&sv);
    assert_null(sv.v);
    assert_int_equal(sv.n, 0);
    assert_int_equal(sv.cap, 0);
    /* Reusable after free. */
    tinyx_strvec_push(&sv, "again");
    assert_int_equal(sv.n, 1);
    tinyx_strvec_sort_unique(&sv);
    assert_string_equal(sv.v[0], "again");
    tinyx_strvec_free(&sv);
}

static void test_strmap(void **state)
{
    (void)state;
    struct strmap m = STRMAP_INIT;
    assert_false(tinyx_strmap_has(&m, "x"));
    assert_null(tinyx_strmap_get(&m, "x"));
    const char **keys = tinyx_strmap_sorted_keys(&m);
    assert_null(keys[0]);
    free(keys);

    assert_true(tinyx_strmap_set(&m, "/usr/bin/true", "package:coreutils"));
    assert_false(tinyx_strmap_set(&m, "/usr/bin/true", "trace"));
    assert_string_equal(tinyx_strmap_get(&m, "/usr/bin/true"), "trace");
    assert_false(tinyx_strmap_add(&m, "/usr/bin/true", "elf"));
    assert_string_equal(tinyx_strmap_get(&m, "/usr/bin/true"), "trace");
    assert_true(tinyx_strmap_add(&m, "/etc/passwd", "base"));
    /* A set: NULL values. */
    assert_true(tinyx_strmap_set(&m, "/set-only", NULL));
    assert_true(tinyx_strmap_has(&m, "/set-only"));
    assert_null(tinyx_strmap_get(&m, "/set-only"));
    assert_false(tinyx_strmap_set(&m, "/etc/passwd", NULL));
    assert_true(tinyx_strmap_has(&m, "/etc/passwd"));
    assert_null(tinyx_strmap_get(&m, "/etc/passwd"));
    assert_false(tinyx_strmap_has(&m, "/etc/passw"));
    assert_int_equal(m.n, 3);

    /* Growth keeps every entry. */
    char key[32], val[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%05d", i);
        snprintf(val, sizeof val, "v%d", i * 7);
        assert_true(tinyx_strmap_add(&m, key, val));
    }
    assert_int_equal(m.n, 5003);
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%05d", i);
        snprintf(val, sizeof val, "v%d", i * 7);
        assert_string_equal(tinyx_strmap_get(&m, key), val);
    }
    assert_false(tinyx_strmap_has(&m, "k05000"));
    keys = tinyx_strmap_sorted_keys(&m);
    size_t n = 0;
    while (keys[n])
        n++;
    assert_int_equal(n, 5003);
    assert_string_equal(keys[0], "/etc/passwd");
    assert_string_equal(keys[1], "/set-only");
    assert_string_equal(keys[2], "/usr/bin/true");
    assert_string_equal(keys[3], "k00000");
    assert_string_equal(keys[5002], "k04999");
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(keys[i - 1], keys[i]) < 0);
    free(keys);
    tinyx_strmap_free(&m);
    assert_int_equal(m.n, 0);
    assert_false(tinyx_strmap_has(&m, "k00000"));
    /* Reusable after free. */
    assert_true(tinyx_strmap_set(&m, "again", "1"));
    assert_string_equal(tinyx_strmap_get(&m, "again"), "1");
    tinyx_strmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_suggest_by_distance),
        cmocka_unit_test(test_suggest_by_substring),
        cmocka_unit_test(test_suggest_never_offers_the_word_itself),
        cmocka_unit_test(test_suggest_limits_and_existing),
        cmocka_unit_test(test_suggest_phrase),
        cmocka_unit_test(test_strvec),
        cmocka_unit_test(test_strmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
