/* recipe.c: the recipe schema: read and validate a recipe file's keys into struct tinyx_recipe. */
#include "tinyx/recipe.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyx/recipe_model.h"
#include "tinyx/recipe_yaml.h"
#include "tinyx/suggest.h"
#include "tinyx/util.h"

#define MIN_MEMORY_MB    16
#define MAX_MEMORY_MB    65536
#define MAX_RECIPE_BYTES (1024 * 1024)

/* ---- YAML: typed access with file:line:col messages ---- */

struct ctx {
    const char *file;
    struct tinyx_recipe *r;
    const struct tinyx_ynode *ports;      /* the ports value, when given */
    const struct tinyx_ynode *check_port; /* the node that names the check's port */
    char check_port_label[64];
};

/* "a string ("80")", "an integer (80)", "a list", ... for "got ..." messages. */
static char *got(const struct tinyx_ynode *n)
{
    const char *what = tinyx_ynode_describe(n);
    if (n->kind != TINYX_YNODE_SCALAR || n->type == TINYX_YSCALAR_NULL)
        return tinyx_xstrdup(what);
    if (n->type != TINYX_YSCALAR_STRING)
        return tinyx_xasprintf("%s (%s)", what, n->text);
    if (strlen(n->text) > 40) {
        int cut = 37; /* shortened on a character boundary, so the message stays UTF-8 */
        while (cut > 0 && ((unsigned char)n->text[cut] & 0xc0) == 0x80)
            cut--;
        return tinyx_xasprintf("%s (\"%.*s...\")", what, cut, n->text);
    }
    return tinyx_xasprintf("%s (\"%s\")", what, n->text);
}

static int type_err(struct ctx *c, const char *label, const char *expected,
                    const struct tinyx_ynode *n)
{
    char *g = got(n);
    tinyx_ynode_err(c->file, n, "%s: expected %s, got %s", label, expected, g);
    free(g);
    return -1;
}

/* A reason from a tinyx_recipe_bad_* rule, freed here. */
static int rule_err(struct ctx *c, const char *label, const struct tinyx_ynode *n, char *why)
{
    tinyx_ynode_err(c->file, n, "%s: %s", label, why);
    free(why);
    return -1;
}

/* Any non-null scalar, as written (so `user: 1000` and `PORT: 8000` read as text). */
static int want_string(struct ctx *c, const char *label, const struct tinyx_ynode *n,
                       const char **out)
{
    if (n->kind != TINYX_YNODE_SCALAR || n->type == TINYX_YSCALAR_NULL)
        return type_err(c, label, "a string", n);
    *out = n->text;
    return 0;
}

static int want_nonempty_string(struct ctx *c, const char *label, const struct tinyx_ynode *n,
                                const char **out)
{
    if (want_string(c, label, n, out) < 0)
        return -1;
    if (!**out)
        return tinyx_ynode_err(c->file, n, "%s: is empty", label);
    return 0;
}

static int want_int(struct ctx *c, const char *label, const struct tinyx_ynode *n, long long *out)
{
    if (n->kind != TINYX_YNODE_SCALAR || n->type != TINYX_YSCALAR_INT)
        return type_err(c, label, "an integer", n);
    if (n->int_overflow)
        return tinyx_ynode_err(c->file, n, "%s: %s is far too large", label, n->text);
    *out = n->integer;
    return 0;
}

static int want_port(struct ctx *c, const char *label, const struct tinyx_ynode *n, int *out)
{
    long long v;
    if (n->kind == TINYX_YNODE_SCALAR && n->type == TINYX_YSCALAR_INT && n->int_overflow)
        return tinyx_ynode_err(c->file, n, "%s: port %s is out of range (1 to 65535)", label,
                               n->text);
    if (want_int(c, label, n, &v) < 0)
        return -1;
    char *why = tinyx_recipe_bad_port(v);
    if (why)
        return rule_err(c, label, n, why);
    *out = (int)v;
    return 0;
}

static int want_list(struct ctx *c, const char *label, const char *of, const struct tinyx_ynode *n)
{
    if (n->kind == TINYX_YNODE_LIST)
        return 0;
    char *expected = tinyx_xasprintf("a list of %s", of);
    type_err(c, label, expected, n);
    free(expected);
    return -1;
}

