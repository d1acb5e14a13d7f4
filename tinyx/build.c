/* build.c: the `tinyx build` pipeline, stage by stage, with timings and atomic output. */
#include "tinyx/build.h"

#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "initramfs/cpio_writer.h"
#include "tinyx/apt.h"
#include "tinyx/cache.h"
#include "tinyx/dpkg.h"
#include "tinyx/exitcode.h"
#include "tinyx/hash.h"
#include "tinyx/kernel.h"
#include "tinyx/manifest.h"
#include "tinyx/passwd.h"
#include "tinyx/plan.h"
#include "tinyx/proc.h"
#include "tinyx/rootpath.h"
#include "tinyx/select.h"
#include "tinyx/stage.h"
#include "tinyx/suggest.h"
#include "tinyx/trace.h"
#include "tinyx/tree.h"
#include "tinyx/util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* After the kernel's own part (console, quiet): a panic or a reboot ends the VM at once. */
#define CMDLINE_TAIL "reboot=t panic=-1"

/* Stage timing: each stage prints one line when it is done. */
struct timer {
    uint64_t start, stage_start;
    char summary[1024];
};

static void stage_begin(struct timer *t)
{
    t->stage_start = tinyx_now_us();
}

static void stage_end(struct timer *t, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void stage_end(struct timer *t, const char *name, const char *fmt, ...)
{
    double s = (double)(tinyx_now_us() - t->stage_start) / 1e6;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    tinyx_info("%-8s %-58s %6.2f s", name, what, s);
    size_t l = strlen(t->summary);
    snprintf(t->summary + l, sizeof(t->summary) - l, "%s%s %.2f s", l ? ", " : "", name, s);
}

/* Find cmd[0] in the staged root: an absolute path, or a name searched in PATH. The result is
 * the absolute guest path as the app will name it (symlinks are kept by the selection). */
static char *find_program(const char *root, const char *name, const char *path_env)
{
    struct strvec cands = STRVEC_INIT;
    if (name[0] == '/') {
        tinyx_strvec_push(&cands, name);
    } else {
        char *copy = tinyx_xstrdup(path_env), *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
            tinyx_strvec_pushf(&cands, "%s/%s", d, name);
        free(copy);
    }
    char *found = NULL;
    for (size_t i = 0; i < cands.n && !found; i++) {
        char *canon = NULL;
        if (tinyx_rootpath_resolve(root, cands.v[i], true, NULL, &canon, NULL) ==
            TINYX_ROOTPATH_FOUND) {
            char *host = tinyx_xasprintf("%s%s", root, canon);
            struct stat st;
            if (stat(host, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
                found = tinyx_xstrdup(cands.v[i]);
            free(host);
        }
        free(canon);
    }
    tinyx_strvec_free(&cands);
    return found;
}

/* "cmd: 'x' is not in the image" with the close names that are. */
static void report_missing_program(const char *root, const char *name, const char *path_env)
{
    struct strvec names = STRVEC_INIT;
    char *copy = tinyx_xstrdup(path_env), *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *host = tinyx_xasprintf("%s%s", root, d);
        struct dirent **ents = NULL;
        int n = scandir(host, &ents, NULL, alphasort);
        for (int i = 0; i < n; i++) {
            if (ents[i]->d_name[0] != '.')
                tinyx_strvec_push(&names, ents[i]->d_name);
            free(ents[i]);
        }
        free(ents);
        free(host);
    }
    free(copy);
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    struct strvec sugg = STRVEC_INIT;
    tinyx_suggest(base, names.v, names.n, 3, &sugg);
    char *phrase = tinyx_suggest_phrase(&sugg);
    if (name[0] == '/')
        tinyx_err("cmd: %s is not in the image: no executable file at that path in the staged "
                  "root%s",
                  name, phrase);
    else
        tinyx_err("cmd: '%s' is not in the image: not found in PATH (%s) of the staged root%s; "
                  "add the package that provides it to `packages`",
                  name, path_env, phrase);
    free(phrase);
    tinyx_strvec_free(&sugg);
    tinyx_strvec_free(&names);
}

static void set_env(struct strvec *env, const char *name, const char *value)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < env->n; i++)
        if (!strncmp(env->v[i], name, nl) && env->v[i][nl] == '=') {
            free(env->v[i]);
            env->v[i] = tinyx_xasprintf("%s=%s", name, value);
            return;
        }
    tinyx_strvec_pushf(env, "%s=%s", name, value);
}

