/* apt.c: run apt-get/apt-cache against Tinyx's private apt state: update, resolve, download. */
#include "tinyx/apt.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tinyx/cache.h"
#include "tinyx/hash.h"
#include "tinyx/proc.h"
#include "tinyx/suggest.h"
#include "tinyx/util.h"

static void add_opt(struct tinyx_apt *apt, const char *fmt, const char *val)
{
    tinyx_strvec_push(&apt->opts, "-o");
    tinyx_strvec_pushf(&apt->opts, fmt, val);
}

/* argv = TOOL + private options + the given words. */
static void apt_argv(struct tinyx_apt *apt, const char *tool, char *const *words, size_t n,
                     struct strvec *argv)
{
    tinyx_strvec_push(argv, tool);
    for (size_t i = 0; i < apt->opts.n; i++)
        tinyx_strvec_push(argv, apt->opts.v[i]);
    for (size_t i = 0; i < n; i++)
        tinyx_strvec_push(argv, words[i]);
}

/* Print the last lines of a log so a failure is visible without opening it. */
static void show_log_tail(const char *log)
{
    char *text = tinyx_read_file(log, NULL);
    if (!text)
        return;
    size_t len = strlen(text), lines = 0;
    const char *start = text + len;
    while (start > text && lines < 15) {
        start--;
        if (*start == '\n' && start + 1 < text + len)
            lines++;
    }
    fprintf(stderr, "---- last lines of %s ----\n%s", log, start);
    if (len && text[len - 1] != '\n')
        fputc('\n', stderr);
    free(text);
}

static int run_logged(struct strvec *argv, const char *log, char **out)
{
    struct tinyx_cmd c = {.argv = tinyx_strvec_argv(argv), .log_path = log, .out = out};
    return tinyx_cmd_run(&c);
}

