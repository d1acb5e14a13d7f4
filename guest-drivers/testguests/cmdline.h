/* cmdline.h: kernel command-line words: iterate, look up "key=value", parse numbers and IPs. */
#ifndef TG_CMDLINE_H
#define TG_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A piece of the command line: not NUL-terminated. */
struct tg_str {
    const char *s;
    size_t len;
};

/* Next space-separated word from *cursor (advanced past it). False at the end. */
bool tg_cmdline_next(const char **cursor, struct tg_str *word);

/* The value of the LAST word "key=value" (later words override earlier ones, as the launcher
 * appends per-instance words after the image's). key may end in '=' or not. False when there
 * is none. */
bool tg_cmdline_get(const char *cmdline, const char *key, struct tg_str *value);

/* Whether the bare word (no "=value") is on the command line. */
bool tg_cmdline_has(const char *cmdline, const char *word);

/* Whether word starts with prefix; then *rest is what follows it. */
bool tg_str_prefix(struct tg_str word, const char *prefix, struct tg_str *rest);

/* An unsigned number, decimal or 0x-hex, with an optional K, M or G suffix (x1024^n) when
 * allow_suffix. The whole string must be the number. */
bool tg_parse_u64(struct tg_str s, bool allow_suffix, uint64_t *out);

/* A dotted quad "A.B.C.D" with an optional "/PREFIX" (0-32; *prefix = 32 when absent). The
 * address is returned in network byte order as it appears on the wire (A first in memory). */
bool tg_parse_ipv4(struct tg_str s, uint8_t ip[4], unsigned *prefix);

#endif
