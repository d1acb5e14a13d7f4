/* test_dpkg.c: reading a staged root's dpkg database (tinyx/dpkg.h) on a fake merged-/usr root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tinyx/apt.h"
#include "tinyx/dpkg.h"
#include "tinyx/strmap.h"
#include "tinyx/strvec.h"
#include "tinyx/util.h"

static char base[64]; /* temp folder of this file's tests */
static char *root;    /* the fake root */

/* ---- stderr capture ---- */

struct capture {
    int saved, fd;
    char path[64];
};

static void capture_start(struct capture *c)
{
    strcpy(c->path, "/tmp/tinyx-ut-stderr-XXXXXX");
    c->fd = mkstemp(c->path);
    assert_true(c->fd >= 0);
    fflush(stderr);
    c->saved = dup(STDERR_FILENO);
    assert_true(dup2(c->fd, STDERR_FILENO) >= 0);
}

static char *capture_stop(struct capture *c)
{
    fflush(stderr);
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    char *text = tinyx_read_file(c->path, NULL);
    close(c->fd);
    unlink(c->path);
    return text ? text : tinyx_xstrdup("");
}

/* ---- the fake root ---- */

static int put(const char *dir, const char *rel, const char *text)
{
    char *p = tinyx_xasprintf("%s/%s", dir, rel);
    char *parent = tinyx_xstrdup(p);
    *strrchr(parent, '/') = '\0';
    int rc = tinyx_mkdir_p(parent, 0755);
    if (rc == 0)
        rc = tinyx_write_file_atomic(p, text, strlen(text), 0644);
    free(parent);
    free(p);
    return rc;
}

static int link_at(const char *dir, const char *rel, const char *target)
{
    char *p = tinyx_xasprintf("%s/%s", dir, rel);
    char *parent = tinyx_xstrdup(p);
    *strrchr(parent, '/') = '\0';
    int rc = tinyx_mkdir_p(parent, 0755);
    if (rc == 0)
        rc = symlink(target, p);
    free(parent);
    free(p);
    return rc;
}

/* Stanzas in every state dpkg writes; a description continuation line that looks like a
 * field; fields in unusual order; no newline after the last stanza. */
static const char *const status_text = "Package: libc6\n"
                                       "Status: install ok installed\n"
                                       "Priority: optional\n"
                                       "Architecture: amd64\n"
                                       "Multi-Arch: same\n"
                                       "Version: 2.36-9+deb12u4\n"
                                       "Description: GNU C Library: Shared libraries\n"
                                       " Contains the standard libraries.\n"
                                       " .\n"
                                       " Package: not-a-stanza\n"
                                       "\n"
                                       "Package: oldpkg\n"
                                       "Status: deinstall ok config-files\n"
                                       "Version: 1.0\n"
                                       "\n"
                                       "Package: brokenpkg\n"
                                       "Status: install reinstreq half-installed\n"
                                       "Version: 2.0\n"
                                       "\n"
                                       "Package: halfconf\n"
                                       "Status: install ok half-configured\n"
                                       "Version: 3.0\n"
                                       "\n"
                                       "Package: unpacked\n"
                                       "Status: install ok unpacked\n"
                                       "Version: 0.1\n"
                                       "\n"
                                       "Package: notinst\n"
                                       "Status: purge ok not-installed\n"
                                       "\n"
                                       "Package: coreutils\n"
                                       "Essential: yes\n"
                                       "Status: install ok installed\n"
                                       "Version: 9.1-1\n"
                                       "\n"
                                       "Version: 1.3.4-20200120-3.1\n"
                                       "Package: mawk\n"
                                       "Status: install ok installed\n"
                                       "Architecture: amd64\n"
                                       "\n"
                                       "Package: removing\n"
                                       "Status: deinstall ok installed\n"
                                       "Version: 0.9\n"
                                       "\n"
                                       "Package: zlast\n"
                                       "Status: install ok installed\n"
                                       "Version: 5";

