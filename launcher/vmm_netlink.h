/* vmm_netlink.h: rtnetlink helpers for taps (no `ip`, no scripts): link up, bridge, address. */
#ifndef LAUNCHER_VMM_NETLINK_H
#define LAUNCHER_VMM_NETLINK_H

#include <stdint.h>

/* Attach interface ifname to the existing bridge master (when master is not NULL) and bring
 * ifname up, with one RTM_NEWLINK request. 0, or -1 with a message saying what to fix. */
int launcher_netlink_link_up(const char *ifname, const char *master);

/* Remove interface ifname (RTM_DELLINK). 0 (also when it does not exist), or -1 with a
 * message. */
int launcher_netlink_link_del(const char *ifname);

/* Give interface ifname the IPv4 address addr/prefix (addr in network order; RTM_NEWADDR, so
 * the kernel adds the route to its subnet). 0, or -1 with a message saying what to fix. */
int launcher_netlink_addr_add(const char *ifname, const uint8_t addr[4], unsigned prefix);

#endif
