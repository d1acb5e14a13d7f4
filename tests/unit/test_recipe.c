/* test_recipe.c: recipes: shipped files, every error with its file:line:col, defaults, JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tinyx/recipe.h"
#include "tinyx/util.h"

/* ---- stderr capture: messages go to fd 2 with write(2), so redirect the descriptor ---- */

struct capture {
    int saved_fd;
    FILE *tmp;
};

static void capture_start(struct capture *cap)
{
    fflush(stderr);
    cap->tmp = tmpfile();
    assert_non_null(cap->tmp);
    cap->saved_fd = dup(STDERR_FILENO);
    assert_true(cap->saved_fd >= 0);
    assert_true(dup2(fileno(cap->tmp), STDERR_FILENO) >= 0);
}

/* Restores stderr and returns what was written (malloc'd). */
static char *capture_end(struct capture *cap)
{
    fflush(stderr);
    dup2(cap->saved_fd, STDERR_FILENO);
    close(cap->saved_fd);
    fseek(cap->tmp, 0, SEEK_END);
    long size = ftell(cap->tmp);
    assert_true(size >= 0);
    rewind(cap->tmp);
    char *text = tinyx_xcalloc(1, (size_t)size + 1);
    size_t got = fread(text, 1, (size_t)size, cap->tmp);
    text[got] = '\0';
    fclose(cap->tmp);
    return text;
}

static bool recipe_is_empty(const struct tinyx_recipe *r)
{
    static const struct tinyx_recipe zero;
    return memcmp(r, &zero, sizeof(zero)) == 0;
}

/* Parse text that must fail; returns the message (malloc'd). */
static char *parse_error(const char *yaml)
{
    struct tinyx_recipe r;
    struct capture cap;
    capture_start(&cap);
    int rc = tinyx_recipe_parse("t.yaml", yaml, strlen(yaml), &r);
    char *err = capture_end(&cap);
    if (rc != -1)
        fail_msg("expected an error for:\n%s\ngot rc %d", yaml, rc);
    assert_true(recipe_is_empty(&r));
    return err;
}

static void parse_ok(const char *yaml, struct tinyx_recipe *r)
{
    struct capture cap;
    capture_start(&cap);
    int rc = tinyx_recipe_parse("t.yaml", yaml, strlen(yaml), r);
    char *err = capture_end(&cap);
    if (rc != 0)
        fail_msg("expected success for:\n%s\ngot: %s", yaml, err);
    assert_string_equal(err, "");
    free(err);
}

static bool have_repo_recipes(void)
{
    if (tinyx_exists("recipes/hello.yaml"))
        return true;
    printf("SKIP: recipes/ not found; run the unit tests from the repository root\n");
    return false;
}

/* ---- the shipped recipes ---- */

static void load_shipped(const char *name, struct tinyx_recipe *r)
{
    char *path = tinyx_xasprintf("recipes/%s.yaml", name);
    struct capture cap;
    capture_start(&cap);
    int rc = tinyx_recipe_load(path, r);
    char *err = capture_end(&cap);
    if (rc != 0)
        fail_msg("%s does not load: %s", path, err);
    assert_string_equal(err, "");
    assert_string_equal(r->file, path);
    assert_string_equal(r->name, name);
    free(err);
    free(path);
}

static void test_shipped_hello(void **state)
{
    (void)state;
    if (!have_repo_recipes())
        skip();
    struct tinyx_recipe r;
    load_shipped("hello", &r);
    assert_int_equal(r.packages.n, 1);
    assert_string_equal(r.packages.v[0], "hello");
    assert_int_equal(r.cmd.n, 1);
    assert_string_equal(r.cmd.v[0], "/usr/bin/hello");
    assert_int_equal(r.check.kind, TINYX_CHECK_OUTPUT);
    assert_string_equal(r.check.expect, "Hello, world!");
    assert_int_equal(r.n_ports, 0);
    tinyx_recipe_free(&r);
}

static void test_shipped_nginx(void **state)
{
    (void)state;
    if (!have_repo_recipes())
        skip();
    struct tinyx_recipe r;
    load_shipped("nginx", &r);
    assert_int_equal(r.packages.n, 1);
    assert_string_equal(r.packages.v[0], "nginx-light");
    assert_int_equal(r.cmd.n, 3);
    assert_string_equal(r.cmd.v[0], "/usr/sbin/nginx");
    assert_string_equal(r.cmd.v[1], "-g");
    assert_string_equal(r.cmd.v[2], "daemon off;");
    assert_int_equal(r.n_ports, 1);
    assert_int_equal(r.ports[0], 80);
    assert_int_equal(r.check.kind, TINYX_CHECK_HTTP);
    assert_int_equal(r.check.port, 80);
    assert_string_equal(r.check.path, "/");
    assert_string_equal(r.check.expect, "Welcome to nginx!");
    assert_int_equal(r.check.status, 200);
    assert_true(tinyx_strvec_contains(&r.include, "/var/www/html/index.nginx-debian.html"));
    tinyx_recipe_free(&r);
}

/* The value after an option in argv, or NULL. */
static const char *arg_after(const struct strvec *cmd, const char *option)
{
    for (size_t i = 0; i + 1 < cmd->n; i++)
        if (!strcmp(cmd->v[i], option))
            return cmd->v[i + 1];
    return NULL;
}

