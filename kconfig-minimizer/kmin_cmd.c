/* kmin_cmd.c: `tinyx kconfig-min`: minimize an app's kernel config by trial builds and boots,
 * then report sizes and boot times before and after. */
#include "kconfig-minimizer/kmin_cmd.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kconfig-minimizer/fragment.h"
#include "kconfig-minimizer/kbuild.h"
#include "kconfig-minimizer/kconfig.h"
#include "kconfig-minimizer/ksource.h"
#include "kconfig-minimizer/ksyms.h"
#include "kconfig-minimizer/minimize.h"
#include "kconfig-minimizer/oracle.h"
#include "tinyx/apt.h"
#include "tinyx/cache.h"
#include "tinyx/exitcode.h"
#include "tinyx/proc.h"
#include "tinyx/recipe.h"
#include "tinyx/util.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tinyx kconfig-min [options] <recipe.yaml | name>\n"
            "\n"
            "Find a smaller kernel config that still boots the app and passes its check:\n"
            "each candidate is built (ccache, cached by config hash) and booted with the app's\n"
            "initrd under the launcher. Interrupt it at any time: a rerun resumes from the\n"
            "verdicts already on disk.\n"
            "\n"
            "options:\n"
            "  --image DIR         the app's image, built by `tinyx build` (default out/<name>)\n"
            "  --from FILE         starting .config (default: the image's kernel.config)\n"
            "  --budget MIN        stop after MIN minutes with the best config so far\n"
            "  --only A,B,...      consider only these options (names without CONFIG_)\n"
            "  --keep A,B,...      never turn these off\n"
            "  -o, --output FILE   minimized .config (default IMAGE/kernel.min.config)\n"
            "  --report FILE       the final report as JSON too\n"
            "  --runs N            boots per kernel for the before/after times (default 3)\n"
            "  --boot-timeout S    limit for one trial boot and check (default 60)\n"
            "  --cache DIR         build cache (default $TINYX_CACHE or ~/.cache/tinyx)\n"
            "  -h, --help          this text\n");
}

static void split_list(const char *s, struct strvec *out)
{
    char *copy = tinyx_xstrdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strncmp(t, "CONFIG_", 7))
            t += 7;
        if (*t)
            tinyx_strvec_push(out, t);
    }
    free(copy);
}

struct progress_state {
    double last_print;
    const struct kconfig_oracle *oracle;
};

static void on_progress(void *ud, const struct kmin_progress *p)
{
    struct progress_state *ps = ud;
    const struct kconfig_oracle *o = ps->oracle;
    const char *doing = p->doing ? p->doing : "";
    /* The engine also reports at the start and at the end, outside any trial. */
    if (p->trials == 0 || tinyx_str_starts(doing, "starting") || !strcmp(doing, "done") ||
        tinyx_str_ends(doing, "budget") || tinyx_str_starts(doing, "stopped")) {
        tinyx_info("kconfig-min: %s (%zu removed, %zu kept, %zu left, %zu trials, %.1f min)", doing,
                   p->removed, p->kept, p->undecided, p->trials, p->elapsed_s / 60.0);
        return;
    }
    char eta[32] = "?";
    if (p->eta_s >= 0)
        snprintf(eta, sizeof(eta), "%.0f min", ceil(p->eta_s / 60.0));
    char size[32] = "-";
    if (o->last.bzimage_bytes)
        tinyx_human_size(o->last.bzimage_bytes, size, sizeof(size));
    /* doing ends with the outcome: "3 of 8 options at the top: pass" */
    tinyx_info("kconfig-min: trial %zu, %s%s | %zu removed, %zu kept, %zu left | bzImage %s | "
               "%.1f min, ETA %s",
               p->trials, doing, o->last.cached ? " (cached)" : "", p->removed, p->kept,
               p->undecided, size, p->elapsed_s / 60.0, eta);
    if (o->last.reason)
        tinyx_info("kconfig-min:   %s", o->last.reason);
}

static void on_trial(void *ud, const struct kconfig_oracle *o, char *const *off, size_t n)
{
    (void)ud;
    (void)o;
    char what[256] = "";
    for (size_t i = 0; i < n && strlen(what) < 180; i++) {
        size_t l = strlen(what);
        snprintf(what + l, sizeof(what) - l, "%s%s", i ? " " : "", off[i]);
    }
    if (n && strlen(what) >= 180)
        strcat(what, " ...");
    tinyx_debug("kconfig-min: trying off: %s", n ? what : "(baseline)");
}

