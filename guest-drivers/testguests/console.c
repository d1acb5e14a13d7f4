/* console.c: console output on the 8250 UART at COM1: poll "transmitter empty", write a byte. */
#include "console.h"

#include <stdint.h>

#include "format.h"
#include "io.h"

#define COM1_PORT     0x3f8
#define UART_THR      0 /* transmit holding register */
#define UART_LSR      5 /* line status register */
#define UART_LSR_THRE 0x20

/* A UART that never reports an empty transmitter must not hang the guest forever. */
#define THRE_POLL_LIMIT 1000000

static void uart_put(uint8_t byte)
{
    for (unsigned i = 0; i < THRE_POLL_LIMIT; i++) {
        if (tg_inb(COM1_PORT + UART_LSR) & UART_LSR_THRE)
            break;
        tg_pause();
    }
    tg_outb(COM1_PORT + UART_THR, byte);
}

void tg_putc(char c)
{
    if (c == '\n')
        uart_put('\r');
    uart_put((uint8_t)c);
}

void tg_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        tg_putc(s[i]);
}

static void put_console(void *ctx, char c)
{
    (void)ctx;
    tg_putc(c);
}

int tg_vprintf(const char *fmt, va_list ap)
{
    return tg_vformat(put_console, NULL, fmt, ap);
}

int tg_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = tg_vprintf(fmt, ap);
    va_end(ap);
    return n;
}
