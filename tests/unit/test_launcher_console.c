/* test_launcher_console.c: the guest console kept in memory: exit line, panic, incremental find. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "launcher/console.h"

static void feed(struct launcher_console *c, const char *text)
{
    launcher_console_append(c, text, strlen(text));
}

static int exit_status_of(const char *text)
{
    struct launcher_console c;
    launcher_console_init(&c, 4096);
    feed(&c, text);
    int status = launcher_console_exit_status(&c);
    launcher_console_free(&c);
    return status;
}

static void test_exit_line_on_its_own_line(void **state)
{
    (void)state;
    assert_int_equal(exit_status_of("booting\r\ntinyx-init: exit status 0\r\n"), 0);
    assert_int_equal(exit_status_of("tinyx-init: exit status 42\n"), 42);
    /* the console was cut right after the number (the VM ended) */
    assert_int_equal(exit_status_of("x\ntinyx-init: exit status 7"), 7);
}

static void test_exit_line_glued_to_app_output(void **state)
{
    (void)state;
    /* The app's last output had no newline: the init's line follows it on the same line. */
    assert_int_equal(exit_status_of("Hello, world!tinyx-init: exit status 0\r\n"), 0);
    assert_int_equal(exit_status_of("[    1.2] partial outputtinyx-init: exit status 3\n"), 3);
    assert_int_equal(exit_status_of("no newline at all>tinyx-init: exit status 255"), 255);
}

static void test_exit_line_rejects_lookalikes(void **state)
{
    (void)state;
    assert_int_equal(exit_status_of("nothing here\n"), -1);
    assert_int_equal(exit_status_of("tinyx-init: exit status \n"), -1);
    assert_int_equal(exit_status_of("tinyx-init: exit status x1\n"), -1);
    assert_int_equal(exit_status_of("tinyx-init: exit status 12abc\n"), -1);
    assert_int_equal(exit_status_of("tinyx-init: exit status 256\n"), -1);
    assert_int_equal(exit_status_of("tinyx-init: exit status -1\n"), -1);
}

static void test_exit_line_last_one_wins(void **state)
{
    (void)state;
    /* An app that printed a look-alike line earlier does not mask the init's real one. */
    assert_int_equal(
        exit_status_of("tinyx-init: exit status 9\nmore\nokaytinyx-init: exit status 1\n"), 1);
}

static void test_exit_line_split_across_appends(void **state)
{
    (void)state;
    struct launcher_console c;
    launcher_console_init(&c, 4096);
    feed(&c, "Hello!tinyx-in");
    assert_int_equal(launcher_console_exit_status(&c), -1);
    feed(&c, "it: exit sta");
    feed(&c, "tus 4\r\n");
    assert_int_equal(launcher_console_exit_status(&c), 4);
    launcher_console_free(&c);
}

static void test_panic_line(void **state)
{
    (void)state;
    struct launcher_console c;
    launcher_console_init(&c, 4096);
    feed(&c, "[    0.1] Run /init as init process\r\n");
    char line[128] = "unchanged";
    assert_false(launcher_console_panic(&c, line, sizeof(line)));
    assert_string_equal(line, "unchanged");
    feed(&c, "[    1.283773] Kernel panic - not syncing: VFS: Unable to mount root fs on "
             "unknown-block(0,0)\r\n[    1.284] CPU: 0 PID: 1\r\n");
    assert_true(launcher_console_panic(&c, line, sizeof(line)));
    assert_string_equal(line, "Kernel panic - not syncing: VFS: Unable to mount root fs on "
                              "unknown-block(0,0)");
    /* The first panic is the cause; the end marker repeats it and is not reported. */
    feed(&c, "---[ end Kernel panic - not syncing: something else ]---\r\n");
    assert_true(launcher_console_panic(&c, line, sizeof(line)));
    assert_non_null(strstr(line, "VFS"));
    /* shortened to the buffer */
    char small[16];
    assert_true(launcher_console_panic(&c, small, sizeof(small)));
    assert_string_equal(small, "Kernel panic - ");
    assert_true(launcher_console_panic(&c, NULL, 0));
    launcher_console_free(&c);
}

static void test_panic_without_newline_and_unprintable(void **state)
{
    (void)state;
    struct launcher_console c;
    launcher_console_init(&c, 4096);
    feed(&c, "Kernel panic - not syncing: Attempted to kill init!\texitcode=0x00000100");
    char line[128];
    assert_true(launcher_console_panic(&c, line, sizeof(line)));
    assert_string_equal(line,
                        "Kernel panic - not syncing: Attempted to kill init!?exitcode=0x00000100");
    launcher_console_free(&c);

    /* Words alone do not make a panic. */
    launcher_console_init(&c, 4096);
    feed(&c, "app: Kernel panic simulator ready\n");
    assert_false(launcher_console_panic(&c, line, sizeof(line)));
    launcher_console_free(&c);
}

static void test_find_at_follows_several_needles(void **state)
{
    (void)state;
    struct launcher_console c;
    launcher_console_init(&c, 4096);
    size_t panic_cursor = 0;
    feed(&c, "Welcome to ng");
    assert_false(launcher_console_find(&c, "Welcome to nginx!"));
    assert_false(launcher_console_find_at(&c, LAUNCHER_CONSOLE_PANIC, &panic_cursor));
    feed(&c, "inx! Kernel pan");
    /* The output check's cursor and the panic cursor are independent. */
    assert_true(launcher_console_find(&c, "Welcome to nginx!"));
    assert_false(launcher_console_find_at(&c, LAUNCHER_CONSOLE_PANIC, &panic_cursor));
    feed(&c, "ic - not syncing: x\n");
    assert_true(launcher_console_find_at(&c, LAUNCHER_CONSOLE_PANIC, &panic_cursor));
    /* Each call scans only new text: the same match is not found twice. */
    feed(&c, "later\n");
    assert_false(launcher_console_find_at(&c, LAUNCHER_CONSOLE_PANIC, &panic_cursor));
    assert_false(launcher_console_find(&c, "Welcome to nginx!"));
    launcher_console_free(&c);
}

static void test_find_at_survives_dropping_old_text(void **state)
{
    (void)state;
    struct launcher_console c;
    launcher_console_init(&c, 4096); /* the minimum kept */
    size_t cursor = 0;
    char filler[1000];
    memset(filler, 'x', sizeof(filler) - 1);
    filler[sizeof(filler) - 1] = '\0';
    for (int i = 0; i < 20; i++) {
        feed(&c, filler);
        assert_false(launcher_console_find_at(&c, "NEEDLE", &cursor));
    }
    assert_true(c.dropped > 0);
    feed(&c, "NEE");
    feed(&c, "DLE");
    assert_true(launcher_console_find_at(&c, "NEEDLE", &cursor));
    launcher_console_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_line_on_its_own_line),
        cmocka_unit_test(test_exit_line_glued_to_app_output),
        cmocka_unit_test(test_exit_line_rejects_lookalikes),
        cmocka_unit_test(test_exit_line_last_one_wins),
        cmocka_unit_test(test_exit_line_split_across_appends),
        cmocka_unit_test(test_panic_line),
        cmocka_unit_test(test_panic_without_newline_and_unprintable),
        cmocka_unit_test(test_find_at_follows_several_needles),
        cmocka_unit_test(test_find_at_survives_dropping_old_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
