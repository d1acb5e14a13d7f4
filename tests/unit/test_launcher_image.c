/* test_launcher_image.c: image directories, good and broken, with messages and exit codes. */
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

#include "launcher/image.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

/* ---- stderr capture: messages go to fd 2 with write(2), so redirect the descriptor ---- */

struct capture {
    int saved_fd;
    FILE *tmp;
};

static void capture_start(struct capture *cap)
{
    fflush(stderr);
    cap->tmp = tmpfile();
    assert_non_null(cap->tmp);
    cap->saved_fd = dup(STDERR_FILENO);
    assert_true(cap->saved_fd >= 0);
    assert_true(dup2(fileno(cap->tmp), STDERR_FILENO) >= 0);
}

static char *capture_end(struct capture *cap)
{
    fflush(stderr);
    dup2(cap->saved_fd, STDERR_FILENO);
    close(cap->saved_fd);
    fseek(cap->tmp, 0, SEEK_END);
    long size = ftell(cap->tmp);
    assert_true(size >= 0);
    rewind(cap->tmp);
    char *text = tinyx_xcalloc(1, (size_t)size + 1);
    size_t got = fread(text, 1, (size_t)size, cap->tmp);
    text[got] = '\0';
    fclose(cap->tmp);
    return text;
}

/* ---- image directories in a temp folder ---- */

static const char good_manifest[] =
    "{\n"
    "  \"format\": 1,\n"
    "  \"name\": \"nginx\",\n"
    "  \"tinyx_version\": \"0.1.0\",\n"
    "  \"app\": {\n"
    "    \"cmd\": [\"/usr/sbin/nginx\", \"-g\", \"daemon off;\"],\n"
    "    \"ports\": [80, 443],\n"
    "    \"memory_mb\": 96,\n"
    "    \"check\": {\"kind\": \"http\", \"port\": 80, \"path\": \"/\", \"expect\": \"Welcome\","
    " \"status\": 200}\n"
    "  },\n"
    "  \"kernel\": {\"file\": \"kernel\", \"format\": \"bzImage\"},\n"
    "  \"sizes\": {\"image_bytes\": 0}\n"
    "}\n";

static void write_text(const char *dir, const char *name, const char *text)
{
    char *path = tinyx_xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    free(path);
}

static void remove_file(const char *dir, const char *name)
{
    char *path = tinyx_xasprintf("%s/%s", dir, name);
    assert_int_equal(unlink(path), 0);
    free(path);
}

/* A complete image directory; the caller breaks one thing. */
static char *make_image(void)
{
    char tmpl[] = "/tmp/test-launcher-image-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    dir = tinyx_xstrdup(dir);
    write_text(dir, "kernel", "KERNEL-BYTES-0123456789");  /* 23 bytes */
    write_text(dir, "initrd", "070701-not-really-a-cpio"); /* 24 bytes */
    write_text(dir, "cmdline", "console=ttyS0 reboot=t panic=-1 quiet\n");
    write_text(dir, "manifest.json", good_manifest);
    return dir;
}

static void drop_image(char *dir)
{
    assert_int_equal(tinyx_rm_rf(dir), 0);
    free(dir);
}

/* Load dir expecting failure with code; returns the message (malloc'd). */
static char *load_fails(const char *dir, int code)
{
    struct launcher_image img;
    struct capture cap;
    capture_start(&cap);
    int rc = launcher_image_load(dir, &img);
    char *msg = capture_end(&cap);
    if (rc != code)
        fail_msg("loading %s gave %d, expected %d; message: %s", dir, rc, code, msg);
    assert_null(img.dir);
    assert_null(img.kernel_path);
    return msg;
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("expected \"%s\" in \"%s\"", part, text);
}

/* Replace the manifest and expect a failure naming field. */
static void manifest_fails(const char *manifest, const char *field)
{
    char *dir = make_image();
    write_text(dir, "manifest.json", manifest);
    char *msg = load_fails(dir, TINYX_EXIT_IMAGE);
    assert_contains(msg, "manifest.json");
    assert_contains(msg, field);
    free(msg);
    drop_image(dir);
}

/* ---- tests ---- */

