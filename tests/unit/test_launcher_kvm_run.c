/* test_launcher_kvm_run.c: `tinyx-launch run --backend kvm` against a scripted fake tinyx-kvm:
 * the monitor's arguments for --net/--blk, and the kernels and initrds refused before it runs. */
/* needs: kvm (tests/run-unit runs it in a nested L1 where this host has no usable /dev/kvm) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/commands.h"
#include "launcher/hostinfo.h"
#include "launcher/vmm.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"
#include "vmm_test_elf.h"

static char *tmp_dir;  /* everything this test writes; an absolute path without symlinks */
static char *fake_dir; /* where the fake monitor records its runs */
static bool kvm_here;  /* /dev/kvm opens: the backend's prepare() passes */
static char kvm_why[256];

/* The backend refuses to start without KVM: its runs cannot be tried. */
#define SKIP_WITHOUT_KVM()                                                                         \
    do {                                                                                           \
        if (!kvm_here) {                                                                           \
            printf("SKIP: no KVM here (%s): the kvm backend's runs are not tried\n", kvm_why);     \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* The fake tinyx-kvm: records its arguments (one per line) in args.N for run N, writes the
 * boot-timer byte, greets on the console and ends like the real one: status 0. */
static const char fake_kvm[] = "#!/bin/sh\n"
                               "d=$FAKE_KVM_DIR\n"
                               "n=$(( $(cat \"$d/count\" 2>/dev/null || echo 0) + 1 ))\n"
                               "echo \"$n\" >\"$d/count\"\n"
                               "for a in \"$@\"; do printf '%s\\n' \"$a\"; done >\"$d/args.$n\"\n"
                               "printf '{' >&3\n"
                               "printf 'Hello, world!\\r\\ntinyx-init: exit status 0\\r\\n'\n"
                               "echo '" LAUNCHER_VMM_END_LINE "status 0' >&2\n"
                               "exit 0\n";

static const char manifest[] =
    "{\"format\":1,\"name\":\"hello\",\"app\":{\"check\":{\"kind\":\"output\","
    "\"expect\":\"Hello, world!\"}},\"initrd\":null}";

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* A PVH ELF kernel: one 64 KiB segment at 1 MiB (4 KiB of it in the file) and the given notes. */
static size_t kernel_elf(uint8_t *elf, const struct test_note *notes, size_t n_notes)
{
    static uint8_t code[4096] = {0xf4}; /* hlt */
    struct test_segment seg = {
        .paddr = 0x100000, .data = code, .filesz = sizeof(code), .memsz = 0x10000};
    return test_elf_build(elf, true, &seg, 1, notes, n_notes);
}

/* An image directory NAME holding kernel (len bytes of elf) and, with initrd_bytes, an initrd
 * of that size (the manifest then names it). */
static char *make_image(const char *name, const uint8_t *elf, size_t len, size_t initrd_bytes)
{
    char *dir = tinyx_xasprintf("%s/%s", tmp_dir, name);
    tinyx_rm_rf(dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    char *path = tinyx_xasprintf("%s/kernel", dir);
    write_file(path, elf, len, 0644);
    free(path);
    path = tinyx_xasprintf("%s/cmdline", dir);
    write_file(path, "console=ttyS0", 13, 0644);
    free(path);
    path = tinyx_xasprintf("%s/manifest.json", dir);
    if (initrd_bytes) {
        char *with_initrd = tinyx_xstrdup(manifest);
        *strstr(with_initrd, ",\"initrd\":null") = '\0';
        char *text = tinyx_xasprintf("%s}", with_initrd);
        write_file(path, text, strlen(text), 0644);
        free(text);
        free(with_initrd);
        free(path);
        path = tinyx_xasprintf("%s/initrd", dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)initrd_bytes), 0);
        close(fd);
    } else {
        write_file(path, manifest, strlen(manifest), 0644);
    }
    free(path);
    return dir;
}

static int setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/test-launcher-kvm-run-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    tmp_dir = realpath(tmpl, NULL);
    assert_non_null(tmp_dir);
    fake_dir = tinyx_xasprintf("%s/fake", tmp_dir);
    assert_int_equal(mkdir(fake_dir, 0755), 0);
    char *script = tinyx_xasprintf("%s/tinyx-kvm", tmp_dir);
    write_file(script, fake_kvm, strlen(fake_kvm), 0755);
    setenv("TINYX_KVM", script, 1);
    setenv("FAKE_KVM_DIR", fake_dir, 1);
    free(script);
    kvm_here = launcher_host_kvm(kvm_why, sizeof(kvm_why)) != LAUNCHER_KVM_MISSING;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tinyx_rm_rf(tmp_dir);
    free(tmp_dir);
    free(fake_dir);
    unsetenv("TINYX_KVM");
    unsetenv("FAKE_KVM_DIR");
    return 0;
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

/* Whether the one-argument-per-line args of run n hold exactly arg. */
static bool run_had_arg(int n, const char *arg)
{
    char *path = tinyx_xasprintf("%s/args.%d", fake_dir, n);
    char *args = tinyx_read_file(path, NULL);
    free(path);
    assert_non_null(args);
    bool found = false;
    size_t len = strlen(arg);
    for (const char *line = args; *line && !found;) {
        const char *nl = strchr(line, '\n');
        if (!nl)
            break;
        found = (size_t)(nl - line) == len && !strncmp(line, arg, len);
        line = nl + 1;
    }
    free(args);
    return found;
}

static char *read_back(FILE *f)
{
    fflush(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    char *text = tinyx_xcalloc(1, (size_t)size + 1);
    size_t got = fread(text, 1, (size_t)size, f);
    text[got] = '\0';
    fclose(f);
    return text;
}

/* Run `tinyx-launch run IMAGE --backend kvm --quiet ARGS...` here; stderr in *err. */
static int launch(char **err, const char *image, ...)
{
    const char *argv[32] = {"run", image, "--backend", "kvm", "--quiet", "--timeout", "20"};
    int argc = 7;
    va_list ap;
    va_start(ap, image);
    for (const char *a; (a = va_arg(ap, const char *));) {
        assert_true(argc < 31);
        argv[argc++] = a;
    }
    va_end(ap);
    argv[argc] = NULL;
    FILE *out = tmpfile(), *e = tmpfile();
    assert_non_null(out);
    assert_non_null(e);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
    dup2(fileno(out), STDOUT_FILENO);
    dup2(fileno(e), STDERR_FILENO);
    int rc = launcher_run_command(argc, (char **)argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    free(read_back(out));
    *err = read_back(e);
    return rc;
}

static void assert_contains(const char *text, const char *part)
{
    if (!text || !strstr(text, part))
        fail_msg("expected \"%s\" in \"%s\"", part, text ? text : "(null)");
}

static void test_device_arguments(void **state)
{
    (void)state;
    SKIP_WITHOUT_KVM();
    static const uint32_t entry = 0x100000;
    struct test_note pvh = test_pvh_note(&entry);
    uint8_t elf[TEST_ELF_MAX];
    size_t len = kernel_elf(elf, &pvh, 1);
    char *img = make_image("devices", elf, len, 0);
    char sector[512] = {0};
    char *disk = tinyx_xasprintf("%s/disk.img", tmp_dir);
    char *odd = tinyx_xasprintf("%s/odd,rw", tmp_dir); /* a name that ends like a setting */
    write_file(disk, sector, sizeof(sector), 0644);
    write_file(odd, sector, sizeof(sector), 0644);
    char *disk_ro = tinyx_xasprintf("%s,ro", disk), *odd_rw = tinyx_xasprintf("%s,rw", odd);
    int before = fake_runs();
    char *err;
    /* bridge=lo: the launcher checks only that the bridge exists; the fake monitor opens no tap */
    int rc = launch(&err, img, "--net", "tap0", "--blk", disk_ro, "--net",
                    "tap1,mac=02:AA:bb:cc:dd:ee,bridge=lo", "--blk", odd_rw, NULL);
    if (rc != 0)
        fail_msg("rc %d: %s", rc, err);
    int n = before + 1;
    assert_int_equal(fake_runs(), n);
    assert_true(run_had_arg(n, "--net=tap0"));
    assert_true(run_had_arg(n, "--net=tap1,mac=02:aa:bb:cc:dd:ee,bridge=lo"));
    char *want = tinyx_xasprintf("--blk=%s,ro", disk);
    assert_true(run_had_arg(n, want));
    free(want);
    /* tinyx-kvm would read the name's own ",rw" as the mode: an explicit one follows */
    want = tinyx_xasprintf("--blk=%s,rw", odd);
    assert_true(run_had_arg(n, want));
    free(want);
    free(err);

    /* the devices arrive in the spec only when asked for */
    rc = launch(&err, img, NULL);
    assert_int_equal(rc, 0);
    assert_false(run_had_arg(n + 1, "--net=tap0"));
    free(err);
    free(disk_ro);
    free(odd_rw);
    free(disk);
    free(odd);
    free(img);
}

static void test_kernels_refused_before_the_monitor_runs(void **state)
{
    (void)state;
    SKIP_WITHOUT_KVM();
    static const uint32_t entry = 0x100000;
    uint8_t elf[TEST_ELF_MAX];
    struct test_note pvh = test_pvh_note(&entry);
    size_t len = kernel_elf(elf, &pvh, 1);
    int before = fake_runs();
    char *err;
    static const struct {
        const char *name;
        size_t keep; /* bytes of the kernel file kept */
        const char *says;
    } truncated[] = {
        {"cut-in-segment", 0, "segment 0 needs bytes up to offset"},
        {"cut-in-phdrs", 100, "its program headers end at offset"},
        {"cut-in-header", 40, "shorter than an ELF header"},
    };
    for (size_t i = 0; i < sizeof(truncated) / sizeof(truncated[0]); i++) {
        size_t keep = truncated[i].keep ? truncated[i].keep : len - 100;
        char *img = make_image(truncated[i].name, elf, keep, 0);
        int rc = launch(&err, img, NULL);
        if (rc != TINYX_EXIT_IMAGE)
            fail_msg("%s: rc %d: %s", truncated[i].name, rc, err);
        assert_contains(err, "is a corrupt ELF file");
        assert_contains(err, truncated[i].says);
        free(err);
        free(img);
    }

    /* an ELF without the PVH note: what to build instead */
    static const char other_desc[4] = "abc";
    struct test_note other = {.name = "Tinyx", .type = 1, .desc = other_desc, .descsz = 4};
    len = kernel_elf(elf, &other, 1);
    char *img = make_image("no-pvh", elf, len, 0);
    assert_int_equal(launch(&err, img, NULL), TINYX_EXIT_IMAGE);
    assert_contains(err, "has no PVH entry note");
    assert_contains(err, "--backend qemu");
    free(err);
    free(img);
    assert_int_equal(fake_runs(), before);

    /* a Linux kernel (its "Linux" note): refused on kvm_pvm, started on hardware KVM */
    static const char salt[4] = {0};
    struct test_note notes[2] = {pvh, {.name = "Linux", .type = 0x100, .desc = salt, .descsz = 4}};
    len = kernel_elf(elf, notes, 2);
    img = make_image("linux", elf, len, 0);
    int rc = launch(&err, img, NULL);
    if (launcher_host_kvm(NULL, 0) == LAUNCHER_KVM_SOFTWARE) {
        assert_int_equal(rc, TINYX_EXIT_ENV);
        assert_contains(err, "it is a Linux kernel");
        assert_contains(err, "use --backend qemu");
        assert_int_equal(fake_runs(), before);
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(fake_runs(), before + 1);
    }
    free(err);
    free(img);
}

static void test_initrd_must_fit_in_memory(void **state)
{
    (void)state;
    SKIP_WITHOUT_KVM();
    static const uint32_t entry = 0x100000;
    struct test_note pvh = test_pvh_note(&entry);
    uint8_t elf[TEST_ELF_MAX];
    size_t len = kernel_elf(elf, &pvh, 1);
    /* The kernel ends at 1 MiB + 64 KiB; 3 MiB of initrd above it need 5 MiB of RAM. */
    char *img = make_image("big-initrd", elf, len, 3u << 20);
    int before = fake_runs();
    char *err;
    assert_int_equal(launch(&err, img, "--mem", "4", NULL), TINYX_EXIT_USAGE);
    assert_contains(err, "does not fit in 4 MiB of guest RAM");
    assert_contains(err, "give --mem 5 or more");
    free(err);
    assert_int_equal(fake_runs(), before);
    /* what the message asks for is enough */
    int rc = launch(&err, img, "--mem", "5", NULL);
    if (rc != 0)
        fail_msg("rc %d: %s", rc, err);
    assert_int_equal(fake_runs(), before + 1);
    free(err);
    free(img);
}

int main(void)
{
    tinyx_progname = "tinyx-launch";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_arguments),
        cmocka_unit_test(test_kernels_refused_before_the_monitor_runs),
        cmocka_unit_test(test_initrd_must_fit_in_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
