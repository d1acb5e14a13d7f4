/* recipe_yaml.c: turn YAML text into a node tree with file positions (libyaml event API). */
#include "tinyx/recipe_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "tinyx/util.h"

/* Recipes are three levels deep; anything far deeper is a mistake (or an attack on the stack). */
#define MAX_DEPTH 64

#define TAG_PREFIX "tag:yaml.org,2002:"

/* Messages quote the user's text; keep them on one line by escaping control characters. */
static char *one_line(const char *msg)
{
    char *out = tinyx_xmalloc(4 * strlen(msg) + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p == '\n')
            o += sprintf(o, "\\n");
        else if (*p == '\t')
            o += sprintf(o, "\\t");
        else if (*p == '\r')
            o += sprintf(o, "\\r");
        else if (*p < 0x20 || *p == 0x7f)
            o += sprintf(o, "\\x%02x", *p);
        else
            *o++ = (char)*p;
    }
    *o = '\0';
    return out;
}

static int vyaml_err_at(const char *file, unsigned line, unsigned col, const char *fmt, va_list ap)
{
    char *raw = NULL;
    if (vasprintf(&raw, fmt, ap) < 0)
        raw = NULL;
    char *msg = one_line(raw ? raw : fmt);
    free(raw);
    char *text = tinyx_xasprintf("%s:%u:%u: error: %s\n", file, line, col, msg);
    /* One write so that concurrent writers do not interleave mid-line. */
    ssize_t w = write(STDERR_FILENO, text, strlen(text));
    (void)w;
    free(text);
    free(msg);
    return -1;
}

int tinyx_yaml_err_at(const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vyaml_err_at(file, line, col, fmt, ap);
    va_end(ap);
    return -1;
}

int tinyx_ynode_err(const char *file, const struct tinyx_ynode *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vyaml_err_at(file, at ? at->line : 1, at ? at->col : 1, fmt, ap);
    va_end(ap);
    return -1;
}

const char *tinyx_ynode_describe(const struct tinyx_ynode *node)
{
    if (node->kind == TINYX_YNODE_LIST)
        return "a list";
    if (node->kind == TINYX_YNODE_MAP)
        return "a map";
    switch (node->type) {
    case TINYX_YSCALAR_NULL:
        return "null";
    case TINYX_YSCALAR_BOOL:
        return "a boolean";
    case TINYX_YSCALAR_INT:
        return "an integer";
    case TINYX_YSCALAR_FLOAT:
        return "a number";
    case TINYX_YSCALAR_STRING:
        break;
    }
    return "a string";
}

