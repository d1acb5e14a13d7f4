/* kconfig.c: compose a kernel .config with the kernel's own tools (make <base>, scripts/config,
 * make olddefconfig), check that the requested settings held, read and hash .config files. */
#include "kconfig-minimizer/kconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kconfig-minimizer/ksyms.h"
#include "tinyx/proc.h"
#include "tinyx/suggest.h"
#include "tinyx/util.h"

#define CONFIG_TIMEOUT_MS (600u * 1000u) /* a fresh OBJDIR compiles conf first */

/* One requested setting: NAME and how to hand it to scripts/config. */
struct setting {
    char *name;  /* without CONFIG_ */
    char *value; /* as requested: y, n, m, a number, or the string without its quotes */
    char kind;   /* 'y', 'n', 'm', 'v' (number), 's' (string) */
};

static void settings_free(struct setting *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

static bool valid_number(const char *v)
{
    const char *p = v;
    if (*p == '-')
        p++;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        if (!*p)
            return false;
        for (; *p; p++)
            if (!isxdigit((unsigned char)*p))
                return false;
        return true;
    }
    if (!*p)
        return false;
    for (; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

static int parse_setting(const char *text, struct setting *out)
{
    memset(out, 0, sizeof(*out));
    const char *eq = strchr(text, '=');
    if (!eq)
        return tinyx_err("kernel setting '%s' has no value: write NAME=y, NAME=n, NAME=m, "
                         "NAME=123 or NAME=\"text\"",
                         text);
    const char *name = text;
    if (tinyx_str_starts(name, "CONFIG_"))
        name += strlen("CONFIG_");
    if (name == eq)
        return tinyx_err("kernel setting '%s' has no name", text);
    for (const char *p = name; p < eq; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return tinyx_err("kernel setting '%s': '%.*s' is not an option name (letters, "
                             "digits and _ only)",
                             text, (int)(eq - name), name);
    const char *v = eq + 1;
    size_t vl = strlen(v);
    if (!strcmp(v, "y") || !strcmp(v, "n") || !strcmp(v, "m")) {
        out->kind = v[0];
    } else if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
        /* .config escapes " and \ inside strings; scripts/config does not: refuse them. */
        for (size_t i = 1; i + 1 < vl; i++)
            if (v[i] == '"' || v[i] == '\\')
                return tinyx_err("kernel setting '%s': quotes and backslashes inside the "
                                 "string are not supported",
                                 text);
        out->kind = 's';
        out->name = tinyx_xstrndup(name, (size_t)(eq - name));
        out->value = tinyx_xstrndup(v + 1, vl - 2);
        return 0;
    } else if (valid_number(v)) {
        out->kind = 'v';
    } else {
        return tinyx_err("kernel setting '%s': the value must be y, n, m, a number or a "
                         "\"quoted string\"",
                         text);
    }
    out->name = tinyx_xstrndup(name, (size_t)(eq - name));
    out->value = tinyx_xstrdup(v);
    return 0;
}

static int parse_settings(const struct strvec *in, struct setting **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t count = in ? in->n : 0;
    if (!count)
        return 0;
    struct setting *v = tinyx_xcalloc(count, sizeof(*v));
    for (size_t i = 0; i < count; i++)
        if (parse_setting(in->v[i], &v[i]) < 0) {
            settings_free(v, count);
            return -1;
        }
    *out = v;
    *n = count;
    return 0;
}

/* The host's environment without what would change the kernel's make behind our back: an outer
 * make's flags and variable overrides (when tinyx runs under make) and kconfig's own inputs. */
static void kernel_make_env(struct strvec *env)
{
    static const char *const drop[] = {"MAKEFLAGS=",    "MFLAGS=",  "MAKELEVEL=", "MAKEOVERRIDES=",
                                       "GNUMAKEFLAGS=", "CONFIG_=", "KCONFIG_",   NULL};
    tinyx_env_without(drop, env);
}

static int run_logged(char **argv, const char *log, const char *what)
{
    struct strvec env = STRVEC_INIT;
    kernel_make_env(&env);
    struct tinyx_cmd c = {.argv = argv,
                          .envp = tinyx_strvec_argv(&env),
                          .log_path = log,
                          .timeout_ms = CONFIG_TIMEOUT_MS};
    int st = tinyx_cmd_run(&c);
    tinyx_strvec_free(&env);
    if (st == 0)
        return 0;
    if (st == TINYX_CMD_INTERRUPTED)
        return -1;
    if (st == TINYX_CMD_TIMED_OUT)
        return tinyx_err("%s timed out after %u s: see %s", what, CONFIG_TIMEOUT_MS / 1000, log);
    tinyx_err("%s failed (exit %d): see %s", what, st, log);
    char *text = tinyx_read_file(log, NULL);
    if (text) {
        /* The last lines hold the reason (a bad base name, a missing tool). */
        size_t len = strlen(text), lines = 0;
        const char *start = text + len;
        while (start > text && lines < 8)
            if (*--start == '\n' && start + 1 < text + len)
                lines++;
        fprintf(stderr, "---- last lines of %s ----\n%s%s", log, start,
                len && text[len - 1] != '\n' ? "\n" : "");
        free(text);
    }
    return -1;
}

static int run_make(const char *srcdir, const char *objdir, const char *target, const char *log)
{
    char *odir = tinyx_xasprintf("O=%s", objdir);
    char *argv[] = {"make", "-C", (char *)srcdir, odir, (char *)target, NULL};
    char *what = tinyx_xasprintf("make %s (kernel configuration in %s)", target, objdir);
    int rc = run_logged(argv, log, what);
    free(what);
    free(odir);
    return rc;
}

/* Settings to OBJDIR/.config with scripts/config (in order), then `make olddefconfig`. */
static int apply_settings(const char *srcdir, const char *objdir, const struct setting *v, size_t n,
                          const char *log)
{
    if (n > 0) {
        char *script = tinyx_xasprintf("%s/scripts/config", srcdir);
        char *config = tinyx_xasprintf("%s/.config", objdir);
        struct strvec argv = STRVEC_INIT;
        tinyx_strvec_push(&argv, "bash");
        tinyx_strvec_push(&argv, script);
        tinyx_strvec_push(&argv, "--file");
        tinyx_strvec_push(&argv, config);
        /* Names are case-sensitive: scripts/config would upper-case a typo into a real name. */
        tinyx_strvec_push(&argv, "--keep-case");
        for (size_t i = 0; i < n; i++) {
            switch (v[i].kind) {
            case 'y':
                tinyx_strvec_push(&argv, "--enable");
                break;
            case 'n':
                tinyx_strvec_push(&argv, "--disable");
                break;
            case 'm':
                tinyx_strvec_push(&argv, "--module");
                break;
            case 's':
                tinyx_strvec_push(&argv, "--set-str");
                break;
            default:
                tinyx_strvec_push(&argv, "--set-val");
                break;
            }
            tinyx_strvec_push(&argv, v[i].name);
            if (v[i].kind == 's' || v[i].kind == 'v')
                tinyx_strvec_push(&argv, v[i].value);
        }
        int rc = tinyx_exists(script)
                     ? run_logged(tinyx_strvec_argv(&argv), log, "scripts/config")
                     : tinyx_err("%s is missing: not a Linux source tree?", script);
        tinyx_strvec_free(&argv);
        free(script);
        free(config);
        if (rc < 0)
            return -1;
    }
    return run_make(srcdir, objdir, "olddefconfig", log);
}

static bool setting_holds(const struct setting *s, const char *got)
{
    switch (s->kind) {
    case 'y':
    case 'm':
        return got && got[0] == s->kind && !got[1];
    case 'n':
        return !got || !strcmp(got, "n");
    case 's': {
        size_t gl = got ? strlen(got) : 0;
        return gl >= 2 && got[0] == '"' && got[gl - 1] == '"' && gl - 2 == strlen(s->value) &&
               !strncmp(got + 1, s->value, gl - 2);
    }
    default: {
        if (!got)
            return false;
        char *e1, *e2;
        errno = 0;
        long long a = strtoll(s->value, &e1, 0), b = strtoll(got, &e2, 0);
        return !errno && !*e1 && !*e2 && a == b;
    }
    }
}

static bool dump_available(void)
{
    const char *e = getenv("TINYX_KCONFIG_DUMP_C");
    if (e && *e)
        return tinyx_exists(e);
    char *p = tinyx_xasprintf("%s/../share/tinyx/kconfig_dump.c", tinyx_self_dir());
    bool ok = tinyx_exists(p);
    free(p);
    return ok;
}

/* Why a setting did not hold, from what the kernel's kconfig parser says about the symbol. */
static char *explain(const struct setting *s, const char *got, const struct kconfig_syms *syms)
{
    if (!syms)
        return tinyx_xstrdup(s->kind == 'n' ? "it is forced on by another option"
                                            : "its dependencies are not met, or this kernel has "
                                              "no such option");
    int i = kconfig_syms_find(syms, s->name);
    if (i < 0) {
        struct strvec names = STRVEC_INIT, sugg = STRVEC_INIT;
        for (size_t k = 0; k < syms->n; k++)
            tinyx_strvec_push(&names, syms->v[k].name);
        tinyx_suggest(s->name, names.v, names.n, 3, &sugg);
        char *phrase = tinyx_suggest_phrase(&sugg);
        char *r = tinyx_xasprintf("no option of this kernel can be set by that name (unknown, or "
                                  "internal and only selected by others)%s",
                                  phrase);
        free(phrase);
        tinyx_strvec_free(&sugg);
        tinyx_strvec_free(&names);
        return r;
    }
    /* The kernel's own words: its dependency and select expressions with current values. */
    const struct kconfig_sym *y = &syms->v[i];
    bool on = got && (!strcmp(got, "y") || !strcmp(got, "m"));
    if ((s->kind == 'n' || (s->kind == 'm' && on)) && *y->selected_by)
        return tinyx_xasprintf("selected by %s (%s)", y->selected_by, y->file);
    if (s->kind == 'n' && on)
        return tinyx_xasprintf("it is forced on (the pick of a choice, or a default it cannot "
                               "leave) (%s)",
                               y->file);
    if (s->kind == 'm' && on)
        return tinyx_xasprintf("cannot be a module: modules are off (MODULES=y enables them) (%s)",
                               y->file);
    if (*y->depends)
        return tinyx_xasprintf("depends on %s (%s)", y->depends, y->file);
    return tinyx_xasprintf("not accepted (out of range, or a choice decides it) (%s)", y->file);
}

/* Compare each setting (the last one for a name wins) with OBJDIR/.config; describe misses. */
static int check_settings(const char *srcdir, const char *objdir, const struct setting *v, size_t n,
                          struct strvec *unmet)
{
    char *path = tinyx_xasprintf("%s/.config", objdir);
    struct strmap cfg = STRMAP_INIT;
    int rc = kconfig_read(path, &cfg);
    free(path);
    if (rc < 0)
        return -1;
    size_t *missed = tinyx_xcalloc(n + 1, sizeof(*missed));
    size_t n_missed = 0;
    for (size_t i = 0; i < n; i++) {
        bool later = false;
        for (size_t j = i + 1; j < n && !later; j++)
            later = !strcmp(v[i].name, v[j].name);
        if (!later && !setting_holds(&v[i], tinyx_strmap_get(&cfg, v[i].name)))
            missed[n_missed++] = i;
    }
    if (n_missed && unmet) {
        /* The kernel's parser knows why; without the dumper, say what happened. */
        struct kconfig_syms syms = {0};
        bool have_syms = dump_available() && kconfig_syms_load(srcdir, objdir, &syms) == 0;
        for (size_t k = 0; k < n_missed; k++) {
            const struct setting *s = &v[missed[k]];
            const char *got = tinyx_strmap_get(&cfg, s->name);
            char *why = explain(s, got, have_syms ? &syms : NULL);
            if (s->kind == 's')
                tinyx_strvec_pushf(unmet, "%s=\"%s\" (got %s): %s", s->name, s->value,
                                   got ? got : "unset", why);
            else
                tinyx_strvec_pushf(unmet, "%s=%s (got %s): %s", s->name, s->value,
                                   got ? got : (s->kind == 'v' ? "unset" : "n"), why);
            free(why);
        }
        kconfig_syms_free(&syms);
    }
    free(missed);
    tinyx_strmap_free(&cfg);
    return n_missed ? 1 : 0;
}

/* A base is a .config file when it names one; otherwise a make target (tinyconfig...). */
static bool base_is_file(const char *base)
{
    return strchr(base, '/') || (tinyx_exists(base) && !tinyx_is_dir(base));
}

int kconfig_make(const struct kconfig_spec *spec, const char *objdir, struct strvec *unmet)
{
    if (!spec || !spec->srcdir || !spec->base || !objdir)
        return tinyx_err("kconfig_make: srcdir, base and objdir are required");
    char *makefile = tinyx_xasprintf("%s/Makefile", spec->srcdir);
    bool is_tree = tinyx_exists(makefile);
    free(makefile);
    if (!is_tree)
        return tinyx_err("%s is not a Linux source tree (no Makefile)", spec->srcdir);
    struct setting *v;
    size_t n;
    if (parse_settings(spec->settings, &v, &n) < 0)
        return -1;
    if (tinyx_mkdir_p(objdir, 0755) < 0) {
        settings_free(v, n);
        return -1;
    }
    char *log = tinyx_xasprintf("%s/kconfig.log", objdir);
    char *config = tinyx_xasprintf("%s/.config", objdir);
    unlink(log);
    int rc;
    if (base_is_file(spec->base)) {
        rc = tinyx_exists(spec->base)
                 ? tinyx_copy_file(spec->base, config, 0644)
                 : tinyx_err("base configuration %s does not exist", spec->base);
    } else {
        tinyx_debug("kernel: make %s in %s", spec->base, objdir);
        rc = run_make(spec->srcdir, objdir, spec->base, log);
    }
    if (rc == 0)
        rc = apply_settings(spec->srcdir, objdir, v, n, log);
    if (rc == 0)
        rc = check_settings(spec->srcdir, objdir, v, n, unmet);
    settings_free(v, n);
    free(log);
    free(config);
    return rc;
}

int kconfig_apply(const char *srcdir, const char *objdir, const struct strvec *settings)
{
    char *config = tinyx_xasprintf("%s/.config", objdir);
    bool have = tinyx_exists(config);
    free(config);
    if (!have)
        return tinyx_err("%s/.config does not exist: nothing to apply settings to", objdir);
    struct setting *v;
    size_t n;
    if (parse_settings(settings, &v, &n) < 0)
        return -1;
    char *log = tinyx_xasprintf("%s/kconfig.log", objdir);
    unlink(log);
    int rc = apply_settings(srcdir, objdir, v, n, log);
    settings_free(v, n);
    free(log);
    return rc;
}

/* Strip the line end (and a CR) in place. */
static void chomp(char *l)
{
    size_t len = strlen(l);
    while (len && (l[len - 1] == '\n' || l[len - 1] == '\r' || l[len - 1] == ' '))
        l[--len] = '\0';
}

int kconfig_read(const char *path, struct strmap *out)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return tinyx_errno("cannot read kernel configuration %s", path);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        chomp(line);
        if (tinyx_str_starts(line, "CONFIG_")) {
            char *eq = strchr(line, '=');
            if (!eq)
                continue;
            *eq = '\0';
            tinyx_strmap_set(out, line + strlen("CONFIG_"), eq + 1);
        } else if (tinyx_str_starts(line, "# CONFIG_") && tinyx_str_ends(line, " is not set")) {
            char *name = line + strlen("# CONFIG_");
            name[strlen(name) - strlen(" is not set")] = '\0';
            tinyx_strmap_set(out, name, "n");
        }
    }
    free(line);
    bool bad = ferror(f);
    fclose(f);
    if (bad)
        return tinyx_errno("cannot read kernel configuration %s", path);
    return 0;
}

int kconfig_hash(const char *path, char hex[TINYX_SHA256_HEX])
{
    FILE *f = fopen(path, "re");
    if (!f)
        return tinyx_errno("cannot read kernel configuration %s", path);
    struct strvec lines = STRVEC_INIT;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        chomp(line);
        /* The settings, plus the one comment that says which kernel they are for
         * ("# Linux/x86 6.1.192 Kernel Configuration"): the same settings on another kernel
         * version are another kernel. */
        if (tinyx_str_starts(line, "CONFIG_") ||
            (tinyx_str_starts(line, "# Linux/") && tinyx_str_ends(line, " Kernel Configuration")))
            tinyx_strvec_push(&lines, line);
    }
    free(line);
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        tinyx_strvec_free(&lines);
        return tinyx_errno("cannot read kernel configuration %s", path);
    }
    tinyx_strvec_sort_unique(&lines);
    struct tinyx_hash *h = tinyx_hash_new();
    for (size_t i = 0; i < lines.n; i++)
        tinyx_hash_str(h, lines.v[i]);
    tinyx_hash_final(h, hex);
    tinyx_strvec_free(&lines);
    return 0;
}
