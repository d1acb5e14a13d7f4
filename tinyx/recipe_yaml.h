/* recipe_yaml.h: the YAML layer under recipes: a small node tree with file positions. */
#ifndef TINYX_RECIPE_YAML_H
#define TINYX_RECIPE_YAML_H

#include <stdbool.h>
#include <stddef.h>

enum tinyx_ynode_kind {
    TINYX_YNODE_SCALAR,
    TINYX_YNODE_LIST,
    TINYX_YNODE_MAP,
};

/* What a scalar resolves to (YAML 1.2 core schema: quoted scalars are always strings). */
enum tinyx_yscalar_type {
    TINYX_YSCALAR_NULL,
    TINYX_YSCALAR_BOOL,
    TINYX_YSCALAR_INT,
    TINYX_YSCALAR_FLOAT,
    TINYX_YSCALAR_STRING,
};

struct tinyx_ynode {
    enum tinyx_ynode_kind kind;
    unsigned line, col; /* 1-based, where the node starts */
    /* Scalars: the text as written (never holds a NUL byte) and its resolved type. */
    char *text;
    enum tinyx_yscalar_type type;
    bool boolean;      /* TINYX_YSCALAR_BOOL */
    long long integer; /* TINYX_YSCALAR_INT; int_overflow when it does not fit */
    bool int_overflow;
    /* Lists: items[0..n). Maps: n pairs, items[2i] the key (a scalar), items[2i+1] its value.
     * items is NULL-terminated (or NULL when empty). */
    struct tinyx_ynode **items;
    size_t n;
};

/* Parse one YAML document. Anchors, aliases, several documents, duplicate keys, non-scalar keys
 * and unknown tags are errors. On error prints "FILE:LINE:COL: error: ..." and returns NULL. An
 * empty stream gives a NULL-typed scalar at 1:1. */
struct tinyx_ynode *tinyx_ynode_parse(const char *file, const char *yaml, size_t len);
void tinyx_ynode_free(struct tinyx_ynode *node);

/* The value of key in a map, or NULL. */
const struct tinyx_ynode *tinyx_ynode_get(const struct tinyx_ynode *map, const char *key);
/* "a list", "a map", "a string", "an integer", "a number", "a boolean", "null". */
const char *tinyx_ynode_describe(const struct tinyx_ynode *node);

/* Print "FILE:LINE:COL: error: MESSAGE" on stderr in one write; returns -1. */
int tinyx_yaml_err_at(const char *file, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Same, at a node's position. */
int tinyx_ynode_err(const char *file, const struct tinyx_ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
