/* ksyms.c: a .config's symbols and menu tree, read by kconfig_dump.c compiled against the
 * kernel's own kconfig objects in OBJDIR and run with the environment the kernel gives conf. */
#include "kconfig-minimizer/ksyms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tinyx/proc.h"
#include "tinyx/strmap.h"
#include "tinyx/strvec.h"
#include "tinyx/util.h"

#define DUMP_TIMEOUT_MS    (180u * 1000u) /* parsing Kconfig runs gcc for each cc-option */
#define MAKE_TIMEOUT_MS    (600u * 1000u)
#define COMPILE_TIMEOUT_MS (120u * 1000u)

static double mtime_of(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    return (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
}

/* The dumper's source: installed beside the binaries, or $TINYX_KCONFIG_DUMP_C. */
static char *dump_source(void)
{
    const char *e = getenv("TINYX_KCONFIG_DUMP_C");
    if (e && *e)
        return tinyx_xstrdup(e);
    return tinyx_xasprintf("%s/../share/tinyx/kconfig_dump.c", tinyx_self_dir());
}

/* The kconfig library objects conf is linked from, as kbuild recorded its link command in
 * OBJDIR/scripts/kconfig/.conf.cmd (every object but conf.o, which holds main). */
static int kconfig_objects(const char *objdir, struct strvec *objs)
{
    char *cmdfile = tinyx_xasprintf("%s/scripts/kconfig/.conf.cmd", objdir);
    char *text = tinyx_read_file(cmdfile, NULL);
    if (!text) {
        free(cmdfile);
        return -1;
    }
    char *nl = strchr(text, '\n');
    if (nl)
        *nl = '\0';
    char *line = text;
    if (tinyx_str_starts(line, "cmd_")) {
        char *save = NULL;
        for (char *w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
            if (tinyx_str_ends(w, ".o") && !tinyx_str_ends(w, "/conf.o"))
                tinyx_strvec_pushf(objs, "%s/%s", objdir, w);
    }
    free(text);
    int rc = 0;
    if (objs->n == 0)
        rc = tinyx_err("%s names no kconfig objects: remove %s/scripts/kconfig and retry", cmdfile,
                       objdir);
    free(cmdfile);
    return rc;
}

/* Make sure OBJDIR has the kconfig objects and the record of conf's environment
 * (include/config/auto.conf.cmd): `make syncconfig` writes both, only into OBJDIR. */
static int ensure_conf_state(const char *srcdir, const char *objdir)
{
    char *confcmd = tinyx_xasprintf("%s/scripts/kconfig/.conf.cmd", objdir);
    char *envcmd = tinyx_xasprintf("%s/include/config/auto.conf.cmd", objdir);
    char *config = tinyx_xasprintf("%s/.config", objdir);
    int rc = 0;
    if (!tinyx_exists(config)) {
        rc = tinyx_err("%s does not exist: make a configuration first", config);
    } else if (!tinyx_exists(confcmd) || !tinyx_exists(envcmd)) {
        char *log = tinyx_xasprintf("%s/kconfig.log", objdir);
        char *odir = tinyx_xasprintf("O=%s", objdir);
        char *argv[] = {"make", "-C", (char *)srcdir, odir, "syncconfig", NULL};
        struct tinyx_cmd c = {.argv = argv, .log_path = log, .timeout_ms = MAKE_TIMEOUT_MS};
        int st = tinyx_cmd_run(&c);
        if (st != 0)
            rc = st == TINYX_CMD_INTERRUPTED
                     ? -1
                     : tinyx_err("make syncconfig failed in %s (exit %d): see %s", objdir, st, log);
        free(odir);
        free(log);
    }
    free(confcmd);
    free(envcmd);
    free(config);
    return rc;
}

/* Compile the dumper into OBJDIR/.tinyx/kconfig_dump unless it is newer than its inputs. */
static char *ensure_dumper(const char *srcdir, const char *objdir)
{
    char *src = dump_source();
    if (!tinyx_exists(src)) {
        tinyx_err("%s is missing: tinyx is not installed completely (run `make`), or set "
                  "TINYX_KCONFIG_DUMP_C",
                  src);
        free(src);
        return NULL;
    }
    struct strvec objs = STRVEC_INIT;
    if (kconfig_objects(objdir, &objs) < 0) {
        free(src);
        return NULL;
    }
    char *dir = tinyx_xasprintf("%s/.tinyx", objdir);
    char *exe = tinyx_xasprintf("%s/kconfig_dump", dir);
    double have = mtime_of(exe);
    bool stale = have < 0 || mtime_of(src) > have;
    for (size_t i = 0; i < objs.n && !stale; i++)
        stale = mtime_of(objs.v[i]) > have;
    int rc = 0;
    if (stale && (rc = tinyx_mkdir_p(dir, 0755)) == 0) {
        char *tmp = tinyx_xasprintf("%s.tmp-%ld", exe, (long)getpid());
        char *log = tinyx_xasprintf("%s/kconfig_dump.log", dir);
        unlink(log);
        struct strvec argv = STRVEC_INIT;
        tinyx_strvec_push(&argv, "gcc");
        tinyx_strvec_push(&argv, "-O1");
        tinyx_strvec_push(&argv, "-o");
        tinyx_strvec_push(&argv, tmp);
        tinyx_strvec_push(&argv, src);
        tinyx_strvec_pushf(&argv, "-I%s/scripts/kconfig", srcdir);
        tinyx_strvec_pushf(&argv, "-I%s/scripts/kconfig", objdir);
        for (size_t i = 0; i < objs.n; i++)
            tinyx_strvec_push(&argv, objs.v[i]);
        struct tinyx_cmd c = {
            .argv = tinyx_strvec_argv(&argv), .log_path = log, .timeout_ms = COMPILE_TIMEOUT_MS};
        int st = tinyx_cmd_run(&c);
        if (st != 0 || rename(tmp, exe) < 0) {
            unlink(tmp);
            rc = st == TINYX_CMD_INTERRUPTED
                     ? -1
                     : tinyx_err("cannot compile %s against %s/scripts/kconfig (exit %d): see %s",
                                 src, objdir, st, log);
        }
        tinyx_strvec_free(&argv);
        free(log);
        free(tmp);
    }
    tinyx_strvec_free(&objs);
    free(src);
    free(dir);
    if (rc < 0) {
        free(exe);
        return NULL;
    }
    return exe;
}

/* The kernel's Makefile exports variables that Kconfig reads through $(VAR) (CC, LD,
 * KERNELVERSION, srctree...); conf records each as `ifneq "$(VAR)" "VALUE"` in
 * include/config/auto.conf.cmd. Rebuild exactly that environment. */
static int conf_environment(const char *objdir, struct strvec *env)
{
    char *path = tinyx_xasprintf("%s/include/config/auto.conf.cmd", objdir);
    char *text = tinyx_read_file(path, NULL);
    if (!text) {
        free(path);
        return -1;
    }
    struct strvec set = STRVEC_INIT;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!tinyx_str_starts(l, "ifneq \"$("))
            continue;
        char *name = l + strlen("ifneq \"$(");
        char *close = strstr(name, ")\" \"");
        size_t len = strlen(l);
        if (!close || l[len - 1] != '"')
            continue;
        *close = '\0';
        char *value = close + 4;
        l[len - 1] = '\0';
        tinyx_strvec_pushf(&set, "%s=%s", name, value);
    }
    free(text);
    free(path);
    /* The host's environment minus what conf must not see: kconfig reads CONFIG_ and
     * KCONFIG_* itself, and the recorded variables are replaced. */
    struct strvec drop = STRVEC_INIT;
    tinyx_strvec_push(&drop, "CONFIG_=");
    tinyx_strvec_push(&drop, "KCONFIG_");
    for (size_t i = 0; i < set.n; i++)
        tinyx_strvec_push_owned(
            &drop, tinyx_xstrndup(set.v[i], (size_t)(strchr(set.v[i], '=') - set.v[i]) + 1));
    tinyx_env_without((const char *const *)tinyx_strvec_argv(&drop), env);
    tinyx_strvec_free(&drop);
    for (size_t i = 0; i < set.n; i++)
        tinyx_strvec_push(env, set.v[i]);
    tinyx_strvec_free(&set);
    return 0;
}

