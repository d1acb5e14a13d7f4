/* format.c: printf-style formatting (the subset the test guests print with). */
#include "format.h"

#include <stdbool.h>
#include <stdint.h>

struct spec {
    bool left;     /* '-' */
    bool zero;     /* '0' */
    bool alt;      /* '#': 0x before a non-zero hex number */
    int width;     /* -1: none */
    int precision; /* -1: none */
    int length;    /* 0 int, 1 long, 2 long long (also size_t), -1 short, -2 char */
};

struct out {
    void (*put)(void *ctx, char c);
    void *ctx;
    int count;
};

static void emit(struct out *o, char c)
{
    o->put(o->ctx, c);
    o->count++;
}

static void emit_padded(struct out *o, const char *s, int len, const struct spec *sp,
                        const char *prefix)
{
    int prefix_len = 0;
    while (prefix[prefix_len])
        prefix_len++;
    int pad = sp->width > len + prefix_len ? sp->width - len - prefix_len : 0;
    if (!sp->left && !sp->zero)
        for (; pad > 0; pad--)
            emit(o, ' ');
    for (int i = 0; i < prefix_len; i++)
        emit(o, prefix[i]);
    if (!sp->left && sp->zero)
        for (; pad > 0; pad--)
            emit(o, '0');
    for (int i = 0; i < len; i++)
        emit(o, s[i]);
    for (; pad > 0; pad--)
        emit(o, ' ');
}

static void emit_number(struct out *o, uint64_t value, bool negative, unsigned base, bool upper,
                        const struct spec *sp, const char *prefix)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    int n = 0;
    do {
        buf[sizeof(buf) - 1 - n++] = digits[value % base];
        value /= base;
    } while (value);
    emit_padded(o, buf + sizeof(buf) - n, n, sp, negative ? "-" : prefix);
}

static int parse_count(const char **p, va_list *ap)
{
    if (**p == '*') {
        (*p)++;
        return va_arg(*ap, int);
    }
    int n = 0;
    while (**p >= '0' && **p <= '9')
        n = n * 10 + (*(*p)++ - '0');
    return n;
}

static uint64_t take_unsigned(int length, va_list *ap)
{
    switch (length) {
    case 2:
        return va_arg(*ap, unsigned long long);
    case 1:
        return va_arg(*ap, unsigned long);
    case -1:
        return (unsigned short)va_arg(*ap, unsigned);
    case -2:
        return (unsigned char)va_arg(*ap, unsigned);
    default:
        return va_arg(*ap, unsigned);
    }
}

static int64_t take_signed(int length, va_list *ap)
{
    switch (length) {
    case 2:
        return va_arg(*ap, long long);
    case 1:
        return va_arg(*ap, long);
    case -1:
        return (short)va_arg(*ap, int);
    case -2:
        return (signed char)va_arg(*ap, int);
    default:
        return va_arg(*ap, int);
    }
}

int tg_vformat(void (*put)(void *ctx, char c), void *ctx, const char *fmt, va_list ap_in)
{
    struct out o = {put, ctx, 0};
    va_list ap;
    va_copy(ap, ap_in);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            emit(&o, *p);
            continue;
        }
        struct spec sp = {false, false, false, -1, -1, 0};
        for (p++;; p++) {
            if (*p == '-')
                sp.left = true;
            else if (*p == '0')
                sp.zero = true;
            else if (*p == '#')
                sp.alt = true;
            else
                break;
        }
        if ((*p >= '1' && *p <= '9') || *p == '*')
            sp.width = parse_count(&p, &ap);
        if (*p == '.') {
            p++;
            sp.precision = parse_count(&p, &ap);
        }
        for (;; p++) {
            if (*p == 'z') /* size_t is unsigned long here */
                sp.length = 1;
            else if (*p == 'l')
                sp.length = sp.length >= 1 ? 2 : 1;
            else if (*p == 'h')
                sp.length = sp.length < 0 ? -2 : -1;
            else
                break;
        }
        switch (*p) {
        case 'c': {
            char c = (char)va_arg(ap, int);
            emit_padded(&o, &c, 1, &sp, "");
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int len = 0;
            while (s[len] && (sp.precision < 0 || len < sp.precision))
                len++;
            sp.zero = false;
            emit_padded(&o, s, len, &sp, "");
            break;
        }
        case 'd':
        case 'i': {
            int64_t v = take_signed(sp.length, &ap);
            uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            emit_number(&o, mag, v < 0, 10, false, &sp, "");
            break;
        }
        case 'u':
            emit_number(&o, take_unsigned(sp.length, &ap), false, 10, false, &sp, "");
            break;
        case 'x':
        case 'X': {
            uint64_t v = take_unsigned(sp.length, &ap);
            emit_number(&o, v, false, 16, *p == 'X', &sp, sp.alt && v ? "0x" : "");
            break;
        }
        case 'p':
            emit_number(&o, (uintptr_t)va_arg(ap, void *), false, 16, false, &sp, "0x");
            break;
        case '%':
            emit(&o, '%');
            break;
        case '\0':
            p--; /* a lone '%' at the end: stop */
            break;
        default: /* unknown conversion: show it as written */
            emit(&o, '%');
            emit(&o, *p);
            break;
        }
    }
    va_end(ap);
    return o.count;
}

struct buffer {
    char *buf;
    size_t size;
    size_t len;
};

static void put_buffer(void *ctx, char c)
{
    struct buffer *b = ctx;
    if (b->len + 1 < b->size)
        b->buf[b->len] = c;
    b->len++;
}

int tg_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    struct buffer b = {buf, size, 0};
    va_list ap;
    va_start(ap, fmt);
    int n = tg_vformat(put_buffer, &b, fmt, ap);
    va_end(ap);
    if (size)
        buf[b.len < size ? b.len : size - 1] = '\0';
    return n;
}
