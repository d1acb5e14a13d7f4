/* oracle.c: judge a candidate kernel config: resolve, build (cached), boot with the app's
 * initrd through tinyx-launch, run the check; remember every verdict on disk. */
#include "kconfig-minimizer/oracle.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kconfig-minimizer/kbuild.h"
#include "kconfig-minimizer/kconfig.h"
#include "tinyx/proc.h"
#include "tinyx/util.h"

static char *verdicts_path(const struct kconfig_oracle *o)
{
    return tinyx_xasprintf("%s/verdicts.jsonl", o->workdir);
}

/* Verdicts are one JSON object per line, appended and fsync'd: a crash loses at most the
 * trial in flight, and a torn last line is skipped on reading. */
int kconfig_oracle_open(struct kconfig_oracle *o, const char *start_config)
{
    snprintf(o->start_config, sizeof(o->start_config), "%s", start_config);
    if (kconfig_hash(start_config, o->current_hash) < 0)
        return -1;
    char *path = verdicts_path(o);
    char *text = tinyx_read_file(path, NULL);
    free(path);
    if (!text)
        return 0;
    for (char *s = NULL, *l = strtok_r(text, "\n", &s); l; l = strtok_r(NULL, "\n", &s)) {
        json_error_t err;
        json_t *rec = json_loads(l, 0, &err);
        if (!rec)
            continue;
        const char *kind = json_string_value(json_object_get(rec, "kind"));
        const char *hash = json_string_value(json_object_get(rec, "hash"));
        if (kind && hash && !strcmp(kind, "verdict"))
            tinyx_strmap_set(&o->verdicts, hash, l);
        else if (kind && hash && !strcmp(kind, "offset"))
            tinyx_strmap_set(&o->offsets, json_string_value(json_object_get(rec, "off")), hash);
        json_decref(rec);
    }
    free(text);
    return 0;
}

void kconfig_oracle_close(struct kconfig_oracle *o)
{
    tinyx_strmap_free(&o->verdicts);
    tinyx_strmap_free(&o->offsets);
    free(o->last.reason);
    o->last.reason = NULL;
}

static int append_record(struct kconfig_oracle *o, json_t *rec)
{
    char *line = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    char *path = verdicts_path(o);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int rc = 0;
    if (fd < 0) {
        rc = tinyx_errno("cannot write %s", path);
    } else {
        size_t n = strlen(line);
        line[n] = '\n';
        if (write(fd, line, n + 1) != (ssize_t)(n + 1) || fsync(fd) < 0)
            rc = tinyx_errno("cannot write %s", path);
        line[n] = '\0';
        close(fd);
    }
    free(path);
    free(line);
    return rc;
}

/* A stable key for a set of option names (order does not matter). */
static void offset_key(char *const *off, size_t n, char hex[TINYX_SHA256_HEX])
{
    struct strvec sorted = STRVEC_INIT;
    for (size_t i = 0; i < n; i++)
        tinyx_strvec_push(&sorted, off[i]);
    tinyx_strvec_sort_unique(&sorted);
    struct tinyx_hash *h = tinyx_hash_new();
    for (size_t i = 0; i < sorted.n; i++)
        tinyx_hash_str(h, sorted.v[i]);
    tinyx_hash_final(h, hex);
    tinyx_strvec_free(&sorted);
}

int kconfig_oracle_resolve(struct kconfig_oracle *o, char *const *off, size_t n_off,
                           char hash[TINYX_SHA256_HEX])
{
    char *dst = tinyx_xasprintf("%s/.config", o->objdir);
    int rc = tinyx_copy_file(o->start_config, dst, 0644);
    if (rc == 0) {
        struct strvec settings = STRVEC_INIT;
        for (size_t i = 0; i < n_off; i++)
            tinyx_strvec_pushf(&settings, "%s=n", off[i]);
        rc = kconfig_apply(o->srcdir, o->objdir, &settings);
        tinyx_strvec_free(&settings);
    }
    if (rc == 0)
        rc = kconfig_hash(dst, hash);
    free(dst);
    return rc;
}

/* Candidates that are off (n or absent) in objdir/.config. */
static void collect_off(const struct kconfig_oracle *o, json_t *list)
{
    char *path = tinyx_xasprintf("%s/.config", o->objdir);
    struct strmap cfg = STRMAP_INIT;
    if (kconfig_read(path, &cfg) == 0)
        for (size_t i = 0; i < o->candidates->n; i++) {
            const char *v = tinyx_strmap_get(&cfg, o->candidates->v[i]);
            if (!v || !strcmp(v, "n"))
                json_array_append_new(list, json_string(o->candidates->v[i]));
        }
    tinyx_strmap_free(&cfg);
    free(path);
}

/* Boot the built kernel with the image's initrd; pass = the launcher's check passed. */
static int boot_trial(struct kconfig_oracle *o, const char *vmlinux, char **reason, double *seconds)
{
    char timeout[32];
    snprintf(timeout, sizeof(timeout), "%u", o->boot_timeout_s ? o->boot_timeout_s : 60);
    char *log = tinyx_xasprintf("%s/boot.log", o->workdir);
    unlink(log);
    char *argv[] = {(char *)o->launcher,
                    "run",
                    "--until-ready",
                    "--quiet",
                    "--json",
                    "--timeout",
                    timeout,
                    "--kernel",
                    (char *)vmlinux,
                    "--virtio-mmio",
                    "cmdline",
                    (char *)o->image_dir,
                    NULL};
    char *out = NULL;
    uint64_t t0 = tinyx_now_us();
    struct tinyx_cmd c = {
        .argv = argv, .out = &out, .log_path = log, .timeout_ms = (o->boot_timeout_s + 30) * 1000u};
    int st = tinyx_cmd_run(&c);
    *seconds = (double)(tinyx_now_us() - t0) / 1e6;
    o->boots++;
    if (st == 0) {
        free(out);
        free(log);
        return KMIN_PASS;
    }
    if (st == TINYX_CMD_INTERRUPTED) {
        free(out);
        free(log);
        return KMIN_STOP;
    }
    json_error_t err;
    json_t *j = out ? json_loads(out, 0, &err) : NULL;
    const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
    *reason = msg ? tinyx_xasprintf("boot: %s", msg)
                  : tinyx_xasprintf("boot: launcher exit %d (see %s)", st, log);
    json_decref(j);
    free(out);
    free(log);
    return KMIN_FAIL;
}

