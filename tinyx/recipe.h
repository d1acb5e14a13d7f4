/* recipe.h: the recipe (YAML) model, loader and validation. Keys are documented in
 * recipes/README.md; every error names file:line:col. */
#ifndef TINYX_RECIPE_H
#define TINYX_RECIPE_H

#include <jansson.h>
#include <stdbool.h>

#include "tinyx/strvec.h"

enum tinyx_check_kind {
    TINYX_CHECK_NONE = 0,
    TINYX_CHECK_OUTPUT, /* output: STRING   the console output contains STRING */
    TINYX_CHECK_TCP,    /* tcp: PORT | {port, send, expect} */
    TINYX_CHECK_HTTP,   /* http: {port, path, expect, status} */
};

struct tinyx_check {
    enum tinyx_check_kind kind;
    int port;     /* tcp, http */
    char *path;   /* http: default "/" */
    char *expect; /* output: required; http/tcp: optional substring of the response */
    char *send;   /* tcp: optional bytes to send after connecting */
    int status;   /* http: expected status code, default 200 */
};

struct tinyx_env_var {
    char *name;
    char *value;
};

/* Which kernel the image gets and how it is configured (recipe key `kernel`). */
struct tinyx_kernel_spec {
    char *platform;        /* "qemu" (default), "kvm", "xen-pv", "xen-pvh" */
    char *source;          /* "tinyx" (default): built from linux-source-6.1 for this app;
                              "debian": Debian's cloud kernel with the modules the app needs */
    struct strvec options; /* extra settings on top of the fragments: "NAME" (=y) or "NAME=VALUE"
                              (y, n, m, a number or a quoted string), NAME without CONFIG_ */
    char *config;          /* a full .config to build instead of tinyconfig + fragments (e.g. one
                              `tinyx kconfig-min` wrote); resolved against the recipe's folder */
};

struct tinyx_recipe {
    char *file;                /* where it came from (for messages), e.g. "recipes/nginx.yaml" */
    char *name;                /* required: [a-z0-9][a-z0-9.+_-]* */
    struct strvec packages;    /* required, non-empty: Debian package names */
    struct strvec cmd;         /* required, non-empty: argv; cmd[0] a path or a name in PATH */
    struct tinyx_env_var *env; /* in file order */
    size_t n_env;
    int *ports; /* TCP ports the app listens on; defaults to the check's port */
    size_t n_ports;
    struct tinyx_check check;
    struct strvec include; /* absolute path globs added to the image */
    struct strvec exclude; /* absolute path globs removed from the image (wins over all) */
    char *user;            /* NULL: root; else a user name (or uid) from the staged root */
    char *cwd;             /* NULL: "/" */
    unsigned memory_mb;    /* guest memory; default 128 */
    char *compression;     /* initrd compression: "zstd" (default), "xz", "gzip", "none" */
    bool busybox;          /* add the BusyBox overlay (default true) */
    struct strvec modules; /* extra kernel modules to load at boot (by name) */
    struct tinyx_kernel_spec kernel;
};

/* Load and validate a recipe file. On error prints "FILE:LINE:COL: error: ..." (with a close
 * match for unknown keys) and returns -1; the recipe is then left empty. */
int tinyx_recipe_load(const char *path, struct tinyx_recipe *out);
/* Same, from memory; file_label is used in messages. */
int tinyx_recipe_parse(const char *file_label, const char *yaml, size_t len,
                       struct tinyx_recipe *out);
/* An ad-hoc recipe from `tinyx build --package P... --cmd '...' [--port N]`. The name defaults
 * to the first package. cmdline is split like a shell would (quotes, backslashes; no
 * expansion). Returns -1 with a message on a bad value. */
int tinyx_recipe_adhoc(const char *name, char *const *packages, size_t n_packages,
                       const char *cmdline, const int *ports, size_t n_ports,
                       struct tinyx_recipe *out);
/* Split a command line into words (shell-like quoting, no expansion). -1 on unbalanced quotes. */
int tinyx_split_words(const char *cmdline, struct strvec *out);
void tinyx_recipe_free(struct tinyx_recipe *r);

/* The recipe as JSON (normalised, every key present with its default), for manifest.json. */
json_t *tinyx_recipe_to_json(const struct tinyx_recipe *r);
/* The check as the launcher reads it (see docs/image-format.md), or json_null(). */
json_t *tinyx_check_to_json(const struct tinyx_check *c);

/* Find a recipe by name: NAME.yaml under $TINYX_RECIPES, ./recipes, then the recipes folder
 * shipped beside the binary. A value containing '/' or ending in .yaml is used as a path.
 * Returns a malloc'd path or NULL (with a message listing the recipes found). */
char *tinyx_recipe_find(const char *name_or_path);

#endif