static const char *env_get(const struct strvec *env, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < env->n; i++)
        if (!strncmp(env->v[i], name, nl) && env->v[i][nl] == '=')
            return env->v[i] + nl + 1;
    return NULL;
}

static int file_size(const char *path, uint64_t *out)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return tinyx_errno("cannot stat %s", path);
    *out = (uint64_t)st.st_size;
    return 0;
}

struct build {
    const struct tinyx_recipe *r;
    const struct tinyx_build_opts *o;
    char *cache;
    char *out_dir;
    struct tinyx_apt apt;
    bool apt_open;
    struct strvec names; /* packages to stage: the recipe's + busybox-static */
    struct tinyx_pkglist closure;
    struct tinyx_stage stage;
    struct tinyx_pkglist installed;
    struct tinyx_user user;
    struct strvec argv, env;
    struct strvec traced;
    struct strmap selection, owners, overlay;
    struct tinyx_kernel kernel;
    char *work;     /* temp folder holding the tree */
    char *outtmp;   /* temp image folder, published at the end */
    bool published; /* out_dir holds the finished image */
    struct timer t;
};

static void build_free(struct build *b)
{
    if (b->apt_open)
        tinyx_apt_close(&b->apt);
    free(b->cache);
    free(b->out_dir);
    tinyx_strvec_free(&b->names);
    tinyx_pkglist_free(&b->closure);
    tinyx_stage_free(&b->stage);
    tinyx_pkglist_free(&b->installed);
    tinyx_user_free(&b->user);
    tinyx_strvec_free(&b->argv);
    tinyx_strvec_free(&b->env);
    tinyx_strvec_free(&b->traced);
    tinyx_strmap_free(&b->selection);
    tinyx_strmap_free(&b->owners);
    tinyx_strmap_free(&b->overlay);
    tinyx_kernel_free(&b->kernel);
    free(b->work);
    free(b->outtmp);
}

static int step_resolve(struct build *b)
{
    stage_begin(&b->t);
    if (tinyx_apt_open(b->cache, b->o->refresh, &b->apt) < 0)
        return tinyx_interrupted() ? TINYX_EXIT_INTERRUPTED : TINYX_EXIT_PACKAGE;
    b->apt_open = true;
    for (size_t i = 0; i < b->r->packages.n; i++)
        tinyx_strvec_push(&b->names, b->r->packages.v[i]);
    if (b->r->busybox && !tinyx_strvec_contains(&b->names, "busybox-static"))
        tinyx_strvec_push(&b->names, "busybox-static");
    if (tinyx_apt_closure(&b->apt, b->names.v, b->names.n, &b->closure) < 0)
        return tinyx_interrupted() ? TINYX_EXIT_INTERRUPTED : TINYX_EXIT_PACKAGE;
    stage_end(&b->t, "resolve", "%zu package(s) -> %zu with dependencies (%s)", b->r->packages.n,
              b->closure.n, b->apt.suite);
    return 0;
}

static int step_stage(struct build *b)
{
    stage_begin(&b->t);
    if (tinyx_stage_lookup(&b->apt, b->cache, b->names.v, b->names.n, &b->closure, &b->stage) < 0)
        return TINYX_EXIT_ENV;
    /* A cached staged root needs no .deb at all: skip the fetch (no network, no apt run). */
    if (b->stage.reused) {
        stage_end(&b->t, "fetch", "skipped: staged root cached");
    } else {
        unsigned downloaded = 0;
        if (tinyx_apt_fetch(&b->apt, b->names.v, b->names.n, &downloaded) < 0)
            return tinyx_interrupted() ? TINYX_EXIT_INTERRUPTED : TINYX_EXIT_PACKAGE;
        stage_end(&b->t, "fetch", "%u .deb downloaded into %s", downloaded, b->apt.debs);
    }
    stage_begin(&b->t);
    if (tinyx_stage_create(&b->apt, b->names.v, b->names.n, &b->stage) < 0)
        return tinyx_interrupted() ? TINYX_EXIT_INTERRUPTED : TINYX_EXIT_PACKAGE;
    if (tinyx_dpkg_installed(b->stage.root, &b->installed) < 0)
        return TINYX_EXIT_FAIL;
    stage_end(&b->t, "stage", "%s, %zu packages installed",
              b->stage.reused ? "cached root" : "new root (mmdebstrap)", b->installed.n);
    return 0;
}

