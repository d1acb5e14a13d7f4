/* stage.c: build (or reuse) the staged root with mmdebstrap, fed from the private apt state. */
#include "tinyx/stage.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tinyx/cache.h"
#include "tinyx/proc.h"
#include "tinyx/util.h"

/* Bump when the way a root is staged changes, so old cache entries are not reused. */
#define STAGE_FORMAT "tinyx-stage-2"

static char *mmdebstrap_version(void)
{
    char *out = NULL;
    char *argv[] = {"mmdebstrap", "--version", NULL};
    struct tinyx_cmd c = {.argv = argv, .out = &out};
    if (tinyx_cmd_run(&c) != 0) {
        free(out);
        return tinyx_xstrdup("unknown");
    }
    out[strcspn(out, "\n")] = '\0';
    return out;
}

static void compute_key(struct tinyx_apt *apt, char *const *names, size_t n,
                        const struct tinyx_pkglist *closure, char key[TINYX_SHA256_HEX])
{
    struct tinyx_hash *h = tinyx_hash_new();
    tinyx_hash_str(h, STAGE_FORMAT);
    char *ver = mmdebstrap_version();
    tinyx_hash_str(h, ver);
    free(ver);
    tinyx_hash_str(h, apt->suite);
    char *sources = tinyx_read_file(apt->sources, NULL);
    tinyx_hash_str(h, sources ? sources : "");
    free(sources);
    struct strvec sorted = STRVEC_INIT;
    for (size_t i = 0; i < n; i++)
        tinyx_strvec_push(&sorted, names[i]);
    tinyx_strvec_sort_unique(&sorted);
    for (size_t i = 0; i < sorted.n; i++)
        tinyx_hash_str(h, sorted.v[i]);
    tinyx_strvec_free(&sorted);
    /* Versions make a mirror update produce a new root instead of reusing a stale one. */
    for (size_t i = 0; i < closure->n; i++) {
        tinyx_hash_str(h, closure->v[i].name);
        tinyx_hash_str(h, closure->v[i].version);
    }
    tinyx_hash_final(h, key);
}

/* Move the .debs mmdebstrap fetched (essential packages) into the shared cache, atomically. */
static void harvest_debs(const char *root, const char *debs)
{
    char *arch = tinyx_xasprintf("%s/var/cache/apt/archives", root);
    DIR *d = opendir(arch);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!tinyx_str_ends(e->d_name, ".deb"))
                continue;
            char *src = tinyx_xasprintf("%s/%s", arch, e->d_name);
            char *dst = tinyx_xasprintf("%s/%s", debs, e->d_name);
            if (tinyx_exists(dst) || rename(src, dst) < 0)
                unlink(src);
            free(src);
            free(dst);
        }
        closedir(d);
    }
    free(arch);
}

int tinyx_stage_lookup(struct tinyx_apt *apt, const char *cache_dir, char *const *names, size_t n,
                       const struct tinyx_pkglist *closure, struct tinyx_stage *out)
{
    memset(out, 0, sizeof(*out));
    compute_key(apt, names, n, closure, out->key);
    char *stagedir = tinyx_xasprintf("%s/stage", cache_dir);
    if (tinyx_mkdir_p(stagedir, 0755) < 0) {
        free(stagedir);
        return -1;
    }
    out->dir = tinyx_xasprintf("%s/%s", stagedir, out->key);
    out->root = tinyx_xasprintf("%s/root", out->dir);
    free(stagedir);
    char *done = tinyx_xasprintf("%s/complete", out->dir);
    out->reused = tinyx_exists(done);
    free(done);
    return 0;
}

