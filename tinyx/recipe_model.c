/* recipe_model.c: the recipe model: defaults, value rules shared by YAML and flags, freeing. */
#include "tinyx/recipe_model.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tinyx/util.h"

#define DEFAULT_MEMORY_MB 128
#define MAX_NAME_LEN      64

bool tinyx_recipe_only_chars(const char *s, const char *set)
{
    return strspn(s, set) == strlen(s);
}

char *tinyx_recipe_bad_name(const char *s)
{
    if (strlen(s) > MAX_NAME_LEN)
        return tinyx_xasprintf("'%s' is longer than %d characters", s, MAX_NAME_LEN);
    if (!*s || !strchr(TINYX_RECIPE_LOWER_DIGITS, *s) ||
        !tinyx_recipe_only_chars(s, TINYX_RECIPE_LOWER_DIGITS ".+_-"))
        return tinyx_xasprintf("'%s' is not a valid name (use lower-case letters, digits, '.', "
                               "'+', '_' and '-', starting with a letter or digit)",
                               s);
    return NULL;
}

/* Debian policy 5.6.1: [a-z0-9][a-z0-9+.-]+ */
char *tinyx_recipe_bad_package(const char *s)
{
    if (strlen(s) >= 2 && strchr(TINYX_RECIPE_LOWER_DIGITS, *s) &&
        tinyx_recipe_only_chars(s, TINYX_RECIPE_LOWER_DIGITS "+.-"))
        return NULL;
    char *lower = tinyx_xstrdup(s);
    for (char *p = lower; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    bool lower_ok = strcmp(lower, s) && strlen(lower) >= 2 &&
                    strchr(TINYX_RECIPE_LOWER_DIGITS, *lower) &&
                    tinyx_recipe_only_chars(lower, TINYX_RECIPE_LOWER_DIGITS "+.-");
    char *hint = lower_ok ? tinyx_xasprintf(" (did you mean '%s'?)", lower) : tinyx_xstrdup("");
    char *msg = tinyx_xasprintf("'%s' is not a Debian package name: use lower-case letters, "
                                "digits, '+', '-' and '.', at least two characters, starting "
                                "with a letter or digit%s",
                                s, hint);
    free(hint);
    free(lower);
    return msg;
}

char *tinyx_recipe_bad_port(long long port)
{
    if (port >= 1 && port <= 65535)
        return NULL;
    return tinyx_xasprintf("port %lld is out of range (1 to 65535)", port);
}

char *tinyx_recipe_bad_program(const char *s)
{
    if (!*s)
        return tinyx_xstrdup("the program name is empty");
    if (strchr(s, '/') && s[0] != '/')
        return tinyx_xasprintf("'%s' must be an absolute path or a program name found in PATH", s);
    return NULL;
}

void tinyx_recipe_init(struct tinyx_recipe *r, const char *file)
{
    memset(r, 0, sizeof(*r));
    r->file = tinyx_xstrdup(file);
    r->memory_mb = DEFAULT_MEMORY_MB;
    r->compression = tinyx_xstrdup("zstd");
    r->busybox = true;
    r->kernel.platform = tinyx_xstrdup("qemu");
    r->kernel.source = tinyx_xstrdup("tinyx");
}

void tinyx_recipe_free(struct tinyx_recipe *r)
{
    free(r->file);
    free(r->name);
    tinyx_strvec_free(&r->packages);
    tinyx_strvec_free(&r->cmd);
    for (size_t i = 0; i < r->n_env; i++) {
        free(r->env[i].name);
        free(r->env[i].value);
    }
    free(r->env);
    free(r->ports);
    free(r->check.path);
    free(r->check.expect);
    free(r->check.send);
    tinyx_strvec_free(&r->include);
    tinyx_strvec_free(&r->exclude);
    free(r->user);
    free(r->cwd);
    free(r->compression);
    tinyx_strvec_free(&r->modules);
    free(r->kernel.platform);
    free(r->kernel.source);
    tinyx_strvec_free(&r->kernel.options);
    free(r->kernel.config);
    memset(r, 0, sizeof(*r));
}