/* Median boot and ready times of a kernel with the image's initrd (tinyx-launch --runs). */
static int measure_boot(const char *launcher, const char *image, const char *kernel,
                        const char *virtio, unsigned runs, double *boot_ms, double *ready_ms)
{
    char nruns[16];
    snprintf(nruns, sizeof(nruns), "%u", runs ? runs : 1);
    char *argv[] = {(char *)launcher,
                    "run",
                    "--until-ready",
                    "--quiet",
                    "--json",
                    "--runs",
                    nruns,
                    "--kernel",
                    (char *)kernel,
                    "--virtio-mmio",
                    (char *)virtio,
                    (char *)image,
                    NULL};
    char *out = NULL;
    struct tinyx_cmd c = {.argv = argv, .out = &out};
    int st = tinyx_cmd_run(&c);
    json_error_t err;
    json_t *j = out ? json_loads(out, 0, &err) : NULL;
    free(out);
    if (st != 0 || !j) {
        json_decref(j);
        return tinyx_err("cannot measure the boot time of %s (launcher exit %d)", kernel, st);
    }
    *boot_ms = (double)json_integer_value(json_object_get(j, "boot_us")) / 1000.0;
    *ready_ms = (double)json_integer_value(json_object_get(j, "ready_us")) / 1000.0;
    json_decref(j);
    return 0;
}

struct kmin_run {
    char *image_dir, *workdir, *objdir, *start, *output, *launcher, *cache;
    struct kconfig_source src;
    struct kconfig_syms syms;
    struct strvec candidates, keep, only;
    struct strvec requested; /* NAME=y lines of the platform and app fragments: tried last */
    struct kmin_option *options;
};

static void kmin_run_free(struct kmin_run *k)
{
    free(k->image_dir);
    free(k->workdir);
    free(k->objdir);
    free(k->start);
    free(k->output);
    free(k->launcher);
    free(k->cache);
    kconfig_source_free(&k->src);
    kconfig_syms_free(&k->syms);
    tinyx_strvec_free(&k->candidates);
    tinyx_strvec_free(&k->keep);
    tinyx_strvec_free(&k->only);
    tinyx_strvec_free(&k->requested);
    free(k->options);
}

/* Whether the platform or app fragment asked for name ("NAME=y" in k->requested). */
static bool requested(const struct kmin_run *k, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < k->requested.n; i++)
        if (!strncmp(k->requested.v[i], name, len) && k->requested.v[i][len] == '=')
            return true;
    return false;
}

/* Candidates: options on in the start config that a person can turn off, minus the platform's
 * essentials and --keep, limited to --only. Parents: the nearest candidate up the menu tree. */
static int pick_candidates(struct kmin_run *k)
{
    const struct kconfig_syms *s = &k->syms;
    int *cand_index = tinyx_xcalloc(s->n + 1, sizeof(int));
    for (size_t i = 0; i < s->n; i++) {
        const struct kconfig_sym *y = &s->v[i];
        cand_index[i] = -1;
        bool on = y->value && (!strcmp(y->value, "y") || !strcmp(y->value, "m"));
        if (!on || !y->has_prompt || !y->can_be_n || (y->type != 'b' && y->type != 't'))
            continue;
        if (tinyx_strvec_contains(&k->keep, y->name))
            continue;
        if (k->only.n && !tinyx_strvec_contains(&k->only, y->name))
            continue;
        cand_index[i] = (int)k->candidates.n;
        tinyx_strvec_push(&k->candidates, y->name);
    }
    for (size_t i = 0; i < k->only.n; i++)
        if (!tinyx_strvec_contains(&k->candidates, k->only.v[i]))
            tinyx_warn("--only %s: not a candidate (off, forced on, protected or unknown)",
                       k->only.v[i]);
    k->options = tinyx_xcalloc(k->candidates.n + 1, sizeof(*k->options));
    for (size_t i = 0; i < s->n; i++) {
        if (cand_index[i] < 0)
            continue;
        struct kmin_option *opt = &k->options[cand_index[i]];
        opt->name = k->candidates.v[cand_index[i]];
        opt->parent = -1;
        opt->tier = requested(k, opt->name) ? 1 : 0;
        int guard = 0;
        for (int p = s->v[i].parent; p >= 0 && guard < 1000; p = s->v[p].parent, guard++)
            if (cand_index[p] >= 0) {
                opt->parent = cand_index[p];
                break;
            }
    }
    free(cand_index);
    return 0;
}