/* Undo the dumper's escapes (\t, \n, \\) in place. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '\\' && r[1]) {
            r++;
            *w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static int parse_dump(char *text, struct kconfig_syms *out)
{
    size_t cap = 0;
    struct strvec parents = STRVEC_INIT;
    int rc = 0;
    size_t lineno = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *f[9];
        int nf = 0;
        for (char *p = l; nf < 9; nf++) {
            f[nf] = p;
            char *tab = strchr(p, '\t');
            if (!tab) {
                nf++;
                break;
            }
            *tab = '\0';
            p = tab + 1;
        }
        if (nf < 9 || strlen(f[1]) != 1) {
            rc = tinyx_err("kconfig dump: line %zu is malformed", lineno);
            break;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 1024;
            out->v = tinyx_xrealloc(out->v, cap * sizeof(*out->v));
        }
        unescape(f[2]);
        struct kconfig_sym *s = &out->v[out->n++];
        s->name = tinyx_xstrdup(f[0]);
        s->type = f[1][0];
        s->value = tinyx_xstrdup(f[2]);
        s->has_prompt = f[3][0] == '1';
        s->can_be_n = f[4][0] == '1';
        s->parent = -1;
        s->file = tinyx_xstrdup(f[6]);
        unescape(f[7]);
        unescape(f[8]);
        s->depends = tinyx_xstrdup(strcmp(f[7], "-") ? f[7] : "");
        s->selected_by = tinyx_xstrdup(strcmp(f[8], "-") ? f[8] : "");
        tinyx_strvec_push(&parents, f[5]);
    }
    if (rc == 0) {
        struct strmap index = STRMAP_INIT;
        for (size_t i = 0; i < out->n; i++) {
            char num[32];
            snprintf(num, sizeof(num), "%zu", i);
            tinyx_strmap_add(&index, out->v[i].name, num);
        }
        for (size_t i = 0; i < out->n; i++) {
            const char *p = tinyx_strmap_get(&index, parents.v[i]);
            out->v[i].parent = p ? atoi(p) : -1;
        }
        tinyx_strmap_free(&index);
        /* The menu tree has no cycles; guard the callers' upward walks anyway. */
        for (size_t i = 0; i < out->n; i++) {
            size_t steps = 0;
            for (int p = out->v[i].parent; p >= 0 && steps <= out->n; p = out->v[p].parent)
                steps++;
            if (steps > out->n)
                out->v[i].parent = -1;
        }
    }
    tinyx_strvec_free(&parents);
    return rc;
}