/* cmd, env, user and cwd as the guest will run them. */
static int step_app(struct build *b)
{
    const struct tinyx_recipe *r = b->r;
    set_env(&b->env, "PATH", DEFAULT_PATH);
    if (tinyx_passwd_lookup(b->stage.root, r->user ? r->user : "root", &b->user) < 0)
        return TINYX_EXIT_RECIPE;
    set_env(&b->env, "HOME", b->user.home && *b->user.home ? b->user.home : "/");
    for (size_t i = 0; i < r->n_env; i++)
        set_env(&b->env, r->env[i].name, r->env[i].value);
    const char *path_env = env_get(&b->env, "PATH");
    char *prog = find_program(b->stage.root, r->cmd.v[0], path_env);
    if (!prog) {
        report_missing_program(b->stage.root, r->cmd.v[0], path_env);
        return TINYX_EXIT_APP;
    }
    tinyx_strvec_push_owned(&b->argv, prog);
    for (size_t i = 1; i < r->cmd.n; i++)
        tinyx_strvec_push(&b->argv, r->cmd.v[i]);
    return 0;
}

static int step_trace(struct build *b)
{
    stage_begin(&b->t);
    if (b->o->no_trace) {
        stage_end(&b->t, "trace", "skipped (--no-trace)");
        return 0;
    }
    const struct tinyx_recipe *r = b->r;
    json_t *check = tinyx_check_to_json(&r->check);
    char *check_json = NULL;
    if (r->check.kind == TINYX_CHECK_TCP || r->check.kind == TINYX_CHECK_HTTP)
        check_json = json_dumps(check, JSON_COMPACT);
    json_decref(check);
    char *launcher = tinyx_xasprintf("%s/tinyx-launch", tinyx_self_dir());
    struct tinyx_trace_spec spec = {
        .root = b->stage.root,
        .argv = tinyx_strvec_argv(&b->argv),
        .envp = tinyx_strvec_argv(&b->env),
        .cwd = r->cwd ? r->cwd : "/",
        .uid = b->user.uid,
        .gid = b->user.gid,
        .groups = b->user.groups,
        .n_groups = b->user.n_groups,
        .check_json = check_json,
        .launcher = launcher,
        .expect_output = r->check.kind == TINYX_CHECK_OUTPUT ? r->check.expect : NULL,
        .timeout_ms = b->o->trace_timeout_ms,
    };
    char *output = NULL;
    int res = tinyx_trace_run(&spec, &b->traced, &output);
    free(launcher);
    free(check_json);
    if (res != TINYX_TRACE_OK) {
        if (output && *output) {
            size_t ol = strlen(output);
            fprintf(stderr, "---- the app's output (last 2000 bytes) ----\n%s%s",
                    ol > 2000 ? output + ol - 2000 : output,
                    ol && output[ol - 1] != '\n' ? "\n" : "");
        }
        free(output);
        if (res == TINYX_TRACE_INTERRUPTED)
            return TINYX_EXIT_INTERRUPTED;
        if (res == TINYX_TRACE_SETUP_FAILED)
            return TINYX_EXIT_ENV;
        tinyx_err("the app failed its check in the staged root (%s); fix the recipe, or build "
                  "with --no-trace to skip this step",
                  tinyx_trace_result_name(res));
        return res == TINYX_TRACE_TIMEOUT ? TINYX_EXIT_TIMEOUT : TINYX_EXIT_APP;
    }
    free(output);
    stage_end(&b->t, "trace", "%zu paths touched, check %s", b->traced.n,
              r->check.kind == TINYX_CHECK_NONE ? "none" : "passed");
    return 0;
}

static int step_select(struct build *b)
{
    stage_begin(&b->t);
    const struct tinyx_recipe *r = b->r;
    struct tinyx_select_input in = {
        .root = b->stage.root,
        .packages = r->packages.v,
        .n_packages = r->packages.n,
        .traced = &b->traced,
        .include = &r->include,
        .exclude = &r->exclude,
        .program = b->argv.v[0],
        .ld_library_path = env_get(&b->env, "LD_LIBRARY_PATH"),
    };
    if (tinyx_select_files(&in, &b->selection) < 0)
        return TINYX_EXIT_APP;
    if (tinyx_dpkg_owners(b->stage.root, &b->installed, &b->owners) < 0)
        return TINYX_EXIT_FAIL;
    stage_end(&b->t, "select", "%zu paths kept", b->selection.n);
    return 0;
}

