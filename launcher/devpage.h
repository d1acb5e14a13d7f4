/* devpage.h: build the device page (guest-drivers/devpage_abi.h) for one VM's devices. */
#ifndef LAUNCHER_DEVPAGE_H
#define LAUNCHER_DEVPAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-drivers/devpage_abi.h"

/* One network device as the daemon plugs it (virtio slot = its index). */
struct launcher_devpage_net {
    uint8_t mac[6];
    bool have_ip, have_gw;
    uint8_t ip[4], gw[4]; /* network order */
    unsigned prefix;      /* 0-32 */
};

/* The page for n net devices in virtio-mmio slots 0..n-1 (launcher/layout.h windows and
 * GSIs, as the monitor attaches them): header, entries, checksum. Returns the bytes used
 * (page->size), or 0 when n is more than DEVPAGE_ABI_MAX_DEVICES or a prefix is above 32. */
size_t launcher_devpage_build(struct devpage_abi *page, uint64_t instance,
                              const struct launcher_devpage_net *nets, unsigned n);

/* Whether len bytes hold a well-formed page: magic, version, size, count, checksum, known
 * device types, windows inside the virtio-mmio area. */
bool launcher_devpage_valid(const void *bytes, size_t len);

/* "A.B.C.D" or, when prefix is not NULL, "A.B.C.D/P" (P 0-32; 32 when absent). */
bool launcher_devpage_parse_ipv4(const char *s, uint8_t ip[4], unsigned *prefix);
/* "XX:XX:XX:XX:XX:XX", unicast. */
bool launcher_devpage_parse_mac(const char *s, uint8_t mac[6]);

#endif