static void test_shipped_redis(void **state)
{
    (void)state;
    if (!have_repo_recipes())
        skip();
    struct tinyx_recipe r;
    load_shipped("redis", &r);
    assert_string_equal(r.packages.v[0], "redis-server");
    assert_string_equal(r.cmd.v[0], "/usr/bin/redis-server");
    assert_string_equal(arg_after(&r.cmd, "--daemonize"), "no");
    assert_string_equal(arg_after(&r.cmd, "--protected-mode"), "no");
    assert_string_equal(arg_after(&r.cmd, "--bind"), "0.0.0.0");
    assert_string_equal(arg_after(&r.cmd, "--save"), "");
    assert_string_equal(arg_after(&r.cmd, "--port"), "6379");
    assert_int_equal(r.check.kind, TINYX_CHECK_TCP);
    assert_int_equal(r.check.port, 6379);
    assert_string_equal(r.check.send, "PING\r\n");
    assert_string_equal(r.check.expect, "+PONG");
    assert_int_equal(r.n_ports, 1);
    assert_int_equal(r.ports[0], 6379);
    tinyx_recipe_free(&r);
}

static void test_shipped_python_http(void **state)
{
    (void)state;
    if (!have_repo_recipes())
        skip();
    struct tinyx_recipe r;
    load_shipped("python-http", &r);
    assert_string_equal(r.packages.v[0], "python3");
    assert_string_equal(r.cmd.v[0], "/usr/bin/python3");
    assert_string_equal(r.cmd.v[1], "-m");
    assert_string_equal(r.cmd.v[2], "http.server");
    assert_string_equal(r.cmd.v[r.cmd.n - 1], "8000");
    assert_string_equal(r.cwd, "/");
    assert_int_equal(r.check.kind, TINYX_CHECK_HTTP);
    assert_int_equal(r.check.port, 8000);
    assert_string_equal(r.check.path, "/");
    assert_string_equal(r.check.expect, "Directory listing for /");
    assert_int_equal(r.ports[0], 8000);
    tinyx_recipe_free(&r);
}

/* ---- defaults and shorthand forms ---- */

#define BASE "name: x\npackages: [hello]\ncmd: /usr/bin/hello\n"

static void test_defaults(void **state)
{
    (void)state;
    struct tinyx_recipe r;
    parse_ok(BASE, &r);
    assert_string_equal(r.file, "t.yaml");
    assert_int_equal(r.memory_mb, 128);
    assert_string_equal(r.compression, "zstd");
    assert_true(r.busybox);
    assert_null(r.user);
    assert_null(r.cwd);
    assert_int_equal(r.check.kind, TINYX_CHECK_NONE);
    assert_int_equal(r.n_ports, 0);
    assert_int_equal(r.n_env, 0);
    assert_int_equal(r.include.n, 0);
    assert_int_equal(r.exclude.n, 0);
    assert_int_equal(r.modules.n, 0);
    tinyx_recipe_free(&r);

    parse_ok(BASE "check:\n  http: {port: 8080}\n", &r);
    assert_int_equal(r.check.kind, TINYX_CHECK_HTTP);
    assert_string_equal(r.check.path, "/");
    assert_int_equal(r.check.status, 200);
    assert_null(r.check.expect);
    /* ports defaults to the check's port */
    assert_int_equal(r.n_ports, 1);
    assert_int_equal(r.ports[0], 8080);
    tinyx_recipe_free(&r);
}

static void test_shorthands(void **state)
{
    (void)state;
    struct tinyx_recipe r;
    parse_ok("name: x\npackages: [hello]\ncmd: /usr/bin/env 'a b' \"c\\\"d\" e\\ f\n", &r);
    assert_int_equal(r.cmd.n, 4);
    assert_string_equal(r.cmd.v[0], "/usr/bin/env");
    assert_string_equal(r.cmd.v[1], "a b");
    assert_string_equal(r.cmd.v[2], "c\"d");
    assert_string_equal(r.cmd.v[3], "e f");
    tinyx_recipe_free(&r);

    /* Scalars in a cmd list are taken as written. */
    parse_ok("name: x\npackages: [hello]\ncmd: [/bin/sleep, 5, true]\n", &r);
    assert_string_equal(r.cmd.v[1], "5");
    assert_string_equal(r.cmd.v[2], "true");
    tinyx_recipe_free(&r);

    parse_ok(BASE "check: {tcp: 6379}\n", &r);
    assert_int_equal(r.check.kind, TINYX_CHECK_TCP);
    assert_int_equal(r.check.port, 6379);
    assert_null(r.check.send);
    assert_null(r.check.expect);
    assert_int_equal(r.n_ports, 1);
    assert_int_equal(r.ports[0], 6379);
    tinyx_recipe_free(&r);

    parse_ok(BASE "check: {output: ready}\n", &r);
    assert_int_equal(r.check.kind, TINYX_CHECK_OUTPUT);
    assert_string_equal(r.check.expect, "ready");
    assert_int_equal(r.n_ports, 0);
    tinyx_recipe_free(&r);

    static const struct {
        const char *value;
        unsigned mb;
    } memory[] = {{"256", 256}, {"\"256\"", 256}, {"128M", 128}, {"64MiB", 64},    {"64 MB", 64},
                  {"1G", 1024}, {"2GiB", 2048},   {"16", 16},    {"65536", 65536}, {"64g", 65536}};
    for (size_t i = 0; i < sizeof(memory) / sizeof(*memory); i++) {
        char *yaml = tinyx_xasprintf(BASE "memory: %s\n", memory[i].value);
        parse_ok(yaml, &r);
        assert_int_equal(r.memory_mb, memory[i].mb);
        tinyx_recipe_free(&r);
        free(yaml);
    }
}

