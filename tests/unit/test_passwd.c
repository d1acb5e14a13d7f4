/* test_passwd.c: user and group lookup in a staged root's passwd/group files (tinyx/passwd.h). */
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

#include "tinyx/passwd.h"
#include "tinyx/util.h"

static char base[64];    /* temp folder of this file's tests */
static char *root;       /* root with passwd and group */
static char *root_nogrp; /* root with passwd only */
static char *root_empty; /* root without /etc */

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

/* ---- fake roots ---- */

static const char *const passwd_text =
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    "this line is broken\n"
    "postgres:x:105:111:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n"
    "app:x:1000:1000::/home/app:\n";

static const char *const group_text = "root:x:0:\n"
                                      "adm:x:4:syslog,app\n"
                                      "www-data:x:33:\n"
                                      "broken group line\n"
                                      "staff:x:50:app,www-data\n"
                                      "video:x:44:apple\n"
                                      "audio:x:29:application,app2\n"
                                      "ssl-cert:x:110:postgres\n"
                                      "postgres:x:111:\n"
                                      "app:x:1000:app\n";

static int write_etc(const char *dir, const char *name, const char *text)
{
    char *etc = tinyx_xasprintf("%s/etc", dir);
    char *p = tinyx_xasprintf("%s/%s", etc, name);
    int rc = tinyx_mkdir_p(etc, 0755);
    if (rc == 0)
        rc = tinyx_write_file_atomic(p, text, strlen(text), 0644);
    free(p);
    free(etc);
    return rc;
}

static int group_setup(void **state)
{
    (void)state;
    strcpy(base, "/tmp/tinyx-ut-passwd-XXXXXX");
    if (!mkdtemp(base))
        return -1;
    root = tinyx_xasprintf("%s/root", base);
    root_nogrp = tinyx_xasprintf("%s/nogroup", base);
    root_empty = tinyx_xasprintf("%s/empty", base);
    int rc = write_etc(root, "passwd", passwd_text);
    rc |= write_etc(root, "group", group_text);
    rc |= write_etc(root_nogrp, "passwd", passwd_text);
    rc |= tinyx_mkdir_p(root_empty, 0755);
    return rc == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    free(root);
    free(root_nogrp);
    free(root_empty);
    return tinyx_rm_rf(base);
}

/* Look up name and compare every field; groups is a 0-terminated list (gid 0 never appears as
 * a supplementary group in these files). */
static void expect_user(const char *in_root, const char *name, const char *want_name, uid_t uid,
                        gid_t gid, const char *home, const gid_t *groups)
{
    struct tinyx_user u;
    struct capture cap;
    capture_start(&cap);
    int rc = tinyx_passwd_lookup(in_root, name, &u);
    char *err = capture_stop(&cap);
    char problem[512] = "";
    size_t n_groups = 0;
    while (groups[n_groups])
        n_groups++;
    if (rc != 0)
        snprintf(problem, sizeof problem, "lookup '%s': rc %d, stderr '%s'", name, rc, err);
    else if (strcmp(u.name, want_name) != 0 || u.uid != uid || u.gid != gid ||
             strcmp(u.home, home) != 0 || err[0])
        snprintf(problem, sizeof problem,
                 "lookup '%s': %s uid %u gid %u home %s (stderr '%s'), want %s %u %u %s", name,
                 u.name, (unsigned)u.uid, (unsigned)u.gid, u.home, err, want_name, (unsigned)uid,
                 (unsigned)gid, home);
    else if (u.n_groups != n_groups)
        snprintf(problem, sizeof problem, "lookup '%s': %zu groups, want %zu", name, u.n_groups,
                 n_groups);
    for (size_t i = 0; !problem[0] && i < n_groups; i++)
        if (u.groups[i] != groups[i])
            snprintf(problem, sizeof problem, "lookup '%s': group %zu is %u, want %u", name, i,
                     (unsigned)u.groups[i], (unsigned)groups[i]);
    free(err);
    if (rc == 0)
        tinyx_user_free(&u);
    if (problem[0])
        fail_msg("%s", problem);
    assert_null(u.name);
    assert_null(u.groups);
}