/* A list of strings into sv; each item checked by rule (may be NULL). */
static int want_string_list(struct ctx *c, const char *label, const char *of,
                            const struct tinyx_ynode *n, char *(*rule)(const char *),
                            struct strvec *sv)
{
    if (want_list(c, label, of, n) < 0)
        return -1;
    for (size_t i = 0; i < n->n; i++) {
        char item_label[64];
        snprintf(item_label, sizeof(item_label), "%s[%zu]", label, i);
        const char *s = NULL;
        if (want_nonempty_string(c, item_label, n->items[i], &s) < 0)
            return -1;
        char *why = rule ? rule(s) : NULL;
        if (why)
            return rule_err(c, item_label, n->items[i], why);
        if (tinyx_strvec_contains(sv, s))
            return tinyx_ynode_err(c->file, n->items[i], "%s: '%s' is listed twice", item_label, s);
        tinyx_strvec_push(sv, s);
    }
    return 0;
}

/* Report the first key of map not in known[], with close matches; label "" for the top. */
static int reject_unknown_keys(struct ctx *c, const char *label, const struct tinyx_ynode *map,
                               const char *const *known, size_t n_known)
{
    for (size_t i = 0; i < map->n; i++) {
        const struct tinyx_ynode *key = map->items[2 * i];
        bool found = false;
        for (size_t k = 0; k < n_known && !found; k++)
            found = !strcmp(key->text, known[k]);
        if (found)
            continue;
        struct strvec close = STRVEC_INIT;
        tinyx_suggest(key->text, (char *const *)known, n_known, 3, &close);
        char *phrase = tinyx_suggest_phrase(&close);
        char *all = tinyx_xstrdup("");
        for (size_t k = 0; k < n_known; k++) {
            char *next = tinyx_xasprintf("%s%s%s", all, k ? ", " : "", known[k]);
            free(all);
            all = next;
        }
        /* A close match says enough; without one, list every key. */
        if (close.n)
            tinyx_ynode_err(c->file, key, "%s%sunknown key '%s'%s", label, *label ? ": " : "",
                            key->text, phrase);
        else
            tinyx_ynode_err(c->file, key, "%s%sunknown key '%s'; known keys: %s", label,
                            *label ? ": " : "", key->text, all);
        free(all);
        free(phrase);
        tinyx_strvec_free(&close);
        return -1;
    }
    return 0;
}

static int missing_key(struct ctx *c, const char *label, const struct tinyx_ynode *map,
                       const char *key, const char *example)
{
    return tinyx_ynode_err(c->file, map, "%s%smissing required key '%s' (for example %s)", label,
                           *label ? ": " : "", key, example);
}

/* ---- the top-level keys ---- */

static int parse_name(struct ctx *c, const struct tinyx_ynode *v)
{
    const char *s = NULL;
    if (want_string(c, "name", v, &s) < 0)
        return -1;
    char *why = tinyx_recipe_bad_name(s);
    if (why)
        return rule_err(c, "name", v, why);
    c->r->name = tinyx_xstrdup(s);
    return 0;
}

static int parse_packages(struct ctx *c, const struct tinyx_ynode *v)
{
    if (want_string_list(c, "packages", "Debian package names", v, tinyx_recipe_bad_package,
                         &c->r->packages) < 0)
        return -1;
    if (c->r->packages.n == 0)
        return tinyx_ynode_err(c->file, v,
                               "packages: is empty; list the Debian packages the app needs");
    return 0;
}