static void test_every_key(void **state)
{
    (void)state;
    struct tinyx_recipe r;
    parse_ok("name: app\n"
             "packages: [hello, libc-bin]\n"
             "cmd: [/usr/bin/hello, -g, \"\"]\n"
             "env: {LANG: C.UTF-8, _X1: \"\", N: 1}\n"
             "ports: [8080, 9090]\n"
             "check:\n"
             "  http: {port: 9090, path: /health, expect: ok, status: 204}\n"
             "include: [/etc/app/*, /usr/share/app/**]\n"
             "exclude: [/usr/share/doc/*]\n"
             "user: www-data\n"
             "cwd: /srv\n"
             "memory: 256\n"
             "compression: xz\n"
             "busybox: false\n"
             "modules: [virtio_net, ext4]\n",
             &r);
    assert_string_equal(r.name, "app");
    assert_int_equal(r.packages.n, 2);
    assert_string_equal(r.cmd.v[2], "");
    assert_int_equal(r.n_env, 3);
    assert_string_equal(r.env[0].name, "LANG");
    assert_string_equal(r.env[0].value, "C.UTF-8");
    assert_string_equal(r.env[1].name, "_X1");
    assert_string_equal(r.env[1].value, "");
    assert_string_equal(r.env[2].value, "1");
    assert_int_equal(r.n_ports, 2);
    assert_int_equal(r.check.port, 9090);
    assert_string_equal(r.check.path, "/health");
    assert_int_equal(r.check.status, 204);
    assert_string_equal(r.include.v[1], "/usr/share/app/**");
    assert_string_equal(r.exclude.v[0], "/usr/share/doc/*");
    assert_string_equal(r.user, "www-data");
    assert_string_equal(r.cwd, "/srv");
    assert_int_equal(r.memory_mb, 256);
    assert_string_equal(r.compression, "xz");
    assert_false(r.busybox);
    assert_string_equal(r.modules.v[1], "ext4");
    tinyx_recipe_free(&r);
}

/* ---- errors: the exact message and position ---- */

struct error_case {
    const char *yaml;
    const char *message; /* the whole stderr text */
};

static void check_errors(const struct error_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *err = parse_error(cases[i].yaml);
        if (strcmp(err, cases[i].message))
            fail_msg("for:\n%s\nexpected: %sgot:      %s", cases[i].yaml, cases[i].message, err);
        free(err);
    }
}

static void test_kernel_key(void **state)
{
    (void)state;
    struct tinyx_recipe r;
    parse_ok(BASE, &r);
    assert_string_equal(r.kernel.platform, "qemu");
    assert_string_equal(r.kernel.source, "tinyx");
    assert_int_equal(r.kernel.options.n, 0);
    assert_null(r.kernel.config);
    tinyx_recipe_free(&r);
    parse_ok(BASE "kernel:\n  platform: xen-pvh\n  source: debian\n  options: [IPV6=n, NET]\n"
                  "  config: k/web.config\n",
             &r);
    assert_string_equal(r.kernel.platform, "xen-pvh");
    assert_string_equal(r.kernel.source, "debian");
    assert_int_equal(r.kernel.options.n, 2);
    assert_string_equal(r.kernel.options.v[0], "IPV6=n");
    assert_string_equal(r.kernel.options.v[1], "NET");
    /* Relative to the recipe's folder ("t.yaml" has none: kept as given). */
    assert_string_equal(r.kernel.config, "k/web.config");
    json_t *j = tinyx_recipe_to_json(&r);
    json_t *k = json_object_get(j, "kernel");
    assert_string_equal(json_string_value(json_object_get(k, "platform")), "xen-pvh");
    assert_string_equal(json_string_value(json_object_get(k, "config")), "k/web.config");
    assert_int_equal(json_array_size(json_object_get(k, "options")), 2);
    json_decref(j);
    tinyx_recipe_free(&r);
    assert_int_equal(tinyx_recipe_parse("recipes/app.yaml", BASE "kernel: {config: app.config}\n",
                                        strlen(BASE "kernel: {config: app.config}\n"), &r),
                     0);
    assert_string_equal(r.kernel.config, "recipes/app.config");
    tinyx_recipe_free(&r);
}

