/* test_vmm_run.c: whole tinyx-kvm runs of tiny hand-assembled guests on this host's KVM. */
/* needs: kvm (tests/run-unit runs it in a nested L1 where this host has no usable /dev/kvm) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "initramfs/boot_abi.h"
#include "launcher/vmm.h"
#include "tests/unit/vmm_test_elf.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

static char *tmp_dir;
static const char *skip_reason;

static int setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/test-vmm-run-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    tmp_dir = tinyx_xstrdup(tmpl);
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        skip_reason = "/dev/kvm cannot be opened here: no KVM to run guests on";
    else
        close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tinyx_rm_rf(tmp_dir);
    free(tmp_dir);
    return 0;
}

#define SKIP_WITHOUT_KVM()                                                                         \
    do {                                                                                           \
        if (skip_reason) {                                                                         \
            printf("SKIP: %s\n", skip_reason);                                                     \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* 32-bit guest code, entered at 1 MiB in protected mode (no paging). */
#define OUT_DX_AL    0xee
#define SET_DX(port) 0x66, 0xba, (uint8_t)((port)&0xff), (uint8_t)((port) >> 8)
#define SET_AL(v)    0xb0, (uint8_t)(v)

/* Console "hi\n", the boot-timer byte, then status 7 on the exit port. */
static const uint8_t guest_status[] = {
    SET_DX(0x3f8),
    SET_AL('h'),
    OUT_DX_AL,
    SET_AL('i'),
    OUT_DX_AL,
    SET_AL('\n'),
    OUT_DX_AL,
    SET_DX(BOOT_ABI_TIMER_PORT),
    SET_AL(BOOT_ABI_TIMER_READY),
    OUT_DX_AL,
    SET_DX(BOOT_ABI_EXIT_PORT),
    SET_AL(7),
    OUT_DX_AL,
    0xf4,
    0xeb,
    0xfd, /* hlt; jmp hlt */
};
static const uint8_t guest_hlt[] = {0xfa, 0xf4, 0xeb, 0xfd};  /* cli; hlt */
static const uint8_t guest_spin[] = {0xeb, 0xfe};             /* jmp . */
static const uint8_t guest_idle[] = {0xfb, 0xf4, 0xeb, 0xfd}; /* sti; hlt; jmp hlt */
static const uint8_t guest_ud2[] = {0x0f, 0x0b};              /* #UD with no IDT */

static char *guest_file(const char *name, const uint8_t *code, size_t len, bool linux_note)
{
    static const uint32_t entry = 0x100000;
    struct test_segment seg = {.paddr = 0x100000, .data = code, .filesz = len, .memsz = 0x1000};
    struct test_note notes[2] = {test_pvh_note(&entry),
                                 {.name = "Linux", .type = 0x100, .desc = "salt", .descsz = 4}};
    static uint8_t buf[TEST_ELF_MAX];
    size_t n = test_elf_build(buf, false, &seg, 1, notes, linux_note ? 2 : 1);
    return test_write_file(tmp_dir, name, buf, n);
}

struct run {
    struct launcher_vmm_config cfg;
    struct launcher_vmm v;
    int console[2], timer[2];
    int rc;
    char console_text[256];
};

/* Run a guest in this process (no sandbox: it would stay on the test process). */
static void run_guest(struct run *r, const char *kernel, unsigned timeout_ms)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(pipe2(r->console, O_NONBLOCK | O_CLOEXEC), 0);
    assert_int_equal(pipe2(r->timer, O_NONBLOCK | O_CLOEXEC), 0);
    r->cfg = (struct launcher_vmm_config){.kernel = kernel,
                                          .cmdline = "console=ttyS0",
                                          .mem_bytes = 16u << 20,
                                          .console_fd = r->console[1],
                                          .timer_fd = r->timer[1],
                                          .timeout_ms = timeout_ms,
                                          .no_sandbox = true};
    r->rc = launcher_vmm_run(&r->cfg, &r->v);
    ssize_t n = read(r->console[0], r->console_text, sizeof(r->console_text) - 1);
    r->console_text[n > 0 ? n : 0] = '\0';
}

static void run_free(struct run *r)
{
    for (int i = 0; i < 2; i++) {
        close(r->console[i]);
        close(r->timer[i]);
    }
}