static int parse_cmd(struct ctx *c, const struct tinyx_ynode *v)
{
    struct strvec *cmd = &c->r->cmd;
    if (v->kind == TINYX_YNODE_SCALAR && v->type != TINYX_YSCALAR_NULL) {
        if (tinyx_split_words(v->text, cmd) < 0)
            return tinyx_ynode_err(c->file, v,
                                   "cmd: unbalanced quote or trailing backslash in '%s'", v->text);
    } else if (v->kind == TINYX_YNODE_LIST) {
        for (size_t i = 0; i < v->n; i++) {
            char label[32];
            snprintf(label, sizeof(label), "cmd[%zu]", i);
            const char *s = NULL;
            if (want_string(c, label, v->items[i], &s) < 0)
                return -1;
            tinyx_strvec_push(cmd, s);
        }
    } else {
        return type_err(c, "cmd", "a list of arguments or a command line string", v);
    }
    if (cmd->n == 0)
        return tinyx_ynode_err(c->file, v,
                               "cmd: is empty; give the program and its arguments, for example "
                               "[/usr/bin/hello]");
    char *why = tinyx_recipe_bad_program(cmd->v[0]);
    if (why)
        return rule_err(c, "cmd[0]", v->kind == TINYX_YNODE_LIST ? v->items[0] : v, why);
    return 0;
}

