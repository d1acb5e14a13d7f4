/* manifest.c: build manifest.json (files, packages, sizes, inputs) and print size reports. */
#include "tinyx/manifest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tinyx/util.h"
#include "tinyx/version.h"

static const char *owner_of(const struct tinyx_manifest_input *in, const char *path)
{
    const char *o = tinyx_strmap_get(in->owners, path);
    if (o)
        return o;
    if (tinyx_strmap_has(in->overlay, path)) {
        if (tinyx_str_starts(path, "/usr/lib/modules/"))
            return "(kernel modules)";
        return "(tinyx)";
    }
    return "(generated)"; /* made by maintainer scripts, e.g. /etc/passwd */
}

/* Folder a file is accounted under: its parent, cut to three levels (/usr/lib/x86_64-...). */
static char *folder_key(const char *path)
{
    char *d = tinyx_xstrdup(path);
    char *slash = strrchr(d, '/');
    if (slash == d)
        d[1] = '\0';
    else if (slash)
        *slash = '\0';
    int depth = 0;
    for (char *p = d; *p; p++)
        if (*p == '/' && ++depth == 4) {
            *p = '\0';
            break;
        }
    return d;
}

static void add_size(json_t *obj, const char *key, uint64_t bytes)
{
    json_t *v = json_object_get(obj, key);
    json_int_t cur = v ? json_integer_value(v) : 0;
    json_object_set_new(obj, key, json_integer(cur + (json_int_t)bytes));
}

static int cmp_file_bytes(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t bx = json_integer_value(json_object_get(x, "bytes"));
    json_int_t by = json_integer_value(json_object_get(y, "bytes"));
    if (bx != by)
        return bx > by ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "path")),
                  json_string_value(json_object_get(y, "path")));
}

