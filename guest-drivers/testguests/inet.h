/* inet.h: network byte order and the Internet checksum (RFC 1071). */
#ifndef TG_INET_H
#define TG_INET_H

#include <stddef.h>
#include <stdint.h>

/* Big-endian 16-bit value at p (unaligned is fine on x86). */
static inline uint16_t tg_get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void tg_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* The ones'-complement checksum of len bytes, ready to store big-endian; a region that
 * already holds its correct checksum sums to 0. */
uint16_t tg_inet_checksum(const uint8_t *p, size_t len);

#endif
