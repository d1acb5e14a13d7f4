/* util.h: small host-side helpers shared by tinyx and the launcher (messages, memory, files). */
#ifndef TINYX_UTIL_H
#define TINYX_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Program name used as the prefix of every message ("tinyx", "tinyx-launch"). */
extern const char *tinyx_progname;
/* 0 = errors and warnings only, 1 = progress (default), 2 = verbose. */
extern int tinyx_verbosity;

/* "PROG: error: ..." on stderr. Returns -1 so callers can `return tinyx_err(...)`. */
int tinyx_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tinyx_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Progress line on stderr (shown at verbosity >= 1). */
void tinyx_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Detail line on stderr (shown at verbosity >= 2). */
void tinyx_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the message with strerror(errno) appended; returns -1. */
int tinyx_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocation that cannot fail (aborts with a message on out-of-memory). */
void *tinyx_xmalloc(size_t n);
void *tinyx_xcalloc(size_t n, size_t size);
void *tinyx_xrealloc(void *p, size_t n);
char *tinyx_xstrdup(const char *s);
char *tinyx_xstrndup(const char *s, size_t n);
char *tinyx_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic clock in microseconds. */
uint64_t tinyx_now_us(void);

/* Files. All return 0 on success, -1 with a message printed on failure. */
int tinyx_mkdir_p(const char *path, mode_t mode);
/* Remove a tree (no error if it does not exist). Does not cross mount points. */
int tinyx_rm_rf(const char *path);
/* Read a whole file (NUL-terminated); *len gets its length if len != NULL. NULL on error. */
char *tinyx_read_file(const char *path, size_t *len);
/* Write data to path atomically: temp file in the same folder, fsync, rename. */
int tinyx_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Copy a regular file (atomically, via a temp file and rename). */
int tinyx_copy_file(const char *src, const char *dst, mode_t mode);
bool tinyx_is_dir(const char *path);
bool tinyx_exists(const char *path);
/* Directory of the running executable (from /proc/self/exe); static storage. */
const char *tinyx_self_dir(void);

/* Strings. */
bool tinyx_str_starts(const char *s, const char *prefix);
bool tinyx_str_ends(const char *s, const char *suffix);
/* Human size: "1.4 MiB". Returns buf. */
char *tinyx_human_size(uint64_t bytes, char *buf, size_t len);

#endif