static int step_kernel(struct build *b)
{
    stage_begin(&b->t);
    const struct tinyx_recipe *r = b->r;
    if (!strcmp(r->kernel.source, "tinyx")) {
        int rc = tinyx_kernel_tinyx(&b->apt, b->cache, r, &b->kernel);
        if (rc != TINYX_EXIT_OK)
            return rc;
        stage_end(&b->t, "kernel", "%s, config %.12s, %s", b->kernel.source,
                  b->kernel.config_sha256, b->kernel.built ? "built" : "cached");
        return 0;
    }
    struct strvec mods = STRVEC_INIT;
    /* Debian's cloud kernel has virtio as modules; microvm declares its virtio-mmio devices
     * in ACPI, so virtio_mmio binds without command-line device entries. */
    if (r->n_ports > 0) {
        tinyx_strvec_push(&mods, "virtio_mmio");
        tinyx_strvec_push(&mods, "virtio_net");
    }
    for (size_t i = 0; i < r->modules.n; i++)
        tinyx_strvec_push(&mods, r->modules.v[i]);
    int rc = tinyx_kernel_debian(&b->apt, b->cache, mods.v, mods.n, &b->kernel);
    tinyx_strvec_free(&mods);
    if (rc < 0)
        return tinyx_interrupted() ? TINYX_EXIT_INTERRUPTED : TINYX_EXIT_PACKAGE;
    stage_end(&b->t, "kernel", "%s, %zu module(s)", b->kernel.source, b->kernel.module_names.n);
    return 0;
}