int kconfig_min_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"image", required_argument, NULL, 'i'},
        {"from", required_argument, NULL, 'f'},
        {"budget", required_argument, NULL, 'b'},
        {"only", required_argument, NULL, 'O'},
        {"keep", required_argument, NULL, 'K'},
        {"output", required_argument, NULL, 'o'},
        {"report", required_argument, NULL, 'r'},
        {"runs", required_argument, NULL, 'n'},
        {"boot-timeout", required_argument, NULL, 't'},
        {"cache", required_argument, NULL, 'C'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct kmin_run k = {0};
    const char *from = NULL, *report = NULL;
    double budget_min = 0;
    unsigned runs = 3, boot_timeout = 60;
    int c, rc = TINYX_EXIT_FAIL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:vh", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'i':
            k.image_dir = tinyx_xstrdup(optarg);
            break;
        case 'f':
            from = optarg;
            break;
        case 'b':
            budget_min = strtod(optarg, &end);
            if (*end || budget_min <= 0) {
                tinyx_err("--budget: '%s' is not a number of minutes", optarg);
                goto usage_error;
            }
            break;
        case 'O':
            split_list(optarg, &k.only);
            break;
        case 'K':
            split_list(optarg, &k.keep);
            break;
        case 'o':
            k.output = tinyx_xstrdup(optarg);
            break;
        case 'r':
            report = optarg;
            break;
        case 'n':
            runs = (unsigned)strtoul(optarg, &end, 10);
            if (*end || runs < 1 || runs > 100) {
                tinyx_err("--runs: '%s' is not a count from 1 to 100", optarg);
                goto usage_error;
            }
            break;
        case 't':
            boot_timeout = (unsigned)strtoul(optarg, &end, 10);
            if (*end || boot_timeout < 5) {
                tinyx_err("--boot-timeout: '%s' is not a number of seconds (>= 5)", optarg);
                goto usage_error;
            }
            break;
        case 'C':
            k.cache = tinyx_cache_absolute(optarg);
            break;
        case 'v':
            tinyx_verbosity = 2;
            break;
        case 'h':
            usage(stdout);
            kmin_run_free(&k);
            return TINYX_EXIT_OK;
        default:
            goto usage_error;
        }
    }
    if (optind + 1 != argc) {
        tinyx_err("which app? give a recipe file or name");
        goto usage_error;
    }
    if (geteuid() != 0) {
        tinyx_err("tinyx kconfig-min needs root (it builds and boots kernels like tinyx build)");
        kmin_run_free(&k);
        return TINYX_EXIT_ENV;
    }
    struct tinyx_recipe recipe;
    char *rpath = tinyx_recipe_find(argv[optind]);
    if (!rpath || tinyx_recipe_load(rpath, &recipe) < 0) {
        free(rpath);
        kmin_run_free(&k);
        return TINYX_EXIT_RECIPE;
    }
    free(rpath);
    tinyx_interrupt_install();
    uint64_t t0 = tinyx_now_us();
    const char *platform = recipe.kernel.platform;
    if (!k.image_dir)
        k.image_dir = tinyx_xasprintf("out/%s", recipe.name);
    char *manifest = tinyx_xasprintf("%s/manifest.json", k.image_dir);
    char *image_config = tinyx_xasprintf("%s/kernel.config", k.image_dir);
    bool have_image = tinyx_exists(manifest);
    free(manifest);
    if (!have_image) {
        tinyx_err("%s is not an image: build it first with `tinyx build %s`", k.image_dir,
                  recipe.name);
        free(image_config);
        rc = TINYX_EXIT_USAGE;
        goto out_recipe;
    }
    if (!from)
        from = image_config;
    if (!tinyx_exists(from)) {
        tinyx_err("no starting config: %s does not exist (give --from FILE)", from);
        free(image_config);
        rc = TINYX_EXIT_USAGE;
        goto out_recipe;
    }
    if (!k.cache)
        k.cache = tinyx_cache_default_dir();
    k.launcher = tinyx_xasprintf("%s/tinyx-launch", tinyx_self_dir());
    if (!k.output)
        k.output = tinyx_xasprintf("%s/kernel.min.config", k.image_dir);
    struct kconfig_app_needs needs = {.network = recipe.n_ports > 0};
    if (kconfig_fragment_protected(platform, &k.keep) < 0 ||
        kconfig_fragment_settings(platform, &needs, &k.requested) < 0) {
        free(image_config);
        goto out_recipe;
    }

    /* The source tree (through the private apt state, released at once). */
    {
        struct tinyx_apt apt;
        if (tinyx_apt_open(k.cache, false, &apt) < 0) {
            free(image_config);
            rc = TINYX_EXIT_PACKAGE;
            goto out_recipe;
        }
        int s = kconfig_source_get(&apt, k.cache, &k.src);
        tinyx_apt_close(&apt);
        if (s < 0) {
            free(image_config);
            rc = TINYX_EXIT_PACKAGE;
            goto out_recipe;
        }
    }
    k.workdir = tinyx_xasprintf("%s/kmin/%s", k.cache, recipe.name);
    k.objdir = tinyx_xasprintf("%s/obj", k.workdir);
    k.start = tinyx_xasprintf("%s/start.config", k.workdir);
    char *objconfig = tinyx_xasprintf("%s/.config", k.objdir);
    char *lockpath = tinyx_xasprintf("%s/lock", k.workdir);
    int lock = -1;
    struct strvec none = STRVEC_INIT;
    if (tinyx_mkdir_p(k.objdir, 0755) < 0 || (lock = tinyx_cache_lock(lockpath)) < 0 ||
        tinyx_copy_file(from, objconfig, 0644) < 0 ||
        kconfig_apply(k.src.dir, k.objdir, &none) < 0 ||
        tinyx_copy_file(objconfig, k.start, 0644) < 0) {
        free(image_config);
        free(objconfig);
        free(lockpath);
        tinyx_cache_unlock(lock);
        goto out_recipe;
    }
    free(image_config);
    free(lockpath);
    if (kconfig_syms_load(k.src.dir, k.objdir, &k.syms) < 0 || pick_candidates(&k) < 0) {
        free(objconfig);
        tinyx_cache_unlock(lock);
        goto out_recipe;
    }
    size_t n_requested = 0;
    for (size_t i = 0; i < k.candidates.n; i++)
        n_requested += k.options[i].tier == 1;
    tinyx_info("kconfig-min: %s on %s: %zu candidate options (of %zu symbols), work folder %s",
               recipe.name, platform, k.candidates.n, k.syms.n, k.workdir);
    tinyx_info("kconfig-min: the %zu options the platform and app fragments asked for are tried "
               "after the %zu others",
               n_requested, k.candidates.n - n_requested);

    struct kconfig_oracle o = {
        .srcdir = k.src.dir,
        .objdir = k.objdir,
        .cache_dir = k.cache,
        .workdir = k.workdir,
        .image_dir = k.image_dir,
        .launcher = k.launcher,
        .boot_timeout_s = boot_timeout,
        .build_timeout_s = 3600,
        .candidates = &k.candidates,
        .on_trial = on_trial,
    };
    if (kconfig_oracle_open(&o, k.start) < 0) {
        free(objconfig);
        tinyx_cache_unlock(lock);
        goto out_recipe;
    }
    /* The baseline must pass, or nothing the search finds means anything. */
    char start_hash[TINYX_SHA256_HEX];
    memcpy(start_hash, o.current_hash, sizeof(start_hash));
    o.current_hash[0] = '\0';
    struct strvec eff = STRVEC_INIT;
    tinyx_info("kconfig-min: building and booting the starting config (the baseline)");
    int base = kconfig_oracle_judge(&o, NULL, 0, &eff);
    tinyx_strvec_free(&eff);
    if (base != KMIN_PASS) {
        if (base == KMIN_STOP)
            rc = tinyx_interrupted() ? TINYX_EXIT_INTERRUPTED : TINYX_EXIT_FAIL;
        else {
            tinyx_err("the starting config does not pass the app's check (%s): fix it first",
                      o.last.reason ? o.last.reason : "failed");
            rc = TINYX_EXIT_APP;
        }
        goto out_oracle;
    }
    uint64_t base_vmlinux = o.last.vmlinux_bytes, base_bz = o.last.bzimage_bytes;

    struct progress_state ps = {.oracle = &o};
    struct kmin_oracle kor = {.judge = kconfig_oracle_judge, .ud = &o};
    struct kmin_opts kopts = {
        .budget_s = budget_min * 60.0,
        .progress = on_progress,
        .progress_ud = &ps,
    };
    struct kmin_result res = {0};
    if (kmin_minimize(k.options, k.candidates.n, &kor, &kopts, &res) < 0)
        goto out_oracle;
    if (tinyx_interrupted()) {
        tinyx_err("interrupted after %zu trials: run the same command again to resume", res.trials);
        kmin_result_free(&res);
        rc = TINYX_EXIT_INTERRUPTED;
        goto out_oracle;
    }

    /* The final config: resolve, build (cached: it passed a trial), measure. */
    char final_hash[TINYX_SHA256_HEX];
    struct kbuild_result before = {0}, after = {0};
    if (kconfig_oracle_resolve(&o, res.removed.v, res.removed.n, final_hash) < 0 ||
        tinyx_copy_file(objconfig, k.output, 0644) < 0) {
        kmin_result_free(&res);
        goto out_oracle;
    }
    struct kbuild_opts bo = {.srcdir = k.src.dir, .objdir = k.objdir, .cache_dir = k.cache};
    if (kbuild_build(&bo, &after) < 0 || kbuild_lookup(k.cache, k.start, &before) < 0) {
        kmin_result_free(&res);
        kbuild_result_free(&after);
        goto out_oracle;
    }
    double b_boot = 0, b_ready = 0, a_boot = 0, a_ready = 0;
    tinyx_info("kconfig-min: measuring boot times (%u runs each)", runs);
    int mb =
        measure_boot(k.launcher, k.image_dir, before.vmlinux, "cmdline", runs, &b_boot, &b_ready);
    int ma =
        measure_boot(k.launcher, k.image_dir, after.vmlinux, "cmdline", runs, &a_boot, &a_ready);
    double spent = (double)(tinyx_now_us() - t0) / 1e6;
    char h1[32], h2[32], h3[32], h4[32];
    printf("kconfig-min report for %s (%s)%s\n", recipe.name, platform,
           res.complete ? "" : " [stopped early: budget]");
    printf("  options removed: %zu of %zu candidates; kept %zu\n", res.removed.n, k.candidates.n,
           res.kept.n);
    printf("  vmlinux: %s -> %s    bzImage: %s -> %s\n",
           tinyx_human_size(base_vmlinux ? base_vmlinux : before.vmlinux_bytes, h1, sizeof(h1)),
           tinyx_human_size(after.vmlinux_bytes, h2, sizeof(h2)),
           tinyx_human_size(base_bz ? base_bz : before.bzimage_bytes, h3, sizeof(h3)),
           tinyx_human_size(after.bzimage_bytes, h4, sizeof(h4)));
    if (mb == 0 && ma == 0)
        printf("  boot (median of %u): %.1f ms -> %.1f ms; ready: %.1f ms -> %.1f ms\n", runs,
               b_boot, a_boot, b_ready, a_ready);
    printf("  trials: %zu (%zu builds, %zu boots, %zu cached); time %.1f min\n", res.trials,
           o.builds, o.boots, o.cache_hits, spent / 60.0);
    printf("  minimized config: %s\n", k.output);
    if (res.removed.n) {
        printf("  removed:");
        for (size_t i = 0; i < res.removed.n; i++)
            printf(" %s", res.removed.v[i]);
        printf("\n");
    }
    if (report) {
        json_t *removed = json_array(), *kept = json_array();
        for (size_t i = 0; i < res.removed.n; i++)
            json_array_append_new(removed, json_string(res.removed.v[i]));
        for (size_t i = 0; i < res.kept.n; i++)
            json_array_append_new(kept, json_string(res.kept.v[i]));
        json_t *j = json_pack(
            "{s:s, s:s, s:b, s:I, s:o, s:o, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:I, "
            "s:I, s:I, s:f, s:s, s:s, s:s}",
            "recipe", recipe.name, "platform", platform, "complete", (int)res.complete,
            "candidates", (json_int_t)k.candidates.n, "removed", removed, "kept", kept,
            "vmlinux_before", (json_int_t)(base_vmlinux ? base_vmlinux : before.vmlinux_bytes),
            "vmlinux_after", (json_int_t)after.vmlinux_bytes, "bzimage_before",
            (json_int_t)(base_bz ? base_bz : before.bzimage_bytes), "bzimage_after",
            (json_int_t)after.bzimage_bytes, "boot_ms_before", b_boot, "boot_ms_after", a_boot,
            "ready_ms_before", b_ready, "ready_ms_after", a_ready, "trials", (json_int_t)res.trials,
            "builds", (json_int_t)o.builds, "boots", (json_int_t)o.boots, "cache_hits",
            (json_int_t)o.cache_hits, "seconds", spent, "config", k.output, "start_hash",
            start_hash, "final_hash", final_hash);
        char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        tinyx_write_file_atomic(report, text, strlen(text), 0644);
        free(text);
        json_decref(j);
    }
    kbuild_result_free(&before);
    kbuild_result_free(&after);
    kmin_result_free(&res);
    rc = (mb == 0 && ma == 0) ? TINYX_EXIT_OK : TINYX_EXIT_FAIL;
out_oracle:
    kconfig_oracle_close(&o);
    free(objconfig);
    tinyx_cache_unlock(lock);
out_recipe:
    tinyx_recipe_free(&recipe);
    tinyx_cleanup_run();
    kmin_run_free(&k);
    return rc;

usage_error:
    kmin_run_free(&k);
    fprintf(stderr, "try `tinyx kconfig-min --help`\n");
    return TINYX_EXIT_USAGE;
}
