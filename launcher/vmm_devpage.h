/* vmm_devpage.h: the device page (guest-drivers/devpage_abi.h) of one VM: built by the launcher
 * daemon for its shells and by a standalone tinyx-kvm for its --net devices (one builder for
 * both), checked, and the --net ip=/gw= values that go into it. */
#ifndef LAUNCHER_VMM_DEVPAGE_H
#define LAUNCHER_VMM_DEVPAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-drivers/devpage_abi.h"

/* One network device as plugged: its virtio-mmio slot (launcher/layout.h gives the slot's
 * window and GSI, as the monitor attaches it), MAC and optional address. */
struct launcher_devpage_net {
    unsigned slot; /* 0 .. LAYOUT_VIRTIO_MAX_DEVICES - 1, one device per slot */
    uint8_t mac[6];
    bool have_ip, have_gw;
    uint8_t ip[4], gw[4]; /* network order */
    unsigned prefix;      /* 0-32 */
};

/* The page for n net devices: header, one entry per device in the order given, checksum.
 * Returns the bytes used (page->size), or 0 when n is more than DEVPAGE_ABI_MAX_DEVICES, a slot
 * is out of range or taken twice, or a prefix is above 32. */
size_t launcher_devpage_build(struct devpage_abi *page, uint64_t instance,
                              const struct launcher_devpage_net *nets, unsigned n);

/* Whether len bytes hold a well-formed page: magic, version, size, count, checksum, known
 * device types, windows inside the virtio-mmio area. */
bool launcher_devpage_valid(const void *bytes, size_t len);

/* "A.B.C.D" or, when prefix is not NULL, "A.B.C.D/P" (P 0-32; 32 when absent). */
bool launcher_devpage_parse_ipv4(const char *s, uint8_t ip[4], unsigned *prefix);
/* "XX:XX:XX:XX:XX:XX", unicast. */
bool launcher_devpage_parse_mac(const char *s, uint8_t mac[6]);

/* The value of a --net ip= setting (tinyx-launch run and tinyx-kvm): a unicast IPv4 address
 * with a prefix length of 1-30 that is neither the subnet's network nor its broadcast address.
 * false with why set to one sentence naming the value and the fix (without "--net: "). */
bool launcher_devpage_net_ip(const char *text, uint8_t ip[4], unsigned *prefix, char *why,
                             size_t why_len);
/* The value of a --net gw= setting: a unicast IPv4 address without a prefix, other than ip
 * (the guest's own, may be NULL). Inside ip's subnet is not required. false with why set. */
bool launcher_devpage_net_gw(const char *text, const uint8_t *ip, uint8_t gw[4], char *why,
                             size_t why_len);

#endif