static int step_image(struct build *b)
{
    stage_begin(&b->t);
    const struct tinyx_recipe *r = b->r;
    int rc = TINYX_EXIT_FAIL;
    char *workbase = tinyx_xasprintf("%s/work/%s", b->cache, r->name);
    char *parent = tinyx_xasprintf("%s/work", b->cache);
    tinyx_mkdir_p(parent, 0755);
    free(parent);
    b->work = tinyx_cache_tmpdir_for(workbase);
    free(workbase);
    if (!b->work)
        return TINYX_EXIT_FAIL;

    /* The plan the init follows. */
    struct strvec mounts = STRVEC_INIT, modules = STRVEC_INIT;
    tinyx_strvec_push(&mounts, "proc /proc");
    tinyx_strvec_push(&mounts, "sysfs /sys");
    tinyx_strvec_push(&mounts, "devtmpfs /dev");
    tinyx_strvec_push(&mounts, "devpts /dev/pts");
    tinyx_strvec_push(&mounts, "tmpfs /dev/shm");
    tinyx_strvec_push(&mounts, "tmpfs /tmp");
    for (size_t i = 0; i < b->kernel.module_files.n; i++)
        tinyx_strvec_push_owned(
            &modules, tinyx_tree_module_path(b->kernel.release, b->kernel.module_files.v[i]));
    struct tinyx_plan plan = {
        .hostname = r->name,
        .mounts = &mounts,
        .modules = &modules,
        .env = &b->env,
        .cwd = r->cwd ? r->cwd : "/",
        .uid = b->user.uid,
        .gid = b->user.gid,
        .groups = b->user.groups,
        .n_groups = b->user.n_groups,
        .argv = &b->argv,
    };
    char *plan_text = tinyx_plan_render(&plan);
    tinyx_strvec_free(&mounts);
    tinyx_strvec_free(&modules);

    char *init = tinyx_xasprintf("%s/tinyx-init", tinyx_self_dir());
    char init_sha[TINYX_SHA256_HEX], recipe_sha[TINYX_SHA256_HEX];
    char kernel_sha[TINYX_SHA256_HEX], initrd_sha[TINYX_SHA256_HEX];
    char *tree = tinyx_xasprintf("%s/tree", b->work);
    char *initrd = NULL, *kernel = NULL, *cmdline = NULL, *manifest = NULL;
    json_t *m = NULL;
    char *text = NULL, *cmdline_text = NULL;
    if (!tinyx_exists(init)) {
        tinyx_err("%s is missing: run `make` first", init);
        goto out;
    }
    if (tinyx_sha256_file(init, init_sha) < 0)
        goto out;
    /* The recipe as parsed (not its file): ad-hoc recipes have no file, and comments or key
     * order do not change the image. */
    json_t *rj = tinyx_recipe_to_json(r);
    char *rtext = json_dumps(rj, JSON_COMPACT | JSON_SORT_KEYS);
    tinyx_sha256_buf(rtext, strlen(rtext), recipe_sha);
    free(rtext);
    json_decref(rj);
    if (mkdir(tree, 0755) < 0) {
        tinyx_errno("cannot create %s", tree);
        goto out;
    }
    struct tinyx_tree_input tin = {
        .root = b->stage.root,
        .selection = &b->selection,
        .init_binary = init,
        .plan_text = plan_text,
        .busybox = r->busybox,
        .kernel = &b->kernel,
    };
    if (tinyx_tree_build(&tin, tree, &b->overlay) < 0) {
        rc = tinyx_interrupted() ? TINYX_EXIT_INTERRUPTED : TINYX_EXIT_FAIL;
        goto out;
    }

    /* The image folder is written beside its final place and published in one rename. */
    char *outparent = tinyx_xstrdup(b->out_dir);
    char *slash = strrchr(outparent, '/');
    if (slash && slash != outparent) {
        *slash = '\0';
        tinyx_mkdir_p(outparent, 0755);
    }
    free(outparent);
    b->outtmp = tinyx_cache_tmpdir_for(b->out_dir);
    if (!b->outtmp)
        goto out;
    initrd = tinyx_xasprintf("%s/initrd", b->outtmp);
    kernel = tinyx_xasprintf("%s/kernel", b->outtmp);
    cmdline = tinyx_xasprintf("%s/cmdline", b->outtmp);
    manifest = tinyx_xasprintf("%s/manifest.json", b->outtmp);
    const char *compression = b->o->compression ? b->o->compression : r->compression;
    const char *epoch = getenv("SOURCE_DATE_EPOCH");
    struct initramfs_cpio_opts copts = {
        .compression = compression,
        .mtime = epoch ? strtoll(epoch, NULL, 10) : 0,
        .stop = tinyx_interrupted,
    };
    struct initramfs_node console = {"dev/console", S_IFCHR | 0600, 5, 1};
    struct initramfs_cpio_stats cst;
    if (initramfs_cpio_write(tree, initrd, &copts, &console, 1, &cst) < 0)
        goto out; /* an interrupt becomes TINYX_EXIT_INTERRUPTED at out */
    if (tinyx_copy_file(b->kernel.image, kernel, 0644) < 0)
        goto out;
    /* Beside the kernel: a bzImage of the same kernel (smaller; slower to boot under emulation)
     * and the .config it was built from. */
    if (b->kernel.bzimage) {
        char *bz = tinyx_xasprintf("%s/bzImage", b->outtmp);
        int c = tinyx_copy_file(b->kernel.bzimage, bz, 0644);
        free(bz);
        if (c < 0)
            goto out;
    }
    char *kconf = tinyx_xasprintf("%s/kernel.config", b->outtmp);
    int kc = tinyx_copy_file(b->kernel.config, kconf, 0644);
    free(kconf);
    if (kc < 0)
        goto out;
    cmdline_text = tinyx_xasprintf("%s %s", b->kernel.cmdline, CMDLINE_TAIL);
    char *line = tinyx_xasprintf("%s\n", cmdline_text);
    int cw = tinyx_write_file_atomic(cmdline, line, strlen(line), 0644);
    free(line);
    if (cw < 0)
        goto out;
    uint64_t kbytes = 0;
    if (file_size(kernel, &kbytes) < 0 || tinyx_sha256_file(kernel, kernel_sha) < 0 ||
        tinyx_sha256_file(initrd, initrd_sha) < 0)
        goto out;
    struct tinyx_manifest_input min = {
        .recipe = r,
        .argv = &b->argv,
        .env = &b->env,
        .cwd = r->cwd ? r->cwd : "/",
        .user = b->user.name,
        .uid = b->user.uid,
        .gid = b->user.gid,
        .packages = &b->installed,
        .owners = &b->owners,
        .tree = tree,
        .overlay = &b->overlay,
        .selection = &b->selection,
        .kernel = &b->kernel,
        .kernel_bytes = kbytes,
        .initrd_bytes = cst.out_bytes,
        .initrd_sha256 = initrd_sha,
        .kernel_sha256 = kernel_sha,
        .compression = compression,
        .cmdline = cmdline_text,
        .stage_key = b->stage.key,
        .init_sha256 = init_sha,
        .recipe_sha256 = recipe_sha,
    };
    m = tinyx_manifest_build(&min);
    text = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text || tinyx_write_file_atomic(manifest, text, strlen(text), 0644) < 0)
        goto out;
    if (b->o->keep_tree) {
        tinyx_rm_rf(b->o->keep_tree);
        if (rename(tree, b->o->keep_tree) < 0)
            tinyx_errno("cannot keep the tree at %s", b->o->keep_tree);
    }
    /* Last chance to honour a Ctrl-C: after this rename the image is there. */
    if (tinyx_interrupted()) {
        rc = TINYX_EXIT_INTERRUPTED;
        goto out;
    }
    if (tinyx_cache_publish_dir(b->outtmp, b->out_dir) < 0)
        goto out;
    b->published = true;
    char h1[32], h2[32], h3[32];
    stage_end(&b->t, "image", "rootfs %s -> initrd %s (%s)",
              tinyx_human_size(cst.file_bytes, h1, sizeof(h1)),
              tinyx_human_size(cst.out_bytes, h2, sizeof(h2)), compression);
    tinyx_info("done     %s: kernel %s + initrd %s = %s, in %.2f s", b->out_dir,
               tinyx_human_size(kbytes, h1, sizeof(h1)),
               tinyx_human_size(cst.out_bytes, h2, sizeof(h2)),
               tinyx_human_size(kbytes + cst.out_bytes, h3, sizeof(h3)),
               (double)(tinyx_now_us() - b->t.start) / 1e6);
    tinyx_info("stage times: %s", b->t.summary);
    rc = TINYX_EXIT_OK;