int kconfig_oracle_judge(void *ud, char *const *off, size_t n_off, struct strvec *effective_off)
{
    struct kconfig_oracle *o = ud;
    free(o->last.reason);
    memset(&o->last, 0, sizeof(o->last));
    if (tinyx_interrupted())
        return KMIN_STOP;
    if (o->on_trial)
        o->on_trial(o->on_trial_ud, o, off, n_off);

    /* The set of options -> its resolved config: remembered, so a resumed search skips even
     * the olddefconfig of a set it has seen. */
    char okey[TINYX_SHA256_HEX], hash[TINYX_SHA256_HEX];
    offset_key(off, n_off, okey);
    const char *known = tinyx_strmap_get(&o->offsets, okey);
    const char *rec_text = known ? tinyx_strmap_get(&o->verdicts, known) : NULL;
    if (rec_text) {
        snprintf(hash, sizeof(hash), "%s", known);
    } else {
        if (kconfig_oracle_resolve(o, off, n_off, hash) < 0)
            return KMIN_STOP;
        json_t *orec = json_pack("{s:s, s:s, s:s}", "kind", "offset", "off", okey, "hash", hash);
        append_record(o, orec);
        json_decref(orec);
        tinyx_strmap_set(&o->offsets, okey, hash);
        if (!strcmp(hash, o->current_hash))
            return KMIN_NOOP;
        rec_text = tinyx_strmap_get(&o->verdicts, hash);
    }
    if (!strcmp(hash, o->current_hash))
        return KMIN_NOOP;

    json_t *rec = NULL;
    if (rec_text) {
        json_error_t err;
        rec = json_loads(rec_text, 0, &err);
        o->cache_hits++;
        o->last.cached = true;
    } else {
        /* Build (a config built before, by any run, is found in the kernel cache). */
        rec = json_pack("{s:s, s:s}", "kind", "verdict", "hash", hash);
        json_t *offl = json_array();
        collect_off(o, offl);
        json_object_set_new(rec, "off", offl);
        struct kbuild_opts bo = {.srcdir = o->srcdir,
                                 .objdir = o->objdir,
                                 .cache_dir = o->cache_dir,
                                 .timeout_s = o->build_timeout_s};
        struct kbuild_result br = {0};
        int verdict;
        char *reason = NULL;
        double boot_s = 0;
        if (kbuild_build(&bo, &br) < 0) {
            if (tinyx_interrupted()) {
                kbuild_result_free(&br);
                json_decref(rec);
                return KMIN_STOP;
            }
            verdict = KMIN_FAIL;
            reason = tinyx_xstrdup("build failed");
        } else {
            o->builds += br.cached ? 0 : 1;
            verdict = boot_trial(o, br.vmlinux, &reason, &boot_s);
            json_object_set_new(rec, "vmlinux_bytes", json_integer((json_int_t)br.vmlinux_bytes));
            json_object_set_new(rec, "bzimage_bytes", json_integer((json_int_t)br.bzimage_bytes));
        }
        json_object_set_new(rec, "build_s", json_real(br.seconds));
        json_object_set_new(rec, "boot_s", json_real(boot_s));
        kbuild_result_free(&br);
        if (verdict == KMIN_STOP) {
            free(reason);
            json_decref(rec);
            return KMIN_STOP;
        }
        json_object_set_new(rec, "verdict", json_string(verdict == KMIN_PASS ? "pass" : "fail"));
        if (reason)
            json_object_set_new(rec, "reason", json_string(reason));
        free(reason);
        append_record(o, rec);
        char *line = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
        tinyx_strmap_set(&o->verdicts, hash, line);
        free(line);
    }
    if (!rec)
        return KMIN_STOP;
    const char *v = json_string_value(json_object_get(rec, "verdict"));
    int verdict = v && !strcmp(v, "pass") ? KMIN_PASS : KMIN_FAIL;
    o->last.verdict = verdict;
    const char *why = json_string_value(json_object_get(rec, "reason"));
    o->last.reason = why ? tinyx_xstrdup(why) : NULL;
    o->last.vmlinux_bytes = (uint64_t)json_integer_value(json_object_get(rec, "vmlinux_bytes"));
    o->last.bzimage_bytes = (uint64_t)json_integer_value(json_object_get(rec, "bzimage_bytes"));
    o->last.build_s = json_real_value(json_object_get(rec, "build_s"));
    o->last.boot_s = json_real_value(json_object_get(rec, "boot_s"));
    if (verdict == KMIN_PASS) {
        memcpy(o->current_hash, hash, sizeof(o->current_hash));
        size_t i;
        json_t *name;
        json_array_foreach(json_object_get(rec, "off"), i, name)
            tinyx_strvec_push(effective_off, json_string_value(name));
    }
    json_decref(rec);
    return verdict;
}