const struct tinyx_ynode *tinyx_ynode_get(const struct tinyx_ynode *map, const char *key)
{
    if (!map || map->kind != TINYX_YNODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (!strcmp(map->items[2 * i]->text, key))
            return map->items[2 * i + 1];
    return NULL;
}

void tinyx_ynode_free(struct tinyx_ynode *node)
{
    if (!node)
        return;
    for (size_t i = 0; node->items && node->items[i]; i++)
        tinyx_ynode_free(node->items[i]);
    free(node->items);
    free(node->text);
    free(node);
}

/* ---- scalar resolution (YAML 1.2 core schema) ---- */

static bool is_one_of(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (!strcmp(s, *words))
            return true;
    return false;
}

static bool is_null_text(const char *s)
{
    static const char *const words[] = {"", "~", "null", "Null", "NULL", NULL};
    return is_one_of(s, words);
}

static int bool_text(const char *s)
{
    static const char *const yes[] = {"true", "True", "TRUE", NULL};
    static const char *const no[] = {"false", "False", "FALSE", NULL};
    return is_one_of(s, yes) ? 1 : is_one_of(s, no) ? 0 : -1;
}

static bool all_in(const char *s, const char *set)
{
    return *s && strspn(s, set) == strlen(s);
}

/* Decimal with optional sign, 0o octal, 0x hex. Sets *overflow when it does not fit. */
static bool int_text(const char *s, long long *value, bool *overflow)
{
    int base = 10;
    const char *digits = s;
    if (tinyx_str_starts(s, "0x")) {
        base = 16;
        digits = s + 2;
        if (!all_in(digits, "0123456789abcdefABCDEF"))
            return false;
    } else if (tinyx_str_starts(s, "0o")) {
        base = 8;
        digits = s + 2;
        if (!all_in(digits, "01234567"))
            return false;
    } else {
        if (*digits == '-' || *digits == '+')
            digits++;
        if (!all_in(digits, "0123456789"))
            return false;
        digits = s;
    }
    errno = 0;
    *value = strtoll(digits, NULL, base);
    *overflow = errno == ERANGE;
    return true;
}

static bool float_text(const char *s)
{
    static const char *const special[] = {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN", NULL};
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (is_one_of(p, special))
        return p == s || strncmp(p, ".n", 2) != 0; /* no signed NaN */
    size_t whole = strspn(p, "0123456789");
    p += whole;
    size_t frac = 0;
    if (*p == '.') {
        p++;
        frac = strspn(p, "0123456789");
        p += frac;
    }
    if (whole == 0 && frac == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        size_t exp = strspn(p, "0123456789");
        if (exp == 0)
            return false;
        p += exp;
    }
    return *p == '\0';
}

/* Resolve a plain (unquoted, untagged) scalar. */
static void resolve_plain(struct tinyx_ynode *n)
{
    int b;
    if (is_null_text(n->text)) {
        n->type = TINYX_YSCALAR_NULL;
    } else if ((b = bool_text(n->text)) >= 0) {
        n->type = TINYX_YSCALAR_BOOL;
        n->boolean = b;
    } else if (int_text(n->text, &n->integer, &n->int_overflow)) {
        n->type = TINYX_YSCALAR_INT;
    } else if (float_text(n->text)) {
        n->type = TINYX_YSCALAR_FLOAT;
    } else {
        n->type = TINYX_YSCALAR_STRING;
    }
}

/* "!!int" for "tag:yaml.org,2002:int", as the user wrote it. */
static char *short_tag(const char *tag)
{
    if (tinyx_str_starts(tag, TAG_PREFIX))
        return tinyx_xasprintf("!!%s", tag + strlen(TAG_PREFIX));
    return tinyx_xstrdup(tag);
}

/* Resolve a scalar with an explicit tag (!!str, !!int, ...). Returns -1 with a message. */
static int resolve_tagged(const char *file, struct tinyx_ynode *n, const char *tag)
{
    const char *t = tinyx_str_starts(tag, TAG_PREFIX) ? tag + strlen(TAG_PREFIX) : NULL;
    int b;
    if (!strcmp(tag, "!") || (t && !strcmp(t, "str"))) {
        n->type = TINYX_YSCALAR_STRING;
    } else if (t && !strcmp(t, "null") && is_null_text(n->text)) {
        n->type = TINYX_YSCALAR_NULL;
    } else if (t && !strcmp(t, "bool") && (b = bool_text(n->text)) >= 0) {
        n->type = TINYX_YSCALAR_BOOL;
        n->boolean = b;
    } else if (t && !strcmp(t, "int") && int_text(n->text, &n->integer, &n->int_overflow)) {
        n->type = TINYX_YSCALAR_INT;
    } else if (t && !strcmp(t, "float") && float_text(n->text)) {
        n->type = TINYX_YSCALAR_FLOAT;
    } else if (t && (!strcmp(t, "null") || !strcmp(t, "bool") || !strcmp(t, "int") ||
                     !strcmp(t, "float"))) {
        return tinyx_ynode_err(file, n, "'%s' is not a valid !!%s", n->text, t);
    } else {
        char *shown = short_tag(tag);
        tinyx_ynode_err(
            file, n, "unsupported YAML tag '%s' (recipes use plain values; remove the tag)", shown);
        free(shown);
        return -1;
    }
    return 0;
}

/* ---- the event loop ---- */

struct builder {
    const char *file;
    struct tinyx_ynode *root;
    struct tinyx_ynode *stack[MAX_DEPTH];
    size_t depth;
    int documents;
};

static struct tinyx_ynode *new_node(enum tinyx_ynode_kind kind, yaml_mark_t mark)
{
    struct tinyx_ynode *n = tinyx_xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->line = (unsigned)mark.line + 1;
    n->col = (unsigned)mark.column + 1;
    return n;
}

/* While a collection is open, n counts its items (keys and values alike) and items stays
 * NULL-terminated, so a half-built tree can be freed; a map's n becomes pairs when it closes. */
static void push_item(struct tinyx_ynode *parent, struct tinyx_ynode *child)
{
    parent->items = tinyx_xrealloc(parent->items, (parent->n + 2) * sizeof(*parent->items));
    parent->items[parent->n++] = child;
    parent->items[parent->n] = NULL;
}

/* True when the next child of this open map is a key (not a value). */
static bool expects_key(const struct tinyx_ynode *map)
{
    return map->n % 2 == 0;
}

/* Attach a finished or opening node to its parent (or make it the root). Frees it on error. */
static int attach(struct builder *b, struct tinyx_ynode *n)
{
    if (b->depth == 0) {
        b->root = n;
        return 0;
    }
    struct tinyx_ynode *parent = b->stack[b->depth - 1];
    if (parent->kind == TINYX_YNODE_MAP && expects_key(parent)) {
        if (n->kind != TINYX_YNODE_SCALAR) {
            tinyx_ynode_err(b->file, n, "a key must be a plain word, not %s",
                            tinyx_ynode_describe(n));
            tinyx_ynode_free(n);
            return -1;
        }
        for (size_t i = 0; i < parent->n; i += 2) {
            const struct tinyx_ynode *k = parent->items[i];
            if (!strcmp(k->text, n->text)) {
                tinyx_ynode_err(b->file, n,
                                "duplicate key '%s' (first given at line %u, column %u); "
                                "keep one",
                                n->text, k->line, k->col);
                tinyx_ynode_free(n);
                return -1;
            }
        }
    }
    push_item(parent, n);
    return 0;
}

static int reject_anchor(struct builder *b, const yaml_event_t *ev, const yaml_char_t *anchor)
{
    if (!anchor)
        return 0;
    return tinyx_yaml_err_at(b->file, (unsigned)ev->start_mark.line + 1,
                             (unsigned)ev->start_mark.column + 1,
                             "YAML anchors (&%s) are not supported in recipes; write the value "
                             "out in full",
                             (const char *)anchor);
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
    if (reject_anchor(b, ev, ev->data.scalar.anchor) < 0)
        return -1;
    struct tinyx_ynode *n = new_node(TINYX_YNODE_SCALAR, ev->start_mark);
    n->text = tinyx_xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
    if (strlen(n->text) != ev->data.scalar.length) {
        tinyx_ynode_err(b->file, n, "a value holds a NUL byte (\\0); recipes cannot use those");
        tinyx_ynode_free(n);
        return -1;
    }
    const char *tag = (const char *)ev->data.scalar.tag;
    if (tag) {
        if (resolve_tagged(b->file, n, tag) < 0) {
            tinyx_ynode_free(n);
            return -1;
        }
    } else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        resolve_plain(n);
    } else {
        n->type = TINYX_YSCALAR_STRING;
    }
    return attach(b, n);
}

static int on_collection_start(struct builder *b, const yaml_event_t *ev)
{
    bool is_map = ev->type == YAML_MAPPING_START_EVENT;
    const yaml_char_t *anchor =
        is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    const char *tag =
        (const char *)(is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
    if (reject_anchor(b, ev, anchor) < 0)
        return -1;
    if (tag && strcmp(tag, "!") && strcmp(tag, is_map ? TAG_PREFIX "map" : TAG_PREFIX "seq")) {
        char *shown = short_tag(tag);
        tinyx_yaml_err_at(b->file, (unsigned)ev->start_mark.line + 1,
                          (unsigned)ev->start_mark.column + 1,
                          "YAML tag '%s' cannot mark %s (recipes use plain values; remove the "
                          "tag)",
                          shown, is_map ? "a map" : "a list");
        free(shown);
        return -1;
    }
    if (b->depth == MAX_DEPTH)
        return tinyx_yaml_err_at(b->file, (unsigned)ev->start_mark.line + 1,
                                 (unsigned)ev->start_mark.column + 1,
                                 "values nested deeper than %d levels", MAX_DEPTH);
    struct tinyx_ynode *n = new_node(is_map ? TINYX_YNODE_MAP : TINYX_YNODE_LIST, ev->start_mark);
    if (attach(b, n) < 0)
        return -1;
    b->stack[b->depth++] = n;
    return 0;
}

/* Line and column of a byte offset (for reader errors, which carry no mark). */
static void offset_position(const char *yaml, size_t len, size_t offset, unsigned *line,
                            unsigned *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset && i < len; i++) {
        if (yaml[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)yaml[i] & 0xc0) != 0x80) {
            (*col)++; /* count characters, not UTF-8 continuation bytes */
        }
    }
}