out:
    if (rc != TINYX_EXIT_OK && tinyx_interrupted())
        rc = TINYX_EXIT_INTERRUPTED;
    json_decref(m);
    free(text);
    free(cmdline_text);
    free(plan_text);
    free(init);
    free(tree);
    free(initrd);
    free(kernel);
    free(cmdline);
    free(manifest);
    return rc;
}

int tinyx_build(const struct tinyx_recipe *recipe, const struct tinyx_build_opts *opts)
{
    struct build b = {.r = recipe, .o = opts};
    b.t.start = tinyx_now_us();
    if (geteuid() != 0) {
        tinyx_err("tinyx build needs root: it stages a Debian root with mmdebstrap and runs "
                  "the app in a chroot to learn what it uses (try: sudo tinyx build ...)");
        return TINYX_EXIT_ENV;
    }
    b.cache = opts->cache_dir ? tinyx_cache_absolute(opts->cache_dir) : tinyx_cache_default_dir();
    if (tinyx_mkdir_p(b.cache, 0755) < 0)
        return TINYX_EXIT_ENV;
    b.out_dir =
        opts->out_dir ? tinyx_xstrdup(opts->out_dir) : tinyx_xasprintf("out/%s", recipe->name);
    size_t ol = strlen(b.out_dir);
    while (ol > 1 && b.out_dir[ol - 1] == '/')
        b.out_dir[--ol] = '\0';
    tinyx_info("building %s from %s (cache %s)", recipe->name, recipe->file, b.cache);
    /* The pipeline, in its fixed order; each step times one stage of the "stage times" line
     * (step_stage times two: fetch and stage). */
    static const struct {
        const char *name;
        int (*fn)(struct build *);
    } steps[] = {
        {"resolve", step_resolve}, {"stage", step_stage},   {"app", step_app},
        {"trace", step_trace},     {"select", step_select}, {"kernel", step_kernel},
        {"image", step_image},
    };
    int rc = 0;
    const char *at = NULL;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0] && !rc; i++) {
        at = steps[i].name;
        rc = steps[i].fn(&b);
        if (!rc && tinyx_interrupted())
            rc = TINYX_EXIT_INTERRUPTED;
    }
    if (rc == TINYX_EXIT_INTERRUPTED && b.published)
        tinyx_err("interrupted after the image was written: %s is complete; the cache is intact",
                  b.out_dir);
    else if (rc == TINYX_EXIT_INTERRUPTED)
        tinyx_err("interrupted during %s: nothing was written to %s; the cache is intact", at,
                  b.out_dir);
    /* Temp folders (image, tree, half-staged roots) go on every path. */
    tinyx_cleanup_run();
    build_free(&b);
    return rc;
}