static void test_good_image(void **state)
{
    (void)state;
    char *dir = make_image();
    char *with_slash = tinyx_xasprintf("%s/", dir);
    struct launcher_image img;
    assert_int_equal(launcher_image_load(with_slash, &img), 0);
    assert_string_equal(img.dir, dir);
    char *kernel = tinyx_xasprintf("%s/kernel", dir);
    assert_string_equal(img.kernel_path, kernel);
    assert_int_equal(img.kernel_bytes, 23);
    assert_int_equal(img.initrd_bytes, 24);
    assert_string_equal(img.cmdline, "console=ttyS0 reboot=t panic=-1 quiet");
    assert_string_equal(img.name, "nginx");
    assert_int_equal(img.memory_mb, 96);
    assert_int_equal(img.n_ports, 2);
    assert_int_equal(img.ports[0], 80);
    assert_int_equal(img.ports[1], 443);
    assert_int_equal(img.check.kind, LAUNCHER_CHECK_HTTP);
    assert_int_equal(img.check.port, 80);
    assert_string_equal(img.check.path, "/");
    assert_string_equal(img.check.expect, "Welcome");
    assert_int_equal(img.check.status, 200);
    /* the manifest's kernel object has no virtio_mmio: an image from before the field */
    assert_int_equal(img.virtio_mmio, LAUNCHER_VIRTIO_MMIO_ACPI);
    launcher_image_free(&img);
    free(kernel);
    free(with_slash);
    drop_image(dir);
}

static void test_minimal_manifest_defaults(void **state)
{
    (void)state;
    char *dir = make_image();
    write_text(dir, "manifest.json", "{\"format\":1,\"app\":{\"check\":null}}");
    struct launcher_image img;
    assert_int_equal(launcher_image_load(dir, &img), 0);
    const char *base = strrchr(dir, '/') + 1;
    assert_string_equal(img.name, base);
    assert_int_equal(img.memory_mb, 0);
    assert_int_equal(img.n_ports, 0);
    assert_int_equal(img.check.kind, LAUNCHER_CHECK_NONE);
    launcher_image_free(&img);

    write_text(dir, "manifest.json",
               "{\"format\":1,\"app\":{\"check\":{\"kind\":\"output\",\"expect\":\"ready\"}}}");
    assert_int_equal(launcher_image_load(dir, &img), 0);
    assert_int_equal(img.check.kind, LAUNCHER_CHECK_OUTPUT);
    assert_string_equal(img.check.expect, "ready");
    launcher_image_free(&img);
    drop_image(dir);
}

static void test_missing_directory(void **state)
{
    (void)state;
    char *msg = load_fails("/tmp/test-launcher-image-does-not-exist", TINYX_EXIT_USAGE);
    assert_contains(msg, "does not exist");
    assert_contains(msg, "tinyx build");
    free(msg);

    char *dir = make_image();
    char *kernel = tinyx_xasprintf("%s/kernel", dir);
    msg = load_fails(kernel, TINYX_EXIT_USAGE);
    assert_contains(msg, "not a directory");
    free(msg);
    free(kernel);
    drop_image(dir);
}

static void test_missing_or_empty_files(void **state)
{
    (void)state;
    static const char *const files[] = {"kernel", "initrd", "cmdline", "manifest.json"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *dir = make_image();
        remove_file(dir, files[i]);
        char *msg = load_fails(dir, TINYX_EXIT_IMAGE);
        assert_contains(msg, files[i]);
        assert_contains(msg, "missing");
        free(msg);
        drop_image(dir);
    }
    char *dir = make_image();
    write_text(dir, "initrd", "");
    char *msg = load_fails(dir, TINYX_EXIT_IMAGE);
    assert_contains(msg, "initrd");
    assert_contains(msg, "empty");
    free(msg);
    drop_image(dir);

    /* A kernel that is a directory is not a kernel. */
    dir = make_image();
    remove_file(dir, "kernel");
    char *kdir = tinyx_xasprintf("%s/kernel", dir);
    assert_int_equal(mkdir(kdir, 0755), 0);
    msg = load_fails(dir, TINYX_EXIT_IMAGE);
    assert_contains(msg, "not a regular file");
    free(msg);
    free(kdir);
    drop_image(dir);
}

static void test_cmdline_must_be_one_line(void **state)
{
    (void)state;
    char *dir = make_image();
    write_text(dir, "cmdline", "console=ttyS0\nquiet\n");
    char *msg = load_fails(dir, TINYX_EXIT_IMAGE);
    assert_contains(msg, "cmdline");
    assert_contains(msg, "one line");
    free(msg);
    drop_image(dir);
}

static void test_bad_json(void **state)
{
    (void)state;
    char *dir = make_image();
    write_text(dir, "manifest.json", "{\n  \"format\": 1,\n  \"app\": {\n}\n");
    char *msg = load_fails(dir, TINYX_EXIT_IMAGE);
    assert_contains(msg, "manifest.json:");
    assert_contains(msg, "not valid JSON");
    free(msg);
    drop_image(dir);
    manifest_fails("{\"format\":1,\"format\":1,\"app\":{}}", "duplicate");
    manifest_fails("[1, 2]", "JSON object");
}

