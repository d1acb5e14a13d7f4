/* test_init_plan.c: the guest init's plan parser and the plan escaping rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "initramfs/init_plan.h"

static int parse(const char *text, struct initramfs_plan *plan, char *err, size_t errlen)
{
    return initramfs_plan_parse(text, strlen(text), plan, err, errlen);
}

/* The plan must be rejected with a message containing want. */
static void expect_error(const char *text, const char *want)
{
    struct initramfs_plan plan;
    char err[512] = "";
    int rc = parse(text, &plan, err, sizeof err);
    if (rc != -1)
        fail_msg("plan accepted, expected an error with '%s':\n%s", want, text);
    if (!strstr(err, want))
        fail_msg("error '%s' does not contain '%s'", err, want);
    assert_null(plan.argv);
    assert_null(plan.storage);
    initramfs_plan_free(&plan);
}

static void test_minimal_plan(void **state)
{
    (void)state;
    struct initramfs_plan plan;
    char err[256];
    assert_int_equal(parse("version 1\narg /bin/true\n", &plan, err, sizeof err), 0);
    assert_int_equal(plan.version, 1);
    assert_int_equal(plan.argc, 1);
    assert_string_equal(plan.argv[0], "/bin/true");
    assert_null(plan.argv[1]);
    assert_string_equal(plan.cwd, "/");
    assert_null(plan.hostname);
    assert_int_equal(plan.n_env, 0);
    assert_int_equal(plan.n_mounts, 0);
    assert_int_equal(plan.n_modules, 0);
    assert_int_equal(plan.n_groups, 0);
    assert_int_equal(plan.uid, 0);
    assert_int_equal(plan.gid, 0);
    initramfs_plan_free(&plan);
}

static void test_full_plan(void **state)
{
    (void)state;
    const char *text = "version 1\n"
                       "hostname web-1\n"
                       "mount proc /proc\n"
                       "mount sysfs /sys\n"
                       "mount devtmpfs /dev\n"
                       "mount devpts /dev/pts\n"
                       "mount tmpfs /tmp\n"
                       "mount tmpfs /my dir\n"
                       "module /lib/modules/6.1/virtio_ring.ko\n"
                       "module /lib/modules/6.1/virtio_net.ko\n"
                       "env PATH=/usr/bin:/bin\n"
                       "env GREETING=hello world\n"
                       "env EMPTY=\n"
                       "cwd /srv/app\n"
                       "uid 33\n"
                       "gid 34\n"
                       "groups 4,27,100\n"
                       "arg /usr/bin/python3\n"
                       "arg -c\n"
                       "arg print('a b')\n"
                       "arg \n";
    struct initramfs_plan plan;
    char err[256];
    assert_int_equal(parse(text, &plan, err, sizeof err), 0);
    assert_string_equal(plan.hostname, "web-1");
    assert_int_equal(plan.n_mounts, 6);
    assert_int_equal(plan.mounts[0].fs, INITRAMFS_FS_PROC);
    assert_string_equal(plan.mounts[0].target, "/proc");
    assert_int_equal(plan.mounts[1].fs, INITRAMFS_FS_SYSFS);
    assert_int_equal(plan.mounts[2].fs, INITRAMFS_FS_DEVTMPFS);
    assert_int_equal(plan.mounts[3].fs, INITRAMFS_FS_DEVPTS);
    assert_string_equal(plan.mounts[3].target, "/dev/pts");
    assert_int_equal(plan.mounts[4].fs, INITRAMFS_FS_TMPFS);
    assert_string_equal(plan.mounts[5].target, "/my dir");
    assert_string_equal(initramfs_fs_name(plan.mounts[2].fs), "devtmpfs");
    assert_int_equal(plan.n_modules, 2);
    assert_string_equal(plan.modules[1], "/lib/modules/6.1/virtio_net.ko");
    assert_null(plan.modules[2]);
    assert_int_equal(plan.n_env, 3);
    assert_string_equal(plan.env[1], "GREETING=hello world");
    assert_string_equal(plan.env[2], "EMPTY=");
    assert_null(plan.env[3]);
    assert_string_equal(plan.cwd, "/srv/app");
    assert_int_equal(plan.uid, 33);
    assert_int_equal(plan.gid, 34);
    assert_int_equal(plan.n_groups, 3);
    assert_int_equal(plan.groups[0], 4);
    assert_int_equal(plan.groups[2], 100);
    assert_int_equal(plan.argc, 4);
    assert_string_equal(plan.argv[2], "print('a b')");
    assert_string_equal(plan.argv[3], "");
    assert_null(plan.argv[4]);
    initramfs_plan_free(&plan);
}

