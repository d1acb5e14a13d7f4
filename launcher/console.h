/* console.h: the guest console kept in memory: search it, find the exit line, show its tail. */
#ifndef LAUNCHER_CONSOLE_H
#define LAUNCHER_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

struct launcher_console {
    char *buf; /* the kept text, NUL-terminated */
    size_t len, cap;
    size_t max;        /* keep at most this many bytes (the newest) */
    size_t dropped;    /* bytes dropped from the front to stay under max */
    size_t search_pos; /* absolute offset where the next launcher_console_find starts */
};

void launcher_console_init(struct launcher_console *c, size_t max_bytes);
void launcher_console_free(struct launcher_console *c);
void launcher_console_append(struct launcher_console *c, const char *data, size_t n);
/* Whether needle appeared in the output since the last call (a match may straddle appends);
 * each call only scans new text. */
bool launcher_console_find(struct launcher_console *c, const char *needle);
/* The same with the caller's own cursor (start it at 0), so several needles can be followed
 * at once. */
bool launcher_console_find_at(const struct launcher_console *c, const char *needle, size_t *cursor);
/* The status N of the last "tinyx-init: exit status N", or -1. It counts anywhere in a line:
 * an app whose last output has no newline glues it on ("Hello!tinyx-init: exit status 0"). */
int launcher_console_exit_status(const struct launcher_console *c);

/* What the guest kernel prints when it panics (panic(): "Kernel panic - not syncing: WHY"). */
#define LAUNCHER_CONSOLE_PANIC "Kernel panic - not syncing"
/* Whether the kept output shows a kernel panic; out (may be NULL) gets the first panic line
 * from "Kernel panic" on, printable and shortened to len. */
bool launcher_console_panic(const struct launcher_console *c, char *out, size_t len);
/* The last non-empty line (without \r), shortened to len; "" when there is none. */
void launcher_console_last_line(const struct launcher_console *c, char *out, size_t len);
/* Write the last n lines to fd, each prefixed with prefix. */
void launcher_console_write_tail(const struct launcher_console *c, int fd, unsigned n,
                                 const char *prefix);

#endif
