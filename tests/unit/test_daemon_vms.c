/* test_daemon_vms.c: when the daemon holds its pool refill back (launcher/daemon_vms.c): while a
 * create reply waits for its guest, and while an attached VM (`tinyx run --backend daemon`) has
 * not signalled its boot timer within its boot deadline; and the loop's timeout wakes it then. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "launcher/daemon_core.h"
#include "tinyx/util.h"

#define NOW      1000000000ull
#define DEADLINE (NOW + 10 * 1000 * 1000)

/* An attached VM whose guest is booting: execute record sent, reply gone out with its pipes. */
static void attached_shell(struct daemon_shell *sh)
{
    memset(sh, 0, sizeof(*sh));
    sh->tag = DAEMON_TAG_SHELL;
    sh->state = SHELL_BOOTING;
    sh->id = 7;
    sh->pid = 12345;
    sh->attach_client = 3;
    sh->timer_w = -1;
    sh->boot_deadline = DEADLINE;
}

static void one_shell(struct daemon *d, struct daemon_shell **list, struct daemon_shell *sh)
{
    memset(d, 0, sizeof(*d));
    list[0] = sh;
    d->shells = list;
    d->n_shells = 1;
}

static void test_idle_daemon(void **state)
{
    (void)state;
    struct daemon d;
    memset(&d, 0, sizeof(d));
    assert_false(daemon_vms_guest_booting(&d, NOW));
    d.pending_creates = 1; /* a create reply waits for its guest's boot-timer byte */
    assert_true(daemon_vms_guest_booting(&d, NOW));
}

static void test_attached_booting(void **state)
{
    (void)state;
    struct daemon d;
    struct daemon_shell sh, *list[1];
    attached_shell(&sh);
    one_shell(&d, list, &sh);
    assert_true(daemon_vms_guest_booting(&d, NOW));
    sh.state = SHELL_STARTING; /* record sent, vCPU not started yet */
    assert_true(daemon_vms_guest_booting(&d, NOW));
}

static void test_attached_not_booting(void **state)
{
    (void)state;
    struct daemon d;
    struct daemon_shell sh, *list[1];
    one_shell(&d, list, &sh);

    attached_shell(&sh);
    sh.state = SHELL_RUNNING; /* its boot-timer byte came */
    sh.t_boot = NOW - 1;
    assert_false(daemon_vms_guest_booting(&d, NOW));

    attached_shell(&sh); /* no byte by its deadline: the refill goes on */
    assert_false(daemon_vms_guest_booting(&d, DEADLINE));

    attached_shell(&sh);
    sh.dead = true;
    assert_false(daemon_vms_guest_booting(&d, NOW));

    attached_shell(&sh);
    sh.destroying = true;
    assert_false(daemon_vms_guest_booting(&d, NOW));

    attached_shell(&sh); /* not attached: its create reply (pending_creates) is what counts */
    sh.attach_client = 0;
    assert_false(daemon_vms_guest_booting(&d, NOW));

    attached_shell(&sh); /* a pooled shell */
    sh.id = 0;
    sh.state = SHELL_READY;
    sh.attach_client = 0;
    assert_false(daemon_vms_guest_booting(&d, NOW));
}

/* The loop sleeps at most until the attached guest's boot deadline, so that a guest which never
 * signals holds the refill back no longer than that. */
static void test_tick_wakes_at_boot_deadline(void **state)
{
    (void)state;
    struct daemon d;
    struct daemon_shell sh, *list[1];
    attached_shell(&sh);
    one_shell(&d, list, &sh);
    uint64_t now = tinyx_now_us();
    sh.boot_deadline = now - 1; /* passed: nothing to wake for */
    assert_int_equal(daemon_vms_tick(&d), -1);
    sh.boot_deadline = now + 5000 * 1000;
    int ms = daemon_vms_tick(&d);
    assert_true(ms > 0 && ms <= 5000);
    sh.state = SHELL_RUNNING;
    sh.t_boot = now;
    assert_int_equal(daemon_vms_tick(&d), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_daemon),
        cmocka_unit_test(test_attached_booting),
        cmocka_unit_test(test_attached_not_booting),
        cmocka_unit_test(test_tick_wakes_at_boot_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