static bool is_env_name(const char *s)
{
    return *s && !isdigit((unsigned char)*s) &&
           tinyx_recipe_only_chars(
               s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789");
}

static int parse_env(struct ctx *c, const struct tinyx_ynode *v)
{
    if (v->kind != TINYX_YNODE_MAP)
        return type_err(c, "env", "a map of NAME: value", v);
    struct tinyx_recipe *r = c->r;
    r->env = tinyx_xcalloc(v->n ? v->n : 1, sizeof(*r->env));
    for (size_t i = 0; i < v->n; i++) {
        const struct tinyx_ynode *key = v->items[2 * i], *val = v->items[2 * i + 1];
        if (!is_env_name(key->text))
            return tinyx_ynode_err(c->file, key,
                                   "env: '%s' is not a variable name (letters, digits and '_', "
                                   "not starting with a digit)",
                                   key->text);
        char label[96];
        snprintf(label, sizeof(label), "env.%s", key->text);
        const char *s = NULL;
        if (val->kind == TINYX_YNODE_SCALAR && val->type == TINYX_YSCALAR_NULL)
            return tinyx_ynode_err(c->file, val,
                                   "%s: has no value (write \"\" for an empty string)", label);
        if (want_string(c, label, val, &s) < 0)
            return -1;
        r->env[r->n_env].name = tinyx_xstrdup(key->text);
        r->env[r->n_env].value = tinyx_xstrdup(s);
        r->n_env++;
    }
    return 0;
}

static int parse_ports(struct ctx *c, const struct tinyx_ynode *v)
{
    if (want_list(c, "ports", "integers", v) < 0)
        return -1;
    struct tinyx_recipe *r = c->r;
    r->ports = tinyx_xcalloc(v->n ? v->n : 1, sizeof(int));
    for (size_t i = 0; i < v->n; i++) {
        char label[32];
        snprintf(label, sizeof(label), "ports[%zu]", i);
        int port;
        if (want_port(c, label, v->items[i], &port) < 0)
            return -1;
        for (size_t k = 0; k < r->n_ports; k++)
            if (r->ports[k] == port)
                return tinyx_ynode_err(c->file, v->items[i], "%s: port %d is listed twice", label,
                                       port);
        r->ports[r->n_ports++] = port;
    }
    c->ports = v;
    return 0;
}

/* check.tcp or check.http given as a map: port (required) plus the listed optional keys. */
static int parse_check_map(struct ctx *c, const char *label, const struct tinyx_ynode *v,
                           const char *const *known, size_t n_known)
{
    struct tinyx_check *chk = &c->r->check;
    if (reject_unknown_keys(c, label, v, known, n_known) < 0)
        return -1;
    for (size_t i = 0; i < v->n; i++) {
        const char *key = v->items[2 * i]->text;
        const struct tinyx_ynode *val = v->items[2 * i + 1];
        char sub[64];
        snprintf(sub, sizeof(sub), "%s.%s", label, key);
        const char *s = NULL;
        bool is_null = val->kind == TINYX_YNODE_SCALAR && val->type == TINYX_YSCALAR_NULL;
        if (!strcmp(key, "port")) {
            if (want_port(c, sub, val, &chk->port) < 0)
                return -1;
            c->check_port = val;
            snprintf(c->check_port_label, sizeof(c->check_port_label), "%s", sub);
        } else if (!strcmp(key, "status")) {
            long long status;
            if (want_int(c, sub, val, &status) < 0)
                return -1;
            if (status < 100 || status > 599)
                return tinyx_ynode_err(
                    c->file, val, "%s: %lld is not an HTTP status code (100 to 599)", sub, status);
            chk->status = (int)status;
        } else if (is_null) {
            continue; /* optional strings: null means not set (to_json writes that) */
        } else if (want_string(c, sub, val, &s) < 0) {
            return -1;
        } else if (!strcmp(key, "path")) {
            if (s[0] != '/' || strpbrk(s, " \t\r\n"))
                return tinyx_ynode_err(c->file, val,
                                       "%s: '%s' must start with '/' and hold no spaces", sub, s);
            free(chk->path);
            chk->path = tinyx_xstrdup(s);
        } else if (!strcmp(key, "send")) {
            chk->send = tinyx_xstrdup(s);
        } else if (!strcmp(key, "expect")) {
            chk->expect = tinyx_xstrdup(s);
        }
    }
    if (!c->check_port)
        return missing_key(c, label, v, "port", "port: 80");
    return 0;
}

static int parse_check_kind(struct ctx *c, const char *kind, const struct tinyx_ynode *v)
{
    struct tinyx_check *chk = &c->r->check;
    if (!strcmp(kind, "output")) {
        chk->kind = TINYX_CHECK_OUTPUT;
        const char *s = NULL;
        if (want_nonempty_string(c, "check.output", v, &s) < 0)
            return -1;
        chk->expect = tinyx_xstrdup(s);
        return 0;
    }
    if (!strcmp(kind, "tcp")) {
        static const char *const known[] = {"port", "send", "expect"};
        chk->kind = TINYX_CHECK_TCP;
        if (v->kind == TINYX_YNODE_SCALAR && v->type == TINYX_YSCALAR_INT) {
            c->check_port = v;
            snprintf(c->check_port_label, sizeof(c->check_port_label), "check.tcp");
            return want_port(c, "check.tcp", v, &chk->port);
        }
        if (v->kind != TINYX_YNODE_MAP)
            return type_err(c, "check.tcp", "a port or a map {port, send, expect}", v);
        return parse_check_map(c, "check.tcp", v, known, 3);
    }
    static const char *const known[] = {"port", "path", "expect", "status"};
    chk->kind = TINYX_CHECK_HTTP;
    chk->path = tinyx_xstrdup("/");
    chk->status = 200;
    if (v->kind != TINYX_YNODE_MAP)
        return type_err(c, "check.http", "a map {port, path, expect, status}", v);
    return parse_check_map(c, "check.http", v, known, 4);
}

static int parse_check(struct ctx *c, const struct tinyx_ynode *v)
{
    static const char *const kinds[] = {"tcp", "http", "output"};
    if (v->kind == TINYX_YNODE_SCALAR && v->type == TINYX_YSCALAR_NULL)
        return 0; /* no check: the app counts as ready at the boot-timer signal */
    if (v->kind != TINYX_YNODE_MAP)
        return type_err(c, "check", "a map with one of tcp, http or output", v);
    if (v->n == 0)
        return tinyx_ynode_err(c->file, v, "check: is empty; give one of tcp, http or output");
    if (reject_unknown_keys(c, "check", v, kinds, 3) < 0)
        return -1;
    if (v->n > 1)
        return tinyx_ynode_err(c->file, v->items[2],
                               "check: more than one kind of check ('%s' and '%s'); keep one",
                               v->items[0]->text, v->items[2]->text);
    return parse_check_kind(c, v->items[0]->text, v->items[1]);
}

static char *bad_glob(const char *s)
{
    if (s[0] == '/')
        return NULL;
    return tinyx_xasprintf("'%s' is not an absolute path (start it with '/')", s);
}

static int parse_include(struct ctx *c, const struct tinyx_ynode *v)
{
    return want_string_list(c, "include", "absolute path globs", v, bad_glob, &c->r->include);
}

static int parse_exclude(struct ctx *c, const struct tinyx_ynode *v)
{
    return want_string_list(c, "exclude", "absolute path globs", v, bad_glob, &c->r->exclude);
}

static int parse_user(struct ctx *c, const struct tinyx_ynode *v)
{
    const char *s = NULL;
    if (want_nonempty_string(c, "user", v, &s) < 0)
        return -1;
    if (strlen(s) > 32 || strpbrk(s, ":/ \t\r\n,"))
        return tinyx_ynode_err(c->file, v, "user: '%s' is not a user name or uid", s);
    c->r->user = tinyx_xstrdup(s);
    return 0;
}

static int parse_cwd(struct ctx *c, const struct tinyx_ynode *v)
{
    const char *s = NULL;
    if (want_nonempty_string(c, "cwd", v, &s) < 0)
        return -1;
    if (s[0] != '/')
        return tinyx_ynode_err(c->file, v, "cwd: '%s' is not an absolute path (start it with '/')",
                               s);
    c->r->cwd = tinyx_xstrdup(s);
    return 0;
}

/* "128", "128M", "128MiB", "128 MB", "1G", "1GiB" (case-insensitive) in MiB; -1 if malformed. */
static long long memory_text_mib(const char *s)
{
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || digits > 9)
        return -1;
    long long value = strtoll(s, NULL, 10);
    const char *unit = s + digits;
    if (*unit == ' ')
        unit++;
    static const char *const mib[] = {"", "m", "mb", "mib"};
    static const char *const gib[] = {"g", "gb", "gib"};
    for (size_t i = 0; i < sizeof(mib) / sizeof(*mib); i++)
        if (!strcasecmp(unit, mib[i]))
            return value;
    for (size_t i = 0; i < sizeof(gib) / sizeof(*gib); i++)
        if (!strcasecmp(unit, gib[i]))
            return value * 1024;
    return -1;
}

