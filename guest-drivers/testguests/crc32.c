/* crc32.c: CRC-32 (zlib/gzip's), byte at a time from a table computed by the compiler. */
#include "crc32.h"

/* One bit of the reflected CRC, then eight: the table entry for byte value i. */
#define CRC_BIT(c) (((c) >> 1) ^ (0xedb88320u & (0u - ((c)&1u))))
#define CRC_BYTE(i)                                                                                \
    CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT((uint32_t)(i)))))))))
#define ROW4(i)  CRC_BYTE(i), CRC_BYTE((i) + 1), CRC_BYTE((i) + 2), CRC_BYTE((i) + 3)
#define ROW16(i) ROW4(i), ROW4((i) + 4), ROW4((i) + 8), ROW4((i) + 12)
#define ROW64(i) ROW16(i), ROW16((i) + 16), ROW16((i) + 32), ROW16((i) + 48)

/* Built at compile time: where KVM emulates the guest (kvm_pvm) building it at run time would
 * cost milliseconds. */
static const uint32_t table[256] = {ROW64(0), ROW64(64), ROW64(128), ROW64(192)};

uint32_t tg_crc32(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}
