/* crc32.h: CRC-32 as zlib and gzip compute it (IEEE 802.3, reflected, poly 0xedb88320). */
#ifndef TG_CRC32_H
#define TG_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Start with crc = 0; feed the data in pieces, passing each result to the next call. */
uint32_t tg_crc32(uint32_t crc, const void *data, size_t len);

#endif