json_t *tinyx_manifest_build(const struct tinyx_manifest_input *in)
{
    json_t *m = json_object();
    json_object_set_new(m, "format", json_integer(1));
    json_object_set_new(m, "name", json_string(in->recipe->name));
    json_object_set_new(m, "tinyx_version", json_string(TINYX_VERSION));

    json_t *app = json_object();
    json_t *cmd = json_array();
    for (size_t i = 0; i < in->argv->n; i++)
        json_array_append_new(cmd, json_string(in->argv->v[i]));
    json_object_set_new(app, "cmd", cmd);
    json_t *env = json_object();
    for (size_t i = 0; i < in->env->n; i++) {
        const char *eq = strchr(in->env->v[i], '=');
        char *name = tinyx_xstrndup(in->env->v[i], (size_t)(eq - in->env->v[i]));
        json_object_set_new(env, name, json_string(eq + 1));
        free(name);
    }
    json_object_set_new(app, "env", env);
    json_object_set_new(app, "cwd", json_string(in->cwd));
    json_object_set_new(app, "user", json_string(in->user));
    json_object_set_new(app, "uid", json_integer(in->uid));
    json_object_set_new(app, "gid", json_integer(in->gid));
    json_t *ports = json_array();
    for (size_t i = 0; i < in->recipe->n_ports; i++)
        json_array_append_new(ports, json_integer(in->recipe->ports[i]));
    json_object_set_new(app, "ports", ports);
    json_object_set_new(app, "memory_mb", json_integer(in->recipe->memory_mb));
    json_object_set_new(app, "check", tinyx_check_to_json(&in->recipe->check));
    json_object_set_new(m, "app", app);

    json_t *k = json_object();
    json_object_set_new(k, "file", json_string("kernel"));
    json_object_set_new(k, "format", json_string(in->kernel->format));
    json_object_set_new(k, "source", json_string(in->kernel->source));
    json_object_set_new(k, "release", json_string(in->kernel->release));
    json_object_set_new(k, "bytes", json_integer((json_int_t)in->kernel_bytes));
    json_object_set_new(k, "sha256", json_string(in->kernel_sha256));
    json_object_set_new(k, "config_sha256", json_string(in->kernel->config_sha256));
    json_object_set_new(k, "config", json_string("kernel.config"));
    json_object_set_new(k, "virtio_mmio", json_string(in->kernel->virtio_mmio));
    if (in->kernel->bzimage) {
        struct stat bst;
        json_object_set_new(k, "bzimage", json_string("bzImage"));
        if (stat(in->kernel->bzimage, &bst) == 0)
            json_object_set_new(k, "bzimage_bytes", json_integer((json_int_t)bst.st_size));
    }
    json_t *mods = json_array();
    for (size_t i = 0; i < in->kernel->module_names.n; i++)
        json_array_append_new(mods, json_string(in->kernel->module_names.v[i]));
    json_object_set_new(k, "modules", mods);
    json_object_set_new(m, "kernel", k);

    json_t *ird = json_object();
    json_object_set_new(ird, "file", json_string("initrd"));
    json_object_set_new(ird, "compression", json_string(in->compression));
    json_object_set_new(ird, "bytes", json_integer((json_int_t)in->initrd_bytes));
    json_object_set_new(ird, "sha256", json_string(in->initrd_sha256));
    json_object_set_new(m, "initrd", ird);
    json_object_set_new(m, "cmdline", json_string(in->cmdline));
    json_object_set_new(m, "recipe", tinyx_recipe_to_json(in->recipe));

    json_t *pkgs = json_array();
    for (size_t i = 0; i < in->packages->n; i++) {
        json_t *p = json_object();
        json_object_set_new(p, "name", json_string(in->packages->v[i].name));
        json_object_set_new(p, "version", json_string(in->packages->v[i].version));
        json_array_append_new(pkgs, p);
    }
    json_object_set_new(m, "packages", pkgs);

    /* Files: everything in the tree, with its owner. */
    json_t *files = json_array();
    json_t *by_pkg = json_object(), *by_folder = json_object();
    uint64_t rootfs = 0;
    struct strmap all = STRMAP_INIT;
    /* The tree holds exactly what the image holds: walk it via a find-like listing. */
    struct strvec stack = STRVEC_INIT;
    tinyx_strvec_push(&stack, "");
    while (stack.n) {
        char *rel = stack.v[--stack.n];
        stack.v[stack.n] = NULL;
        char *host = tinyx_xasprintf("%s%s", in->tree, rel);
        struct dirent **ents = NULL;
        int n = scandir(host, &ents, NULL, NULL);
        for (int i = 0; i < n; i++) {
            if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, "..")) {
                char *p = tinyx_xasprintf("%s/%s", rel, ents[i]->d_name);
                tinyx_strmap_set(&all, p, NULL);
                char *hp = tinyx_xasprintf("%s%s", in->tree, p);
                struct stat st;
                if (lstat(hp, &st) == 0 && S_ISDIR(st.st_mode))
                    tinyx_strvec_push(&stack, p);
                free(hp);
                free(p);
            }
            free(ents[i]);
        }
        free(ents);
        free(host);
        free(rel);
    }
    tinyx_strvec_free(&stack);
    const char **paths = tinyx_strmap_sorted_keys(&all);
    size_t nfiles = 0;
    json_t **regular = tinyx_xcalloc(all.n + 1, sizeof(json_t *));
    for (size_t i = 0; paths[i]; i++) {
        char *hp = tinyx_xasprintf("%s%s", in->tree, paths[i]);
        struct stat st;
        if (lstat(hp, &st) == 0) {
            const char *type = S_ISDIR(st.st_mode)   ? "dir"
                               : S_ISLNK(st.st_mode) ? "link"
                               : S_ISREG(st.st_mode) ? "file"
                                                     : "other";
            json_t *f = json_object();
            json_object_set_new(f, "path", json_string(paths[i]));
            json_object_set_new(f, "type", json_string(type));
            const char *why = tinyx_strmap_get(in->selection, paths[i]);
            json_object_set_new(f, "why",
                                json_string(why ? why
                                            : tinyx_strmap_has(in->overlay, paths[i])
                                                ? "overlay"
                                                : "generated"));
            if (S_ISREG(st.st_mode)) {
                const char *owner = owner_of(in, paths[i]);
                json_object_set_new(f, "bytes", json_integer((json_int_t)st.st_size));
                json_object_set_new(f, "package", json_string(owner));
                add_size(by_pkg, owner, (uint64_t)st.st_size);
                char *fk = folder_key(paths[i]);
                add_size(by_folder, fk, (uint64_t)st.st_size);
                free(fk);
                rootfs += (uint64_t)st.st_size;
                regular[nfiles++] = f;
            }
            json_array_append_new(files, f);
        }
        free(hp);
    }
    free(paths);
    tinyx_strmap_free(&all);
    json_object_set_new(m, "files", files);

    qsort(regular, nfiles, sizeof(json_t *), cmp_file_bytes);
    json_t *largest = json_array();
    for (size_t i = 0; i < nfiles && i < 20; i++) {
        json_t *f = json_object();
        json_object_set(f, "path", json_object_get(regular[i], "path"));
        json_object_set(f, "bytes", json_object_get(regular[i], "bytes"));
        json_object_set(f, "package", json_object_get(regular[i], "package"));
        json_array_append_new(largest, f);
    }
    free(regular);
    json_t *sizes = json_object();
    json_object_set_new(sizes, "rootfs_bytes", json_integer((json_int_t)rootfs));
    json_object_set_new(sizes, "initrd_bytes", json_integer((json_int_t)in->initrd_bytes));
    json_object_set_new(sizes, "kernel_bytes", json_integer((json_int_t)in->kernel_bytes));
    json_object_set_new(sizes, "image_bytes",
                        json_integer((json_int_t)(in->initrd_bytes + in->kernel_bytes)));
    json_object_set_new(sizes, "files", json_integer((json_int_t)nfiles));
    struct stat bst;
    if (in->kernel->bzimage && stat(in->kernel->bzimage, &bst) == 0) {
        /* The same image with the bzImage as its kernel: what a size-bound user ships. */
        json_object_set_new(sizes, "bzimage_bytes", json_integer((json_int_t)bst.st_size));
        json_object_set_new(sizes, "image_bzimage_bytes",
                            json_integer((json_int_t)((uint64_t)bst.st_size + in->initrd_bytes)));
    }
    json_object_set_new(sizes, "by_package", by_pkg);
    json_object_set_new(sizes, "by_folder", by_folder);
    json_object_set_new(sizes, "largest", largest);
    json_object_set_new(m, "sizes", sizes);

    json_t *inputs = json_object();
    json_object_set_new(inputs, "stage_key", json_string(in->stage_key));
    json_object_set_new(inputs, "init_sha256", json_string(in->init_sha256));
    json_object_set_new(inputs, "recipe_sha256", json_string(in->recipe_sha256));
    json_object_set_new(m, "inputs", inputs);
    return m;
}

