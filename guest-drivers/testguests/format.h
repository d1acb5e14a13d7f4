/* format.h: printf-style formatting for the test guests (no libc). */
#ifndef TG_FORMAT_H
#define TG_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

/* Format through put(ctx, c), one character at a time. Returns the number of characters.
 * Conversions: %c %s %d %i %u %x %X %p %%; flags '-', '0' and '#'; width and precision (numbers or
 * '*'; precision limits %s); length modifiers hh h l ll z. */
int tg_vformat(void (*put)(void *ctx, char c), void *ctx, const char *fmt, va_list ap);

/* Like snprintf: always NUL-terminates when size > 0; returns the untruncated length. */
int tg_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
