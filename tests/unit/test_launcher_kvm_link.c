/* test_launcher_kvm_link.c: `tinyx-launch run --backend kvm` for an app with ports, against a
 * scripted fake tinyx-kvm in a network namespace of its own: the automatic host link (a txkN tap
 * with a /30, handed over as descriptor 5, gone with the VM), --net ip= instead, where the check
 * and the report point, and the refusal without CAP_NET_ADMIN. */
/* needs: kvm (the backend's prepare() wants a usable /dev/kvm; tests/run-unit runs it in L1) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/commands.h"
#include "launcher/hostinfo.h"
#include "launcher/vmm.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"
#include "vmm_test_elf.h"

static char *tmp_dir, *fake_dir, *img;
static bool can_test;
static char why_not[256];
static int saved_netns = -1;

/* The fake tinyx-kvm: records its arguments (args.N), what descriptor 5 is (fd5.N) and the
 * host's IPv4 addresses as `ip` shows them (addrs.N), signals the boot timer and serves until
 * stopped (a server). */
static const char fake_kvm[] = "#!/bin/sh\n"
                               "d=$FAKE_KVM_DIR\n"
                               "n=$(( $(cat \"$d/count\" 2>/dev/null || echo 0) + 1 ))\n"
                               "echo \"$n\" >\"$d/count\"\n"
                               "for a in \"$@\"; do printf '%s\\n' \"$a\"; done >\"$d/args.$n\"\n"
                               "readlink /proc/$$/fd/5 >\"$d/fd5.$n\" 2>&1\n"
                               "ip -o -4 addr show >\"$d/addrs.$n\" 2>&1\n"
                               "printf '{' >&3\n"
                               "printf 'serving\\r\\n'\n"
                               "exec sleep 30\n";

static const char manifest[] =
    "{\"format\":1,\"name\":\"srv\",\"app\":{\"ports\":[8080],\"check\":null},\"initrd\":null}";

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static int setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/test-launcher-kvm-link-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    tmp_dir = realpath(tmpl, NULL);
    fake_dir = tinyx_xasprintf("%s/fake", tmp_dir);
    assert_int_equal(mkdir(fake_dir, 0755), 0);
    char *script = tinyx_xasprintf("%s/tinyx-kvm", tmp_dir);
    write_file(script, fake_kvm, strlen(fake_kvm), 0755);
    setenv("TINYX_KVM", script, 1);
    setenv("FAKE_KVM_DIR", fake_dir, 1);
    /* nothing else may be picked or run: no daemon, no QEMU */
    char *none = tinyx_xasprintf("%s/none", tmp_dir);
    setenv("TINYX_DAEMON_SOCKET", none, 1);
    setenv("TINYX_QEMU", none, 1);
    free(none);
    free(script);

    /* a PVH test kernel: one 64 KiB segment at 1 MiB */
    static const uint32_t entry = 0x100000;
    static uint8_t code[4096] = {0xf4};
    struct test_note pvh = test_pvh_note(&entry);
    struct test_segment seg = {
        .paddr = 0x100000, .data = code, .filesz = sizeof(code), .memsz = 0x10000};
    uint8_t elf[TEST_ELF_MAX];
    size_t len = test_elf_build(elf, true, &seg, 1, &pvh, 1);
    img = tinyx_xasprintf("%s/srv", tmp_dir);
    assert_int_equal(mkdir(img, 0755), 0);
    char *path = tinyx_xasprintf("%s/kernel", img);
    write_file(path, elf, len, 0644);
    free(path);
    path = tinyx_xasprintf("%s/cmdline", img);
    write_file(path, "console=ttyS0", 13, 0644);
    free(path);
    path = tinyx_xasprintf("%s/manifest.json", img);
    write_file(path, manifest, strlen(manifest), 0644);
    free(path);

    /* a network of our own, so the tap's number and index are known: lo 1, txk0 2 */
    if (launcher_host_kvm(why_not, sizeof(why_not)) == LAUNCHER_KVM_MISSING)
        return 0;
    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) < 0) {
        snprintf(why_not, sizeof(why_not), "taps need root and /dev/net/tun");
        return 0;
    }
    saved_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved_netns < 0 || unshare(CLONE_NEWNET) < 0) {
        snprintf(why_not, sizeof(why_not), "no network namespace of our own");
        return 0;
    }
    can_test = true;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (saved_netns >= 0) {
        assert_int_equal(setns(saved_netns, CLONE_NEWNET), 0);
        close(saved_netns);
    }
    tinyx_rm_rf(tmp_dir);
    free(tmp_dir);
    free(fake_dir);
    free(img);
    return 0;
}

