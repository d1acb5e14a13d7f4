/* test_launcher_run.c: `tinyx-launch run` options, and whole runs against a scripted fake QEMU
 * (its arguments and --net/--blk devices, the exit line, kernel panics, --runs medians and
 * failures). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/commands.h"
#include "launcher/run_opts.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

/* tinyx-kvm's default MAC (launcher/vdev_net.h, in libvmm.a). That header cannot be included
 * here: its struct launcher_virtio_mmio shares a tag name with kernel.h's enum. */
void launcher_vdev_net_default_mac(const char *ifname, uint8_t mac[6]);

static char *tmp_dir;     /* everything this test writes */
static char *fake_bz;     /* a file that passes for a bzImage */
static char *fake_dir;    /* where the fake QEMU records its runs */
static char *fake_script; /* the fake QEMU */

/* The fake QEMU: records its arguments (one per line) in args.N for run N, then plays a guest
 * from FAKE_QEMU_* variables (per run: FAKE_QEMU_CONSOLE_2 and so on override): TIMER writes the
 * boot-timer byte, CONSOLE is printed as the serial console, EXIT is the exit code ("hang":
 * sleep until killed), SLOW_RUN=N waits 0.4 s before run N's boot-timer byte, NET=1 records
 * what descriptor 5 is (fd5.N) and the host's links as `ip` shows them (links.N). */
static const char fake_qemu[] =
    "#!/bin/sh\n"
    "d=$FAKE_QEMU_DIR\n"
    "n=$(( $(cat \"$d/count\" 2>/dev/null || echo 0) + 1 ))\n"
    "echo \"$n\" >\"$d/count\"\n"
    "for a in \"$@\"; do printf '%s\\n' \"$a\"; done >\"$d/args.$n\"\n"
    "eval \"timer=\\${FAKE_QEMU_TIMER_$n-\\${FAKE_QEMU_TIMER-}}\"\n"
    "eval \"console=\\${FAKE_QEMU_CONSOLE_$n-\\${FAKE_QEMU_CONSOLE-}}\"\n"
    "eval \"code=\\${FAKE_QEMU_EXIT_$n-\\${FAKE_QEMU_EXIT-0}}\"\n"
    "if [ \"${FAKE_QEMU_SLOW_RUN-}\" = \"$n\" ]; then sleep 0.4; fi\n"
    "if [ -n \"${FAKE_QEMU_NET-}\" ]; then readlink /proc/$$/fd/5 >\"$d/fd5.$n\" 2>&1;\n"
    "  ip -o link show >\"$d/links.$n\" 2>&1; fi\n"
    "if [ -n \"$timer\" ]; then printf '{' >&3; fi\n"
    "printf '%s' \"$console\"\n"
    "if [ \"$code\" = hang ]; then exec sleep 30; fi\n"
    "exit \"$code\"\n";

static const char *const fake_vars[] = {
    "FAKE_QEMU_TIMER",     "FAKE_QEMU_CONSOLE",   "FAKE_QEMU_EXIT",    "FAKE_QEMU_SLOW_RUN",
    "FAKE_QEMU_TIMER_1",   "FAKE_QEMU_TIMER_2",   "FAKE_QEMU_TIMER_3", "FAKE_QEMU_CONSOLE_1",
    "FAKE_QEMU_CONSOLE_2", "FAKE_QEMU_CONSOLE_3", "FAKE_QEMU_EXIT_1",  "FAKE_QEMU_EXIT_2",
    "FAKE_QEMU_EXIT_3",    "FAKE_QEMU_NET",
};

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
    char tmpl[] = "/tmp/test-launcher-run-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    tmp_dir = tinyx_xstrdup(tmpl);
    fake_dir = tinyx_xasprintf("%s/fake", tmp_dir);
    assert_int_equal(mkdir(fake_dir, 0755), 0);
    fake_script = tinyx_xasprintf("%s/qemu-system-x86_64", tmp_dir);
    write_file(fake_script, fake_qemu, strlen(fake_qemu), 0755);
    unsigned char bz[1024] = {0};
    bz[0x1fe] = 0x55;
    bz[0x1ff] = 0xaa;
    memcpy(bz + 0x202, "HdrS", 4);
    fake_bz = tinyx_xasprintf("%s/bzImage", tmp_dir);
    write_file(fake_bz, bz, sizeof(bz), 0644);
    setenv("TINYX_QEMU", fake_script, 1);
    setenv("FAKE_QEMU_DIR", fake_dir, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tinyx_rm_rf(tmp_dir);
    free(tmp_dir);
    free(fake_dir);
    free(fake_script);
    free(fake_bz);
    unsetenv("TINYX_QEMU");
    return 0;
}

