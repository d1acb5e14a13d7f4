/* init_log.h: the init's console messages: errors always, a timestamped trace with tinyx.debug. */
#ifndef INITRAMFS_INIT_LOG_H
#define INITRAMFS_INIT_LOG_H

#include <stdbool.h>

/* tinyx.debug on the kernel command line turns the trace on. */
void initramfs_log_set_debug(bool on);
bool initramfs_log_debugging(void);

/* "[  1.234567] tinyx-init: ..." on stderr (the console), only with tinyx.debug. */
void initramfs_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "tinyx-init: error: ..." on stderr, always. */
void initramfs_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, with ": strerror(errnum)" appended. */
void initramfs_error_errno(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