static void test_errors_structure(void **state)
{
    (void)state;
    static const struct error_case cases[] = {
        {"- name: x\n",
         "t.yaml:1:1: error: recipe: expected a map of keys (name, packages, cmd, ...), got a "
         "list\n"},
        {"", "t.yaml:1:1: error: the recipe is empty; it needs at least name, packages and cmd\n"},
        {"# nothing\n",
         "t.yaml:1:1: error: the recipe is empty; it needs at least name, packages and cmd\n"},
        {BASE "pakages: [x]\n",
         "t.yaml:4:1: error: unknown key 'pakages' (did you mean 'packages'?)\n"},
        {BASE "kernl: {platform: qemu}\n",
         "t.yaml:4:1: error: unknown key 'kernl' (did you mean 'kernel'?)\n"},
        {BASE "kernel: {platform: qemmu}\n",
         "t.yaml:4:20: error: kernel.platform: 'qemmu' is not one of qemu, kvm, xen-pv, xen-pvh "
         "(did you mean 'qemu'?)\n"},
        {BASE "kernel: {source: ubuntu}\n",
         "t.yaml:4:18: error: kernel.source: 'ubuntu' is not one of tinyx, debian\n"},
        {BASE "kernel: {options: [CONFIG_IPV6]}\n",
         "t.yaml:4:20: error: kernel.options[0]: 'CONFIG_IPV6': give the option without "
         "CONFIG_\n"},
        {BASE "kernel: {options: [ipv6]}\n",
         "t.yaml:4:20: error: kernel.options[0]: 'ipv6' is not a kernel option name (NAME or "
         "NAME=VALUE, upper case)\n"},
        {BASE "kernel: {options: [IPV6=]}\n",
         "t.yaml:4:20: error: kernel.options[0]: 'IPV6=': give a value after '=' (y, n, m, a "
         "number or \"text\")\n"},
        {BASE "kernel: {platfrom: qemu}\n",
         "t.yaml:4:10: error: kernel: unknown key 'platfrom' (did you mean 'platform'?)\n"},
        {BASE "kernel: [qemu]\n",
         "t.yaml:4:9: error: kernel: expected a map (platform, source, options, config), got a "
         "list\n"},
        {BASE "ports: [80]\nname: y\n",
         "t.yaml:5:1: error: duplicate key 'name' (first given at line 1, column 1); keep one\n"},
        {BASE "env:\n  A: 1\n  A: 2\n",
         "t.yaml:6:3: error: duplicate key 'A' (first given at line 5, column 3); keep one\n"},
        {"name: x\ncmd: [/bin/true]\n",
         "t.yaml:1:1: error: missing required key 'packages' (for example packages: "
         "[nginx-light])\n"},
        {"\n\npackages: [hello]\ncmd: /bin/true\n",
         "t.yaml:3:1: error: missing required key 'name' (for example name: nginx)\n"},
        {"name: x\npackages: [hello]\n",
         "t.yaml:1:1: error: missing required key 'cmd' (for example cmd: [/usr/sbin/nginx, -g, "
         "\"daemon off;\"])\n"},
        {BASE "x: &a 1\n",
         "t.yaml:4:4: error: YAML anchors (&a) are not supported in recipes; write the value out "
         "in full\n"},
        {BASE "env: *a\n",
         "t.yaml:4:6: error: YAML aliases (*a) are not supported in recipes; write the value out "
         "in full\n"},
        {BASE "---\nname: y\n",
         "t.yaml:4:1: error: a second YAML document; a recipe file holds one (remove this '---' "
         "and what follows, or split the file)\n"},
        {"name: !foo x\n",
         "t.yaml:1:7: error: unsupported YAML tag '!foo' (recipes use plain values; remove the "
         "tag)\n"},
        {"? [a]\n: b\n", "t.yaml:1:3: error: a key must be a plain word, not a list\n"},
        {"name: \"a\\0b\"\n",
         "t.yaml:1:7: error: a value holds a NUL byte (\\0); recipes cannot use those\n"},
    };
    check_errors(cases, sizeof(cases) / sizeof(*cases));
}

static void test_errors_syntax(void **state)
{
    (void)state;
    static const struct error_case cases[] = {
        {"name: \"abc\n",
         "t.yaml:2:1: error: invalid YAML: found unexpected end of stream (while scanning a "
         "quoted scalar at line 1, column 7)\n"},
        {"name: [a\n",
         "t.yaml:2:1: error: invalid YAML: did not find expected ',' or ']' (while parsing a "
         "flow sequence at line 1, column 7)\n"},
        {"name: x\n  packages: y\n",
         "t.yaml:2:11: error: invalid YAML: mapping values are not allowed in this context\n"},
        {"name: x\n\tpackages: [a]\n",
         "t.yaml:2:1: error: invalid YAML: found a tab character that violates indentation "
         "(while scanning a plain scalar at line 1, column 7)\n"},
        {"name: x\nb: \xff\n",
         "t.yaml:2:4: error: invalid YAML: invalid leading UTF-8 octet (character 0xff); "
         "recipes are UTF-8 text\n"},
    };
    check_errors(cases, sizeof(cases) / sizeof(*cases));
}

