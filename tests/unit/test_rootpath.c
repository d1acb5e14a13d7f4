/* test_rootpath.c: guest path resolution inside a staged root (tinyx/rootpath.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tinyx/rootpath.h"
#include "tinyx/strvec.h"
#include "tinyx/util.h"

/* One fake root shared by the tests; built by the group setup, removed by its teardown. */
static char root[64];

static void put_file(const char *rel, const char *text)
{
    char *p = tinyx_xasprintf("%s/%s", root, rel);
    char *dir = tinyx_xstrdup(p);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(tinyx_mkdir_p(dir, 0755), 0);
    assert_int_equal(tinyx_write_file_atomic(p, text, strlen(text), 0644), 0);
    free(dir);
    free(p);
}

static void put_link(const char *rel, const char *target)
{
    char *p = tinyx_xasprintf("%s/%s", root, rel);
    char *dir = tinyx_xstrdup(p);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(tinyx_mkdir_p(dir, 0755), 0);
    assert_int_equal(symlink(target, p), 0);
    free(dir);
    free(p);
}

/* A merged-/usr layout like Debian bookworm's, plus alternatives links, links that try to
 * leave the root, loops and a long chain. */
static int group_setup(void **state)
{
    (void)state;
    strcpy(root, "/tmp/tinyx-ut-rootpath-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    put_file("usr/bin/prog", "x");
    put_file("usr/bin/mawk", "x");
    put_file("usr/lib/x86_64-linux-gnu/libc.so.6", "x");
    put_file("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "x");
    put_file("etc/marker", "guest");
    put_link("bin", "usr/bin");
    put_link("lib", "usr/lib");
    put_link("lib64", "usr/lib64");
    put_link("usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    put_link("usr/bin/awk", "/etc/alternatives/awk");
    put_link("etc/alternatives/awk", "/usr/bin/mawk");
    /* Relative link with more ".." than the depth: must stop at the root. */
    put_link("usr/share/esc", "../../../../../../../etc/marker");
    /* Absolute link to a file the host has but the root lacks. */
    put_link("usr/share/hostfile", "/etc/hostname");
    put_link("usr/share/dangling", "/nonexistent/file");
    put_link("loop/a", "b");
    put_link("loop/b", "a");
    put_link("loop/self", "self");
    /* chain/l1 -> l2 -> ... -> l41 -> end: 40 and 41 links crossed from l2 and l1. */
    put_file("chain/end", "end");
    for (int i = 1; i <= 41; i++) {
        char name[32], target[32];
        snprintf(name, sizeof name, "chain/l%d", i);
        if (i == 41)
            snprintf(target, sizeof target, "end");
        else
            snprintf(target, sizeof target, "l%d", i + 1);
        put_link(name, target);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return tinyx_rm_rf(root);
}

/* Resolve and check result, canonical path, existing prefix and the links crossed. links_want
 * is a NULL-terminated list. */
static void expect_resolve(const char *path, bool follow_last, int result_want,
                           const char *canon_want, const char *existing_want,
                           const char *const *links_want)
{
    struct strvec links = STRVEC_INIT;
    char *canon = NULL, *existing = NULL;
    int r = tinyx_rootpath_resolve(root, path, follow_last, &links, &canon, &existing);
    if (r != result_want)
        fail_msg("%s: result %d, want %d", path, r, result_want);
    assert_non_null(canon);
    assert_non_null(existing);
    if (strcmp(canon, canon_want) != 0)
        fail_msg("%s: canon '%s', want '%s'", path, canon, canon_want);
    if (existing_want && strcmp(existing, existing_want) != 0)
        fail_msg("%s: existing '%s', want '%s'", path, existing, existing_want);
    size_t n_want = 0;
    while (links_want && links_want[n_want])
        n_want++;
    if (links.n != n_want)
        fail_msg("%s: %zu links crossed, want %zu (first: %s)", path, links.n, n_want,
                 links.n ? links.v[0] : "-");
    for (size_t i = 0; i < n_want; i++)
        if (strcmp(links.v[i], links_want[i]) != 0)
            fail_msg("%s: link %zu is '%s', want '%s'", path, i, links.v[i], links_want[i]);
    tinyx_strvec_free(&links);
    free(canon);
    free(existing);
}

static void expect_normalize(const char *in, const char *want)
{
    char *got = tinyx_rootpath_normalize(in);
    if (strcmp(got, want) != 0)
        fail_msg("normalize('%s') = '%s', want '%s'", in, got, want);
    free(got);
}

static void test_normalize(void **state)
{
    (void)state;
    expect_normalize("", "/");
    expect_normalize("/", "/");
    expect_normalize("//", "/");
    expect_normalize("a/b", "/a/b");
    expect_normalize("/a//b/./c/", "/a/b/c");
    expect_normalize("/a/b/../c", "/a/c");
    expect_normalize("/a/..", "/");
    expect_normalize("/../../x", "/x");
    expect_normalize("/a/b/../../..", "/");
    expect_normalize("/a/./", "/a");
    expect_normalize("/.hidden/...", "/.hidden/...");
    expect_normalize("/usr/lib/../../lib64/./ld.so", "/lib64/ld.so");
}

static void test_plain_paths(void **state)
{
    (void)state;
    expect_resolve("/", true, TINYX_ROOTPATH_FOUND, "/", "/", NULL);
    expect_resolve("", true, TINYX_ROOTPATH_FOUND, "/", "/", NULL);
    expect_resolve("/usr/bin/prog", true, TINYX_ROOTPATH_FOUND, "/usr/bin/prog", "/usr/bin/prog",
                   NULL);
    expect_resolve("//usr/./bin//prog", false, TINYX_ROOTPATH_FOUND, "/usr/bin/prog",
                   "/usr/bin/prog", NULL);
    expect_resolve("usr/bin/prog", true, TINYX_ROOTPATH_FOUND, "/usr/bin/prog", "/usr/bin/prog",
                   NULL);
    expect_resolve("/usr/bin/../lib/x86_64-linux-gnu/libc.so.6", true, TINYX_ROOTPATH_FOUND,
                   "/usr/lib/x86_64-linux-gnu/libc.so.6", NULL, NULL);
}

static void test_merged_usr_links(void **state)
{
    (void)state;
    const char *bin[] = {"/bin", NULL};
    expect_resolve("/bin/prog", true, TINYX_ROOTPATH_FOUND, "/usr/bin/prog", "/usr/bin/prog", bin);
    expect_resolve("/bin/prog", false, TINYX_ROOTPATH_FOUND, "/usr/bin/prog", "/usr/bin/prog", bin);
    /* The last component is a link: kept as is unless follow_last. */
    expect_resolve("/bin", false, TINYX_ROOTPATH_FOUND, "/bin", "/bin", NULL);
    expect_resolve("/bin", true, TINYX_ROOTPATH_FOUND, "/usr/bin", "/usr/bin", bin);
    const char *lib[] = {"/lib", NULL};
    expect_resolve("/lib/x86_64-linux-gnu/libc.so.6", true, TINYX_ROOTPATH_FOUND,
                   "/usr/lib/x86_64-linux-gnu/libc.so.6", NULL, lib);
    /* The interpreter path of every x86-64 program: three links crossed, in order. */
    const char *ld[] = {"/lib64", "/usr/lib64/ld-linux-x86-64.so.2", "/lib", NULL};
    expect_resolve("/lib64/ld-linux-x86-64.so.2", true, TINYX_ROOTPATH_FOUND,
                   "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                   "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", ld);
    const char *ld_nofollow[] = {"/lib64", NULL};
    expect_resolve("/lib64/ld-linux-x86-64.so.2", false, TINYX_ROOTPATH_FOUND,
                   "/usr/lib64/ld-linux-x86-64.so.2", NULL, ld_nofollow);
}

static void test_alternatives_chain(void **state)
{
    (void)state;
    const char *links[] = {"/usr/bin/awk", "/etc/alternatives/awk", NULL};
    expect_resolve("/usr/bin/awk", true, TINYX_ROOTPATH_FOUND, "/usr/bin/mawk", "/usr/bin/mawk",
                   links);
    const char *links_via_bin[] = {"/bin", "/usr/bin/awk", "/etc/alternatives/awk", NULL};
    expect_resolve("/bin/awk", true, TINYX_ROOTPATH_FOUND, "/usr/bin/mawk", NULL, links_via_bin);
    expect_resolve("/usr/bin/awk", false, TINYX_ROOTPATH_FOUND, "/usr/bin/awk", NULL, NULL);
}

static void test_dotdot_is_physical(void **state)
{
    (void)state;
    /* As in the kernel: ".." after a symlink goes to the parent of the link's target. */
    const char *bin[] = {"/bin", NULL};
    expect_resolve("/bin/../lib/x86_64-linux-gnu/libc.so.6", true, TINYX_ROOTPATH_FOUND,
                   "/usr/lib/x86_64-linux-gnu/libc.so.6", NULL, bin);
    expect_resolve("/bin/../etc/marker", true, TINYX_ROOTPATH_MISSING, "/usr/etc/marker", "/usr",
                   bin);
}

static void test_links_never_leave_the_root(void **state)
{
    (void)state;
    const char *esc[] = {"/usr/share/esc", NULL};
    expect_resolve("/usr/share/esc", true, TINYX_ROOTPATH_FOUND, "/etc/marker", "/etc/marker", esc);
    /* Whether or not the host has /etc/hostname, the root does not. */
    const char *host[] = {"/usr/share/hostfile", NULL};
    expect_resolve("/usr/share/hostfile", true, TINYX_ROOTPATH_MISSING, "/etc/hostname", "/etc",
                   host);
    expect_resolve("/../../../etc/marker", true, TINYX_ROOTPATH_FOUND, "/etc/marker", NULL, NULL);
}

static void test_missing_paths(void **state)
{
    (void)state;
    const char *bin[] = {"/bin", NULL};
    expect_resolve("/bin/nothere/x", true, TINYX_ROOTPATH_MISSING, "/usr/bin/nothere/x", "/usr/bin",
                   bin);
    expect_resolve("/var/cache/app/state.db", true, TINYX_ROOTPATH_MISSING,
                   "/var/cache/app/state.db", "/", NULL);
    expect_resolve("/usr/nope/../bin/prog", true, TINYX_ROOTPATH_MISSING, "/usr/bin/prog", "/usr",
                   NULL);
    /* A regular file used as a folder. */
    expect_resolve("/usr/bin/prog/x", true, TINYX_ROOTPATH_MISSING, "/usr/bin/prog/x",
                   "/usr/bin/prog", NULL);
    const char *dangling[] = {"/usr/share/dangling", NULL};
    expect_resolve("/usr/share/dangling", true, TINYX_ROOTPATH_MISSING, "/nonexistent/file", "/",
                   dangling);
    expect_resolve("/usr/share/dangling", false, TINYX_ROOTPATH_FOUND, "/usr/share/dangling",
                   "/usr/share/dangling", NULL);
}

static void test_loops(void **state)
{
    (void)state;
    char *canon = NULL, *existing = NULL;
    assert_int_equal(tinyx_rootpath_resolve(root, "/loop/a", true, NULL, &canon, &existing),
                     TINYX_ROOTPATH_LOOP);
    assert_non_null(canon);
    free(canon);
    free(existing);
    canon = NULL;
    assert_int_equal(tinyx_rootpath_resolve(root, "/loop/self/x", false, NULL, &canon, NULL),
                     TINYX_ROOTPATH_LOOP);
    free(canon);
    /* Not followed: no loop. */
    canon = NULL;
    assert_int_equal(tinyx_rootpath_resolve(root, "/loop/a", false, NULL, &canon, NULL),
                     TINYX_ROOTPATH_FOUND);
    assert_string_equal(canon, "/loop/a");
    free(canon);
}

static void test_symlink_limit_is_40(void **state)
{
    (void)state;
    struct strvec links = STRVEC_INIT;
    char *canon = NULL;
    /* l2 -> ... -> l41 -> end crosses 40 links: allowed, as in Linux. */
    assert_int_equal(tinyx_rootpath_resolve(root, "/chain/l2", true, &links, &canon, NULL),
                     TINYX_ROOTPATH_FOUND);
    assert_string_equal(canon, "/chain/end");
    assert_int_equal(links.n, 40);
    assert_string_equal(links.v[0], "/chain/l2");
    assert_string_equal(links.v[39], "/chain/l41");
    free(canon);
    tinyx_strvec_free(&links);
    /* l1 needs 41. */
    canon = NULL;
    assert_int_equal(tinyx_rootpath_resolve(root, "/chain/l1", true, NULL, &canon, NULL),
                     TINYX_ROOTPATH_LOOP);
    free(canon);
}

static void test_optional_outputs(void **state)
{
    (void)state;
    char *canon = NULL;
    assert_int_equal(tinyx_rootpath_resolve(root, "/bin/awk", true, NULL, &canon, NULL),
                     TINYX_ROOTPATH_FOUND);
    assert_string_equal(canon, "/usr/bin/mawk");
    free(canon);
    /* A root given with a trailing slash works the same. */
    char *root_slash = tinyx_xasprintf("%s/", root);
    canon = NULL;
    assert_int_equal(tinyx_rootpath_resolve(root_slash, "/bin/prog", true, NULL, &canon, NULL),
                     TINYX_ROOTPATH_FOUND);
    assert_string_equal(canon, "/usr/bin/prog");
    free(canon);
    free(root_slash);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_plain_paths),
        cmocka_unit_test(test_merged_usr_links),
        cmocka_unit_test(test_alternatives_chain),
        cmocka_unit_test(test_dotdot_is_physical),
        cmocka_unit_test(test_links_never_leave_the_root),
        cmocka_unit_test(test_missing_paths),
        cmocka_unit_test(test_loops),
        cmocka_unit_test(test_symlink_limit_is_40),
        cmocka_unit_test(test_optional_outputs),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
