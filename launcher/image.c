/* image.c: load and validate an image directory and its manifest.json (jansson). */
#include "launcher/image.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tinyx/exitcode.h"
#include "tinyx/util.h"

void launcher_image_free(struct launcher_image *img)
{
    free(img->dir);
    free(img->kernel_path);
    free(img->initrd_path);
    free(img->cmdline);
    free(img->name);
    free(img->ports);
    launcher_check_free(&img->check);
    memset(img, 0, sizeof(*img));
}

/* A regular, readable, non-empty file of the image. */
static int check_file(const char *path, const char *what, uint64_t *bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return tinyx_err("the image has no %s (%s is missing); rebuild it with `tinyx build`", what,
                         path);
    if (fd < 0)
        return tinyx_errno("cannot read the image's %s %s", what, path);
    struct stat st;
    int rc = fstat(fd, &st);
    close(fd);
    if (rc < 0)
        return tinyx_errno("cannot read the image's %s %s", what, path);
    if (!S_ISREG(st.st_mode))
        return tinyx_err("the image's %s %s is not a regular file", what, path);
    if (st.st_size == 0)
        return tinyx_err("the image's %s %s is empty; rebuild it with `tinyx build`", what, path);
    if (bytes)
        *bytes = (uint64_t)st.st_size;
    return 0;
}

static int load_cmdline(struct launcher_image *img)
{
    char *path = tinyx_xasprintf("%s/cmdline", img->dir);
    int rc = check_file(path, "kernel command line", NULL);
    size_t len = 0;
    char *text = rc == 0 ? tinyx_read_file(path, &len) : NULL;
    if (rc == 0 && !text)
        rc = tinyx_errno("cannot read %s", path);
    if (rc == 0) {
        while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
            text[--len] = '\0';
        if (memchr(text, '\n', len) || strlen(text) != len)
            rc = tinyx_err("%s: must be one line of kernel parameters", path);
    }
    if (rc == 0)
        img->cmdline = text;
    else
        free(text);
    free(path);
    return rc;
}

static int manifest_error(const char *path, const char *field, const char *what)
{
    return tinyx_err("%s: %s: %s", path, field, what);
}

static int load_app(struct launcher_image *img, const char *path, json_t *app)
{
    json_t *mem = json_object_get(app, "memory_mb");
    if (mem && !json_is_null(mem)) {
        if (!json_is_integer(mem) || json_integer_value(mem) < 1 ||
            json_integer_value(mem) > 1024 * 1024)
            return manifest_error(path, "app.memory_mb",
                                  "must be a whole number of MiB from 1 to 1048576");
        img->memory_mb = (unsigned)json_integer_value(mem);
    }
    json_t *ports = json_object_get(app, "ports");
    if (ports && !json_is_null(ports)) {
        if (!json_is_array(ports))
            return manifest_error(path, "app.ports", "must be a list of TCP port numbers");
        img->n_ports = json_array_size(ports);
        img->ports = tinyx_xcalloc(img->n_ports, sizeof(int));
        for (size_t i = 0; i < img->n_ports; i++) {
            json_t *p = json_array_get(ports, i);
            if (!json_is_integer(p) || json_integer_value(p) < 1 || json_integer_value(p) > 65535) {
                char field[32];
                snprintf(field, sizeof(field), "app.ports[%zu]", i);
                return manifest_error(path, field, "must be a port number from 1 to 65535");
            }
            img->ports[i] = (int)json_integer_value(p);
        }
    }
    char err[512];
    if (launcher_check_from_json(json_object_get(app, "check"), "app.check", &img->check, err,
                                 sizeof(err)) < 0)
        return tinyx_err("%s: %s", path, err);
    return 0;
}

/* The kernel object: the launcher needs only how the kernel finds its devices. Absent fields
 * mean what images built before them did. */
