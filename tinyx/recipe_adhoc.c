/* recipe_adhoc.c: a recipe from `tinyx build --package P --cmd '...' [--port N]` flags. */
#include "tinyx/recipe.h"

#include <stdlib.h>

#include "tinyx/recipe_model.h"
#include "tinyx/util.h"

static int adhoc_fill(const char *name, char *const *packages, size_t n_packages,
                      const char *cmdline, const int *ports, size_t n_ports, struct tinyx_recipe *r)
{
    if (n_packages == 0)
        return tinyx_err("--package: give at least one Debian package, e.g. --package hello");
    for (size_t i = 0; i < n_packages; i++) {
        char *why = tinyx_recipe_bad_package(packages[i]);
        if (why) {
            tinyx_err("--package: %s", why);
            free(why);
            return -1;
        }
        if (!tinyx_strvec_contains(&r->packages, packages[i]))
            tinyx_strvec_push(&r->packages, packages[i]);
    }
    r->name = tinyx_xstrdup(name ? name : packages[0]);
    char *why = tinyx_recipe_bad_name(r->name);
    if (why) {
        tinyx_err("--name: %s", why);
        free(why);
        return -1;
    }
    if (!cmdline)
        return tinyx_err("--cmd: give the command to run, e.g. --cmd /usr/bin/hello");
    if (tinyx_split_words(cmdline, &r->cmd) < 0)
        return tinyx_err("--cmd: unbalanced quote or trailing backslash in '%s'", cmdline);
    if (r->cmd.n == 0)
        return tinyx_err("--cmd: is empty; give the program and its arguments");
    for (size_t i = 0; i < r->cmd.n; i++) {
        /* Recipes end up in JSON manifests, which hold UTF-8 only. */
        json_t *probe = json_string(r->cmd.v[i]);
        if (!probe)
            return tinyx_err("--cmd: argument %zu is not valid UTF-8", i);
        json_decref(probe);
    }
    if ((why = tinyx_recipe_bad_program(r->cmd.v[0]))) {
        tinyx_err("--cmd: %s", why);
        free(why);
        return -1;
    }
    r->ports = tinyx_xcalloc(n_ports ? n_ports : 1, sizeof(int));
    for (size_t i = 0; i < n_ports; i++) {
        if ((why = tinyx_recipe_bad_port(ports[i]))) {
            tinyx_err("--port: %s", why);
            free(why);
            return -1;
        }
        for (size_t k = 0; k < r->n_ports; k++)
            if (r->ports[k] == ports[i])
                return tinyx_err("--port: port %d is given twice", ports[i]);
        r->ports[r->n_ports++] = ports[i];
    }
    if (n_ports > 0) {
        /* The app is ready once its first port accepts connections. */
        r->check.kind = TINYX_CHECK_TCP;
        r->check.port = ports[0];
    }
    return 0;
}

int tinyx_recipe_adhoc(const char *name, char *const *packages, size_t n_packages,
                       const char *cmdline, const int *ports, size_t n_ports,
                       struct tinyx_recipe *out)
{
    tinyx_recipe_init(out, "(command line)");
    int rc = adhoc_fill(name, packages, n_packages, cmdline, ports, n_ports, out);
    if (rc < 0)
        tinyx_recipe_free(out);
    return rc;
}