static int group_setup(void **state)
{
    (void)state;
    strcpy(base, "/tmp/tinyx-ut-dpkg-XXXXXX");
    if (!mkdtemp(base))
        return -1;
    root = tinyx_xasprintf("%s/root", base);
    int rc = 0;
    rc |= put(root, "var/lib/dpkg/status", status_text);
    rc |= link_at(root, "bin", "usr/bin");
    rc |= link_at(root, "lib", "usr/lib");
    rc |= link_at(root, "lib64", "usr/lib64");
    rc |= put(root, "usr/bin/true", "x");
    rc |= put(root, "usr/bin/env", "x");
    rc |= put(root, "usr/bin/mawk", "x");
    rc |= put(root, "usr/lib/x86_64-linux-gnu/libc.so.6", "x");
    rc |= put(root, "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "x");
    rc |= link_at(root, "usr/lib64/ld-linux-x86-64.so.2",
                  "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    rc |= link_at(root, "etc/alternatives/awk", "/usr/bin/mawk");
    rc |= link_at(root, "usr/bin/awk", "/etc/alternatives/awk");
    char *doc = tinyx_xasprintf("%s/usr/share/doc", root);
    rc |= tinyx_mkdir_p(doc, 0755);
    free(doc);
    /* Multi-arch package: listed as NAME:ARCH. Folder entries, links, a missing file. */
    rc |= put(root, "var/lib/dpkg/info/libc6:amd64.list",
              "/.\n"
              "/lib64\n"
              "/lib64/ld-linux-x86-64.so.2\n"
              "/lib/x86_64-linux-gnu\n"
              "/lib/x86_64-linux-gnu/libc.so.6\n"
              "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
              "/usr/share/doc/libc6/copyright\n"
              "/usr/lib/x86_64-linux-gnu/gconv/missing.so\n");
    /* Both NAME.list and NAME:amd64.list: the plain one wins. Blank and relative lines. */
    rc |= put(root, "var/lib/dpkg/info/coreutils.list",
              "/.\n/bin\n/bin/true\n\nrelative/line\n/usr/bin/env\n");
    rc |= put(root, "var/lib/dpkg/info/coreutils:amd64.list", "/usr/bin/wrong\n");
    rc |= put(root, "var/lib/dpkg/info/mawk.list",
              "/.\n/usr\n/usr/bin\n/usr/bin/mawk\n/usr/bin/awk\n/usr/bin/env\n");
    return rc == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    free(root);
    return tinyx_rm_rf(base);
}

/* ---- tests ---- */

static void test_installed(void **state)
{
    (void)state;
    struct tinyx_pkglist l;
    assert_int_equal(tinyx_dpkg_installed(root, &l), 0);
    const struct tinyx_pkg want[] = {
        {"coreutils", "9.1-1"}, {"libc6", "2.36-9+deb12u4"}, {"mawk", "1.3.4-20200120-3.1"},
        {"removing", "0.9"}, /* marked for removal, still installed */
        {"zlast", "5"},
    };
    size_t n_want = sizeof want / sizeof want[0];
    char problem[512] = "";
    if (l.n != n_want)
        snprintf(problem, sizeof problem, "%zu installed, want %zu (first %s)", l.n, n_want,
                 l.n ? l.v[0].name : "-");
    for (size_t i = 0; !problem[0] && i < n_want; i++)
        if (strcmp(l.v[i].name, want[i].name) || strcmp(l.v[i].version, want[i].version))
            snprintf(problem, sizeof problem, "installed[%zu] = %s %s, want %s %s", i, l.v[i].name,
                     l.v[i].version, want[i].name, want[i].version);
    if (!problem[0]) {
        const struct tinyx_pkg *p = tinyx_pkglist_find(&l, "mawk");
        if (!p || strcmp(p->version, "1.3.4-20200120-3.1") != 0)
            snprintf(problem, sizeof problem, "tinyx_pkglist_find(mawk) failed");
        else if (tinyx_pkglist_find(&l, "oldpkg") || tinyx_pkglist_find(&l, "not-a-stanza"))
            snprintf(problem, sizeof problem, "a package that is not installed was found");
    }
    tinyx_pkglist_free(&l);
    if (problem[0])
        fail_msg("%s", problem);
}

static void test_installed_on_hold(void **state)
{
    (void)state;
    char *held_root = tinyx_xasprintf("%s/held", base);
    assert_int_equal(put(held_root, "var/lib/dpkg/status",
                         "Package: held\nStatus: hold ok installed\nVersion: 1.2\n\n"
                         "Package: plain\nStatus: install ok installed\nVersion: 2\n"),
                     0);
    struct tinyx_pkglist l;
    assert_int_equal(tinyx_dpkg_installed(held_root, &l), 0);
    free(held_root);
    /* BUG (tinyx/dpkg.c:60): a package on hold ("Status: hold ok installed", set by
     * `apt-mark hold`) is installed, but the check also requires the text "install ok", which
     * "hold ok installed" lacks, so it is left out. Only the third word (the status) matters. */
    bool ok = l.n == 2 && !strcmp(l.v[0].name, "held") && !strcmp(l.v[0].version, "1.2") &&
              !strcmp(l.v[1].name, "plain");
    size_t n = l.n;
    tinyx_pkglist_free(&l);
    if (!ok)
        fail_msg("%zu packages installed, want held 1.2 and plain 2", n);
}

static void test_installed_errors(void **state)
{
    (void)state;
    char *none = tinyx_xasprintf("%s/no-dpkg", base);
    struct tinyx_pkglist l;
    struct capture cap;
    capture_start(&cap);
    int rc = tinyx_dpkg_installed(none, &l);
    char *err = capture_stop(&cap);
    char *want = tinyx_xasprintf(
        "tinyx: error: cannot read %s/var/lib/dpkg/status: No such file or directory\n", none);
    assert_int_equal(rc, -1);
    assert_string_equal(err, want);
    assert_int_equal(l.n, 0);
    free(want);
    free(err);
    free(none);
}

static void test_nothing_installed(void **state)
{
    (void)state;
    /* Run in a child with stderr in a file, so a sanitizer abort fails only this test. */
    const char *cases[] = {"", "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n"};
    for (size_t i = 0; i < 2; i++) {
        char *dir = tinyx_xasprintf("%s/nothing-%zu", base, i);
        char *errpath = tinyx_xasprintf("%s/stderr.txt", dir);
        assert_int_equal(put(dir, "var/lib/dpkg/status", cases[i]), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
                _exit(3);
            struct tinyx_pkglist l;
            int rc = tinyx_dpkg_installed(dir, &l);
            _exit(rc == 0 && l.n == 0 ? 0 : 2);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        char *err = tinyx_read_file(errpath, NULL);
        /* BUG (tinyx/dpkg.c:65): with no installed package out->v is NULL and
         * qsort(NULL, 0, ...) is undefined behaviour (glibc declares the array non-null);
         * UBSan aborts here ("null pointer passed as argument 1"). Skip the sort when n < 2. */
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        char problem[1024];
        snprintf(problem, sizeof problem, "status '%s': child status 0x%x, stderr: %.700s",
                 cases[i], (unsigned)status, err ? err : "");
        free(err);
        free(errpath);
        free(dir);
        if (!ok)
            fail_msg("%s", problem);
    }
}

static void expect_files(const char *pkg, const char *const *want)
{
    struct strvec files = STRVEC_INIT;
    struct capture cap;
    capture_start(&cap);
    int rc = tinyx_dpkg_files(root, pkg, &files);
    char *err = capture_stop(&cap);
    size_t n_want = 0;
    while (want[n_want])
        n_want++;
    char problem[512] = "";
    if (rc != 0 || err[0])
        snprintf(problem, sizeof problem, "%s: rc %d, stderr '%s'", pkg, rc, err);
    else if (files.n != n_want)
        snprintf(problem, sizeof problem, "%s: %zu files, want %zu (first %s)", pkg, files.n,
                 n_want, files.n ? files.v[0] : "-");
    for (size_t i = 0; !problem[0] && i < n_want; i++)
        if (strcmp(files.v[i], want[i]) != 0)
            snprintf(problem, sizeof problem, "%s: file %zu is %s, want %s", pkg, i, files.v[i],
                     want[i]);
    free(err);
    tinyx_strvec_free(&files);
    if (problem[0])
        fail_msg("%s", problem);
}

static void test_files(void **state)
{
    (void)state;
    /* Folder parts resolved through the merged-/usr links; a listed link stays a link; missing
     * files keep their path; "/." and non-absolute lines are dropped. */
    const char *libc6[] = {
        "/lib64",
        "/usr/lib64/ld-linux-x86-64.so.2",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        "/usr/share/doc/libc6/copyright",
        "/usr/lib/x86_64-linux-gnu/gconv/missing.so",
        NULL,
    };
    expect_files("libc6", libc6);
    const char *coreutils[] = {"/bin", "/usr/bin/true", "/usr/bin/env", NULL};
    expect_files("coreutils", coreutils);
    const char *mawk[] = {"/usr",         "/usr/bin",     "/usr/bin/mawk",
                          "/usr/bin/awk", "/usr/bin/env", NULL};
    expect_files("mawk", mawk);

    struct strvec files = STRVEC_INIT;
    struct capture cap;
    capture_start(&cap);
    int rc = tinyx_dpkg_files(root, "nope", &files);
    char *err = capture_stop(&cap);
    assert_int_equal(rc, -1);
    assert_int_equal(files.n, 0);
    assert_string_equal(err, "");
    free(err);
    tinyx_strvec_free(&files);
}

static void test_owners(void **state)
{
    (void)state;
    struct tinyx_pkglist l;
    assert_int_equal(tinyx_dpkg_installed(root, &l), 0);
    struct strmap owners = STRMAP_INIT;
    assert_int_equal(tinyx_dpkg_owners(root, &l, &owners), 0);
    tinyx_pkglist_free(&l);
    /* Non-folders that exist (links count as files, as lstat sees them); the first package
     * in name order wins a path listed twice. */
    const char *want[][2] = {
        {"/bin", "coreutils"},
        {"/lib64", "libc6"},
        {"/usr/bin/awk", "mawk"},
        {"/usr/bin/env", "coreutils"},
        {"/usr/bin/mawk", "mawk"},
        {"/usr/bin/true", "coreutils"},
        {"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "libc6"},
        {"/usr/lib/x86_64-linux-gnu/libc.so.6", "libc6"},
        {"/usr/lib64/ld-linux-x86-64.so.2", "libc6"},
    };
    size_t n_want = sizeof want / sizeof want[0];
    const char **keys = tinyx_strmap_sorted_keys(&owners);
    char problem[512] = "";
    size_t n = 0;
    while (keys[n])
        n++;
    if (n != n_want)
        snprintf(problem, sizeof problem, "%zu owned paths, want %zu", n, n_want);
    for (size_t i = 0; !problem[0] && i < n_want; i++) {
        const char *owner = tinyx_strmap_get(&owners, keys[i]);
        if (strcmp(keys[i], want[i][0]) || !owner || strcmp(owner, want[i][1]))
            snprintf(problem, sizeof problem, "owner %zu: %s -> %s, want %s -> %s", i, keys[i],
                     owner ? owner : "(null)", want[i][0], want[i][1]);
    }
    free(keys);
    tinyx_strmap_free(&owners);
    if (problem[0])
        fail_msg("%s", problem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_installed),
        cmocka_unit_test(test_installed_on_hold),
        cmocka_unit_test(test_installed_errors),
        cmocka_unit_test(test_nothing_installed),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_owners),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