static int load_kernel(struct launcher_image *img, const char *path, json_t *kernel)
{
    if (!kernel || json_is_null(kernel))
        return 0;
    if (!json_is_object(kernel))
        return manifest_error(path, "kernel", "must be an object");
    json_t *mode = json_object_get(kernel, "virtio_mmio");
    if (!mode || json_is_null(mode))
        return 0;
    static const char known[] = "(known: \"acpi\": the kernel finds its virtio-mmio devices in "
                                "the ACPI tables; \"cmdline\": it reads virtio_mmio.device= "
                                "on its command line)";
    if (!json_is_string(mode)) {
        char *what = tinyx_xasprintf("must be a string %s", known);
        int rc = manifest_error(path, "kernel.virtio_mmio", what);
        free(what);
        return rc;
    }
    if (launcher_virtio_mmio_from_name(json_string_value(mode), &img->virtio_mmio) < 0) {
        char *what = tinyx_xasprintf("unknown value \"%s\" %s", json_string_value(mode), known);
        int rc = manifest_error(path, "kernel.virtio_mmio", what);
        free(what);
        return rc;
    }
    return 0;
}

static int load_manifest(struct launcher_image *img)
{
    char *path = tinyx_xasprintf("%s/manifest.json", img->dir);
    int rc = check_file(path, "manifest", NULL);
    json_t *root = NULL;
    if (rc == 0) {
        json_error_t jerr;
        root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
            rc = tinyx_err("%s:%d:%d: not valid JSON: %s", path, jerr.line, jerr.column, jerr.text);
    }
    if (rc == 0 && !json_is_object(root))
        rc = manifest_error(path, "(top level)", "must be a JSON object");
    if (rc == 0) {
        json_t *format = json_object_get(root, "format");
        if (!format)
            rc = manifest_error(path, "format", "missing (expected 1)");
        else if (!json_is_integer(format))
            rc = manifest_error(path, "format", "must be the number 1");
        else if (json_integer_value(format) != 1)
            rc = tinyx_err("%s: format: this launcher reads format 1, the image has format "
                           "%lld (built by a different tinyx version?)",
                           path, (long long)json_integer_value(format));
    }
    if (rc == 0) {
        json_t *name = json_object_get(root, "name");
        if (name && !json_is_string(name) && !json_is_null(name))
            rc = manifest_error(path, "name", "must be a string");
        else if (json_is_string(name))
            img->name = tinyx_xstrdup(json_string_value(name));
    }
    if (rc == 0) {
        json_t *app = json_object_get(root, "app");
        if (!app)
            rc = manifest_error(path, "app", "missing (an object describing the application)");
        else if (!json_is_object(app))
            rc = manifest_error(path, "app", "must be an object");
        else
            rc = load_app(img, path, app);
    }
    if (rc == 0)
        rc = load_kernel(img, path, json_object_get(root, "kernel"));
    /* "initrd": null: the kernel needs none (the test guests); the image then has no file. */
    if (rc == 0 && json_is_null(json_object_get(root, "initrd"))) {
        free(img->initrd_path);
        img->initrd_path = NULL;
    }
    json_decref(root);
    free(path);
    return rc;
}

int launcher_image_load(const char *dir, struct launcher_image *img)
{
    memset(img, 0, sizeof(*img));
    struct stat st;
    if (stat(dir, &st) < 0) {
        if (errno == ENOENT)
            tinyx_err("image directory %s does not exist (make one with `tinyx build APP`)", dir);
        else
            tinyx_errno("cannot open image directory %s", dir);
        return TINYX_EXIT_USAGE;
    }
    if (!S_ISDIR(st.st_mode)) {
        tinyx_err("%s is not a directory; give the image directory that holds kernel, initrd, "
                  "cmdline and manifest.json",
                  dir);
        return TINYX_EXIT_USAGE;
    }
    if (access(dir, R_OK | X_OK) < 0) {
        tinyx_errno("cannot read image directory %s", dir);
        return TINYX_EXIT_USAGE;
    }
    img->dir = tinyx_xstrdup(dir);
    size_t len = strlen(img->dir);
    while (len > 1 && img->dir[len - 1] == '/')
        img->dir[--len] = '\0';
    img->kernel_path = tinyx_xasprintf("%s/kernel", img->dir);
    img->initrd_path = tinyx_xasprintf("%s/initrd", img->dir);
    if (check_file(img->kernel_path, "kernel", &img->kernel_bytes) < 0 || load_cmdline(img) < 0 ||
        load_manifest(img) < 0 ||
        (img->initrd_path && check_file(img->initrd_path, "initrd", &img->initrd_bytes) < 0)) {
        launcher_image_free(img);
        return TINYX_EXIT_IMAGE;
    }
    if (!img->name) {
        const char *slash = strrchr(img->dir, '/');
        img->name = tinyx_xstrdup(slash && slash[1] ? slash + 1 : img->dir);
    }
    return 0;
}
