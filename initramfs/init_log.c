/* init_log.c: the init's console messages: errors always, a timestamped trace with tinyx.debug. */
#include "initramfs/init_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool debug_on;

void initramfs_log_set_debug(bool on)
{
    debug_on = on;
}

bool initramfs_log_debugging(void)
{
    return debug_on;
}

static void vappend(char *buf, size_t size, size_t *used, const char *fmt, va_list ap)
{
    if (*used >= size)
        return;
    int n = vsnprintf(buf + *used, size - *used, fmt, ap);
    if (n < 0)
        return;
    *used += (size_t)n < size - *used ? (size_t)n : size - *used - 1;
}

static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vappend(buf, size, used, fmt, ap);
    va_end(ap);
}

/* One write() per message, so the init's lines and the app's output do not mix mid-line. */
static void emit(const char *kind, int errnum, const char *fmt, va_list ap)
{
    char line[1024];
    size_t used = 0;
    int saved_errno = errno;

    if (debug_on) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        append(line, sizeof line - 1, &used, "[%5lld.%06ld] ", (long long)now.tv_sec,
               now.tv_nsec / 1000);
    }
    append(line, sizeof line - 1, &used, "tinyx-init: %s", kind);
    vappend(line, sizeof line - 1, &used, fmt, ap);
    if (errnum)
        append(line, sizeof line - 1, &used, ": %s", strerror(errnum));
    line[used++] = '\n';

    for (size_t done = 0; done < used;) {
        ssize_t n = write(STDERR_FILENO, line + done, used - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    errno = saved_errno;
}

void initramfs_debug(const char *fmt, ...)
{
    if (!debug_on)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit("", 0, fmt, ap);
    va_end(ap);
}

void initramfs_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("error: ", 0, fmt, ap);
    va_end(ap);
}

void initramfs_error_errno(int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("error: ", errnum, fmt, ap);
    va_end(ap);
}
