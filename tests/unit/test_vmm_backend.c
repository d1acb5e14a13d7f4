/* test_vmm_backend.c: how the KVM backend reads tinyx-kvm's end (exit code, end line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>

#include "launcher/backend.h"
#include "launcher/backend_kvm.h"
#include "launcher/vmm.h"

/* A wait status for "exited with code". */
static int exited(int code)
{
    return (code & 0xff) << 8;
}

static struct launcher_vm_end end_of(const char *log, int wait_status)
{
    struct launcher_vm_end end = {.kind = -1, .code = -1};
    assert_int_equal(launcher_backend_kvm_end(log, wait_status, &end), 0);
    return end;
}

static void test_status(void **state)
{
    (void)state;
    struct launcher_vm_end e = end_of(LAUNCHER_VMM_END_LINE "status 0\n", exited(0));
    assert_int_equal(e.kind, LAUNCHER_VM_END_STATUS);
    assert_int_equal(e.code, 0);
    /* Status 5 is also "halted"'s exit code: the line decides. */
    e = end_of("guest said things\n" LAUNCHER_VMM_END_LINE "status 5\n", exited(5));
    assert_int_equal(e.kind, LAUNCHER_VM_END_STATUS);
    assert_int_equal(e.code, 5);
    e = end_of(LAUNCHER_VMM_END_LINE "status 255\n", exited(255));
    assert_int_equal(e.kind, LAUNCHER_VM_END_STATUS);
    assert_int_equal(e.code, 255);
}

static void test_other_ends(void **state)
{
    (void)state;
    struct launcher_vm_end e =
        end_of(LAUNCHER_VMM_END_LINE "halted: the guest triple-faulted (rip 0x1)\n", exited(5));
    assert_int_equal(e.kind, LAUNCHER_VM_END_RESET);
    e = end_of("tinyx-kvm: error: KVM_RUN failed\n" LAUNCHER_VMM_END_LINE "failed: KVM_RUN\n",
               exited(1));
    assert_int_equal(e.kind, LAUNCHER_VM_END_VMM_FAILED);
    assert_int_equal(e.code, 1);
    e = end_of(LAUNCHER_VMM_END_LINE "failed: the VM did not start (exit code 6)\n", exited(6));
    assert_int_equal(e.kind, LAUNCHER_VM_END_VMM_FAILED);
    assert_int_equal(e.code, 6);
    e = end_of(LAUNCHER_VMM_END_LINE "timeout: slow\n", exited(7));
    assert_int_equal(e.kind, LAUNCHER_VM_END_VMM_FAILED);
    assert_int_equal(e.code, 7);
}

static void test_no_line_or_signal(void **state)
{
    (void)state;
    /* No end line: the monitor broke before it could say; its exit code is all there is. */
    struct launcher_vm_end e = end_of("", exited(0));
    assert_int_equal(e.kind, LAUNCHER_VM_END_VMM_FAILED);
    e = end_of(NULL, exited(3));
    assert_int_equal(e.kind, LAUNCHER_VM_END_VMM_FAILED);
    assert_int_equal(e.code, 3);
    /* A line in the middle of another line does not count. */
    e = end_of("the guest printed " LAUNCHER_VMM_END_LINE "status 0", exited(1));
    assert_int_equal(e.kind, LAUNCHER_VM_END_VMM_FAILED);
    /* The last line wins. */
    e = end_of(LAUNCHER_VMM_END_LINE "status 1\n" LAUNCHER_VMM_END_LINE "status 2\n", exited(2));
    assert_int_equal(e.code, 2);
    /* Killed. */
    e = end_of(LAUNCHER_VMM_END_LINE "status 0\n", SIGKILL);
    assert_int_equal(e.kind, LAUNCHER_VM_END_KILLED);
    assert_int_equal(e.code, SIGKILL);
}

static void test_registered(void **state)
{
    (void)state;
    assert_non_null(launcher_backend_find("kvm"));
    assert_string_equal(launcher_backend_find("kvm")->name, "kvm");
    /* QEMU stays the default: it is the one that boots Linux everywhere. */
    assert_string_equal(launcher_backend_default()->name, "qemu");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_other_ends),
        cmocka_unit_test(test_no_line_or_signal),
        cmocka_unit_test(test_registered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
