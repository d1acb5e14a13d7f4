/* devpage_abi.h: the device page (noxs-style): the host writes the guest's devices here, at a
 * fixed guest-physical address (launcher/layout.h LAYOUT_DEVPAGE), before the first guest
 * instruction; the guest reads it instead of negotiating. Shared by the launcher and guests. */
#ifndef GUEST_DRIVERS_DEVPAGE_ABI_H
#define GUEST_DRIVERS_DEVPAGE_ABI_H

#include <stdint.h>

/* Guest-physical address and size of the page (the launcher's layout.h checks it agrees). */
#define DEVPAGE_ABI_GPA  0x8000u
#define DEVPAGE_ABI_SIZE 0x1000u

#define DEVPAGE_ABI_MAGIC       0x50445854u /* "TXDP" little-endian */
#define DEVPAGE_ABI_VERSION     1u
#define DEVPAGE_ABI_MAX_DEVICES 8u

/* Device types. */
#define DEVPAGE_ABI_NET 1u
#define DEVPAGE_ABI_BLK 2u

/* Flags of a device entry. */
#define DEVPAGE_ABI_HAS_IP 1u /* ip/prefix are set */
#define DEVPAGE_ABI_HAS_GW 2u /* gw is set */

/* One device: 64 bytes, every field naturally aligned, little-endian. */
struct devpage_abi_device {
    uint32_t type;      /* DEVPAGE_ABI_NET, ... */
    uint32_t irq;       /* GSI on the IOAPIC */
    uint64_t mmio_base; /* virtio-mmio register window (guest-physical) */
    uint32_t mmio_size;
    uint32_t flags; /* DEVPAGE_ABI_HAS_* */
    uint8_t mac[6]; /* net: the MAC the device reports in its config space */
    uint8_t prefix; /* net: IPv4 prefix length, 0-32 */
    uint8_t pad0;   /* 0 */
    uint8_t ip[4];  /* net: IPv4 address, network order (first byte first) */
    uint8_t gw[4];  /* net: default gateway, network order */
    uint8_t reserved[24];
};

/* The page: the header, then count entries. checksum is devpage_abi_checksum() over the
 * first `size` bytes with the checksum field read as zero. */
struct devpage_abi {
    uint32_t magic;   /* DEVPAGE_ABI_MAGIC */
    uint32_t version; /* DEVPAGE_ABI_VERSION */
    uint32_t size;    /* bytes used: sizeof(struct devpage_abi) */
    uint32_t count;   /* entries used, at most DEVPAGE_ABI_MAX_DEVICES */
    uint32_t checksum;
    uint32_t reserved;
    uint64_t instance; /* the launcher's VM id (for the guest's messages) */
    struct devpage_abi_device dev[DEVPAGE_ABI_MAX_DEVICES];
};

_Static_assert(sizeof(struct devpage_abi_device) == 64, "devpage entry is 64 bytes");
_Static_assert(sizeof(struct devpage_abi) == 32 + 64 * DEVPAGE_ABI_MAX_DEVICES, "devpage layout");
_Static_assert(sizeof(struct devpage_abi) <= DEVPAGE_ABI_SIZE, "devpage fits its page");

/* FNV-1a over the bytes, the checksum field (bytes 16-19) counted as zero. */
static inline uint32_t devpage_abi_checksum(const void *page, uint32_t size)
{
    const uint8_t *p = (const uint8_t *)page;
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < size; i++)
        h = (h ^ (i >= 16 && i < 20 ? 0u : p[i])) * 16777619u;
    return h;
}

#endif