static void test_bad_fields_are_named(void **state)
{
    (void)state;
    manifest_fails("{\"app\":{}}", "format");
    manifest_fails("{\"format\":\"1\",\"app\":{}}", "format");
    manifest_fails("{\"format\":2,\"app\":{}}", "format 2");
    manifest_fails("{\"format\":1}", "app");
    manifest_fails("{\"format\":1,\"app\":[]}", "app");
    manifest_fails("{\"format\":1,\"name\":7,\"app\":{}}", "name");
    manifest_fails("{\"format\":1,\"app\":{\"memory_mb\":\"lots\"}}", "app.memory_mb");
    manifest_fails("{\"format\":1,\"app\":{\"memory_mb\":0}}", "app.memory_mb");
    manifest_fails("{\"format\":1,\"app\":{\"ports\":80}}", "app.ports");
    manifest_fails("{\"format\":1,\"app\":{\"ports\":[80,0]}}", "app.ports[1]");
    manifest_fails("{\"format\":1,\"app\":{\"check\":{\"kind\":\"udp\",\"port\":53}}}",
                   "app.check.kind");
    manifest_fails("{\"format\":1,\"app\":{\"check\":{\"kind\":\"http\"}}}", "app.check.port");
    manifest_fails("{\"format\":1,\"app\":{\"check\":{\"kind\":\"output\"}}}", "app.check.expect");
    manifest_fails("{\"format\":1,\"app\":{\"check\":\"http\"}}", "app.check");
}

/* The manifest of a Tinyx-built kernel image with kernel set to kernel_json. */
static char *manifest_with_kernel(const char *kernel_json)
{
    return tinyx_xasprintf("{\"format\":1,\"app\":{\"check\":null},\"kernel\":%s}", kernel_json);
}

static void test_kernel_virtio_mmio(void **state)
{
    (void)state;
    static const struct {
        const char *kernel;
        enum launcher_virtio_discovery want;
    } good[] = {
        {"{\"file\":\"kernel\",\"format\":\"vmlinux\",\"virtio_mmio\":\"cmdline\"}",
         LAUNCHER_VIRTIO_MMIO_CMDLINE},
        {"{\"virtio_mmio\":\"acpi\"}", LAUNCHER_VIRTIO_MMIO_ACPI},
        {"{\"virtio_mmio\":null}", LAUNCHER_VIRTIO_MMIO_ACPI},
        {"{}", LAUNCHER_VIRTIO_MMIO_ACPI},
        {"null", LAUNCHER_VIRTIO_MMIO_ACPI},
    };
    char *dir = make_image();
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *manifest = manifest_with_kernel(good[i].kernel);
        write_text(dir, "manifest.json", manifest);
        struct launcher_image img;
        if (launcher_image_load(dir, &img) != 0)
            fail_msg("kernel %s was refused", good[i].kernel);
        assert_int_equal(img.virtio_mmio, good[i].want);
        launcher_image_free(&img);
        free(manifest);
    }
    /* no kernel object at all */
    write_text(dir, "manifest.json", "{\"format\":1,\"app\":{}}");
    struct launcher_image img;
    assert_int_equal(launcher_image_load(dir, &img), 0);
    assert_int_equal(img.virtio_mmio, LAUNCHER_VIRTIO_MMIO_ACPI);
    launcher_image_free(&img);
    drop_image(dir);
}

static void test_kernel_virtio_mmio_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {"{\"virtio_mmio\":\"pci\"}", "{\"virtio_mmio\":\"ACPI\"}",
                                      "{\"virtio_mmio\":1}", "{\"virtio_mmio\":[\"cmdline\"]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *dir = make_image();
        char *manifest = manifest_with_kernel(bad[i]);
        write_text(dir, "manifest.json", manifest);
        char *msg = load_fails(dir, TINYX_EXIT_IMAGE);
        assert_contains(msg, "manifest.json");
        assert_contains(msg, "kernel.virtio_mmio");
        /* the message says what would be right */
        assert_contains(msg, "\"acpi\"");
        assert_contains(msg, "\"cmdline\"");
        free(msg);
        free(manifest);
        drop_image(dir);
    }
    manifest_fails("{\"format\":1,\"app\":{},\"kernel\":\"vmlinux\"}", "kernel");
    char *dir = make_image();
    char *manifest = manifest_with_kernel("{\"virtio_mmio\":\"pci\"}");
    write_text(dir, "manifest.json", manifest);
    char *msg = load_fails(dir, TINYX_EXIT_IMAGE);
    assert_contains(msg, "unknown value \"pci\"");
    free(msg);
    free(manifest);
    drop_image(dir);
}

int main(void)
{
    tinyx_progname = "test_launcher_image";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_image),
        cmocka_unit_test(test_minimal_manifest_defaults),
        cmocka_unit_test(test_missing_directory),
        cmocka_unit_test(test_missing_or_empty_files),
        cmocka_unit_test(test_cmdline_must_be_one_line),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_bad_fields_are_named),
        cmocka_unit_test(test_kernel_virtio_mmio),
        cmocka_unit_test(test_kernel_virtio_mmio_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