/* Look up name, expecting failure with exactly this message. */
static void expect_error(const char *in_root, const char *name, const char *want_err)
{
    struct tinyx_user u;
    struct capture cap;
    capture_start(&cap);
    int rc = tinyx_passwd_lookup(in_root, name, &u);
    char *err = capture_stop(&cap);
    char problem[1024] = "";
    if (rc != -1)
        snprintf(problem, sizeof problem, "lookup '%s': rc %d, want -1", name, rc);
    else if (strcmp(err, want_err) != 0)
        snprintf(problem, sizeof problem, "lookup '%s': stderr '%s', want '%s'", name, err,
                 want_err);
    else if (u.name || u.home || u.groups || u.n_groups)
        snprintf(problem, sizeof problem, "lookup '%s': output not left empty", name);
    free(err);
    if (rc == 0)
        tinyx_user_free(&u);
    if (problem[0])
        fail_msg("%s", problem);
}

static const gid_t no_groups[] = {0};

static void test_by_name(void **state)
{
    (void)state;
    expect_user(root, "root", "root", 0, 0, "/root", no_groups);
    const gid_t www[] = {50, 0};
    expect_user(root, "www-data", "www-data", 33, 33, "/var/www", www);
    /* Supplementary groups in file order; the primary group (app lists itself) is left out,
     * and "apple" / "application" / "app2" are not "app". */
    const gid_t app[] = {4, 50, 0};
    expect_user(root, "app", "app", 1000, 1000, "/home/app", app);
    const gid_t pg[] = {110, 0};
    expect_user(root, "postgres", "postgres", 105, 111, "/var/lib/postgresql", pg);
    expect_user(root, "nobody", "nobody", 65534, 65534, "/nonexistent", no_groups);
}

static void test_by_uid(void **state)
{
    (void)state;
    expect_user(root, "0", "root", 0, 0, "/root", no_groups);
    const gid_t www[] = {50, 0};
    expect_user(root, "33", "www-data", 33, 33, "/var/www", www);
    const gid_t pg[] = {110, 0};
    expect_user(root, "105", "postgres", 105, 111, "/var/lib/postgresql", pg);
    expect_user(root, "65534", "nobody", 65534, 65534, "/nonexistent", no_groups);
    /* A uid without an entry is allowed (as in containers): gid = uid, home /. */
    expect_user(root, "4242", "4242", 4242, 4242, "/", no_groups);
}

static void test_without_group_file(void **state)
{
    (void)state;
    expect_user(root_nogrp, "app", "app", 1000, 1000, "/home/app", no_groups);
}

static void test_unknown_users(void **state)
{
    (void)state;
    expect_error(root, "www-date",
                 "tinyx: error: user 'www-date' does not exist in the staged root's /etc/passwd "
                 "(did you mean 'www-data'?)\n");
    expect_error(root, "postgre",
                 "tinyx: error: user 'postgre' does not exist in the staged root's /etc/passwd "
                 "(did you mean 'postgres'?)\n");
    expect_error(root, "zzzzzzzzzzzz",
                 "tinyx: error: user 'zzzzzzzzzzzz' does not exist in the staged root's "
                 "/etc/passwd\n");
    /* Not a uid: a negative number is a (missing) name. */
    expect_error(root, "-1",
                 "tinyx: error: user '-1' does not exist in the staged root's /etc/passwd\n");
    char *want = tinyx_xasprintf(
        "tinyx: error: cannot read %s/etc/passwd: No such file or directory\n", root_empty);
    expect_error(root_empty, "root", want);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_name),
        cmocka_unit_test(test_by_uid),
        cmocka_unit_test(test_without_group_file),
        cmocka_unit_test(test_unknown_users),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
