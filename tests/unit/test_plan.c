/* test_plan.c: the boot plan writer (tinyx/plan.h) and its round trip through the init's parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initramfs/init_plan.h"
#include "initramfs/plan_abi.h"
#include "tinyx/plan.h"
#include "tinyx/strvec.h"

static void expect_escape(const char *in, const char *want)
{
    char *got = tinyx_plan_escape(in);
    if (strcmp(got, want) != 0)
        fail_msg("escape('%s') = '%s', want '%s'", in, got, want);
    free(got);
}

static void test_escape(void **state)
{
    (void)state;
    expect_escape("", "");
    expect_escape("plain text: a=b, c/d", "plain text: a=b, c/d");
    expect_escape("100%", "100%25");
    expect_escape("%25", "%2525");
    expect_escape("a\nb", "a%0Ab");
    expect_escape("\t", "%09");
    expect_escape("\r\n", "%0D%0A");
    expect_escape("\x01\x1f", "%01%1F");
    expect_escape("del\x7f", "del%7F");
    expect_escape("  spaces  ", "  spaces  ");
    expect_escape("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac"); /* UTF-8 as is */
    expect_escape("\x80\xff", "\x80\xff");
}

static void test_escape_matches_the_init(void **state)
{
    (void)state;
    /* Both sides of the ABI escape every byte the same way. */
    for (int c = 1; c < 256; c++) {
        char in[4] = {'a', (char)c, 'z', '\0'};
        char *host = tinyx_plan_escape(in);
        char guest[16];
        size_t n = initramfs_plan_escape(in, guest, sizeof guest);
        if (strcmp(host, guest) != 0 || n != strlen(host))
            fail_msg("byte 0x%02X: tinyx '%s', init '%s' (%zu)", c, host, guest, n);
        free(host);
    }
}

static void test_render_full_plan(void **state)
{
    (void)state;
    struct strvec mounts = STRVEC_INIT, modules = STRVEC_INIT, env = STRVEC_INIT,
                  argv = STRVEC_INIT;
    tinyx_strvec_push(&mounts, "proc /proc");
    tinyx_strvec_push(&mounts, "sysfs /sys");
    tinyx_strvec_push(&mounts, "devtmpfs /dev");
    tinyx_strvec_push(&modules, "/lib/modules/6.1.0-28-cloud-amd64/kernel/virtio_net.ko");
    tinyx_strvec_push(&env, "PATH=/usr/local/bin:/usr/bin:/bin");
    tinyx_strvec_push(&env, "LANG=C.UTF-8");
    tinyx_strvec_push(&argv, "/usr/sbin/nginx");
    tinyx_strvec_push(&argv, "-g");
    tinyx_strvec_push(&argv, "daemon off;");
    const gid_t groups[] = {4, 27, 4294967294u};
    struct tinyx_plan plan = {
        .hostname = "web-1",
        .mounts = &mounts,
        .modules = &modules,
        .env = &env,
        .cwd = "/srv/www",
        .uid = 33,
        .gid = 34,
        .groups = groups,
        .n_groups = 3,
        .argv = &argv,
    };
    char *text = tinyx_plan_render(&plan);
    assert_string_equal(text, "version 1\n"
                              "hostname web-1\n"
                              "mount proc /proc\n"
                              "mount sysfs /sys\n"
                              "mount devtmpfs /dev\n"
                              "module /lib/modules/6.1.0-28-cloud-amd64/kernel/virtio_net.ko\n"
                              "env PATH=/usr/local/bin:/usr/bin:/bin\n"
                              "env LANG=C.UTF-8\n"
                              "cwd /srv/www\n"
                              "uid 33\n"
                              "gid 34\n"
                              "groups 4,27,4294967294\n"
                              "arg /usr/sbin/nginx\n"
                              "arg -g\n"
                              "arg daemon off;\n");
    free(text);
    tinyx_strvec_free(&mounts);
    tinyx_strvec_free(&modules);
    tinyx_strvec_free(&env);
    tinyx_strvec_free(&argv);
}

static void test_render_minimal_plan(void **state)
{
    (void)state;
    struct strvec argv = STRVEC_INIT;
    tinyx_strvec_push(&argv, "/bin/true");
    struct tinyx_plan plan = {.argv = &argv};
    char *text = tinyx_plan_render(&plan);
    assert_string_equal(text, "version 1\ncwd /\nuid 0\ngid 0\narg /bin/true\n");
    free(text);
    /* One supplementary group; empty lists print nothing. */
    const gid_t one[] = {27};
    struct strvec none = STRVEC_INIT;
    struct tinyx_plan plan1 = {.mounts = &none,
                               .modules = &none,
                               .env = &none,
                               .groups = one,
                               .n_groups = 1,
                               .argv = &argv};
    text = tinyx_plan_render(&plan1);
    assert_string_equal(text, "version 1\ncwd /\nuid 0\ngid 0\ngroups 27\narg /bin/true\n");
    free(text);
    tinyx_strvec_free(&argv);
}