static void test_errors_values(void **state)
{
    (void)state;
    static const struct error_case cases[] = {
        {BASE "ports: \"80\"\n",
         "t.yaml:4:8: error: ports: expected a list of integers, got a string (\"80\")\n"},
        {BASE "ports: [80, http]\n",
         "t.yaml:4:13: error: ports[1]: expected an integer, got a string (\"http\")\n"},
        {BASE "ports: [0]\n", "t.yaml:4:9: error: ports[0]: port 0 is out of range (1 to 65535)\n"},
        {BASE "ports:\n  - 80\n  - 65536\n",
         "t.yaml:6:5: error: ports[1]: port 65536 is out of range (1 to 65535)\n"},
        {BASE "ports: [99999999999999999999]\n",
         "t.yaml:4:9: error: ports[0]: port 99999999999999999999 is out of range (1 to 65535)\n"},
        {BASE "ports: [80, 443, 80]\n", "t.yaml:4:18: error: ports[2]: port 80 is listed twice\n"},
        {"name: x\npackages: [hello, Nginx]\ncmd: x\n",
         "t.yaml:2:19: error: packages[1]: 'Nginx' is not a Debian package name: use lower-case "
         "letters, digits, '+', '-' and '.', at least two characters, starting with a letter or "
         "digit (did you mean 'nginx'?)\n"},
        {"name: x\npackages: [a]\ncmd: x\n",
         "t.yaml:2:12: error: packages[0]: 'a' is not a Debian package name: use lower-case "
         "letters, digits, '+', '-' and '.', at least two characters, starting with a letter or "
         "digit\n"},
        {"name: x\npackages: [-foo]\ncmd: x\n",
         "t.yaml:2:12: error: packages[0]: '-foo' is not a Debian package name: use lower-case "
         "letters, digits, '+', '-' and '.', at least two characters, starting with a letter or "
         "digit\n"},
        {"name: x\npackages: hello\ncmd: x\n",
         "t.yaml:2:11: error: packages: expected a list of Debian package names, got a string "
         "(\"hello\")\n"},
        {"name: x\npackages: []\ncmd: x\n",
         "t.yaml:2:11: error: packages: is empty; list the Debian packages the app needs\n"},
        {"name: x\npackages: [hello, hello]\ncmd: x\n",
         "t.yaml:2:19: error: packages[1]: 'hello' is listed twice\n"},
        {"name: Web App\npackages: [hello]\ncmd: x\n",
         "t.yaml:1:7: error: name: 'Web App' is not a valid name (use lower-case letters, digits, "
         "'.', '+', '_' and '-', starting with a letter or digit)\n"},
        {BASE "memory: 8\n",
         "t.yaml:4:9: error: memory: 8 MiB is out of range (16 to 65536 MiB)\n"},
        {BASE "memory: 65537\n",
         "t.yaml:4:9: error: memory: 65537 MiB is out of range (16 to 65536 MiB)\n"},
        {BASE "memory: 128G\n",
         "t.yaml:4:9: error: memory: '128G' (131072 MiB) is out of range (16 to 65536 MiB)\n"},
        {BASE "memory: 1.5G\n",
         "t.yaml:4:9: error: memory: '1.5G' is not a size; give MiB as an integer (128) or a "
         "string like \"128M\" or \"1G\"\n"},
        {BASE "memory: [1]\n",
         "t.yaml:4:9: error: memory: expected MiB as an integer or a size like \"128M\", got a "
         "list\n"},
        {BASE "include: [/etc/x, etc/y]\n",
         "t.yaml:4:19: error: include[1]: 'etc/y' is not an absolute path (start it with '/')\n"},
        {BASE "exclude:\n  - usr/share/doc\n",
         "t.yaml:5:5: error: exclude[0]: 'usr/share/doc' is not an absolute path (start it with "
         "'/')\n"},
        {BASE "env:\n  GOOD: 1\n  BAD-NAME: 2\n",
         "t.yaml:6:3: error: env: 'BAD-NAME' is not a variable name (letters, digits and '_', not "
         "starting with a digit)\n"},
        {BASE "env: {9LIVES: x}\n",
         "t.yaml:4:7: error: env: '9LIVES' is not a variable name (letters, digits and '_', not "
         "starting with a digit)\n"},
        {BASE "env: {A: }\n",
         "t.yaml:4:10: error: env.A: has no value (write \"\" for an empty string)\n"},
        {BASE "env: [A=1]\n",
         "t.yaml:4:6: error: env: expected a map of NAME: value, got a list\n"},
        {BASE "compression: zst\n",
         "t.yaml:4:14: error: compression: 'zst' is not one of zstd, xz, gzip, none (did you mean "
         "'zstd'?)\n"},
        {BASE "busybox: yes\n",
         "t.yaml:4:10: error: busybox: expected true or false, got a string (\"yes\")\n"},
        {BASE "user: 'a b'\n", "t.yaml:4:7: error: user: 'a b' is not a user name or uid\n"},
        {BASE "cwd: srv\n",
         "t.yaml:4:6: error: cwd: 'srv' is not an absolute path (start it with '/')\n"},
        {BASE "modules: [virtio_net.ko]\n",
         "t.yaml:4:11: error: modules[0]: 'virtio_net.ko': give the module name without .ko\n"},
    };
    check_errors(cases, sizeof(cases) / sizeof(*cases));
}

static void test_errors_cmd(void **state)
{
    (void)state;
    static const struct error_case cases[] = {
        {"name: x\npackages: [hello]\ncmd: []\n",
         "t.yaml:3:6: error: cmd: is empty; give the program and its arguments, for example "
         "[/usr/bin/hello]\n"},
        {"name: x\npackages: [hello]\ncmd: \"  \"\n",
         "t.yaml:3:6: error: cmd: is empty; give the program and its arguments, for example "
         "[/usr/bin/hello]\n"},
        {"name: x\npackages: [hello]\ncmd:\n",
         "t.yaml:3:5: error: cmd: expected a list of arguments or a command line string, got "
         "null\n"},
        {"name: x\npackages: [hello]\ncmd: 'a \"b'\n",
         "t.yaml:3:6: error: cmd: unbalanced quote or trailing backslash in 'a \"b'\n"},
        {"name: x\npackages: [hello]\ncmd: [x, {a: b}]\n",
         "t.yaml:3:10: error: cmd[1]: expected a string, got a map\n"},
        {"name: x\npackages: [hello]\ncmd: [bin/x]\n",
         "t.yaml:3:7: error: cmd[0]: 'bin/x' must be an absolute path or a program name found in "
         "PATH\n"},
    };
    check_errors(cases, sizeof(cases) / sizeof(*cases));
}

static void test_errors_check(void **state)
{
    (void)state;
    static const struct error_case cases[] = {
        {BASE "ports: [80]\ncheck:\n  tcp: 8080\n",
         "t.yaml:6:8: error: check.tcp: port 8080 is not in ports (line 4); add it to ports or "
         "check a port the app listens on\n"},
        {BASE "check:\n  http: {port: 81}\nports: [80]\n",
         "t.yaml:5:16: error: check.http.port: port 81 is not in ports (line 6); add it to ports "
         "or check a port the app listens on\n"},
        {BASE "check:\n  tcp: 80\n  http: {port: 80}\n",
         "t.yaml:6:3: error: check: more than one kind of check ('tcp' and 'http'); keep one\n"},
        {BASE "check: {htpp: {port: 80}}\n",
         "t.yaml:4:9: error: check: unknown key 'htpp' (did you mean 'http' or 'tcp'?)\n"},
        {BASE "check: {http: {port: 80, expct: x}}\n",
         "t.yaml:4:26: error: check.http: unknown key 'expct' (did you mean 'expect'?)\n"},
        {BASE "check: {http: {path: /}}\n",
         "t.yaml:4:15: error: check.http: missing required key 'port' (for example port: 80)\n"},
        {BASE "check: {http: {port: 80, path: index.html}}\n",
         "t.yaml:4:32: error: check.http.path: 'index.html' must start with '/' and hold no "
         "spaces\n"},
        {BASE "check: {http: {port: 80, status: 99}}\n",
         "t.yaml:4:34: error: check.http.status: 99 is not an HTTP status code (100 to 599)\n"},
        {BASE "check: {http: 80}\n",
         "t.yaml:4:15: error: check.http: expected a map {port, path, expect, status}, got an "
         "integer (80)\n"},
        {BASE "check: {tcp: \"80\"}\n",
         "t.yaml:4:14: error: check.tcp: expected a port or a map {port, send, expect}, got a "
         "string (\"80\")\n"},
        {BASE "check: {tcp: 0}\n",
         "t.yaml:4:14: error: check.tcp: port 0 is out of range (1 to 65535)\n"},
        {BASE "check: {output: \"\"}\n", "t.yaml:4:17: error: check.output: is empty\n"},
        {BASE "check: {}\n",
         "t.yaml:4:8: error: check: is empty; give one of tcp, http or output\n"},
        {BASE "check: http\n",
         "t.yaml:4:8: error: check: expected a map with one of tcp, http or output, got a string "
         "(\"http\")\n"},
    };
    check_errors(cases, sizeof(cases) / sizeof(*cases));
}