struct kv {
    const char *key;
    json_int_t v;
};

static int cmp_kv(const void *a, const void *b)
{
    const struct kv *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return strcmp(x->key, y->key);
}

static void print_table(FILE *out, const char *title, json_t *obj, size_t top, uint64_t total)
{
    size_t n = json_object_size(obj), i = 0;
    struct kv *rows = tinyx_xcalloc(n + 1, sizeof(*rows));
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        rows[i].key = key;
        rows[i++].v = json_integer_value(v);
    }
    qsort(rows, n, sizeof(*rows), cmp_kv);
    fprintf(out, "%s:\n", title);
    for (i = 0; i < n && i < top; i++) {
        char h[32];
        fprintf(out, "  %10s  %5.1f%%  %s\n", tinyx_human_size((uint64_t)rows[i].v, h, sizeof(h)),
                total ? 100.0 * (double)rows[i].v / (double)total : 0.0, rows[i].key);
    }
    if (n > top)
        fprintf(out, "  ... %zu more\n", n - top);
    free(rows);
}

void tinyx_manifest_print_sizes(json_t *m, FILE *out, size_t top)
{
    json_t *sizes = json_object_get(m, "sizes");
    uint64_t rootfs = (uint64_t)json_integer_value(json_object_get(sizes, "rootfs_bytes"));
    uint64_t initrd = (uint64_t)json_integer_value(json_object_get(sizes, "initrd_bytes"));
    uint64_t kernel = (uint64_t)json_integer_value(json_object_get(sizes, "kernel_bytes"));
    char a[32], b[32], c[32], d[32];
    fprintf(out, "image %s: kernel %s + initrd %s (%s) = %s; rootfs %s in %lld files\n",
            json_string_value(json_object_get(m, "name")), tinyx_human_size(kernel, a, sizeof(a)),
            tinyx_human_size(initrd, b, sizeof(b)),
            json_string_value(json_object_get(json_object_get(m, "initrd"), "compression")),
            tinyx_human_size(kernel + initrd, c, sizeof(c)), tinyx_human_size(rootfs, d, sizeof(d)),
            (long long)json_integer_value(json_object_get(sizes, "files")));
    json_t *bzi = json_object_get(sizes, "image_bzimage_bytes");
    if (bzi) {
        uint64_t bz = (uint64_t)json_integer_value(json_object_get(sizes, "bzimage_bytes"));
        fprintf(out, "with the bzImage as kernel: %s + initrd %s = %s\n",
                tinyx_human_size(bz, a, sizeof(a)), tinyx_human_size(initrd, b, sizeof(b)),
                tinyx_human_size((uint64_t)json_integer_value(bzi), c, sizeof(c)));
    }
    print_table(out, "by package (uncompressed)", json_object_get(sizes, "by_package"), top,
                rootfs);
    print_table(out, "by folder (uncompressed)", json_object_get(sizes, "by_folder"), top, rootfs);
    fprintf(out, "largest files:\n");
    json_t *largest = json_object_get(sizes, "largest");
    size_t i;
    json_t *f;
    json_array_foreach(largest, i, f)
    {
        if (i >= top)
            break;
        char h[32];
        fprintf(out, "  %10s  %s (%s)\n",
                tinyx_human_size((uint64_t)json_integer_value(json_object_get(f, "bytes")), h,
                                 sizeof(h)),
                json_string_value(json_object_get(f, "path")),
                json_string_value(json_object_get(f, "package")));
    }
}