int tinyx_apt_open(const char *cache_dir, bool refresh, struct tinyx_apt *apt)
{
    memset(apt, 0, sizeof(*apt));
    apt->lock_fd = -1;
    if (!tinyx_have_program("apt-get"))
        return tinyx_err("apt-get not found: Tinyx needs a Debian host (run `make deps`)");
    apt->dir = tinyx_xasprintf("%s/apt", cache_dir);
    apt->debs = tinyx_xasprintf("%s/debs", cache_dir);
    apt->lists = tinyx_xasprintf("%s/lists", apt->dir);
    apt->sources = tinyx_xasprintf("%s/sources.list", apt->dir);
    apt->suite = tinyx_apt_host_suite();
    char *parts = tinyx_xasprintf("%s/sources.list.d", apt->dir);
    char *partial = tinyx_xasprintf("%s/partial", apt->lists);
    char *debs_partial = tinyx_xasprintf("%s/partial", apt->debs);
    char *cachedir = tinyx_xasprintf("%s/cache", apt->dir);
    char *status = tinyx_xasprintf("%s/status", apt->dir);
    char *lock = tinyx_xasprintf("%s/lock", apt->dir);
    int rc = -1;
    if (tinyx_mkdir_p(partial, 0755) < 0 || tinyx_mkdir_p(parts, 0755) < 0 ||
        tinyx_mkdir_p(debs_partial, 0755) < 0 || tinyx_mkdir_p(cachedir, 0755) < 0)
        goto out;
    apt->lock_fd = tinyx_cache_lock(lock);
    if (apt->lock_fd < 0)
        goto out;
    if (!tinyx_exists(status) && tinyx_write_file_atomic(status, "", 0, 0644) < 0)
        goto out;

    add_opt(apt, "Dir::Etc::SourceList=%s", apt->sources);
    add_opt(apt, "Dir::Etc::SourceParts=%s", parts);
    add_opt(apt, "Dir::Etc::Preferences=%s", "/dev/null");
    add_opt(apt, "Dir::Etc::PreferencesParts=%s", parts);
    add_opt(apt, "Dir::State=%s", apt->dir);
    add_opt(apt, "Dir::State::Lists=%s", apt->lists);
    add_opt(apt, "Dir::State::status=%s", status);
    add_opt(apt, "Dir::Cache=%s", cachedir);
    add_opt(apt, "Dir::Cache::archives=%s", apt->debs);
    /* Hosts (e.g. Docker images) often disable apt's binary caches; they save ~0.5 s a call. */
    char *pc = tinyx_xasprintf("%s/pkgcache.bin", cachedir);
    char *spc = tinyx_xasprintf("%s/srcpkgcache.bin", cachedir);
    add_opt(apt, "Dir::Cache::pkgcache=%s", pc);
    add_opt(apt, "Dir::Cache::srcpkgcache=%s", spc);
    free(pc);
    free(spc);
    add_opt(apt, "Debug::NoLocking=%s", "1"); /* our own flock serialises builds */
    add_opt(apt, "APT::Sandbox::User=%s", "root");
    add_opt(apt, "APT::Install-Recommends=%s", "false");
    add_opt(apt, "Acquire::Languages=%s", "none");
    add_opt(apt, "APT::Get::List-Cleanup=%s", "true");

    /* The sources are regenerated each time; lists are refreshed when they change. */
    char *text = tinyx_apt_sources_text(apt->suite);
    if (!text)
        goto out;
    char want[TINYX_SHA256_HEX];
    tinyx_sha256_buf(text, strlen(text), want);
    char *stamp = tinyx_xasprintf("%s/.tinyx-sources-sha256", apt->lists);
    char *have = tinyx_read_file(stamp, NULL);
    bool stale = refresh || !have || strcmp(have, want) != 0;
    free(have);
    if (tinyx_write_file_atomic(apt->sources, text, strlen(text), 0644) < 0) {
        free(text);
        free(stamp);
        goto out;
    }
    free(text);
    if (stale) {
        tinyx_info("apt: updating package lists for %s (private state in %s)", apt->suite,
                   apt->dir);
        char *log = tinyx_xasprintf("%s/update.log", apt->dir);
        unlink(log);
        struct strvec argv = STRVEC_INIT;
        char *words[] = {"-q", "update"};
        apt_argv(apt, "apt-get", words, 2, &argv);
        int st = run_logged(&argv, log, NULL);
        tinyx_strvec_free(&argv);
        if (st != 0) {
            if (st != TINYX_CMD_INTERRUPTED) {
                tinyx_err("apt-get update failed (exit %d): is Debian's archive reachable?", st);
                show_log_tail(log);
            }
            free(log);
            free(stamp);
            goto out;
        }
        free(log);
        if (tinyx_write_file_atomic(stamp, want, strlen(want), 0644) < 0) {
            free(stamp);
            goto out;
        }
    }
    free(stamp);
    rc = 0;
out:
    free(parts);
    free(partial);
    free(debs_partial);
    free(cachedir);
    free(status);
    free(lock);
    if (rc < 0)
        tinyx_apt_close(apt);
    return rc;
}

void tinyx_apt_close(struct tinyx_apt *apt)
{
    tinyx_cache_unlock(apt->lock_fd);
    apt->lock_fd = -1;
    free(apt->dir);
    free(apt->sources);
    free(apt->lists);
    free(apt->debs);
    free(apt->suite);
    tinyx_strvec_free(&apt->opts);
    memset(apt, 0, sizeof(*apt));
    apt->lock_fd = -1;
}

void tinyx_pkglist_free(struct tinyx_pkglist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].version);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

const struct tinyx_pkg *tinyx_pkglist_find(const struct tinyx_pkglist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name))
            return &l->v[i];
    return NULL;
}

static int cmp_pkg(const void *a, const void *b)
{
    return strcmp(((const struct tinyx_pkg *)a)->name, ((const struct tinyx_pkg *)b)->name);
}