static int syntax_error(const char *file, const yaml_parser_t *p, const char *yaml, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR)
        return tinyx_yaml_err_at(file, 1, 1, "out of memory while reading YAML");
    const char *problem = p->problem ? p->problem : "unknown problem";
    if (p->error == YAML_READER_ERROR) {
        unsigned line, col;
        offset_position(yaml, len, p->problem_offset, &line, &col);
        if (p->problem_value >= 0)
            return tinyx_yaml_err_at(file, line, col,
                                     "invalid YAML: %s (character 0x%02x); recipes are UTF-8 text",
                                     problem, (unsigned)p->problem_value);
        return tinyx_yaml_err_at(file, line, col, "invalid YAML: %s", problem);
    }
    unsigned line = (unsigned)p->problem_mark.line + 1, col = (unsigned)p->problem_mark.column + 1;
    if (p->context)
        return tinyx_yaml_err_at(file, line, col, "invalid YAML: %s (%s at line %u, column %u)",
                                 problem, p->context, (unsigned)p->context_mark.line + 1,
                                 (unsigned)p->context_mark.column + 1);
    return tinyx_yaml_err_at(file, line, col, "invalid YAML: %s", problem);
}

/* Handle one event. Returns 1 at the end of the stream, 0 to go on, -1 on error. */
static int on_event(struct builder *b, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        return 1;
    case YAML_DOCUMENT_START_EVENT:
        if (++b->documents > 1)
            return tinyx_yaml_err_at(b->file, (unsigned)ev->start_mark.line + 1,
                                     (unsigned)ev->start_mark.column + 1,
                                     "a second YAML document; a recipe file holds one (remove "
                                     "this '---' and what follows, or split the file)");
        return 0;
    case YAML_ALIAS_EVENT:
        return tinyx_yaml_err_at(b->file, (unsigned)ev->start_mark.line + 1,
                                 (unsigned)ev->start_mark.column + 1,
                                 "YAML aliases (*%s) are not supported in recipes; write the "
                                 "value out in full",
                                 (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return on_collection_start(b, ev);
    case YAML_SEQUENCE_END_EVENT:
        b->depth--;
        return 0;
    case YAML_MAPPING_END_EVENT:
        b->stack[--b->depth]->n /= 2;
        return 0;
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
        break;
    }
    return 0;
}

struct tinyx_ynode *tinyx_ynode_parse(const char *file, const char *yaml, size_t len)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        tinyx_yaml_err_at(file, 1, 1, "out of memory while reading YAML");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    struct builder b = {.file = file};
    int rc = 0;
    while (rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = syntax_error(file, &parser, yaml, len);
            break;
        }
        rc = on_event(&b, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (rc < 0) {
        tinyx_ynode_free(b.root);
        return NULL;
    }
    if (!b.root) {
        /* No document at all (empty file or only comments). */
        b.root = tinyx_xcalloc(1, sizeof(*b.root));
        b.root->kind = TINYX_YNODE_SCALAR;
        b.root->line = b.root->col = 1;
        b.root->text = tinyx_xstrdup("");
        b.root->type = TINYX_YSCALAR_NULL;
    }
    return b.root;
}