static int parse_memory(struct ctx *c, const struct tinyx_ynode *v)
{
    long long mib;
    if (v->kind == TINYX_YNODE_SCALAR && v->type == TINYX_YSCALAR_INT) {
        mib = v->int_overflow ? -1 : v->integer;
        if (mib < MIN_MEMORY_MB || mib > MAX_MEMORY_MB)
            return tinyx_ynode_err(c->file, v, "memory: %s MiB is out of range (%d to %d MiB)",
                                   v->text, MIN_MEMORY_MB, MAX_MEMORY_MB);
    } else if (v->kind == TINYX_YNODE_SCALAR && v->type == TINYX_YSCALAR_STRING) {
        mib = memory_text_mib(v->text);
        if (mib < 0)
            return tinyx_ynode_err(c->file, v,
                                   "memory: '%s' is not a size; give MiB as an integer (128) or "
                                   "a string like \"128M\" or \"1G\"",
                                   v->text);
        if (mib < MIN_MEMORY_MB || mib > MAX_MEMORY_MB)
            return tinyx_ynode_err(c->file, v,
                                   "memory: '%s' (%lld MiB) is out of range (%d to %d MiB)",
                                   v->text, mib, MIN_MEMORY_MB, MAX_MEMORY_MB);
    } else {
        return type_err(c, "memory", "MiB as an integer or a size like \"128M\"", v);
    }
    c->r->memory_mb = (unsigned)mib;
    return 0;
}

static int parse_compression(struct ctx *c, const struct tinyx_ynode *v)
{
    static const char *const known[] = {"zstd", "xz", "gzip", "none"};
    const char *s = NULL;
    if (want_string(c, "compression", v, &s) < 0)
        return -1;
    for (size_t i = 0; i < 4; i++) {
        if (!strcmp(s, known[i])) {
            free(c->r->compression);
            c->r->compression = tinyx_xstrdup(s);
            return 0;
        }
    }
    struct strvec close = STRVEC_INIT;
    tinyx_suggest(s, (char *const *)known, 4, 2, &close);
    char *phrase = tinyx_suggest_phrase(&close);
    tinyx_ynode_err(c->file, v, "compression: '%s' is not one of zstd, xz, gzip, none%s", s,
                    phrase);
    free(phrase);
    tinyx_strvec_free(&close);
    return -1;
}

static int parse_busybox(struct ctx *c, const struct tinyx_ynode *v)
{
    if (v->kind != TINYX_YNODE_SCALAR || v->type != TINYX_YSCALAR_BOOL)
        return type_err(c, "busybox", "true or false", v);
    c->r->busybox = v->boolean;
    return 0;
}

