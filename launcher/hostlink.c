/* hostlink.c: the kvm backend's automatic host link: a tap with a private /30, made by netlink. */
#include "launcher/hostlink.h"

#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/guest_net.h"
#include "launcher/vdev_net.h"
#include "launcher/vmm_netlink.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

#define SUBNETS (1u << (32 - LAUNCHER_HOSTLINK_POOL_BITS - (32 - LAUNCHER_HOSTLINK_PREFIX)))

static uint32_t mask_of(unsigned prefix)
{
    return prefix ? ~0u << (32 - prefix) : 0;
}

/* Whether net/prefix and the subnet of a host address share an address: they do when they
 * agree on the shorter of the two prefixes. */
static bool overlaps(uint32_t net, unsigned prefix, const struct launcher_hostlink_addr *a)
{
    uint32_t m = mask_of(a->prefix < prefix ? a->prefix : prefix);
    return (net & m) == (a->addr & m);
}

uint32_t launcher_hostlink_subnet(unsigned ifindex, const struct launcher_hostlink_addr *host,
                                  size_t n)
{
    for (unsigned k = 0; k < SUBNETS; k++) {
        unsigned i = (ifindex + k) % SUBNETS;
        uint32_t net = LAUNCHER_HOSTLINK_POOL + (i << (32 - LAUNCHER_HOSTLINK_PREFIX));
        bool taken = false;
        for (size_t j = 0; j < n && !taken; j++)
            taken = overlaps(net, LAUNCHER_HOSTLINK_PREFIX, &host[j]);
        if (!taken)
            return net;
    }
    return 0;
}

static unsigned prefix_of(const struct sockaddr *mask)
{
    if (!mask || mask->sa_family != AF_INET)
        return 32;
    uint32_t m = ntohl(((const struct sockaddr_in *)mask)->sin_addr.s_addr);
    unsigned p = 0;
    while (p < 32 && (m & (1u << (31 - p))))
        p++;
    return p;
}

int launcher_hostlink_host_addrs(struct launcher_hostlink_addr **out)
{
    struct ifaddrs *list;
    *out = NULL;
    if (getifaddrs(&list) < 0)
        return tinyx_errno("cannot list the host's addresses (getifaddrs)");
    size_t n = 0, cap = 0;
    for (const struct ifaddrs *i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            *out = tinyx_xrealloc(*out, cap * sizeof(**out));
        }
        (*out)[n].addr = ntohl(((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        (*out)[n].prefix = prefix_of(i->ifa_netmask);
        n++;
    }
    freeifaddrs(list);
    return (int)n;
}

static void put_u32(uint32_t v, uint8_t out[4])
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

int launcher_hostlink_open(struct launcher_hostlink *link)
{
    memset(link, 0, sizeof(*link));
    link->fd = launcher_vdev_net_open_tap(LAUNCHER_HOSTLINK_TAP, link->ifname);
    if (link->fd < 0)
        return errno == EPERM || errno == EACCES || errno == ENOENT || errno == ENODEV
                   ? TINYX_EXIT_ENV
                   : TINYX_EXIT_FAIL;
    struct launcher_hostlink_addr *host = NULL;
    int n = launcher_hostlink_host_addrs(&host);
    unsigned ifindex = if_nametoindex(link->ifname);
    uint32_t net = n < 0 || !ifindex ? 0 : launcher_hostlink_subnet(ifindex, host, (size_t)n);
    free(host);
    if (n >= 0 && !ifindex)
        tinyx_errno("tap %s has no interface index", link->ifname);
    else if (n >= 0 && !net)
        tinyx_err("no /30 of 100.64.0.0/%u is free on this host for tap %s (the host's addresses "
                  "cover them all)",
                  LAUNCHER_HOSTLINK_POOL_BITS, link->ifname);
    if (!net) {
        launcher_hostlink_close(link);
        return TINYX_EXIT_ENV;
    }
    put_u32(net + 1, link->host_ip);
    put_u32(net + 2, link->guest_ip);
    link->prefix = LAUNCHER_HOSTLINK_PREFIX;
    launcher_guest_net_ntoa(link->guest_ip, link->guest_addr);
    if (launcher_netlink_addr_add(link->ifname, link->host_ip, link->prefix) < 0 ||
        launcher_netlink_link_up(link->ifname, NULL) < 0) {
        int code = errno == EPERM ? TINYX_EXIT_ENV : TINYX_EXIT_FAIL;
        launcher_hostlink_close(link);
        return code;
    }
    return 0;
}

void launcher_hostlink_close(struct launcher_hostlink *link)
{
    if (link->fd >= 0)
        close(link->fd);
    link->fd = -1;
}