static void test_load_errors(void **state)
{
    (void)state;
    struct tinyx_recipe r;
    struct capture cap;
    capture_start(&cap);
    assert_int_equal(tinyx_recipe_load("/nonexistent/x.yaml", &r), -1);
    char *err = capture_end(&cap);
    assert_string_equal(err, "tinyx: error: cannot read recipe /nonexistent/x.yaml: No such file "
                             "or directory\n");
    assert_true(recipe_is_empty(&r));
    free(err);

    /* Errors from a file name the file. */
    char dir[] = "/tmp/test-recipe-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = tinyx_xasprintf("%s/bad.yaml", dir);
    const char *text = BASE "ports: [80]\nmemroy: 64\n";
    assert_int_equal(tinyx_write_file_atomic(path, text, strlen(text), 0644), 0);
    capture_start(&cap);
    assert_int_equal(tinyx_recipe_load(path, &r), -1);
    err = capture_end(&cap);
    char *want =
        tinyx_xasprintf("%s:5:1: error: unknown key 'memroy' (did you mean 'memory'?)\n", path);
    assert_string_equal(err, want);
    free(want);
    free(err);
    tinyx_rm_rf(dir);
    free(path);
}

/* ---- JSON ---- */

static const char *const all_keys[] = {"name",   "packages",    "cmd",     "env",     "ports",
                                       "check",  "include",     "exclude", "user",    "cwd",
                                       "memory", "compression", "busybox", "modules", "kernel"};

/* to_json has exactly the recipe keys, and reads back as the same recipe. */
static void assert_round_trip(const struct tinyx_recipe *r)
{
    json_t *j = tinyx_recipe_to_json(r);
    assert_non_null(j);
    size_t n_keys = sizeof(all_keys) / sizeof(*all_keys);
    assert_int_equal(json_object_size(j), n_keys);
    for (size_t i = 0; i < n_keys; i++)
        if (!json_object_get(j, all_keys[i]))
            fail_msg("key '%s' missing from the JSON of %s", all_keys[i], r->name);
    /* JSON is YAML: the dump must parse as a recipe that gives the same JSON. */
    char *text = json_dumps(j, JSON_INDENT(2));
    struct tinyx_recipe back;
    parse_ok(text, &back);
    json_t *j2 = tinyx_recipe_to_json(&back);
    if (!json_equal(j, j2)) {
        char *text2 = json_dumps(j2, JSON_INDENT(2));
        fail_msg("round trip differs:\n%s\n%s", text, text2);
    }
    json_decref(j2);
    tinyx_recipe_free(&back);
    free(text);
    json_decref(j);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    struct tinyx_recipe r;
    parse_ok(BASE, &r);
    assert_round_trip(&r);
    json_t *j = tinyx_recipe_to_json(&r);
    assert_true(json_is_null(json_object_get(j, "check")));
    assert_int_equal(json_integer_value(json_object_get(j, "memory")), 128);
    assert_string_equal(json_string_value(json_object_get(j, "compression")), "zstd");
    assert_true(json_is_true(json_object_get(j, "busybox")));
    assert_string_equal(json_string_value(json_object_get(j, "user")), "root");
    assert_string_equal(json_string_value(json_object_get(j, "cwd")), "/");
    assert_int_equal(json_array_size(json_object_get(j, "ports")), 0);
    json_decref(j);
    tinyx_recipe_free(&r);

    parse_ok("name: app\npackages: [hello]\ncmd: [/usr/bin/hello, \"a\\tb\"]\n"
             "env: {Z: 1, A: two}\nports: [7, 9]\ncheck: {tcp: {port: 9, send: \"hi\\r\\n\"}}\n"
             "include: [/a/*]\nexclude: [/b]\nuser: \"1000\"\ncwd: /srv\nmemory: 1G\n"
             "compression: none\nbusybox: false\nmodules: [e1000]\n",
             &r);
    assert_round_trip(&r);
    j = tinyx_recipe_to_json(&r);
    /* env keeps file order */
    const char *first = json_object_iter_key(json_object_iter(json_object_get(j, "env")));
    assert_string_equal(first, "Z");
    assert_int_equal(json_integer_value(json_object_get(j, "memory")), 1024);
    json_decref(j);
    tinyx_recipe_free(&r);

    if (!tinyx_exists("recipes/hello.yaml"))
        return;
    static const char *const shipped[] = {"hello", "nginx", "redis", "python-http"};
    for (size_t i = 0; i < 4; i++) {
        load_shipped(shipped[i], &r);
        assert_round_trip(&r);
        tinyx_recipe_free(&r);
    }
}