int kconfig_syms_load(const char *srcdir, const char *objdir, struct kconfig_syms *out)
{
    memset(out, 0, sizeof(*out));
    if (ensure_conf_state(srcdir, objdir) < 0)
        return -1;
    char *exe = ensure_dumper(srcdir, objdir);
    if (!exe)
        return -1;
    struct strvec env = STRVEC_INIT;
    if (conf_environment(objdir, &env) < 0) {
        free(exe);
        return tinyx_err("cannot read %s/include/config/auto.conf.cmd", objdir);
    }
    /* The tree given wins over the recorded one (the same tree, unless it moved). */
    bool has_srctree = false;
    for (size_t i = 0; i < env.n; i++)
        if (tinyx_str_starts(env.v[i], "srctree=")) {
            free(env.v[i]);
            env.v[i] = tinyx_xasprintf("srctree=%s", srcdir);
            has_srctree = true;
        }
    if (!has_srctree)
        tinyx_strvec_pushf(&env, "srctree=%s", srcdir);
    const char *kconfig = getenv("KBUILD_KCONFIG");
    char *argv[] = {exe, (char *)(kconfig && *kconfig ? kconfig : "Kconfig"), ".config", NULL};
    char *log = tinyx_xasprintf("%s/.tinyx/kconfig_dump.log", objdir);
    unlink(log);
    char *text = NULL;
    struct tinyx_cmd c = {.argv = argv,
                          .cwd = objdir,
                          .envp = tinyx_strvec_argv(&env),
                          .out = &text,
                          .log_path = log,
                          .timeout_ms = DUMP_TIMEOUT_MS};
    int st = tinyx_cmd_run(&c);
    int rc = 0;
    if (st != 0)
        rc = st == TINYX_CMD_INTERRUPTED
                 ? -1
                 : tinyx_err("the kconfig dump of %s/.config failed (exit %d): see %s", objdir, st,
                             log);
    else
        rc = parse_dump(text, out);
    if (rc == 0 && out->n == 0)
        rc = tinyx_err("the kconfig dump of %s/.config listed no symbols: see %s", objdir, log);
    if (rc < 0)
        kconfig_syms_free(out);
    free(text);
    free(log);
    free(exe);
    tinyx_strvec_free(&env);
    return rc;
}

void kconfig_syms_free(struct kconfig_syms *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].name);
        free(s->v[i].value);
        free(s->v[i].file);
        free(s->v[i].depends);
        free(s->v[i].selected_by);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

int kconfig_syms_find(const struct kconfig_syms *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].name, name))
            return (int)i;
    return -1;
}
