/* init_devpage.h: the device page (noxs) the host writes into guest RAM: found and checked. */
#ifndef INITRAMFS_INIT_DEVPAGE_H
#define INITRAMFS_INIT_DEVPAGE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-drivers/devpage_abi.h"

/* One net device of the page, copied out of the guest-physical bytes. */
struct initramfs_devpage_net {
    uint8_t mac[6]; /* the MAC the device reports: how the init finds its interface */
    bool has_ip;    /* DEVPAGE_ABI_HAS_IP: ip/prefix are set */
    struct in_addr ip;
    unsigned prefix; /* 0-32 */
    bool has_gw;     /* DEVPAGE_ABI_HAS_GW: gw is set */
    struct in_addr gw;
    uint64_t mmio_base; /* virtio-mmio window (the kernel finds it on its command line) */
    uint32_t mmio_size;
    uint32_t irq;
};

struct initramfs_devpage {
    uint64_t instance; /* the toolstack's VM id */
    size_t n_devices;  /* entries of every type */
    size_t n_nets;     /* net entries, in page order */
    struct initramfs_devpage_net net[DEVPAGE_ABI_MAX_DEVICES];
};

/* Parse a device page from page[0..len). Pure: no I/O; every byte is untrusted (no read past
 * len, count and size are checked before use, unaligned input is fine). Returns 1 with *out
 * filled for a valid page; 0 when there is no page (fewer than 4 bytes, or no magic: all zeros
 * is the normal case under QEMU), with the reason in err; -1 when the magic is there but the
 * page is not valid (version, size, count, checksum, device type, prefix, flags, padding),
 * with a message in err. *out is zeroed unless 1 is returned. */
int initramfs_devpage_parse(const void *page, size_t len, struct initramfs_devpage *out, char *err,
                            size_t errlen);

/* Read DEVPAGE_ABI_SIZE bytes at offset DEVPAGE_ABI_GPA of mem_path ("/dev/mem") and parse
 * them. A missing file, a failed read, or a page of zeros (what STRICT_DEVMEM shows for RAM
 * below 1 MiB; the toolstack marks its page E820-reserved) is "no page": 0 with the reason in
 * err. Otherwise as initramfs_devpage_parse (a short read is parsed as far as it goes). */
int initramfs_devpage_load(const char *mem_path, struct initramfs_devpage *out, char *err,
                           size_t errlen);

/* initramfs_devpage_load("/dev/mem") with the outcome on the console: an invalid page is an
 * error, no page a debug line. Returns true for a valid page. */
bool initramfs_devpage_find(struct initramfs_devpage *out);

#endif