static void assert_json(json_t *j, const char *expected)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(text, expected);
    free(text);
    json_decref(j);
}

static void test_check_json(void **state)
{
    (void)state;
    struct tinyx_check c = {0};
    assert_json(tinyx_check_to_json(&c), "null");
    c = (struct tinyx_check){.kind = TINYX_CHECK_OUTPUT, .expect = "Hello, world!"};
    assert_json(tinyx_check_to_json(&c), "{\"kind\":\"output\",\"expect\":\"Hello, world!\"}");
    c = (struct tinyx_check){.kind = TINYX_CHECK_TCP, .port = 6379};
    assert_json(tinyx_check_to_json(&c), "{\"kind\":\"tcp\",\"port\":6379}");
    c = (struct tinyx_check){
        .kind = TINYX_CHECK_TCP, .port = 6379, .send = "PING\r\n", .expect = "+PONG"};
    assert_json(tinyx_check_to_json(&c), "{\"kind\":\"tcp\",\"port\":6379,\"send\":\"PING\\r\\n\","
                                         "\"expect\":\"+PONG\"}");
    c = (struct tinyx_check){.kind = TINYX_CHECK_HTTP,
                             .port = 80,
                             .path = "/",
                             .expect = "Welcome to nginx!",
                             .status = 200};
    assert_json(tinyx_check_to_json(&c), "{\"kind\":\"http\",\"port\":80,\"path\":\"/\","
                                         "\"expect\":\"Welcome to nginx!\",\"status\":200}");
}

/* ---- split words ---- */