static void test_round_trip_through_the_init(void **state)
{
    (void)state;
    struct strvec mounts = STRVEC_INIT, modules = STRVEC_INIT, env = STRVEC_INIT,
                  argv = STRVEC_INIT;
    const char *mount_v[] = {"proc /proc", "tmpfs /my dir/with spaces", "devpts /dev/pts"};
    const char *module_v[] = {"/lib/modules/x/100% virtio.ko", "/lib/modules/x/caf\xc3\xa9.ko"};
    const char *env_v[] = {
        "MSG=100% done\nnext line\tand a tab",
        "EMPTY=",
        "SPACES=  leading and trailing  ",
        "UTF8=gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x90\xa7",
        "CTRL=\x01\x02\x1b[0m\x7f end",
        "LITERAL=%25 %0A %%",
        "CRLF=a\r\nb",
    };
    const char *argv_v[] = {
        "/opt/my app/bin/run %s", "",     "--name=caf\xc3\xa9", "line1\nline2", "\t", "%",
        "trailing space ",        "\x7f",
    };
    for (size_t i = 0; i < sizeof mount_v / sizeof mount_v[0]; i++)
        tinyx_strvec_push(&mounts, mount_v[i]);
    for (size_t i = 0; i < sizeof module_v / sizeof module_v[0]; i++)
        tinyx_strvec_push(&modules, module_v[i]);
    for (size_t i = 0; i < sizeof env_v / sizeof env_v[0]; i++)
        tinyx_strvec_push(&env, env_v[i]);
    for (size_t i = 0; i < sizeof argv_v / sizeof argv_v[0]; i++)
        tinyx_strvec_push(&argv, argv_v[i]);
    const gid_t groups[] = {0, 65534, 4294967294u};
    struct tinyx_plan plan = {
        .hostname = "h%st\xc3\xa9-1",
        .mounts = &mounts,
        .modules = &modules,
        .env = &env,
        .cwd = "/srv/my app/\xc3\xa9t\xc3\xa9 100%",
        .uid = 4294967294u,
        .gid = 65534,
        .groups = groups,
        .n_groups = 3,
        .argv = &argv,
    };
    char *text = tinyx_plan_render(&plan);
    /* Every line is "KEY VALUE" with no raw control byte but the newline ending it. */
    for (const char *p = text; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\n') || *p == 0x7f)
            fail_msg("raw control byte 0x%02X at offset %zu", (unsigned char)*p,
                     (size_t)(p - text));

    struct initramfs_plan parsed;
    char err[512] = "";
    int rc = initramfs_plan_parse(text, strlen(text), &parsed, err, sizeof err);
    if (rc != 0)
        fail_msg("the init refused the plan: %s\n%s", err, text);
    assert_int_equal(parsed.version, PLAN_ABI_VERSION);
    assert_string_equal(parsed.hostname, plan.hostname);
    assert_string_equal(parsed.cwd, plan.cwd);
    assert_int_equal(parsed.uid, plan.uid);
    assert_int_equal(parsed.gid, plan.gid);
    assert_int_equal(parsed.n_groups, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(parsed.groups[i], groups[i]);
    assert_int_equal(parsed.n_mounts, 3);
    assert_int_equal(parsed.mounts[0].fs, INITRAMFS_FS_PROC);
    assert_string_equal(parsed.mounts[0].target, "/proc");
    assert_int_equal(parsed.mounts[1].fs, INITRAMFS_FS_TMPFS);
    assert_string_equal(parsed.mounts[1].target, "/my dir/with spaces");
    assert_int_equal(parsed.mounts[2].fs, INITRAMFS_FS_DEVPTS);
    assert_string_equal(parsed.mounts[2].target, "/dev/pts");
    assert_int_equal(parsed.n_modules, 2);
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(parsed.modules[i], module_v[i]);
    assert_null(parsed.modules[2]);
    assert_int_equal(parsed.n_env, sizeof env_v / sizeof env_v[0]);
    for (size_t i = 0; i < parsed.n_env; i++)
        assert_string_equal(parsed.env[i], env_v[i]);
    assert_null(parsed.env[parsed.n_env]);
    assert_int_equal(parsed.argc, sizeof argv_v / sizeof argv_v[0]);
    for (size_t i = 0; i < parsed.argc; i++)
        assert_string_equal(parsed.argv[i], argv_v[i]);
    assert_null(parsed.argv[parsed.argc]);
    initramfs_plan_free(&parsed);
    free(text);
    tinyx_strvec_free(&mounts);
    tinyx_strvec_free(&modules);
    tinyx_strvec_free(&env);
    tinyx_strvec_free(&argv);
}

static void test_round_trip_every_byte(void **state)
{
    (void)state;
    /* One argument holding every byte 1..255. */
    char all[256];
    for (int c = 1; c < 256; c++)
        all[c - 1] = (char)c;
    all[255] = '\0';
    struct strvec argv = STRVEC_INIT;
    tinyx_strvec_push(&argv, "/bin/echo");
    tinyx_strvec_push(&argv, all);
    struct tinyx_plan plan = {.argv = &argv};
    char *text = tinyx_plan_render(&plan);
    struct initramfs_plan parsed;
    char err[256] = "";
    assert_int_equal(initramfs_plan_parse(text, strlen(text), &parsed, err, sizeof err), 0);
    assert_int_equal(parsed.argc, 2);
    assert_int_equal(strlen(parsed.argv[1]), 255);
    assert_memory_equal(parsed.argv[1], all, 255);
    initramfs_plan_free(&parsed);
    free(text);
    tinyx_strvec_free(&argv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_matches_the_init),
        cmocka_unit_test(test_render_full_plan),
        cmocka_unit_test(test_render_minimal_plan),
        cmocka_unit_test(test_round_trip_through_the_init),
        cmocka_unit_test(test_round_trip_every_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