static void test_exit_status_console_timer(void **state)
{
    (void)state;
    SKIP_WITHOUT_KVM();
    char *kernel = guest_file("status", guest_status, sizeof(guest_status), false);
    struct run r;
    run_guest(&r, kernel, 10000);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.v.end, LAUNCHER_VMM_EXIT_STATUS);
    assert_int_equal(r.v.exit_status, 7);
    assert_string_equal(r.console_text, "hi\n");
    uint8_t byte = 0;
    assert_int_equal(read(r.timer[0], &byte, 1), 1);
    assert_int_equal(byte, BOOT_ABI_TIMER_READY);
    /* The milestones are in order. */
    assert_true(r.v.t_start > 0);
    assert_true(r.v.t_created >= r.v.t_start);
    assert_true(r.v.t_first_run >= r.v.t_created);
    assert_true(r.v.t_boot_timer >= r.v.t_first_run);
    assert_true(r.v.t_end >= r.v.t_boot_timer);
    /* No module asked for interrupts. */
    assert_false(r.v.irqchip);
    run_free(&r);
    free(kernel);
}

static void test_halt(void **state)
{
    (void)state;
    SKIP_WITHOUT_KVM();
    char *kernel = guest_file("hlt", guest_hlt, sizeof(guest_hlt), false);
    struct run r;
    run_guest(&r, kernel, 10000);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.v.end, LAUNCHER_VMM_HALTED);
    assert_non_null(strstr(r.v.why, "halted (HLT)"));
    assert_int_equal(r.v.t_boot_timer, 0);
    run_free(&r);
    free(kernel);
}

/* HLT with interrupts on and no irqchip: the guest idles (the monitor sleeps) until stopped. */
static void test_idle_until_timeout(void **state)
{
    (void)state;
    SKIP_WITHOUT_KVM();
    char *kernel = guest_file("idle", guest_idle, sizeof(guest_idle), false);
    struct run r;
    uint64_t t0 = tinyx_now_us();
    run_guest(&r, kernel, 300);
    uint64_t took_ms = (tinyx_now_us() - t0) / 1000;
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.v.end, LAUNCHER_VMM_TIMEOUT);
    assert_non_null(strstr(r.v.why, "it is halted (HLT), waiting for an interrupt"));
    assert_false(r.v.irqchip);
    assert_true(took_ms >= 250);
    assert_true(took_ms < 5000);
    run_free(&r);
    free(kernel);
}

static void test_triple_fault(void **state)
{
    (void)state;
    SKIP_WITHOUT_KVM();
    char *kernel = guest_file("ud2", guest_ud2, sizeof(guest_ud2), false);
    struct run r;
    run_guest(&r, kernel, 10000);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.v.end, LAUNCHER_VMM_HALTED);
    assert_non_null(strstr(r.v.why, "triple-faulted"));
    /* The vCPU state at the fault, or on AMD SVM the state KVM already reset it to (the
     * shutdown intercept re-INITs the vCPU before the exit reaches the monitor). */
    assert_true(strstr(r.v.why, "rip 0x100000") || strstr(r.v.why, "rip 0xfff0, real mode"));
    run_free(&r);
    free(kernel);
}

static void test_timeout(void **state)
{
    (void)state;
    SKIP_WITHOUT_KVM();
    char *kernel = guest_file("spin", guest_spin, sizeof(guest_spin), false);
    struct run r;
    uint64_t t0 = tinyx_now_us();
    run_guest(&r, kernel, 300);
    uint64_t took_ms = (tinyx_now_us() - t0) / 1000;
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.v.end, LAUNCHER_VMM_TIMEOUT);
    assert_non_null(strstr(r.v.why, "within 300 ms"));
    assert_non_null(strstr(r.v.why, "never signalled the boot timer"));
    assert_true(took_ms >= 250);
    assert_true(took_ms < 5000);
    run_free(&r);
    free(kernel);
}