static void test_escapes_decode(void **state)
{
    (void)state;
    struct initramfs_plan plan;
    char err[256];
    assert_int_equal(parse("version 1\narg /bin/echo\narg 100%25%0Aline%09two%7f%e2%82%ac\n", &plan,
                           err, sizeof err),
                     0);
    assert_string_equal(plan.argv[1], "100%\nline\ttwo\x7f\xe2\x82\xac");
    initramfs_plan_free(&plan);
}

static void test_escape_rule(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(initramfs_plan_escape("a b%c\n\t\x7f\xc3\xa9", out, sizeof out), 18);
    assert_string_equal(out, "a b%25c%0A%09%7F\xc3\xa9");
    assert_int_equal(initramfs_plan_escape("", out, sizeof out), 0);
    assert_string_equal(out, "");
    /* Cut like snprintf, but never in the middle of a %XX. */
    assert_int_equal(initramfs_plan_escape("ab%", out, 5), 5);
    assert_string_equal(out, "ab");
    assert_int_equal(initramfs_plan_escape("ab%", out, 6), 5);
    assert_string_equal(out, "ab%25");
    assert_int_equal(initramfs_plan_escape("abc", NULL, 0), 3);
}

/* Every byte but NUL survives escape + parse unchanged. */
static void test_escape_round_trip(void **state)
{
    (void)state;
    char value[256], escaped[3 * 256], text[4 * 256];
    for (int i = 1; i < 256; i++)
        value[i - 1] = (char)i;
    value[255] = '\0';
    size_t n = initramfs_plan_escape(value, escaped, sizeof escaped);
    assert_true(n < sizeof escaped);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)escaped[i];
        assert_true(c >= 0x20 && c != 0x7f);
    }
    snprintf(text, sizeof text, "version 1\narg /x\narg %s\n", escaped);
    struct initramfs_plan plan;
    char err[256];
    assert_int_equal(parse(text, &plan, err, sizeof err), 0);
    assert_string_equal(plan.argv[1], value);
    initramfs_plan_free(&plan);
}

static void test_structure_errors(void **state)
{
    (void)state;
    expect_error("", "the plan is empty");
    expect_error("arg /bin/true\n", "line 1: the plan must start with \"version 1\"");
    expect_error("version 2\narg /bin/true\n", "line 1: plan version 2, but this tinyx-init");
    expect_error("version one\narg /bin/true\n", "line 1: bad version 'one'");
    expect_error("version 1\nversion 1\narg /x\n", "line 2: 'version' given twice");
    expect_error("version 1\nfoo bar\narg /x\n", "line 2: unknown key 'foo' (known keys:");
    expect_error("version 1\nARG /x\n", "line 2: unknown key 'ARG'");
    expect_error("version 1\narg /bin/true", "line 2: 'arg /bin/true' does not end with a newline");
    expect_error("version 1\n\narg /x\n", "line 2: empty line");
    expect_error("version 1\narg\n", "line 2: 'arg' has no value");
    expect_error("version 1\r\narg /x\n", "line 1: raw control byte 0x0D");
    expect_error("version 1\ncwd /\n", "the plan has no 'arg' line");
    expect_error("version 1\nhostname a\nhostname b\narg /x\n", "line 3: 'hostname' given twice");
}