/* Report each package apt could not locate, with close matches from `apt-cache pkgnames`. */
static void report_unknown(struct tinyx_apt *apt, const struct strvec *unknown)
{
    struct strvec argv = STRVEC_INIT;
    char *words[] = {"pkgnames"};
    apt_argv(apt, "apt-cache", words, 1, &argv);
    char *out = NULL;
    struct tinyx_cmd c = {.argv = tinyx_strvec_argv(&argv), .out = &out};
    int st = tinyx_cmd_run(&c);
    tinyx_strvec_free(&argv);
    struct strvec names = STRVEC_INIT;
    if (st == 0 && out)
        for (char *s = NULL, *w = strtok_r(out, "\n", &s); w; w = strtok_r(NULL, "\n", &s))
            tinyx_strvec_push(&names, w);
    free(out);
    for (size_t i = 0; i < unknown->n; i++) {
        struct strvec sugg = STRVEC_INIT;
        tinyx_suggest(unknown->v[i], names.v, names.n, 3, &sugg);
        char *phrase = tinyx_suggest_phrase(&sugg);
        tinyx_err("unknown package '%s' in %s%s", unknown->v[i], apt->suite, phrase);
        free(phrase);
        tinyx_strvec_free(&sugg);
    }
    tinyx_strvec_free(&names);
}

int tinyx_apt_closure(struct tinyx_apt *apt, char *const *names, size_t n,
                      struct tinyx_pkglist *out)
{
    memset(out, 0, sizeof(*out));
    struct strvec argv = STRVEC_INIT;
    char *words[] = {"-s", "-q", "install", "--no-install-recommends"};
    apt_argv(apt, "apt-get", words, 4, &argv);
    for (size_t i = 0; i < n; i++)
        tinyx_strvec_push(&argv, names[i]);
    char *log = tinyx_xasprintf("%s/resolve.log", apt->dir);
    unlink(log);
    char *text = NULL;
    int st = run_logged(&argv, log, &text);
    tinyx_strvec_free(&argv);
    if (st == TINYX_CMD_INTERRUPTED) {
        free(text);
        free(log);
        return -1;
    }
    /* apt reports unknown names on stderr (the log): collect them all at once. */
    struct strvec unknown = STRVEC_INIT;
    char *errs = tinyx_read_file(log, NULL);
    if (errs) {
        for (char *s = NULL, *l = strtok_r(errs, "\n", &s); l; l = strtok_r(NULL, "\n", &s)) {
            const char *p;
            char name[256];
            if ((p = strstr(l, "Unable to locate package ")) &&
                sscanf(p + strlen("Unable to locate package "), "%255s", name) == 1)
                tinyx_strvec_push(&unknown, name);
            else if ((p = strstr(l, "Package '")) && strstr(l, "has no installation candidate") &&
                     sscanf(p + strlen("Package '"), "%255[^']", name) == 1)
                tinyx_strvec_push(&unknown, name);
        }
        free(errs);
    }
    if (unknown.n) {
        report_unknown(apt, &unknown);
        tinyx_strvec_free(&unknown);
        free(text);
        free(log);
        return -1;
    }
    if (st != 0) {
        tinyx_err("apt cannot resolve the packages (exit %d)", st);
        show_log_tail(log);
        free(text);
        free(log);
        return -1;
    }
    free(log);
    size_t cap = 0;
    for (char *s = NULL, *l = strtok_r(text, "\n", &s); l; l = strtok_r(NULL, "\n", &s)) {
        char name[256], version[256];
        /* "Inst libc6 (2.36-9+deb12u4 Debian:12.5/stable [amd64])" */
        if (sscanf(l, "Inst %255s (%255s", name, version) != 2)
            continue;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            out->v = tinyx_xrealloc(out->v, cap * sizeof(*out->v));
        }
        out->v[out->n].name = tinyx_xstrdup(name);
        out->v[out->n++].version = tinyx_xstrdup(version);
    }
    free(text);
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_pkg);
    return 0;
}

static unsigned count_debs(const char *dir)
{
    unsigned n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (tinyx_str_ends(e->d_name, ".deb"))
            n++;
    closedir(d);
    return n;
}