/* Forget the previous test's runs and guest script. */
static void fake_reset(void)
{
    for (size_t i = 0; i < sizeof(fake_vars) / sizeof(fake_vars[0]); i++)
        unsetenv(fake_vars[i]);
    char *count = tinyx_xasprintf("%s/count", fake_dir);
    unlink(count);
    free(count);
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

/* A file the fake QEMU wrote in run n ("args", "fd5", "links"; malloc'd). */
static char *fake_file(const char *what, int n)
{
    char *path = tinyx_xasprintf("%s/%s.%d", fake_dir, what, n);
    char *text = tinyx_read_file(path, NULL);
    if (!text)
        fail_msg("the fake QEMU wrote no %s", path);
    free(path);
    return text;
}

/* The arguments the fake QEMU got in run n, one per line (malloc'd). */
static char *fake_args(int n)
{
    return fake_file("args", n);
}

/* The argument that follows the nth (from 0) flag in args (a copy), or NULL. */
static char *nth_arg_after(const char *args, const char *flag, int nth)
{
    size_t flag_len = strlen(flag);
    for (const char *line = args; *line;) {
        const char *nl = strchr(line, '\n');
        if (!nl)
            break;
        if ((size_t)(nl - line) == flag_len && !strncmp(line, flag, flag_len) && nth-- == 0) {
            const char *value = nl + 1;
            const char *end = strchr(value, '\n');
            return end ? tinyx_xstrndup(value, (size_t)(end - value)) : NULL;
        }
        line = nl + 1;
    }
    return NULL;
}

/* The argument that follows flag in args (a copy), or NULL. */
static char *arg_after(const char *args, const char *flag)
{
    return nth_arg_after(args, flag, 0);
}

/* Whether the one-argument-per-line args hold exactly arg. */
static bool has_arg(const char *args, const char *arg)
{
    size_t len = strlen(arg);
    for (const char *line = args; *line;) {
        const char *nl = strchr(line, '\n');
        if (!nl)
            break;
        if ((size_t)(nl - line) == len && !strncmp(line, arg, len))
            return true;
        line = nl + 1;
    }
    return false;
}

static char *make_image(const char *name, const char *cmdline, const char *manifest)
{
    char *dir = tinyx_xasprintf("%s/%s", tmp_dir, name);
    tinyx_rm_rf(dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    char *path = tinyx_xasprintf("%s/kernel", dir);
    write_file(path, "KERNEL", 6, 0644);
    free(path);
    path = tinyx_xasprintf("%s/initrd", dir);
    write_file(path, "INITRD-BYTES", 12, 0644);
    free(path);
    path = tinyx_xasprintf("%s/cmdline", dir);
    write_file(path, cmdline, strlen(cmdline), 0644);
    free(path);
    path = tinyx_xasprintf("%s/manifest.json", dir);
    write_file(path, manifest, strlen(manifest), 0644);
    free(path);
    return dir;
}

static const char hello_manifest[] =
    "{\"format\":1,\"name\":\"hello\",\"app\":{\"check\":{\"kind\":\"output\","
    "\"expect\":\"Hello, world!\"}}}";
static const char server_manifest[] =
    "{\"format\":1,\"name\":\"srv\",\"app\":{\"ports\":[8080],\"check\":null}}";

struct launch {
    int rc;
    json_t *json; /* the report on stdout, or NULL */
    char *err;    /* everything on stderr */
    double seconds;
};

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

/* Run `tinyx-launch run ARGS...` in this process with stdout and stderr captured. */
static struct launch launch(const char *first, ...)
{
    const char *argv[32] = {"run", first};
    int argc = 2;
    va_list ap;
    va_start(ap, first);
    for (const char *a; (a = va_arg(ap, const char *));) {
        assert_true(argc < 31);
        argv[argc++] = a;
    }
    va_end(ap);
    argv[argc] = NULL;

    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
    dup2(fileno(out), STDOUT_FILENO);
    dup2(fileno(err), STDERR_FILENO);
    uint64_t t0 = tinyx_now_us();
    struct launch l = {0};
    l.rc = launcher_run_command(argc, (char **)argv);
    l.seconds = (tinyx_now_us() - t0) / 1e6;
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    char *json_text = read_back(out);
    l.err = read_back(err);
    if (json_text[0]) {
        json_error_t jerr;
        l.json = json_loads(json_text, 0, &jerr);
        if (!l.json)
            fail_msg("not JSON on stdout (%s): %s", jerr.text, json_text);
    }
    free(json_text);
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

static json_int_t json_int_at(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("JSON %s is not a number", key);
    return json_integer_value(v);
}

/* ---- option parsing ---- */

static int parse(struct launcher_run_opts *o, char **err, const char *first, ...)
{
    const char *argv[32] = {"run", first};
    int argc = 2;
    va_list ap;
    va_start(ap, first);
    for (const char *a; (a = va_arg(ap, const char *));)
        argv[argc++] = a;
    va_end(ap);
    FILE *e = tmpfile();
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(e), STDERR_FILENO);
    int rc = launcher_run_parse_opts(argc, (char **)argv, o);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    *err = read_back(e);
    return rc;
}

static void test_options_defaults_and_new_ones(void **state)
{
    (void)state;
    struct launcher_run_opts o;
    char *err;
    assert_int_equal(parse(&o, &err, "img", NULL), -1);
    assert_string_equal(o.image_dir, "img");
    assert_null(o.kernel);
    assert_false(o.virtio_mmio_set);
    assert_null(o.append);
    assert_int_equal(o.runs, 1);
    launcher_run_opts_free(&o);
    free(err);

    assert_int_equal(parse(&o, &err, "--kernel", "/k/vmlinux", "--virtio-mmio", "cmdline",
                           "--append", "foo=1  ", "--runs", "5", "img", "--append", " bar", NULL),
                     -1);
    assert_string_equal(o.kernel, "/k/vmlinux");
    assert_true(o.virtio_mmio_set);
    assert_int_equal(o.virtio_mmio, LAUNCHER_VIRTIO_MMIO_CMDLINE);
    assert_string_equal(o.append, "foo=1   bar");
    assert_int_equal(o.runs, 5);
    assert_string_equal(o.image_dir, "img");
    launcher_run_opts_free(&o);
    free(err);

    assert_int_equal(parse(&o, &err, "--virtio-mmio", "acpi", "--append", "", "img", NULL), -1);
    assert_true(o.virtio_mmio_set);
    assert_int_equal(o.virtio_mmio, LAUNCHER_VIRTIO_MMIO_ACPI);
    assert_null(o.append);
    launcher_run_opts_free(&o);
    free(err);
}

static void test_option_errors_name_the_option(void **state)
{
    (void)state;
    static const struct {
        const char *opt, *value, *says;
    } bad[] = {
        {"--runs", "0", "--runs"},         {"--runs", "-3", "--runs"},
        {"--runs", "five", "--runs"},      {"--runs", "1001", "1 to 1000"},
        {"--runs", "2x", "--runs"},        {"--virtio-mmio", "pci", "--virtio-mmio"},
        {"--virtio-mmio", "ACPI", "acpi"}, {"--append", "a\nb", "one line"},
        {"--kernel", "", "--kernel"},      {"--mem", "0", "--mem"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct launcher_run_opts o;
        char *err;
        int rc = parse(&o, &err, bad[i].opt, bad[i].value, "img", NULL);
        if (rc != TINYX_EXIT_USAGE)
            fail_msg("%s '%s' gave %d", bad[i].opt, bad[i].value, rc);
        assert_contains(err, bad[i].says);
        assert_contains(err, "run --help");
        launcher_run_opts_free(&o);
        free(err);
    }
    struct launcher_run_opts o;
    char *err;
    assert_int_equal(parse(&o, &err, "--runs", NULL), TINYX_EXIT_USAGE);
    assert_contains(err, "needs a value");
    launcher_run_opts_free(&o);
    free(err);
}

static void test_device_options(void **state)
{
    (void)state;
    struct launcher_run_opts o;
    char *err;
    assert_int_equal(parse(&o, &err, "--net", "tap0", "--blk", "disk.img,ro",
                           "--net=tap1,bridge=br0,mac=02:AA:bb:cc:dd:0f", "--blk", "a,b.img",
                           "--blk", "x.img,rw", "img", NULL),
                     -1);
    assert_int_equal(o.n_devices, 5);
    const struct launcher_vm_device *d = o.devices;
    assert_int_equal(d[0].kind, LAUNCHER_VM_DEVICE_NET);
    assert_string_equal(d[0].net.tap, "tap0");
    assert_string_equal(d[0].net.bridge, "");
    assert_false(d[0].net.have_mac);
    assert_int_equal(d[1].kind, LAUNCHER_VM_DEVICE_BLK);
    assert_string_equal(d[1].blk.path, "disk.img");
    assert_true(d[1].blk.read_only);
    assert_int_equal(d[2].kind, LAUNCHER_VM_DEVICE_NET);
    assert_string_equal(d[2].net.tap, "tap1");
    assert_string_equal(d[2].net.bridge, "br0");
    assert_true(d[2].net.have_mac);
    static const uint8_t want_mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x0f};
    assert_memory_equal(d[2].net.mac, want_mac, 6);
    /* only a trailing ",ro" or ",rw" is a setting: other commas belong to the file name */
    assert_string_equal(d[3].blk.path, "a,b.img");
    assert_false(d[3].blk.read_only);
    assert_string_equal(d[4].blk.path, "x.img");
    assert_false(d[4].blk.read_only);
    launcher_run_opts_free(&o);
    assert_int_equal(o.n_devices, 0);
    free(err);

    /* the guest's address and gateway */
    assert_int_equal(parse(&o, &err, "--net", "tap0,ip=10.0.0.2/24,gw=10.0.0.1", "--net",
                           "tap1,ip=192.168.5.9/30", "img", NULL),
                     -1);
    assert_int_equal(o.n_devices, 2);
    assert_true(o.devices[0].net.have_ip);
    assert_memory_equal(o.devices[0].net.ip, ((uint8_t[]){10, 0, 0, 2}), 4);
    assert_int_equal(o.devices[0].net.prefix, 24);
    assert_true(o.devices[0].net.have_gw);
    assert_memory_equal(o.devices[0].net.gw, ((uint8_t[]){10, 0, 0, 1}), 4);
    assert_true(o.devices[1].net.have_ip);
    assert_int_equal(o.devices[1].net.prefix, 30);
    assert_false(o.devices[1].net.have_gw);
    assert_false(o.devices[1].net.have_mac);
    launcher_run_opts_free(&o);
    free(err);

    /* a name pattern may come twice: the kernel numbers each tap */
    assert_int_equal(parse(&o, &err, "--net", "vm%d", "--net", "vm%d,bridge=br0", "img", NULL), -1);
    assert_int_equal(o.n_devices, 2);
    launcher_run_opts_free(&o);
    free(err);

    /* at most LAUNCHER_RUN_MAX_DEVICES in all */
    const char *argv[32] = {"run"};
    int argc = 1;
    char names[LAUNCHER_RUN_MAX_DEVICES + 1][16];
    for (unsigned i = 0; i <= LAUNCHER_RUN_MAX_DEVICES; i++) {
        snprintf(names[i], sizeof(names[i]), "d%u.img", i);
        argv[argc++] = "--blk";
        argv[argc++] = names[i];
    }
    argv[argc++] = "img";
    fflush(stderr);
    FILE *e = tmpfile();
    int saved = dup(STDERR_FILENO);
    dup2(fileno(e), STDERR_FILENO);
    int rc = launcher_run_parse_opts(argc - 3, (char **)argv, &o); /* exactly the maximum */
    launcher_run_opts_free(&o);
    int rc_over = launcher_run_parse_opts(argc, (char **)argv, &o);
    launcher_run_opts_free(&o);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    err = read_back(e);
    assert_int_equal(rc, TINYX_EXIT_USAGE); /* argv ends in "--blk": no IMAGE_DIR */
    assert_int_equal(rc_over, TINYX_EXIT_USAGE);
    assert_contains(err, "at most 8 devices");
    free(err);
}

static void test_device_option_errors(void **state)
{
    (void)state;
    static const struct {
        const char *opt, *value, *says;
    } bad[] = {
        {"--net", "", "the tap name comes first"},
        {"--net", ",mac=02:00:00:00:00:01", "the tap name comes first"},
        {"--net", "a/b", "the tap name comes first"},
        {"--net", "sixteen-chars-xx", "1-15 characters"},
        {"--net", "t%s", "the tap name comes first"},
        {"--net", "t%d%d", "the tap name comes first"},
        {"--net", "tap0,mac=01:00:00:00:00:01", "multicast"},
        {"--net", "tap0,mac=02:00:00:00:00", "not a MAC address"},
        {"--net", "tap0,mac=02-00-00-00-00-01", "not a MAC address"},
        {"--net", "tap0,mac=00:00:00:00:00:00", "not a usable address"},
        {"--net", "tap0,mac=02:00:00:00:00:01,mac=02:00:00:00:00:02", "mac= is given twice"},
        {"--net", "tap0,speed=10", "unknown setting 'speed=10'"},
        {"--net", "tap0,bridge=", "bridge= is not an interface name"},
        {"--net", "tap0,bridge=b%d", "bridge=b%d is not an interface name"},
        {"--net", "tap0,bridge=a,bridge=b", "bridge= is given twice"},
        {"--net", "tap0,ip=10.0.0.2", "ip=10.0.0.2 has no prefix length"},
        {"--net", "tap0,ip=10.0.0.2/31", "the prefix length must be 1-30"},
        {"--net", "tap0,ip=10.0.0.2/0", "the prefix length must be 1-30"},
        {"--net", "tap0,ip=10.0.0.256/24", "ip=10.0.0.256/24 is not an IPv4 address"},
        {"--net", "tap0,ip=10.0.0.0/24", "ip=10.0.0.0/24 is the network address"},
        {"--net", "tap0,ip=127.0.0.2/8", "loopback"},
        {"--net", "tap0,ip=10.0.0.2/24,ip=10.0.0.3/24", "ip= is given twice"},
        {"--net", "tap0,gw=10.0.0.1", "gw= needs ip= as well"},
        {"--net", "tap0,ip=10.0.0.2/24,gw=10.0.0.1/24", "gw=10.0.0.1/24: a gateway has no prefix"},
        {"--net", "tap0,ip=10.0.0.2/24,gw=224.0.0.1", "gw=224.0.0.1 is a multicast address"},
        {"--net", "tap0,ip=10.0.0.2/24,gw=10.0.0.2", "is the guest's own address"},
        {"--net", "tap0,ip=10.0.0.2/24,gw=10.0.0.1,gw=10.0.0.3", "gw= is given twice"},
        {"--blk", "", "expected a disk image file"},
        {"--blk", ",ro", "expected a disk image file"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct launcher_run_opts o;
        char *err;
        int rc = parse(&o, &err, bad[i].opt, bad[i].value, "img", NULL);
        if (rc != TINYX_EXIT_USAGE)
            fail_msg("%s '%s' gave %d", bad[i].opt, bad[i].value, rc);
        assert_contains(err, bad[i].says);
        assert_contains(err, "run --help");
        launcher_run_opts_free(&o);
        free(err);
    }
    struct launcher_run_opts o;
    char *err;
    assert_int_equal(parse(&o, &err, "--net", "tap0", "--net", "tap0,bridge=br0", "img", NULL),
                     TINYX_EXIT_USAGE);
    assert_contains(err, "tap tap0 is given twice");
    launcher_run_opts_free(&o);
    free(err);
    assert_int_equal(parse(&o, &err, "--net", "tap0,ip=10.0.0.2/24", "--net", "tap1,ip=10.0.0.2/16",
                           "img", NULL),
                     TINYX_EXIT_USAGE);
    assert_contains(err, "ip=10.0.0.2 is given to two devices");
    launcher_run_opts_free(&o);
    free(err);
}

/* ---- whole runs against the fake QEMU ---- */

static void test_kernel_override_and_cmdline_mode(void **state)
{
    (void)state;
    fake_reset();
    setenv("FAKE_QEMU_TIMER", "1", 1);
    setenv("FAKE_QEMU_CONSOLE", "Hello, world!\r\ntinyx-init: exit status 0\r\n", 1);
    setenv("FAKE_QEMU_EXIT", "1", 1); /* status 0 through isa-debug-exit */
    char *img = make_image("cmdline-mode", "console=ttyS0 quiet\n", hello_manifest);
    struct launch l = launch(img, "--accel", "tcg", "--quiet", "--json", "--kernel", fake_bz,
                             "--virtio-mmio", "cmdline", "--append", "foo=1 bar", NULL);
    if (l.rc != 0)
        fail_msg("rc %d: %s", l.rc, l.err);
    char *args = fake_args(1);
    char *machine = arg_after(args, "-M"), *kernel = arg_after(args, "-kernel"),
         *append = arg_after(args, "-append");
    assert_string_equal(machine, "microvm,acpi=off");
    assert_string_equal(kernel, fake_bz);
    /* the image's words first; the exit-on-panic words added; the user's words last */
    assert_true(tinyx_str_starts(append, "console=ttyS0 quiet "));
    assert_true(tinyx_str_ends(append, " panic=-1 reboot=t foo=1 bar"));
    /* hello listens on no port: no network device, no address for the init to configure */
    assert_null(strstr(append, "tinyx.ip="));
    assert_null(strstr(args, "-netdev"));
    assert_non_null(l.json);
    assert_string_equal(json_string_value(json_object_get(l.json, "kernel")), fake_bz);
    assert_string_equal(json_string_value(json_object_get(l.json, "virtio_mmio")), "cmdline");
    assert_int_equal(json_int_at(l.json, "kernel_bytes"), 1024);
    assert_int_equal(json_int_at(l.json, "image_bytes"), 1024 + 12);
    assert_int_equal(json_int_at(l.json, "runs"), 1);
    assert_int_equal(json_int_at(l.json, "exit_status"), 0);
    assert_true(json_int_at(l.json, "ready_us") >= json_int_at(l.json, "boot_us"));
    assert_int_equal(json_array_size(json_object_get(l.json, "boot_us_all")), 1);
    free(machine);
    free(kernel);
    free(append);
    free(args);
    launch_free(&l);
    free(img);
}

/* Without --backend the launcher says which backend it picked and why, on stderr and in the
 * JSON report; --backend still forces one, without that line. The fake kernel is no PVH ELF,
 * so qemu is the pick on any host (test_launcher_pick.c covers the choice itself). */
static void test_backend_choice_is_said(void **state)
{
    (void)state;
    int verbosity = tinyx_verbosity; /* --quiet and -v change it for the whole process */
    tinyx_verbosity = 1;
    fake_reset();
    setenv("FAKE_QEMU_TIMER", "1", 1);
    setenv("FAKE_QEMU_CONSOLE", "Hello, world!\r\ntinyx-init: exit status 0\r\n", 1);
    setenv("FAKE_QEMU_EXIT", "1", 1);
    char *img = make_image("backend-said", "console=ttyS0\n", hello_manifest);
    struct launch l = launch(img, "--json", NULL);
    if (l.rc != 0)
        fail_msg("rc %d: %s", l.rc, l.err);
    assert_non_null(l.json);
    assert_string_equal(json_string_value(json_object_get(l.json, "backend")), "qemu");
    const char *why = json_string_value(json_object_get(l.json, "backend_reason"));
    assert_non_null(why);
    assert_true(why[0] != '\0');
    char *line = tinyx_xasprintf("tinyx-launch: backend qemu (%s)\n", why);
    assert_contains(l.err, line);
    /* said before booting */
    assert_true(strstr(l.err, line) < strstr(l.err, "booting hello with qemu"));
    free(line);
    launch_free(&l);

    l = launch(img, "--json", "--backend", "qemu", NULL);
    assert_int_equal(l.rc, 0);
    assert_string_equal(json_string_value(json_object_get(l.json, "backend_reason")),
                        "asked for with --backend");
    assert_null(strstr(l.err, "backend qemu ("));
    launch_free(&l);

    /* --accel keeps the pick away from backends without accelerators */
    l = launch(img, "--accel", "tcg", "--quiet", "-v", NULL);
    assert_int_equal(l.rc, 0);
    assert_contains(l.err, "backend qemu (--accel tcg: the kvm backend has no accelerator choice)");
    launch_free(&l);
    tinyx_verbosity = verbosity;
    assert_int_equal(fake_runs(), 3);
    free(img);
}

static void test_manifest_mode_and_existing_panic_words(void **state)
{
    (void)state;
    fake_reset();
    setenv("FAKE_QEMU_TIMER", "1", 1);
    setenv("FAKE_QEMU_CONSOLE", "tinyx-init: exit status 0\n", 1);
    setenv("FAKE_QEMU_EXIT", "1", 1);
    char *img = make_image("manifest-mode", "console=ttyS0 reboot=t panic=5\n",
                           "{\"format\":1,\"app\":{},\"kernel\":{\"format\":\"vmlinux\",\"virtio_"
                           "mmio\":\"cmdline\"}}");
    struct launch l = launch(img, "--accel", "tcg", "--quiet", "--json", NULL);
    assert_int_equal(l.rc, 0);
    char *args = fake_args(1);
    char *machine = arg_after(args, "-M"), *append = arg_after(args, "-append");
    char *kernel = arg_after(args, "-kernel");
    assert_string_equal(machine, "microvm,acpi=off"); /* from the manifest */
    assert_true(tinyx_str_ends(kernel, "/manifest-mode/kernel"));
    /* the image chose its own panic= and reboot=: nothing added */
    assert_null(strstr(append, "panic=-1"));
    assert_null(strstr(append, "reboot=t reboot=t"));
    free(machine);
    free(append);
    free(kernel);
    free(args);
    launch_free(&l);

    /* --virtio-mmio overrides the manifest */
    l = launch(img, "--accel", "tcg", "--quiet", "--json", "--virtio-mmio", "acpi", NULL);
    assert_int_equal(l.rc, 0);
    args = fake_args(2);
    machine = arg_after(args, "-M");
    assert_string_equal(machine, "microvm");
    assert_string_equal(json_string_value(json_object_get(l.json, "virtio_mmio")), "acpi");
    free(machine);
    free(args);
    launch_free(&l);

    /* an image from before the field: acpi, plain microvm */
    free(img);
    img = make_image("old-image", "console=ttyS0\n", hello_manifest);
    l = launch(img, "--accel", "tcg", "--quiet", "--json", "--append", "panic=0", NULL);
    args = fake_args(3);
    machine = arg_after(args, "-M");
    append = arg_after(args, "-append");
    assert_string_equal(machine, "microvm");
    /* the user's panic= wins: no panic=-1 before it */
    assert_null(strstr(append, "panic=-1"));
    assert_true(tinyx_str_ends(append, "reboot=t panic=0"));
    free(machine);
    free(append);
    free(args);
    launch_free(&l);
    free(img);
}

static void test_exit_line_glued_to_output(void **state)
{
    (void)state;
    fake_reset();
    setenv("FAKE_QEMU_TIMER", "1", 1);
    /* No exit-port status (QEMU exits 0, as after a reset): only the console line says 3. */
    setenv("FAKE_QEMU_CONSOLE", "booting\r\nHello, world!tinyx-init: exit status 3\r\n", 1);
    setenv("FAKE_QEMU_EXIT", "0", 1);
    char *img = make_image("glued", "console=ttyS0\n", hello_manifest);
    struct launch l = launch(img, "--accel", "tcg", "--quiet", "--json", NULL);
    assert_int_equal(l.rc, 3);
    assert_int_equal(json_int_at(l.json, "exit_status"), 3);
    assert_string_equal(json_string_value(json_object_get(l.json, "outcome")), "exited");
    /* the output check still saw "Hello, world!" */
    assert_true(json_int_at(l.json, "ready_us") >= 0);
    launch_free(&l);
    free(img);
}

static void test_panic_is_reported(void **state)
{
    (void)state;
    fake_reset();
    setenv("FAKE_QEMU_CONSOLE",
           "[    1.0] Run /init as init process\r\n[    1.1] Kernel panic - not syncing: "
           "Attempted to kill init! exitcode=0x00000100\r\n[    1.2] Kernel Offset: disabled\r\n",
           1);
    setenv("FAKE_QEMU_EXIT", "0", 1); /* panic=-1 + reboot=t + -no-reboot */
    char *img = make_image("panic", "console=ttyS0\n", hello_manifest);
    struct launch l = launch(img, "--accel", "tcg", "--quiet", "--json", NULL);
    assert_int_equal(l.rc, TINYX_EXIT_APP);
    assert_true(json_is_true(json_object_get(l.json, "kernel_panic")));
    const char *msg = json_string_value(json_object_get(l.json, "message"));
    assert_contains(msg, "kernel panic");
    assert_contains(msg, "Attempted to kill init!");
    assert_contains(l.err, "kernel panic");
    launch_free(&l);

    /* a reset without a panic says so, without claiming one */
    setenv("FAKE_QEMU_CONSOLE", "[    1.0] reboot: Restarting system\r\n", 1);
    l = launch(img, "--accel", "tcg", "--quiet", "--json", NULL);
    assert_int_equal(l.rc, TINYX_EXIT_APP);
    assert_true(json_is_false(json_object_get(l.json, "kernel_panic")));
    assert_contains(json_string_value(json_object_get(l.json, "message")), "reset without");
    launch_free(&l);
    free(img);
}

static void test_panic_without_reset_ends_promptly(void **state)
{
    (void)state;
    fake_reset();
    /* a guest with panic=N (no reboot soon) */
    setenv("FAKE_QEMU_CONSOLE", "Kernel panic - not syncing: No working init found.\r\n", 1);
    setenv("FAKE_QEMU_EXIT", "hang", 1);
    char *img = make_image("panic-hang", "console=ttyS0\n", hello_manifest);
    struct launch l = launch(img, "--accel", "tcg", "--quiet", "--json", "--timeout", "60", NULL);
    assert_int_equal(l.rc, TINYX_EXIT_APP);
    assert_true(l.seconds < 20);
    assert_true(json_is_true(json_object_get(l.json, "kernel_panic")));
    assert_contains(json_string_value(json_object_get(l.json, "message")), "No working init");
    launch_free(&l);
    free(img);
}

static void test_runs_report_medians(void **state)
{
    (void)state;
    fake_reset();
    setenv("FAKE_QEMU_TIMER", "1", 1);
    setenv("FAKE_QEMU_CONSOLE", "Hello, world!\r\ntinyx-init: exit status 0\r\n", 1);
    setenv("FAKE_QEMU_EXIT", "1", 1);
    setenv("FAKE_QEMU_SLOW_RUN", "2", 1);
    char *img = make_image("runs", "console=ttyS0\n", hello_manifest);
    struct launch l = launch(img, "--accel", "tcg", "--quiet", "--json", "--runs", "3", NULL);
    if (l.rc != 0)
        fail_msg("rc %d: %s", l.rc, l.err);
    assert_int_equal(fake_runs(), 3);
    assert_int_equal(json_int_at(l.json, "runs"), 3);
    json_t *all = json_object_get(l.json, "boot_us_all");
    assert_int_equal(json_array_size(all), 3);
    json_int_t b[3];
    for (int i = 0; i < 3; i++)
        b[i] = json_integer_value(json_array_get(all, i));
    /* run 2 waited 0.4 s before its boot-timer byte: it is the max, never the median */
    assert_true(b[1] >= 400000);
    assert_int_equal(json_int_at(l.json, "boot_us_max"), b[1]);
    json_int_t fast_hi = b[0] > b[2] ? b[0] : b[2], fast_lo = b[0] < b[2] ? b[0] : b[2];
    assert_int_equal(json_int_at(l.json, "boot_us"), fast_hi);
    assert_int_equal(json_int_at(l.json, "boot_us_min"), fast_lo);
    assert_int_equal(json_array_size(json_object_get(l.json, "ready_us_all")), 3);
    assert_true(json_int_at(l.json, "ready_us") >= json_int_at(l.json, "boot_us"));
    assert_int_equal(json_array_size(json_object_get(l.json, "failed_runs")), 0);
    launch_free(&l);

    /* the human form: one line per run and a summary */
    fake_reset();
    setenv("FAKE_QEMU_TIMER", "1", 1);
    setenv("FAKE_QEMU_CONSOLE", "Hello, world!\r\ntinyx-init: exit status 0\r\n", 1);
    setenv("FAKE_QEMU_EXIT", "1", 1);
    l = launch(img, "--accel", "tcg", "--quiet", "--runs", "2", NULL);
    assert_int_equal(l.rc, 0);
    assert_contains(l.err, "run 1/2: exited");
    assert_contains(l.err, "run 2/2: exited");
    assert_contains(l.err, "2 runs, all passed; median boot");
    launch_free(&l);
    free(img);
}

static void test_runs_say_which_failed(void **state)
{
    (void)state;
    fake_reset();
    setenv("FAKE_QEMU_TIMER", "1", 1);
    setenv("FAKE_QEMU_CONSOLE", "Hello, world!\r\ntinyx-init: exit status 0\r\n", 1);
    setenv("FAKE_QEMU_EXIT", "1", 1);
    setenv("FAKE_QEMU_TIMER_2", "", 1);
    setenv("FAKE_QEMU_CONSOLE_2", "Kernel panic - not syncing: Fatal exception\r\n", 1);
    setenv("FAKE_QEMU_EXIT_2", "0", 1);
    char *img = make_image("runs-fail", "console=ttyS0\n", hello_manifest);
    struct launch l = launch(img, "--accel", "tcg", "--quiet", "--json", "--runs", "3", NULL);
    assert_int_equal(l.rc, TINYX_EXIT_APP);
    assert_int_equal(fake_runs(), 3); /* the series went on after the failure */
    json_t *failed = json_object_get(l.json, "failed_runs");
    assert_int_equal(json_array_size(failed), 1);
    assert_int_equal(json_integer_value(json_array_get(failed, 0)), 2);
    assert_true(json_is_null(json_array_get(json_object_get(l.json, "boot_us_all"), 1)));
    /* the medians are over the runs that booted */
    assert_true(json_int_at(l.json, "boot_us") >= 0);
    const char *msg = json_string_value(json_object_get(l.json, "message"));
    assert_contains(msg, "run 2 of 3 failed");
    assert_contains(msg, "kernel panic");
    assert_true(json_is_true(json_object_get(l.json, "kernel_panic")));
    launch_free(&l);

    /* an app whose output check never passed fails the run even with status 0 */
    fake_reset();
    setenv("FAKE_QEMU_TIMER", "1", 1);
    setenv("FAKE_QEMU_CONSOLE", "Goodbye\r\ntinyx-init: exit status 0\r\n", 1);
    setenv("FAKE_QEMU_EXIT", "1", 1);
    l = launch(img, "--accel", "tcg", "--quiet", "--runs", "2", NULL);
    assert_int_equal(l.rc, TINYX_EXIT_APP);
    assert_contains(l.err, "before its output check passed");
    assert_contains(l.err, "2 failed (runs 1, 2)");
    launch_free(&l);
    free(img);
}

static void test_runs_stop_servers_once_ready(void **state)
{
    (void)state;
    fake_reset();
    setenv("FAKE_QEMU_TIMER", "1", 1);
    setenv("FAKE_QEMU_CONSOLE", "serving\r\n", 1);
    setenv("FAKE_QEMU_EXIT", "hang", 1); /* a server never exits */
    char *img = make_image("server", "console=ttyS0\n", server_manifest);
    struct launch l =
        launch(img, "--accel", "tcg", "--quiet", "--json", "--runs", "2", "--timeout", "20", NULL);
    if (l.rc != 0)
        fail_msg("rc %d: %s", l.rc, l.err);
    assert_true(l.seconds < 10);
    assert_int_equal(fake_runs(), 2);
    assert_string_equal(json_string_value(json_object_get(l.json, "outcome")), "ready");
    assert_int_equal(json_array_size(json_object_get(l.json, "ready_us_all")), 2);
    /* a server gets the network: a device with its port forwarded, and its address */
    char *args = fake_args(1);
    char *append = arg_after(args, "-append"), *netdev = arg_after(args, "-netdev");
    assert_contains(append, "tinyx.ip=10.0.2.15/24");
    assert_contains(netdev, "hostfwd=tcp:127.0.0.1:");
    assert_true(tinyx_str_ends(netdev, "-:8080"));
    /* the report says where: the forward's port of 127.0.0.1 */
    const json_t *port = json_array_get(json_object_get(l.json, "ports"), 0);
    assert_int_equal(json_int_at(port, "guest"), 8080);
    assert_string_equal(json_string_value(json_object_get(port, "addr")), "127.0.0.1");
    assert_int_equal(json_int_at(port, "port"), json_int_at(port, "host"));
    char *hostfwd =
        tinyx_xasprintf("hostfwd=tcp:127.0.0.1:%d-:8080", (int)json_int_at(port, "port"));
    char *last = fake_args(2); /* the report speaks for the last run */
    assert_contains(last, hostfwd);
    free(last);
    free(hostfwd);
    free(append);
    free(netdev);
    free(args);
    launch_free(&l);
    free(img);
}

static void test_bad_kernel_file(void **state)
{
    (void)state;
    fake_reset();
    char *img = make_image("bad-kernel", "console=ttyS0\n", hello_manifest);
    char *text = tinyx_xasprintf("%s/cmdline", img);
    struct launch l = launch(img, "--accel", "tcg", "--quiet", "--json", "--kernel", text, NULL);
    assert_int_equal(l.rc, TINYX_EXIT_USAGE);
    assert_null(l.json); /* errors before the VM starts print only a message */
    assert_contains(l.err, "--kernel");
    assert_contains(l.err, "is not a bootable kernel");
    launch_free(&l);
    free(text);

    text = tinyx_xasprintf("%s/no-such-vmlinux", tmp_dir);
    l = launch(img, "--accel", "tcg", "--quiet", "--kernel", text, NULL);
    assert_int_equal(l.rc, TINYX_EXIT_USAGE);
    assert_contains(l.err, "no-such-vmlinux");
    assert_int_equal(fake_runs(), 0);
    launch_free(&l);
    free(text);
    free(img);
}

static void test_qemu_blk_devices(void **state)
{
    (void)state;
    fake_reset();
    setenv("FAKE_QEMU_TIMER", "1", 1);
    setenv("FAKE_QEMU_CONSOLE", "Hello, world!\r\ntinyx-init: exit status 0\r\n", 1);
    setenv("FAKE_QEMU_EXIT", "1", 1);
    char *img = make_image("blk", "console=ttyS0\n", hello_manifest);
    char *dir = realpath(tmp_dir, NULL);
    char *comma = tinyx_xasprintf("%s/disk,one.img", dir),
         *plain = tinyx_xasprintf("%s/plain.img", dir);
    char sector[1024] = {0};
    write_file(comma, sector, sizeof(sector), 0644);
    write_file(plain, sector, 512, 0644);
    char *comma_ro = tinyx_xasprintf("%s,ro", comma);
    struct launch l =
        launch(img, "--accel", "tcg", "--quiet", "--json", "--blk", comma_ro, "--blk", plain, NULL);
    if (l.rc != 0)
        fail_msg("rc %d: %s", l.rc, l.err);
    char *args = fake_args(1);
    char *drive0 = nth_arg_after(args, "-drive", 0), *drive1 = nth_arg_after(args, "-drive", 1);
    /* QEMU's option syntax doubles a comma inside a value */
    char *want0 =
        tinyx_xasprintf("file=%s/disk,,one.img,format=raw,if=none,id=blk0,readonly=on", dir);
    char *want1 = tinyx_xasprintf("file=%s,format=raw,if=none,id=blk1", plain);
    assert_string_equal(drive0, want0);
    assert_string_equal(drive1, want1);
    assert_true(has_arg(args, "virtio-blk-device,drive=blk0"));
    assert_true(has_arg(args, "virtio-blk-device,drive=blk1"));
    assert_null(strstr(args, "-netdev")); /* disks bring no network */
    free(want0);
    free(want1);
    free(drive0);
    free(drive1);
    free(args);
    launch_free(&l);

    /* a missing disk, or one smaller than a sector, is refused before QEMU runs */
    char *missing = tinyx_xasprintf("%s/missing.img", dir);
    l = launch(img, "--accel", "tcg", "--quiet", "--blk", missing, NULL);
    assert_int_equal(l.rc, TINYX_EXIT_USAGE);
    assert_contains(l.err, "missing.img does not exist");
    launch_free(&l);
    /* one file twice, under two names: refused once the paths are resolved */
    char *again = tinyx_xasprintf("%s/../%s/plain.img", dir, strrchr(dir, '/') + 1);
    l = launch(img, "--accel", "tcg", "--quiet", "--blk", plain, "--blk", again, NULL);
    assert_int_equal(l.rc, TINYX_EXIT_USAGE);
    assert_contains(l.err, "plain.img is given twice");
    launch_free(&l);
    free(again);
    write_file(plain, sector, 100, 0644);
    l = launch(img, "--accel", "tcg", "--quiet", "--blk", plain, NULL);
    assert_int_equal(l.rc, TINYX_EXIT_USAGE);
    assert_contains(l.err, "smaller than one 512-byte sector");
    launch_free(&l);
    assert_int_equal(fake_runs(), 1);
    free(missing);
    free(comma_ro);
    free(comma);
    free(plain);
    free(dir);
    free(img);
}

/* The --net tests run in a network namespace of their own (taps and bridges need one that
 * nothing else uses); the test's process returns to its own afterwards. */
static int saved_netns = -1;

static int enter_netns(void **state)
{
    (void)state;
    saved_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved_netns < 0 || unshare(CLONE_NEWNET) < 0) {
        if (saved_netns >= 0)
            close(saved_netns);
        saved_netns = -1;
    }
    return 0;
}

static int leave_netns(void **state)
{
    (void)state;
    if (saved_netns >= 0) {
        assert_int_equal(setns(saved_netns, CLONE_NEWNET), 0);
        close(saved_netns);
        saved_netns = -1;
    }
    return 0;
}

static void test_qemu_net_devices(void **state)
{
    (void)state;
    if (saved_netns < 0 || access("/dev/net/tun", R_OK | W_OK) < 0) {
        printf("SKIP: --net needs a network namespace of its own and /dev/net/tun (root)\n");
        skip();
    }
    bool have_ip = system("ip link add tbr0 type bridge >/dev/null 2>&1 && "
                          "ip link set tbr0 up >/dev/null 2>&1") == 0;
    if (!have_ip)
        printf("note: no `ip` to make a bridge with: bridge= is not tried\n");
    fake_reset();
    setenv("FAKE_QEMU_TIMER", "1", 1);
    setenv("FAKE_QEMU_CONSOLE", "Hello, world!\r\ntinyx-init: exit status 0\r\n", 1);
    setenv("FAKE_QEMU_EXIT", "1", 1);
    setenv("FAKE_QEMU_NET", "1", 1);
    char *img = make_image("net", "console=ttyS0\n", hello_manifest);
    struct launch l =
        launch(img, "--accel", "tcg", "--quiet", "--json", "--net",
               have_ip ? "tgt0,bridge=tbr0" : "tgt0", "--net", "tgt1,mac=02:aa:bb:cc:dd:ee", NULL);
    if (l.rc != 0)
        fail_msg("rc %d: %s", l.rc, l.err);
    char *args = fake_args(1);
    char *netdev0 = nth_arg_after(args, "-netdev", 0), *netdev1 = nth_arg_after(args, "-netdev", 1);
    assert_string_equal(netdev0, "tap,id=net0,fd=5");
    assert_string_equal(netdev1, "tap,id=net1,fd=6");
    assert_null(nth_arg_after(args, "-netdev", 2)); /* no user-mode network besides */
    /* without mac=: tinyx-kvm's MAC for that tap name, so the guest keeps it across backends */
    uint8_t mac[6];
    launcher_vdev_net_default_mac("tgt0", mac);
    char *want = tinyx_xasprintf("virtio-net-device,netdev=net0,mac=%02x:%02x:%02x:%02x:%02x:%02x",
                                 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    assert_true(has_arg(args, want));
    assert_true(has_arg(args, "virtio-net-device,netdev=net1,mac=02:aa:bb:cc:dd:ee"));
    /* the address is the user's to give: none from the launcher */
    char *append = arg_after(args, "-append");
    assert_null(strstr(append, "tinyx.ip="));
    /* QEMU got the tap itself as descriptor 5, up (and on the bridge) before it started */
    char *fd5 = fake_file("fd5", 1);
    assert_contains(fd5, "/dev/net/tun");
    if (have_ip) {
        char *links = fake_file("links", 1);
        const char *tgt0 = strstr(links, "tgt0:");
        assert_non_null(tgt0);
        const char *eol = strchr(tgt0, '\n');
        char *line = tinyx_xstrndup(tgt0, eol ? (size_t)(eol - tgt0) : strlen(tgt0));
        assert_contains(line, ",UP");
        assert_contains(line, "master tbr0");
        free(line);
        free(links);
    }
    /* taps the launcher created are gone with the VM */
    assert_int_equal(if_nametoindex("tgt0"), 0);
    assert_int_equal(if_nametoindex("tgt1"), 0);
    free(fd5);
    free(append);
    free(want);
    free(netdev0);
    free(netdev1);
    free(args);
    launch_free(&l);

    /* a bridge that does not exist is named before QEMU runs */
    l = launch(img, "--accel", "tcg", "--quiet", "--net", "tgt0,bridge=nosuchbr", NULL);
    assert_int_equal(l.rc, TINYX_EXIT_USAGE);
    assert_contains(l.err, "bridge nosuchbr does not exist");
    launch_free(&l);
    free(img);

    /* an app with ports and a --net without ip=: no address to reach them at */
    img = make_image("net-server", "console=ttyS0\n", server_manifest);
    l = launch(img, "--accel", "tcg", "--quiet", "--net", "tgt0", NULL);
    assert_int_equal(l.rc, TINYX_EXIT_USAGE);
    assert_contains(l.err, "port 8080");
    assert_contains(l.err, "--net tgt0 gives the guest none: add ip=A.B.C.D/P");
    launch_free(&l);
    assert_int_equal(fake_runs(), 1);

    /* with ip=: QEMU writes no device page, so the address goes on the command line; no
     * user-mode network; the ports are at the guest's address */
    setenv("FAKE_QEMU_EXIT", "hang", 1);
    setenv("FAKE_QEMU_CONSOLE", "serving\r\n", 1);
    l = launch(img, "--accel", "tcg", "--quiet", "--json", "--until-ready", "--net", "tgt0",
               "--net", "tgt1,ip=10.9.0.2/24,gw=10.9.0.1", NULL);
    if (l.rc != 0)
        fail_msg("rc %d: %s", l.rc, l.err);
    args = fake_args(2);
    append = arg_after(args, "-append");
    assert_contains(append, "tinyx.ip=10.9.0.2/24 tinyx.gw=10.9.0.1 tinyx.iface=eth1");
    assert_null(strstr(append, "10.0.2.15"));
    netdev0 = nth_arg_after(args, "-netdev", 0);
    assert_string_equal(netdev0, "tap,id=net0,fd=5");
    netdev1 = nth_arg_after(args, "-netdev", 1);
    assert_string_equal(netdev1, "tap,id=net1,fd=6");
    assert_null(nth_arg_after(args, "-netdev", 2));
    assert_null(strstr(args, "hostfwd"));
    const json_t *port = json_array_get(json_object_get(l.json, "ports"), 0);
    assert_int_equal(json_int_at(port, "guest"), 8080);
    assert_string_equal(json_string_value(json_object_get(port, "addr")), "10.9.0.2");
    assert_int_equal(json_int_at(port, "port"), 8080);
    assert_null(json_object_get(port, "host")); /* nothing forwarded */
    free(netdev0);
    free(netdev1);
    free(append);
    free(args);
    launch_free(&l);

    /* QEMU's command line carries one address */
    l = launch(img, "--backend", "qemu", "--accel", "tcg", "--quiet", "--net",
               "tgt0,ip=10.9.0.2/24", "--net", "tgt1,ip=10.8.0.2/24", NULL);
    assert_int_equal(l.rc, TINYX_EXIT_USAGE);
    assert_contains(l.err, "2 --net devices have ip=");
    launch_free(&l);
    assert_int_equal(fake_runs(), 2);
    free(img);
}

int main(void)
{
    tinyx_progname = "tinyx-launch";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_defaults_and_new_ones),
        cmocka_unit_test(test_option_errors_name_the_option),
        cmocka_unit_test(test_device_options),
        cmocka_unit_test(test_device_option_errors),
        cmocka_unit_test(test_kernel_override_and_cmdline_mode),
        cmocka_unit_test(test_manifest_mode_and_existing_panic_words),
        cmocka_unit_test(test_backend_choice_is_said),
        cmocka_unit_test(test_exit_line_glued_to_output),
        cmocka_unit_test(test_panic_is_reported),
        cmocka_unit_test(test_panic_without_reset_ends_promptly),
        cmocka_unit_test(test_runs_report_medians),
        cmocka_unit_test(test_runs_say_which_failed),
        cmocka_unit_test(test_runs_stop_servers_once_ready),
        cmocka_unit_test(test_bad_kernel_file),
        cmocka_unit_test(test_qemu_blk_devices),
        cmocka_unit_test_setup_teardown(test_qemu_net_devices, enter_netns, leave_netns),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
