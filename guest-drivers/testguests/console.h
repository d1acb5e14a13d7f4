/* console.h: console output on the 8250 UART (COM1), by polling. */
#ifndef TG_CONSOLE_H
#define TG_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>

/* One character; "\n" goes out as "\r\n" as a terminal expects. */
void tg_putc(char c);
void tg_write(const char *s, size_t len);
int tg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tg_vprintf(const char *fmt, va_list ap);

#endif