static void test_value_errors(void **state)
{
    (void)state;
    expect_error("version 1\narg /x\narg 50%\n", "line 3: bad escape '%'");
    expect_error("version 1\narg /x\narg %zz\n", "line 3: bad escape '%zz'");
    expect_error("version 1\narg /x\narg %4\n", "line 3: bad escape '%4'");
    expect_error("version 1\narg /x\narg a%00b\n", "line 3: %00 (a NUL byte)");
    expect_error("version 1\narg /x\narg a\tb\n", "line 3: raw control byte 0x09");
    expect_error("version 1\narg bin/true\n", "line 2: the first arg 'bin/true' must be");
    expect_error("version 1\narg \n", "line 2: the first arg '' must be");
    expect_error("version 1\nmount ext4 /mnt\narg /x\n", "line 2: unknown mount type 'ext4'");
    expect_error("version 1\nmount proc proc\narg /x\n", "mount target 'proc' is not an absolute");
    expect_error("version 1\nmount proc\narg /x\n", "\"mount proc\" needs a type and a target");
    expect_error("version 1\nmodule virtio.ko\narg /x\n", "module 'virtio.ko' is not an absolute");
    expect_error("version 1\ncwd srv\narg /x\n", "line 2: cwd 'srv' is not an absolute path");
    expect_error("version 1\nenv PATH\narg /x\n", "line 2: env 'PATH' is not NAME=VALUE");
    expect_error("version 1\nenv =x\narg /x\n", "env '=x' is not NAME=VALUE");
    expect_error("version 1\nenv A=1\nenv A=2\narg /x\n", "line 3: env A given twice");
    expect_error("version 1\nuid www\narg /x\n", "line 2: bad uid 'www'");
    expect_error("version 1\nuid -1\narg /x\n", "bad uid '-1'");
    expect_error("version 1\ngid 4294967295\narg /x\n", "bad gid '4294967295'");
    expect_error("version 1\ngroups 1,,2\narg /x\n", "line 2: bad group '' in \"groups 1,,2\"");
    expect_error("version 1\ngroups \narg /x\n", "'groups' has an empty value");
    expect_error("version 1\nhostname "
                 "a23456789012345678901234567890123456789012345678901234567890123456\narg /x\n",
                 "hostname is 66 bytes long");
}

static void test_limits(void **state)
{
    (void)state;
    /* The largest ids and the line-length limit are accepted; one more is not. */
    struct initramfs_plan plan;
    char err[256];
    assert_int_equal(parse("version 1\nuid 4294967294\ngid 0\narg /x\n", &plan, err, sizeof err),
                     0);
    assert_int_equal(plan.uid, 4294967294u);
    initramfs_plan_free(&plan);

    size_t n = 65536 + 64;
    char *text = malloc(n);
    assert_non_null(text);
    int used = snprintf(text, n, "version 1\narg /x\narg ");
    memset(text + used, 'a', 65536 - 4);
    strcpy(text + used + 65536 - 4, "\n");
    assert_int_equal(parse(text, &plan, err, sizeof err), 0);
    assert_int_equal(strlen(plan.argv[1]), 65536 - 4);
    initramfs_plan_free(&plan);
    strcpy(text + used + 65536 - 4, "a\n");
    expect_error(text, "line 3: longer than 65536 bytes");
    free(text);
}

static void test_error_message_is_printable(void **state)
{
    (void)state;
    struct initramfs_plan plan;
    char err[128];
    assert_int_equal(parse("version 1\nf\x01o\xff bar\n", &plan, err, sizeof err), -1);
    assert_string_equal(err, "line 2: unknown key 'f?o?' (known keys: version, hostname, mount, "
                             "module, env, cwd, uid, gid, groups, arg)");
    /* A short buffer gets a cut, still terminated message. */
    char tiny[8];
    assert_int_equal(parse("bogus\n", &plan, tiny, sizeof tiny), -1);
    assert_string_equal(tiny, "line 1:");
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_init_plan.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "version 1\nenv A=b\narg /bin/sh\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);

    struct initramfs_plan plan;
    char err[512];
    assert_int_equal(initramfs_plan_load(path, &plan, err, sizeof err), 0);
    assert_string_equal(plan.env[0], "A=b");
    assert_string_equal(plan.argv[0], "/bin/sh");
    initramfs_plan_free(&plan);

    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "version 1\nbad x\n", 16), 16);
    close(fd);
    assert_int_equal(initramfs_plan_load(path, &plan, err, sizeof err), -1);
    char want[128];
    snprintf(want, sizeof want, "%s line 2: unknown key 'bad'", path);
    if (!strstr(err, want))
        fail_msg("error '%s' does not contain '%s'", err, want);

    unlink(path);
    assert_int_equal(initramfs_plan_load(path, &plan, err, sizeof err), -1);
    if (!strstr(err, "cannot open") || !strstr(err, "No such file"))
        fail_msg("unexpected error '%s'", err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_plan),
        cmocka_unit_test(test_full_plan),
        cmocka_unit_test(test_escapes_decode),
        cmocka_unit_test(test_escape_rule),
        cmocka_unit_test(test_escape_round_trip),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_value_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_error_message_is_printable),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