#define SKIP_UNLESS_TESTABLE()                                                                     \
    do {                                                                                           \
        if (!can_test) {                                                                           \
            printf("SKIP: %s\n", why_not);                                                         \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static char *read_back(FILE *f)
{
    fflush(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *text = tinyx_xcalloc(1, (size_t)size + 1);
    size_t got = fread(text, 1, (size_t)size, f);
    text[got] = '\0';
    fclose(f);
    return text;
}

struct launch {
    int rc;
    json_t *json;
    char *err;
};

/* `tinyx-launch run IMG [--quiet] --json --until-ready --timeout 20 ARGS...` in this process. */
static struct launch launch(bool quiet, const char *first, ...)
{
    const char *argv[32] = {"run", img, "--json", "--until-ready", "--timeout", "20"};
    int argc = 6;
    if (quiet)
        argv[argc++] = "--quiet";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    FILE *out = tmpfile(), *e = tmpfile();
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
    dup2(fileno(out), STDOUT_FILENO);
    dup2(fileno(e), STDERR_FILENO);
    struct launch l = {0};
    l.rc = launcher_run_command(argc, (char **)argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    char *text = read_back(out);
    l.err = read_back(e);
    l.json = text[0] ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return l;
}

static void launch_free(struct launch *l)
{
    json_decref(l->json);
    free(l->err);
}

static void assert_contains(const char *text, const char *part)
{
    if (!text || !strstr(text, part))
        fail_msg("expected \"%s\" in \"%s\"", part, text ? text : "(null)");
}

static char *fake_file(const char *what, int n)
{
    char *path = tinyx_xasprintf("%s/%s.%d", fake_dir, what, n);
    char *text = tinyx_read_file(path, NULL);
    if (!text)
        fail_msg("the fake monitor wrote no %s", path);
    free(path);
    return text;
}

static int fake_runs(void)
{
    char *path = tinyx_xasprintf("%s/count", fake_dir);
    char *text = tinyx_read_file(path, NULL);
    int n = text ? atoi(text) : 0;
    free(text);
    free(path);
    return n;
}

static const json_t *first_port(const struct launch *l)
{
    const json_t *p = json_array_get(json_object_get(l->json, "ports"), 0);
    if (!p)
        fail_msg("no ports in the report: %s", l->err);
    return p;
}

/* No --net: the launcher makes tap txk0 (index 2: 100.64.0.8/30), gives it .9, hands it to the
 * monitor as descriptor 5 with the guest's .10 for the device page and the command line; the
 * report points at .10:8080; the tap is gone with the VM. */
static void test_automatic_link(void **state)
{
    (void)state;
    SKIP_UNLESS_TESTABLE();
    int n = fake_runs() + 1;
    struct launch l = launch(true, "--backend", "kvm", NULL);
    if (l.rc != 0)
        fail_msg("rc %d: %s", l.rc, l.err);
    char *args = fake_file("args", n);
    assert_contains(args, "\n--net=txk0,fd=5,ip=100.64.0.10/30,gw=100.64.0.9\n");
    /* the address comes from the device page; the resolver (which it has no field for) is the
     * host's side */
    assert_null(strstr(args, "tinyx.ip="));
    assert_contains(args, "panic=-1 reboot=t tinyx.dns=100.64.0.9\n");
    char *fd5 = fake_file("fd5", n);
    assert_contains(fd5, "/dev/net/tun");
    char *addrs = fake_file("addrs", n);
    if (!strstr(addrs, "not found")) { /* `ip` may be missing */
        assert_contains(addrs, "txk0");
        assert_contains(addrs, "inet 100.64.0.9/30");
    }
    const json_t *p = first_port(&l);
    assert_int_equal(json_integer_value(json_object_get(p, "guest")), 8080);
    assert_string_equal(json_string_value(json_object_get(p, "addr")), "100.64.0.10");
    assert_int_equal(json_integer_value(json_object_get(p, "port")), 8080);
    assert_null(json_object_get(p, "host"));
    assert_int_equal(if_nametoindex("txk0"), 0);
    free(addrs);
    free(fd5);
    free(args);
    launch_free(&l);

    /* without --backend, as root: kvm, and it says why */
    n = fake_runs() + 1;
    l = launch(true, NULL);
    if (l.rc != 0)
        fail_msg("rc %d: %s", l.rc, l.err);
    assert_string_equal(json_string_value(json_object_get(l.json, "backend")), "kvm");
    assert_contains(json_string_value(json_object_get(l.json, "backend_reason")),
                    "the app's ports go on a tap link of its own");
    assert_int_equal(fake_runs(), n);
    launch_free(&l);
}

/* --net with ip=: no link of the launcher's; the ports are at that address. */
static void test_net_with_address(void **state)
{
    (void)state;
    SKIP_UNLESS_TESTABLE();
    int n = fake_runs() + 1;
    struct launch l =
        launch(true, "--backend", "kvm", "--net", "tnet0,ip=10.7.0.2/24,gw=10.7.0.1", NULL);
    if (l.rc != 0)
        fail_msg("rc %d: %s", l.rc, l.err);
    char *args = fake_file("args", n);
    assert_contains(args, "\n--net=tnet0,ip=10.7.0.2/24,gw=10.7.0.1\n");
    assert_null(strstr(args, "txk"));
    assert_null(strstr(args, "fd=5"));
    assert_null(strstr(args, "tinyx.ip="));  /* the device page carries it */
    assert_null(strstr(args, "tinyx.dns=")); /* the user's network: the image's resolver */
    const json_t *p = first_port(&l);
    assert_string_equal(json_string_value(json_object_get(p, "addr")), "10.7.0.2");
    assert_int_equal(json_integer_value(json_object_get(p, "port")), 8080);
    free(args);
    launch_free(&l);
}

/* Without CAP_NET_ADMIN: --backend kvm says so (exit 6), before any monitor runs; the
 * automatic choice passes kvm over for that reason. */
static void test_without_net_admin(void **state)
{
    (void)state;
    SKIP_UNLESS_TESTABLE();
    int before = fake_runs();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[2];
        if (syscall(SYS_capget, &hdr, data) < 0)
            _exit(90);
        data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
        if (syscall(SYS_capset, &hdr, data) < 0)
            _exit(91);
        struct launch l = launch(true, "--backend", "kvm", NULL);
        bool said = strstr(l.err, "needs CAP_NET_ADMIN (run as root)") != NULL;
        if (l.rc != TINYX_EXIT_ENV || !said) {
            fprintf(stderr, "forced kvm: rc %d: %s\n", l.rc, l.err);
            _exit(92);
        }
        launch_free(&l);
        tinyx_verbosity = 1;     /* --quiet above lowered it */
        l = launch(false, NULL); /* not quiet: the choice is said on stderr */
        said = strstr(l.err, "backend qemu (the app's ports need a tap network, which needs "
                             "CAP_NET_ADMIN (run as root))") != NULL;
        if (!said) {
            fprintf(stderr, "automatic: rc %d: %s\n", l.rc, l.err);
            _exit(93);
        }
        launch_free(&l);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(fake_runs(), before);
}

int main(void)
{
    tinyx_progname = "tinyx-launch";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_automatic_link),
        cmocka_unit_test(test_net_with_address),
        cmocka_unit_test(test_without_net_admin),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