int tinyx_apt_fetch(struct tinyx_apt *apt, char *const *names, size_t n, unsigned *downloaded)
{
    unsigned before = count_debs(apt->debs);
    struct strvec argv = STRVEC_INIT;
    char *words[] = {"-q", "-y", "--download-only", "install", "--no-install-recommends"};
    apt_argv(apt, "apt-get", words, 5, &argv);
    for (size_t i = 0; i < n; i++)
        tinyx_strvec_push(&argv, names[i]);
    char *log = tinyx_xasprintf("%s/fetch.log", apt->dir);
    unlink(log);
    int st = run_logged(&argv, log, NULL);
    tinyx_strvec_free(&argv);
    if (st != 0) {
        if (st != TINYX_CMD_INTERRUPTED) {
            tinyx_err("apt-get could not download the packages (exit %d)", st);
            show_log_tail(log);
        }
        free(log);
        return -1;
    }
    free(log);
    if (downloaded)
        *downloaded = count_debs(apt->debs) - before;
    return 0;
}

int tinyx_apt_fetch_one(struct tinyx_apt *apt, const struct tinyx_pkg *pkg, char **deb_path)
{
    /* apt names files NAME_VERSION_ARCH.deb with ':' (epochs) written as %3a. */
    char ver[256];
    size_t j = 0;
    for (const char *p = pkg->version; *p && j + 4 < sizeof(ver); p++) {
        if (*p == ':') {
            memcpy(ver + j, "%3a", 3);
            j += 3;
        } else {
            ver[j++] = *p;
        }
    }
    ver[j] = '\0';
    /* The file name ends in the package's architecture: amd64, or all (linux-source, data). */
    char *file = tinyx_xasprintf("%s_%s_amd64.deb", pkg->name, ver);
    char *path = tinyx_xasprintf("%s/%s", apt->debs, file);
    char *all = tinyx_xasprintf("%s_%s_all.deb", pkg->name, ver);
    char *all_path = tinyx_xasprintf("%s/%s", apt->debs, all);
    if (!tinyx_exists(path) && tinyx_exists(all_path)) {
        free(path);
        path = tinyx_xstrdup(all_path);
    } else if (!tinyx_exists(path)) {
        /* apt-get download writes into the current folder under the final name, so download
         * into a private temp folder and rename: an interrupted download leaves no bad .deb. */
        char *where = tinyx_xasprintf("%s/download", apt->debs);
        char *tmp = tinyx_cache_tmpdir_for(where);
        free(where);
        if (!tmp) {
            free(file);
            free(path);
            free(all);
            free(all_path);
            return -1;
        }
        char *spec = tinyx_xasprintf("%s=%s", pkg->name, pkg->version);
        struct strvec argv = STRVEC_INIT;
        char *words[] = {"-q", "download", spec};
        apt_argv(apt, "apt-get", words, 3, &argv);
        char *log = tinyx_xasprintf("%s/download.log", apt->dir);
        unlink(log);
        struct tinyx_cmd c = {.argv = tinyx_strvec_argv(&argv), .cwd = tmp, .log_path = log};
        int st = tinyx_cmd_run(&c);
        tinyx_strvec_free(&argv);
        free(spec);
        char *got = tinyx_xasprintf("%s/%s", tmp, file);
        if (st == 0 && !tinyx_exists(got)) {
            free(got);
            free(path);
            got = tinyx_xasprintf("%s/%s", tmp, all);
            path = tinyx_xstrdup(all_path);
        }
        if (st != 0 || !tinyx_exists(got) || rename(got, path) < 0) {
            if (st != TINYX_CMD_INTERRUPTED) {
                tinyx_err("cannot download %s %s (exit %d)", pkg->name, pkg->version, st);
                show_log_tail(log);
            }
            st = -1;
        }
        free(got);
        free(log);
        tinyx_rm_rf(tmp);
        tinyx_cleanup_remove(tmp);
        free(tmp);
        if (st != 0) {
            free(file);
            free(path);
            free(all);
            free(all_path);
            return -1;
        }
    }
    free(file);
    free(all);
    free(all_path);
    *deb_path = path;
    return 0;
}
