/* recipe_json.c: a recipe and its check as JSON, for manifest.json and the launcher. */
#include "tinyx/recipe.h"

/* Inputs are UTF-8 (libyaml checks recipes, adhoc checks flags), so json_string never fails;
 * a NULL string is written as null. */
static json_t *string_or_null(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    return j ? j : json_null();
}

static json_t *string_array(const struct strvec *sv)
{
    json_t *a = json_array();
    for (size_t i = 0; i < sv->n; i++)
        json_array_append_new(a, string_or_null(sv->v[i]));
    return a;
}

json_t *tinyx_check_to_json(const struct tinyx_check *c)
{
    json_t *j;
    switch (c->kind) {
    case TINYX_CHECK_OUTPUT:
        return json_pack("{s:s, s:o}", "kind", "output", "expect", string_or_null(c->expect));
    case TINYX_CHECK_TCP:
        j = json_pack("{s:s, s:i}", "kind", "tcp", "port", c->port);
        if (c->send)
            json_object_set_new(j, "send", string_or_null(c->send));
        if (c->expect)
            json_object_set_new(j, "expect", string_or_null(c->expect));
        return j;
    case TINYX_CHECK_HTTP:
        j = json_pack("{s:s, s:i, s:o}", "kind", "http", "port", c->port, "path",
                      string_or_null(c->path ? c->path : "/"));
        if (c->expect)
            json_object_set_new(j, "expect", string_or_null(c->expect));
        json_object_set_new(j, "status", json_integer(c->status ? c->status : 200));
        return j;
    case TINYX_CHECK_NONE:
        break;
    }
    return json_null();
}

/* The check in the recipe's own form ({"http": {...}}), so the JSON reads back as a recipe. */
static json_t *check_as_recipe(const struct tinyx_check *c)
{
    switch (c->kind) {
    case TINYX_CHECK_OUTPUT:
        return json_pack("{s:o}", "output", string_or_null(c->expect));
    case TINYX_CHECK_TCP:
        return json_pack("{s:{s:i, s:o, s:o}}", "tcp", "port", c->port, "send",
                         string_or_null(c->send), "expect", string_or_null(c->expect));
    case TINYX_CHECK_HTTP:
        return json_pack("{s:{s:i, s:o, s:o, s:i}}", "http", "port", c->port, "path",
                         string_or_null(c->path ? c->path : "/"), "expect",
                         string_or_null(c->expect), "status", c->status ? c->status : 200);
    case TINYX_CHECK_NONE:
        break;
    }
    return json_null();
}

json_t *tinyx_recipe_to_json(const struct tinyx_recipe *r)
{
    json_t *env = json_object();
    for (size_t i = 0; i < r->n_env; i++)
        json_object_set_new(env, r->env[i].name, string_or_null(r->env[i].value));
    json_t *ports = json_array();
    for (size_t i = 0; i < r->n_ports; i++)
        json_array_append_new(ports, json_integer(r->ports[i]));
    /* The config path is kept as given to the loader (absolute after loading). */
    json_t *kernel =
        json_pack("{s:o, s:o, s:o, s:o}", "platform",
                  string_or_null(r->kernel.platform ? r->kernel.platform : "qemu"), "source",
                  string_or_null(r->kernel.source ? r->kernel.source : "tinyx"), "options",
                  string_array(&r->kernel.options), "config",
                  r->kernel.config ? json_string(r->kernel.config) : json_null());
    /* Every key, with the value in effect (defaults filled in); no file path, so the manifest
     * does not depend on where the recipe was read from. */
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:b, s:o, s:o}",
                     "name", string_or_null(r->name), "packages", string_array(&r->packages), "cmd",
                     string_array(&r->cmd), "env", env, "ports", ports, "check",
                     check_as_recipe(&r->check), "include", string_array(&r->include), "exclude",
                     string_array(&r->exclude), "user", string_or_null(r->user ? r->user : "root"),
                     "cwd", string_or_null(r->cwd ? r->cwd : "/"), "memory",
                     (json_int_t)r->memory_mb, "compression",
                     string_or_null(r->compression ? r->compression : "zstd"), "busybox",
                     (int)r->busybox, "modules", string_array(&r->modules), "kernel", kernel);
}