static char *bad_module_name(const char *s)
{
    if (strstr(s, ".ko"))
        return tinyx_xasprintf("'%s': give the module name without .ko", s);
    if (!tinyx_recipe_only_chars(s, TINYX_RECIPE_LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-"))
        return tinyx_xasprintf("'%s' is not a kernel module name (letters, digits, '_', '-')", s);
    return NULL;
}

static int parse_modules(struct ctx *c, const struct tinyx_ynode *v)
{
    return want_string_list(c, "modules", "kernel module names", v, bad_module_name,
                            &c->r->modules);
}

static char *bad_kernel_option(const char *s)
{
    const char *eq = strchr(s, '=');
    size_t n = eq ? (size_t)(eq - s) : strlen(s);
    if (!strncmp(s, "CONFIG_", 7))
        return tinyx_xasprintf("'%s': give the option without CONFIG_", s);
    if (n == 0 || !isupper((unsigned char)s[0]))
        return tinyx_xasprintf("'%s' is not a kernel option name (NAME or NAME=VALUE, upper case)",
                               s);
    for (size_t i = 0; i < n; i++)
        if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
            return tinyx_xasprintf("'%.*s' is not a kernel option name (A-Z, 0-9, _)", (int)n, s);
    if (eq && !eq[1])
        return tinyx_xasprintf("'%s': give a value after '=' (y, n, m, a number or \"text\")", s);
    return NULL;
}

/* A recipe-relative path made absolute (recipes are checked in beside their kernel configs). */
static char *relative_to_recipe(const char *recipe_file, const char *path)
{
    if (path[0] == '/')
        return tinyx_xstrdup(path);
    const char *slash = strrchr(recipe_file, '/');
    if (!slash)
        return tinyx_xstrdup(path);
    return tinyx_xasprintf("%.*s/%s", (int)(slash - recipe_file), recipe_file, path);
}

static int parse_kernel(struct ctx *c, const struct tinyx_ynode *v)
{
    static const char *const keys[] = {"platform", "source", "options", "config"};
    static const char *const platforms[] = {"qemu", "kvm", "xen-pv", "xen-pvh"};
    static const char *const sources[] = {"tinyx", "debian"};
    if (v->kind != TINYX_YNODE_MAP)
        return type_err(c, "kernel", "a map (platform, source, options, config)", v);
    if (reject_unknown_keys(c, "kernel", v, keys, 4) < 0)
        return -1;
    struct tinyx_kernel_spec *k = &c->r->kernel;
    for (size_t i = 0; i < v->n; i++) {
        const char *key = v->items[2 * i]->text;
        const struct tinyx_ynode *val = v->items[2 * i + 1];
        char label[64];
        snprintf(label, sizeof(label), "kernel.%s", key);
        const char *s = NULL;
        if (!strcmp(key, "options")) {
            if (want_string_list(c, label, "kernel options", val, bad_kernel_option, &k->options) <
                0)
                return -1;
            continue;
        }
        if (!strcmp(key, "config") && val->kind == TINYX_YNODE_SCALAR &&
            val->type == TINYX_YSCALAR_NULL)
            continue; /* null: not set (to_json writes that) */
        if (want_nonempty_string(c, label, val, &s) < 0)
            return -1;
        if (!strcmp(key, "config")) {
            free(k->config);
            k->config = relative_to_recipe(c->file, s);
            continue;
        }
        bool is_platform = !strcmp(key, "platform");
        const char *const *allowed = is_platform ? platforms : sources;
        size_t n_allowed = is_platform ? 4 : 2;
        size_t j = 0;
        while (j < n_allowed && strcmp(s, allowed[j]))
            j++;
        if (j == n_allowed) {
            struct strvec close = STRVEC_INIT;
            tinyx_suggest(s, (char *const *)allowed, n_allowed, 2, &close);
            char *phrase = tinyx_suggest_phrase(&close);
            tinyx_ynode_err(c->file, val, "%s: '%s' is not one of %s%s", label, s,
                            is_platform ? "qemu, kvm, xen-pv, xen-pvh" : "tinyx, debian", phrase);
            free(phrase);
            tinyx_strvec_free(&close);
            return -1;
        }
        char **slot = is_platform ? &k->platform : &k->source;
        free(*slot);
        *slot = tinyx_xstrdup(s);
    }
    return 0;
}

typedef int (*key_parser)(struct ctx *c, const struct tinyx_ynode *v);

/* In the order recipes/README.md documents them. */
static const char *const top_keys[] = {"name",   "packages",    "cmd",     "env",     "ports",
                                       "check",  "include",     "exclude", "user",    "cwd",
                                       "memory", "compression", "busybox", "modules", "kernel"};
static const key_parser top_parsers[] = {
    parse_name,   parse_packages,    parse_cmd,     parse_env,     parse_ports,
    parse_check,  parse_include,     parse_exclude, parse_user,    parse_cwd,
    parse_memory, parse_compression, parse_busybox, parse_modules, parse_kernel};
#define N_TOP_KEYS (sizeof(top_keys) / sizeof(*top_keys))

/* Checks across keys, once every key has been read. */
static int check_whole(struct ctx *c, const struct tinyx_ynode *root)
{
    static const struct {
        const char *key, *example;
    } required[] = {
        {"name", "name: nginx"},
        {"packages", "packages: [nginx-light]"},
        {"cmd", "cmd: [/usr/sbin/nginx, -g, \"daemon off;\"]"},
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(*required); i++)
        if (!tinyx_ynode_get(root, required[i].key))
            return missing_key(c, "", root, required[i].key, required[i].example);
    struct tinyx_recipe *r = c->r;
    if (!c->check_port)
        return 0;
    if (!c->ports) {
        r->ports = tinyx_xcalloc(1, sizeof(int));
        r->ports[0] = r->check.port;
        r->n_ports = 1;
        return 0;
    }
    for (size_t i = 0; i < r->n_ports; i++)
        if (r->ports[i] == r->check.port)
            return 0;
    return tinyx_ynode_err(c->file, c->check_port,
                           "%s: port %d is not in ports (line %u); add it to ports or check a "
                           "port the app listens on",
                           c->check_port_label, r->check.port, c->ports->line);
}

static int parse_tree(struct ctx *c, const struct tinyx_ynode *root)
{
    if (root->kind == TINYX_YNODE_SCALAR && root->type == TINYX_YSCALAR_NULL)
        return tinyx_ynode_err(c->file, root,
                               "the recipe is empty; it needs at least name, packages and cmd");
    if (root->kind != TINYX_YNODE_MAP)
        return type_err(c, "recipe", "a map of keys (name, packages, cmd, ...)", root);
    if (reject_unknown_keys(c, "", root, top_keys, N_TOP_KEYS) < 0)
        return -1;
    for (size_t i = 0; i < root->n; i++) {
        const char *key = root->items[2 * i]->text;
        for (size_t k = 0; k < N_TOP_KEYS; k++)
            if (!strcmp(key, top_keys[k]) && top_parsers[k](c, root->items[2 * i + 1]) < 0)
                return -1;
    }
    return check_whole(c, root);
}

int tinyx_recipe_parse(const char *file_label, const char *yaml, size_t len,
                       struct tinyx_recipe *out)
{
    tinyx_recipe_init(out, file_label);
    struct tinyx_ynode *root = tinyx_ynode_parse(file_label, yaml, len);
    if (!root) {
        tinyx_recipe_free(out);
        return -1;
    }
    struct ctx c = {.file = file_label, .r = out};
    int rc = parse_tree(&c, root);
    tinyx_ynode_free(root);
    if (rc < 0)
        tinyx_recipe_free(out);
    return rc;
}

int tinyx_recipe_load(const char *path, struct tinyx_recipe *out)
{
    memset(out, 0, sizeof(*out));
    size_t len;
    char *text = tinyx_read_file(path, &len);
    if (!text)
        return tinyx_errno("cannot read recipe %s", path);
    int rc;
    if (len > MAX_RECIPE_BYTES)
        rc = tinyx_err("%s: %zu bytes is too large for a recipe (at most %d); is it the right "
                       "file?",
                       path, len, MAX_RECIPE_BYTES);
    else
        rc = tinyx_recipe_parse(path, text, len, out);
    free(text);
    return rc;
}
