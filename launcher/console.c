/* console.c: keep the newest part of the guest console in memory and answer questions about it. */
#include "launcher/console.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "initramfs/boot_abi.h"
#include "tinyx/util.h"

void launcher_console_init(struct launcher_console *c, size_t max_bytes)
{
    memset(c, 0, sizeof(*c));
    c->max = max_bytes < 4096 ? 4096 : max_bytes;
    c->cap = 4096;
    c->buf = tinyx_xmalloc(c->cap);
    c->buf[0] = '\0';
}

void launcher_console_free(struct launcher_console *c)
{
    free(c->buf);
    memset(c, 0, sizeof(*c));
}

void launcher_console_append(struct launcher_console *c, const char *data, size_t n)
{
    if (n > c->max) {
        c->dropped += c->len + (n - c->max);
        c->len = 0;
        data += n - c->max;
        n = c->max;
    }
    if (c->len + n > c->max) {
        /* Drop the oldest half at once so appends stay cheap. */
        size_t drop = c->len + n - c->max;
        if (drop < c->max / 2)
            drop = c->max / 2;
        if (drop > c->len)
            drop = c->len;
        memmove(c->buf, c->buf + drop, c->len - drop);
        c->len -= drop;
        c->dropped += drop;
    }
    if (c->len + n + 1 > c->cap) {
        while (c->len + n + 1 > c->cap)
            c->cap *= 2;
        c->buf = tinyx_xrealloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    c->buf[c->len] = '\0';
}

bool launcher_console_find_at(const struct launcher_console *c, const char *needle, size_t *cursor)
{
    size_t needle_len = strlen(needle);
    size_t start = *cursor > c->dropped ? *cursor - c->dropped : 0;
    if (start > c->len)
        start = c->len;
    bool found = needle_len && memmem(c->buf + start, c->len - start, needle, needle_len);
    /* Next time, rescan only the tail that could begin a match. */
    size_t keep = needle_len ? needle_len - 1 : 0;
    size_t next = c->len > keep ? c->len - keep : 0;
    if (next > start)
        *cursor = c->dropped + next;
    return found;
}

bool launcher_console_find(struct launcher_console *c, const char *needle)
{
    return launcher_console_find_at(c, needle, &c->search_pos);
}

int launcher_console_exit_status(const struct launcher_console *c)
{
    const char *key = BOOT_ABI_EXIT_LINE;
    size_t key_len = strlen(key);
    int status = -1;
    for (const char *p = c->buf; (p = memmem(p, c->len - (size_t)(p - c->buf), key, key_len));
         p += key_len) {
        const char *digits = p + key_len;
        if (*digits < '0' || *digits > '9')
            continue;
        char *end;
        long v = strtol(digits, &end, 10);
        if (v >= 0 && v <= 255 && (*end == '\r' || *end == '\n' || *end == '\0' || *end == ' '))
            status = (int)v;
    }
    return status;
}

/* Copy [start, stop) to out as one printable line of at most len - 1 bytes. */
static void copy_printable(const char *start, const char *stop, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = start; p < stop && n + 1 < len; p++)
        out[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    out[n] = '\0';
}

bool launcher_console_panic(const struct launcher_console *c, char *out, size_t len)
{
    const char *p = memmem(c->buf, c->len, LAUNCHER_CONSOLE_PANIC, strlen(LAUNCHER_CONSOLE_PANIC));
    if (!p)
        return false;
    if (out && len) {
        const char *end = c->buf + c->len;
        const char *stop = memchr(p, '\n', (size_t)(end - p));
        if (!stop)
            stop = end;
        while (stop > p && (stop[-1] == '\r' || stop[-1] == ' '))
            stop--;
        copy_printable(p, stop, out, len);
    }
    return true;
}

/* Start of the line that ends at or before end (exclusive), skipping \r. */
static const char *line_start(const char *buf, const char *end)
{
    while (end > buf && end[-1] != '\n')
        end--;
    return end;
}

void launcher_console_last_line(const struct launcher_console *c, char *out, size_t len)
{
    if (!len)
        return;
    out[0] = '\0';
    const char *end = c->buf + c->len;
    while (end > c->buf) {
        const char *start = line_start(c->buf, end);
        const char *stop = end;
        while (stop > start && (stop[-1] == '\n' || stop[-1] == '\r' || stop[-1] == ' '))
            stop--;
        if (stop > start) {
            copy_printable(start, stop, out, len);
            return;
        }
        end = start > c->buf ? start - 1 : c->buf;
    }
}

void launcher_console_write_tail(const struct launcher_console *c, int fd, unsigned n,
                                 const char *prefix)
{
    if (n == 0)
        return;
    const char *start = c->buf + c->len;
    if (start > c->buf && start[-1] == '\n')
        start--; /* a final newline does not open an empty last line */
    for (unsigned newlines = 0; start > c->buf; start--)
        if (start[-1] == '\n' && ++newlines == n)
            break;
    const char *end = c->buf + c->len;
    while (start < end) {
        const char *nl = memchr(start, '\n', (size_t)(end - start));
        size_t line_len = nl ? (size_t)(nl - start) : (size_t)(end - start);
        while (line_len && start[line_len - 1] == '\r')
            line_len--;
        ssize_t w = write(fd, prefix, strlen(prefix));
        w = write(fd, start, line_len);
        w = write(fd, "\n", 1);
        (void)w;
        start += nl ? (size_t)(nl - start) + 1 : line_len;
        if (!nl)
            break;
    }
}