int tinyx_stage_create(struct tinyx_apt *apt, char *const *names, size_t n, struct tinyx_stage *out)
{
    if (out->reused)
        return 0;
    if (!tinyx_have_program("mmdebstrap"))
        return tinyx_err("mmdebstrap not found: run `make deps` (or apt-get install mmdebstrap)");

    char *tmp = tinyx_cache_tmpdir_for(out->dir);
    if (!tmp)
        return -1;
    char *tmproot = tinyx_xasprintf("%s/root", tmp);
    char *log = tinyx_xasprintf("%s/mmdebstrap.log", tmp);
    struct strvec argv = STRVEC_INIT;
    tinyx_strvec_push(&argv, "mmdebstrap");
    tinyx_strvec_push(&argv, "--variant=minbase");
    tinyx_strvec_push(&argv, "--mode=root");
    tinyx_strvec_push(&argv, "--format=directory");
    struct strvec sorted = STRVEC_INIT;
    for (size_t i = 0; i < n; i++)
        tinyx_strvec_push(&sorted, names[i]);
    tinyx_strvec_sort_unique(&sorted);
    size_t len = 16;
    for (size_t i = 0; i < sorted.n; i++)
        len += strlen(sorted.v[i]) + 1;
    char *inc = tinyx_xmalloc(len);
    strcpy(inc, "--include=");
    for (size_t i = 0; i < sorted.n; i++) {
        if (i)
            strcat(inc, ",");
        strcat(inc, sorted.v[i]);
    }
    tinyx_strvec_push_owned(&argv, inc);
    tinyx_strvec_free(&sorted);
    /* Feed apt inside mmdebstrap from our private state: the lists apt resolved against (so
     * the root gets exactly the versions resolved) and the shared .deb cache (no download). */
    tinyx_strvec_push(&argv, "--skip=update");
    tinyx_strvec_push(&argv, "--skip=download/empty");
    tinyx_strvec_push(&argv, "--skip=essential/unlink");
    tinyx_strvec_push(&argv, "--skip=cleanup/apt/cache");
    tinyx_strvec_push(
        &argv, "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/ \"$1\"/var/lib/apt/lists/");
    tinyx_strvec_pushf(&argv, "--setup-hook=sync-in %s /var/lib/apt/lists/", apt->lists);
    tinyx_strvec_pushf(&argv, "--setup-hook=sync-in %s /var/cache/apt/archives/", apt->debs);
    tinyx_strvec_push(&argv, apt->suite);
    tinyx_strvec_push(&argv, tmproot);
    tinyx_strvec_push(&argv, apt->sources);

    tinyx_info("stage: mmdebstrap %s minbase + %zu package(s), log %s", apt->suite, n, log);
    struct tinyx_cmd c = {.argv = tinyx_strvec_argv(&argv), .log_path = log};
    int st = tinyx_cmd_run(&c);
    tinyx_strvec_free(&argv);
    int rc = 0;
    if (st != 0) {
        if (st != TINYX_CMD_INTERRUPTED) {
            tinyx_err("mmdebstrap failed (exit %d); see %s", st, log);
            char *text = tinyx_read_file(log, NULL);
            if (text) {
                size_t tl = strlen(text);
                fprintf(stderr, "%s\n", tl > 2000 ? text + tl - 2000 : text);
                free(text);
            }
        }
        /* mmdebstrap may leave /proc or /sys mounted in the root if it was killed. */
        tinyx_umount_under(tmp);
        rc = -1;
    } else {
        harvest_debs(tmproot, apt->debs);
        char *mark = tinyx_xasprintf("%s/complete", tmp);
        rc = tinyx_write_file_atomic(mark, out->key, strlen(out->key), 0644);
        free(mark);
        if (rc == 0)
            rc = tinyx_cache_publish_dir(tmp, out->dir);
    }
    if (rc < 0) {
        /* Keep the log of a failed stage beside the cache for the user to read. */
        char *keep = tinyx_xasprintf("%s.failed.log", out->dir);
        rename(log, keep);
        free(keep);
        tinyx_rm_rf(tmp);
        tinyx_cleanup_remove(tmp);
    }
    free(log);
    free(tmproot);
    free(tmp);
    return rc;
}

void tinyx_stage_free(struct tinyx_stage *s)
{
    free(s->dir);
    free(s->root);
    memset(s, 0, sizeof(*s));
}