static void test_bad_kernel_and_memory(void **state)
{
    (void)state;
    /* These fail before KVM is touched, so they run everywhere. */
    char *missing = tinyx_xasprintf("%s/missing", tmp_dir);
    struct run r;
    run_guest(&r, missing, 1000);
    assert_int_equal(r.rc, TINYX_EXIT_IMAGE);
    assert_int_equal(r.v.end, LAUNCHER_VMM_RUNNING);
    run_free(&r);
    free(missing);
    char *kernel = guest_file("ok", guest_spin, sizeof(guest_spin), false);
    memset(&r, 0, sizeof(r));
    r.cfg = (struct launcher_vmm_config){
        .kernel = kernel, .mem_bytes = 1u << 20, .console_fd = -1, .timer_fd = -1};
    assert_int_equal(launcher_vmm_run(&r.cfg, &r.v), TINYX_EXIT_USAGE);
    free(kernel);
}

/* The refusal itself, in a child: on a host whose /dev/kvm is not kvm_pvm, the child gets a
 * private mount namespace where /sys/module shows a kvm_pvm folder, which is all the monitor
 * looks at (launcher/vmm.c); the KVM under it is real. Exit 0: refused as it should be. */
static int refused_in_child(const char *kernel)
{
    if (!tinyx_is_dir("/sys/module/kvm_pvm")) {
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("tmpfs", "/sys/module", "tmpfs", 0, "size=64k") != 0 ||
            mkdir("/sys/module/kvm_pvm", 0755) != 0) {
            printf("cannot show a kvm_pvm module in a private mount namespace: %s (needs root)\n",
                   strerror(errno));
            return 2;
        }
    }
    struct run r;
    run_guest(&r, kernel, 10000);
    int ok = r.rc == TINYX_EXIT_ENV && r.v.end == LAUNCHER_VMM_RUNNING && r.v.t_created == 0;
    if (!ok)
        printf("rc %d, end %d, t_created %llu: want %d, %d (refused before any VM), 0\n", r.rc,
               (int)r.v.end, (unsigned long long)r.v.t_created, TINYX_EXIT_ENV,
               (int)LAUNCHER_VMM_RUNNING);
    run_free(&r);
    return ok ? 0 : 1;
}

/* Runs with or without a usable /dev/kvm: the refusal comes before the monitor opens it. */
static void test_linux_on_pvm_refused(void **state)
{
    (void)state;
    char *kernel = guest_file("linux", guest_status, sizeof(guest_status), true);
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int rc = refused_in_child(kernel);
        fflush(stdout);
        _exit(rc);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    free(kernel);
}

static void test_twice_in_one_process(void **state)
{
    (void)state;
    SKIP_WITHOUT_KVM();
    /* The core keeps per-process state (signal handlers, helper threads): a second VM after
     * the first must work the same. */
    char *kernel = guest_file("again", guest_status, sizeof(guest_status), false);
    for (int i = 0; i < 2; i++) {
        struct run r;
        run_guest(&r, kernel, 10000);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.v.exit_status, 7);
        run_free(&r);
    }
    free(kernel);
}

static void test_sandboxed_in_child(void **state)
{
    (void)state;
    SKIP_WITHOUT_KVM();
    /* The seccomp filter stays on the process, so the sandboxed run happens in a child: the
     * guest must still reach its exit port (every call the core makes is allowed). */
    char *kernel = guest_file("sandboxed", guest_status, sizeof(guest_status), false);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct run r;
        memset(&r, 0, sizeof(r));
        r.cfg = (struct launcher_vmm_config){.kernel = kernel,
                                             .mem_bytes = 16u << 20,
                                             .console_fd = -1,
                                             .timer_fd = -1,
                                             .timeout_ms = 10000};
        int rc = launcher_vmm_run(&r.cfg, &r.v);
        _exit(rc != 0 ? 100 + rc : r.v.end == LAUNCHER_VMM_EXIT_STATUS ? r.v.exit_status : 99);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("the sandboxed monitor died from signal %d", WTERMSIG(status));
    assert_int_equal(WEXITSTATUS(status), 7);
    free(kernel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_status_console_timer),
        cmocka_unit_test(test_halt),
        cmocka_unit_test(test_idle_until_timeout),
        cmocka_unit_test(test_triple_fault),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_bad_kernel_and_memory),
        cmocka_unit_test(test_linux_on_pvm_refused),
        cmocka_unit_test(test_twice_in_one_process),
        cmocka_unit_test(test_sandboxed_in_child),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
