/* hostlink.h: the automatic host link of the kvm backend: for a guest whose ports the host must
 * reach, a tap of its own (gone with the VM) with a private /30, host .1 and guest .2, set up
 * with ioctls and rtnetlink (no program is run). */
#ifndef LAUNCHER_HOSTLINK_H
#define LAUNCHER_HOSTLINK_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* The tap's name (the kernel picks the number), and where the /30s come from: 100.64.0.0/16
 * (shared address space, RFC 6598), 16384 of them. */
#define LAUNCHER_HOSTLINK_TAP       "txk%d"
#define LAUNCHER_HOSTLINK_POOL      0x64400000u /* 100.64.0.0 */
#define LAUNCHER_HOSTLINK_POOL_BITS 16u
#define LAUNCHER_HOSTLINK_PREFIX    30u

/* An IPv4 address the host has, with its prefix length (host byte order). */
struct launcher_hostlink_addr {
    uint32_t addr;
    unsigned prefix;
};

/* The /30 for a tap with interface index ifindex (unique among live interfaces): the
 * (ifindex mod 16384)-th /30 of the pool, or the first after it (wrapping around) whose
 * addresses overlap none of the n host addresses' subnets. Returns its network address (host
 * byte order), or 0 when every /30 of the pool collides. */
uint32_t launcher_hostlink_subnet(unsigned ifindex, const struct launcher_hostlink_addr *host,
                                  size_t n);

/* The host's IPv4 addresses now (getifaddrs), malloc'd into *out. Returns how many, or -1
 * after a message. */
int launcher_hostlink_host_addrs(struct launcher_hostlink_addr **out);

struct launcher_hostlink {
    int fd; /* the tap (non-blocking); it goes away with its last descriptor */
    char ifname[IFNAMSIZ];
    uint8_t host_ip[4], guest_ip[4]; /* network order: .1 and .2 of the /30 */
    unsigned prefix;                 /* LAUNCHER_HOSTLINK_PREFIX */
    char guest_addr[INET_ADDRSTRLEN];
};

/* Create the tap, choose its /30 (launcher_hostlink_subnet over the host's addresses), give the
 * host's side .1 and bring it up. Returns 0, or a TINYX_EXIT_* code after a message (6 when
 * the host does not let us: no CAP_NET_ADMIN, no /dev/net/tun). */
int launcher_hostlink_open(struct launcher_hostlink *link);
/* Close the launcher's descriptor (the tap lives on while a VMM holds its copy). */
void launcher_hostlink_close(struct launcher_hostlink *link);

#endif