static void assert_words(const char *line, const char *const *want, size_t n)
{
    struct strvec sv = STRVEC_INIT;
    assert_int_equal(tinyx_split_words(line, &sv), 0);
    if (sv.n != n)
        fail_msg("'%s': %zu words, expected %zu", line, sv.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(sv.v[i], want[i]);
    tinyx_strvec_free(&sv);
}

#define WORDS(line, ...)                                                                           \
    do {                                                                                           \
        static const char *const want[] = {__VA_ARGS__};                                           \
        assert_words(line, want, sizeof(want) / sizeof(*want));                                    \
    } while (0)

static void test_split_words(void **state)
{
    (void)state;
    WORDS("a b  c", "a", "b", "c");
    WORDS("  lead\ttab\nnewline  ", "lead", "tab", "newline");
    WORDS("nginx -g 'daemon off;'", "nginx", "-g", "daemon off;");
    WORDS("redis-server --save \"\"", "redis-server", "--save", "");
    WORDS("a''b \"\"''", "ab", "");
    WORDS("'it'\\''s'", "it's");
    WORDS("\"a \\\"b\\\" \\\\ \\$HOME \\n\"", "a \"b\" \\ $HOME \\n");
    WORDS("'no \\ escapes \"here\"'", "no \\ escapes \"here\"");
    WORDS("one\\ word two", "one word", "two");
    WORDS("a \\\n b", "a", "b");
    WORDS("$HOME `x` *.c #c", "$HOME", "`x`", "*.c", "#c");
    WORDS("x\"y z\"'w'", "xy zw");

    struct strvec sv = STRVEC_INIT;
    assert_int_equal(tinyx_split_words("", &sv), 0);
    assert_int_equal(sv.n, 0);
    assert_int_equal(tinyx_split_words(" \t\n", &sv), 0);
    assert_int_equal(sv.n, 0);
    /* Appends; a malformed line leaves out untouched. */
    tinyx_strvec_push(&sv, "keep");
    static const char *const bad[] = {"'open", "\"open", "a \"b", "x\\", "\"esc\\\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        if (tinyx_split_words(bad[i], &sv) != -1)
            fail_msg("'%s' should be rejected", bad[i]);
        assert_int_equal(sv.n, 1);
    }
    assert_int_equal(tinyx_split_words("more words", &sv), 0);
    assert_int_equal(sv.n, 3);
    assert_string_equal(sv.v[0], "keep");
    assert_string_equal(sv.v[2], "words");
    tinyx_strvec_free(&sv);
}

/* ---- ad-hoc recipes ---- */

static void test_adhoc(void **state)
{
    (void)state;
    struct tinyx_recipe r;
    char *pkgs[] = {"nginx-light", "curl"};
    int ports[] = {80, 443};
    assert_int_equal(
        tinyx_recipe_adhoc(NULL, pkgs, 2, "/usr/sbin/nginx -g 'daemon off;'", ports, 2, &r), 0);
    assert_string_equal(r.name, "nginx-light");
    assert_int_equal(r.packages.n, 2);
    assert_int_equal(r.cmd.n, 3);
    assert_string_equal(r.cmd.v[2], "daemon off;");
    assert_int_equal(r.n_ports, 2);
    assert_int_equal(r.check.kind, TINYX_CHECK_TCP);
    assert_int_equal(r.check.port, 80);
    assert_int_equal(r.memory_mb, 128);
    assert_string_equal(r.compression, "zstd");
    assert_true(r.busybox);
    assert_round_trip(&r);
    tinyx_recipe_free(&r);

    assert_int_equal(tinyx_recipe_adhoc("mine", pkgs, 1, "hello", NULL, 0, &r), 0);
    assert_string_equal(r.name, "mine");
    assert_int_equal(r.check.kind, TINYX_CHECK_NONE);
    assert_int_equal(r.n_ports, 0);
    tinyx_recipe_free(&r);

    static const struct {
        const char *name;
        size_t n_packages;
        char *package;
        const char *cmd;
        int port;
        const char *message;
    } bad[] = {
        {NULL, 0, "x", "hello", 0,
         "tinyx: error: --package: give at least one Debian package, e.g. --package hello\n"},
        {NULL, 1, "Hello", "hello", 0,
         "tinyx: error: --package: 'Hello' is not a Debian package name: use lower-case "
         "letters, digits, '+', '-' and '.', at least two characters, starting with a letter or "
         "digit (did you mean 'hello'?)\n"},
        {"A B", 1, "hello", "hello", 0,
         "tinyx: error: --name: 'A B' is not a valid name (use lower-case letters, digits, '.', "
         "'+', '_' and '-', starting with a letter or digit)\n"},
        {NULL, 1, "hello", NULL, 0,
         "tinyx: error: --cmd: give the command to run, e.g. --cmd /usr/bin/hello\n"},
        {NULL, 1, "hello", "  ", 0,
         "tinyx: error: --cmd: is empty; give the program and its arguments\n"},
        {NULL, 1, "hello", "echo 'x", 0,
         "tinyx: error: --cmd: unbalanced quote or trailing backslash in 'echo 'x'\n"},
        {NULL, 1, "hello", "hello \xff", 0, "tinyx: error: --cmd: argument 1 is not valid UTF-8\n"},
        {NULL, 1, "hello", "hello", 70000,
         "tinyx: error: --port: port 70000 is out of range (1 to 65535)\n"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        char *one[] = {bad[i].package};
        int port[] = {bad[i].port};
        struct capture cap;
        capture_start(&cap);
        int rc = tinyx_recipe_adhoc(bad[i].name, one, bad[i].n_packages, bad[i].cmd, port,
                                    bad[i].port ? 1 : 0, &r);
        char *err = capture_end(&cap);
        assert_int_equal(rc, -1);
        assert_string_equal(err, bad[i].message);
        assert_true(recipe_is_empty(&r));
        free(err);
    }
    int twice[] = {80, 80};
    struct capture cap;
    capture_start(&cap);
    assert_int_equal(tinyx_recipe_adhoc(NULL, pkgs, 1, "x", twice, 2, &r), -1);
    char *err = capture_end(&cap);
    assert_string_equal(err, "tinyx: error: --port: port 80 is given twice\n");
    free(err);
}

/* ---- finding recipes ---- */

static char *find_quiet(const char *name, char **err)
{
    struct capture cap;
    capture_start(&cap);
    char *path = tinyx_recipe_find(name);
    *err = capture_end(&cap);
    return path;
}

static void test_find(void **state)
{
    (void)state;
    if (!have_repo_recipes())
        skip();
    unsetenv("TINYX_RECIPES");
    char *err;
    char *path = find_quiet("nginx", &err);
    assert_non_null(path);
    assert_string_equal(path, "recipes/nginx.yaml");
    assert_string_equal(err, "");
    free(path);
    free(err);

    path = find_quiet("recipes/hello.yaml", &err);
    assert_string_equal(path, "recipes/hello.yaml");
    free(path);
    free(err);

    path = find_quiet("./recipes/nope.yaml", &err);
    assert_null(path);
    assert_string_equal(err, "tinyx: error: cannot open recipe ./recipes/nope.yaml: No such file "
                             "or directory\n");
    free(err);

    path = find_quiet("recipes/", &err);
    assert_null(path);
    assert_string_equal(err,
                        "tinyx: error: recipe recipes/ is a folder; give a .yaml file in it\n");
    free(err);

    path = find_quiet("ngnix", &err);
    assert_null(path);
    assert_true(tinyx_str_starts(err, "tinyx: error: unknown recipe 'ngnix' (did you mean "
                                      "'nginx'?); known recipes: hello, nginx, python-http, "
                                      "redis"));
    assert_non_null(strstr(err, "searched recipes"));
    free(err);

    /* $TINYX_RECIPES comes first and its recipes are listed. */
    char dir[] = "/tmp/test-recipe-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *mine = tinyx_xasprintf("%s/nginx.yaml", dir);
    char *other = tinyx_xasprintf("%s/zzz-mine.yaml", dir);
    assert_int_equal(tinyx_write_file_atomic(mine, BASE, strlen(BASE), 0644), 0);
    assert_int_equal(tinyx_write_file_atomic(other, BASE, strlen(BASE), 0644), 0);
    char *env = tinyx_xasprintf("/nonexistent:%s", dir);
    setenv("TINYX_RECIPES", env, 1);
    path = find_quiet("nginx", &err);
    assert_string_equal(path, mine);
    free(path);
    free(err);
    path = find_quiet("hello", &err);
    assert_string_equal(path, "recipes/hello.yaml");
    free(path);
    free(err);
    path = find_quiet("zzz-mien", &err);
    assert_null(path);
    assert_true(tinyx_str_starts(err, "tinyx: error: unknown recipe 'zzz-mien' (did you mean "
                                      "'zzz-mine'?); known recipes: hello, nginx, python-http, "
                                      "redis, zzz-mine"));
    assert_non_null(strstr(err, dir));
    free(err);
    unsetenv("TINYX_RECIPES");
    tinyx_rm_rf(dir);
    free(env);
    free(mine);
    free(other);

    path = find_quiet("", &err);
    assert_null(path);
    assert_true(tinyx_str_starts(err, "tinyx: error: no recipe given"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_hello),
        cmocka_unit_test(test_shipped_nginx),
        cmocka_unit_test(test_shipped_redis),
        cmocka_unit_test(test_shipped_python_http),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_shorthands),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_errors_structure),
        cmocka_unit_test(test_kernel_key),
        cmocka_unit_test(test_errors_syntax),
        cmocka_unit_test(test_errors_values),
        cmocka_unit_test(test_errors_cmd),
        cmocka_unit_test(test_errors_check),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_check_json),
        cmocka_unit_test(test_split_words),
        cmocka_unit_test(test_adhoc),
        cmocka_unit_test(test_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
