/* init_netif.c: one network interface with plain ioctls: address, link up, route, MAC lookup. */
#include "initramfs/init_netif.h"
#include "initramfs/init_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static void ifreq_for(struct ifreq *ifr, const char *iface)
{
    memset(ifr, 0, sizeof *ifr);
    strncpy(ifr->ifr_name, iface, sizeof ifr->ifr_name - 1);
}

static void sockaddr_for(struct sockaddr *sa, struct in_addr addr)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr = addr;
    memcpy(sa, &sin, sizeof sin);
}

static int set_addr(int sock, const char *iface, unsigned long request, struct in_addr addr)
{
    struct ifreq ifr;
    ifreq_for(&ifr, iface);
    sockaddr_for(&ifr.ifr_addr, addr);
    return ioctl(sock, request, &ifr);
}

static int bring_up(int sock, const char *iface)
{
    struct ifreq ifr;
    ifreq_for(&ifr, iface);
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) != 0)
        return -1;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

static struct in_addr netmask(unsigned prefix)
{
    struct in_addr mask;
    mask.s_addr = prefix ? htonl(0xffffffffu << (32 - prefix)) : 0;
    return mask;
}

void initramfs_netif_loopback(int sock)
{
    struct in_addr lo;
    lo.s_addr = htonl(INADDR_LOOPBACK);
    if (set_addr(sock, "lo", SIOCSIFADDR, lo) != 0 ||
        set_addr(sock, "lo", SIOCSIFNETMASK, netmask(8)) != 0 || bring_up(sock, "lo") != 0)
        initramfs_debug("lo: %s; loopback not configured", strerror(errno));
    else
        initramfs_debug("lo up: 127.0.0.1/8");
}

bool initramfs_netif_configure(int sock, const char *iface, struct in_addr ip, unsigned prefix)
{
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &ip, text, sizeof text);
    if (set_addr(sock, iface, SIOCSIFADDR, ip) != 0 ||
        set_addr(sock, iface, SIOCSIFNETMASK, netmask(prefix)) != 0) {
        initramfs_error_errno(errno, "cannot set address %s/%u on %s", text, prefix, iface);
        return false;
    }
    if (bring_up(sock, iface) != 0) {
        initramfs_error_errno(errno, "cannot bring %s up", iface);
        return false;
    }
    initramfs_debug("%s up: %s/%u", iface, text, prefix);
    return true;
}

void initramfs_netif_default_route(int sock, const char *iface, struct in_addr gw)
{
    struct rtentry rt;
    struct in_addr any = {0};
    char text[INET_ADDRSTRLEN], dev[IF_NAMESIZE];

    inet_ntop(AF_INET, &gw, text, sizeof text);
    snprintf(dev, sizeof dev, "%s", iface);
    memset(&rt, 0, sizeof rt);
    sockaddr_for(&rt.rt_dst, any);
    sockaddr_for(&rt.rt_genmask, any);
    sockaddr_for(&rt.rt_gateway, gw);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = dev;
    if (ioctl(sock, SIOCADDRT, &rt) != 0 && errno != EEXIST)
        initramfs_error_errno(errno, "cannot add the default route via %s on %s", text, dev);
    else
        initramfs_debug("default route via %s on %s", text, dev);
}

bool initramfs_netif_by_mac(int sock, const uint8_t mac[6], char *name, size_t size)
{
    struct if_nameindex *all = if_nameindex();
    bool found = false;
    if (!all)
        return false;
    for (struct if_nameindex *i = all; i->if_index && !found; i++) {
        struct ifreq ifr;
        ifreq_for(&ifr, i->if_name);
        if (ioctl(sock, SIOCGIFHWADDR, &ifr) != 0 || ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER ||
            memcmp(ifr.ifr_hwaddr.sa_data, mac, 6) != 0)
            continue;
        snprintf(name, size, "%s", i->if_name);
        found = true;
    }
    if_freenameindex(all);
    return found;
}

void initramfs_netif_list(char *buf, size_t size)
{
    struct if_nameindex *all = if_nameindex();
    size_t used = 0;
    buf[0] = '\0';
    if (!all) {
        snprintf(buf, size, "cannot list them: %s", strerror(errno));
        return;
    }
    for (struct if_nameindex *i = all; i->if_index && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", i->if_name);
        used += n > 0 ? (size_t)n : 0;
    }
    if_freenameindex(all);
    if (!buf[0])
        snprintf(buf, size, "none");
}
