/* init_net.c: hostname, network interface, default route and resolv.conf, with plain ioctls. */
#include "initramfs/init_net.h"
#include "initramfs/init_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* "lo, sit0" (or a reason); if_nameindex needs no /sys, which the plan may not mount. */
static void list_interfaces(char *buf, size_t size)
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

static void set_hostname(const struct initramfs_plan *plan, const struct initramfs_cmdline *c)
{
    const char *name = c->hostname[0] ? c->hostname : plan->hostname;
    if (!name)
        return;
    if (sethostname(name, strlen(name)) != 0)
        initramfs_error_errno(errno, "cannot set the hostname to %s", name);
    else
        initramfs_debug("hostname %s", name);
}

static void setup_loopback(int sock)
{
    struct in_addr lo;
    lo.s_addr = htonl(INADDR_LOOPBACK);
    if (set_addr(sock, "lo", SIOCSIFADDR, lo) != 0 ||
        set_addr(sock, "lo", SIOCSIFNETMASK, netmask(8)) != 0 || bring_up(sock, "lo") != 0)
        initramfs_debug("lo: %s; loopback not configured", strerror(errno));
    else
        initramfs_debug("lo up: 127.0.0.1/8");
}

static bool setup_interface(int sock, const struct initramfs_cmdline *c)
{
    char ip[INET_ADDRSTRLEN], names[256];
    inet_ntop(AF_INET, &c->ip, ip, sizeof ip);

    if (if_nametoindex(c->iface) == 0) {
        list_interfaces(names, sizeof names);
        initramfs_error("network interface %s does not exist (interfaces: %s); %s/%u not "
                        "configured. Does the plan load its driver module, or should "
                        "tinyx.iface= name another?",
                        c->iface, names, ip, c->prefix);
        return false;
    }
    if (set_addr(sock, c->iface, SIOCSIFADDR, c->ip) != 0 ||
        set_addr(sock, c->iface, SIOCSIFNETMASK, netmask(c->prefix)) != 0) {
        initramfs_error_errno(errno, "cannot set address %s/%u on %s", ip, c->prefix, c->iface);
        return false;
    }
    if (bring_up(sock, c->iface) != 0) {
        initramfs_error_errno(errno, "cannot bring %s up", c->iface);
        return false;
    }
    initramfs_debug("%s up: %s/%u", c->iface, ip, c->prefix);
    return true;
}

static void add_default_route(int sock, const struct initramfs_cmdline *c)
{
    struct rtentry rt;
    struct in_addr any = {0};
    char gw[INET_ADDRSTRLEN], dev[IF_NAMESIZE];

    inet_ntop(AF_INET, &c->gw, gw, sizeof gw);
    memcpy(dev, c->iface, sizeof dev);
    memset(&rt, 0, sizeof rt);
    sockaddr_for(&rt.rt_dst, any);
    sockaddr_for(&rt.rt_genmask, any);
    sockaddr_for(&rt.rt_gateway, c->gw);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = dev;
    if (ioctl(sock, SIOCADDRT, &rt) != 0 && errno != EEXIST)
        initramfs_error_errno(errno, "cannot add the default route via %s on %s", gw, dev);
    else
        initramfs_debug("default route via %s on %s", gw, dev);
}

/* Written to a temporary file and renamed, so a reader never sees half a file. */
static void write_resolv_conf(const struct initramfs_cmdline *c)
{
    static const char path[] = "/etc/resolv.conf", tmp[] = "/etc/.resolv.conf.tinyx-init";
    char text[INITRAMFS_CMDLINE_MAX_DNS * (INET6_ADDRSTRLEN + 16)];
    size_t used = 0;

    for (size_t i = 0; i < c->n_dns; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "nameserver %s\n", c->dns[i]);
    mkdir("/etc", 0755);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write(fd, text, used) == (ssize_t)used;
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        initramfs_error_errno(errno, "cannot write %s", path);
        unlink(tmp);
        return;
    }
    initramfs_debug("wrote %s (%zu name servers)", path, c->n_dns);
}

void initramfs_net_setup(const struct initramfs_plan *plan, const struct initramfs_cmdline *c)
{
    set_hostname(plan, c);
    if (c->n_dns)
        write_resolv_conf(c);

    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        if (c->has_ip || c->has_gw)
            initramfs_error_errno(errno, "cannot configure the network: no IPv4 socket");
        else
            initramfs_debug("no IPv4 socket (%s); network left alone", strerror(errno));
        return;
    }
    setup_loopback(sock);
    /* Without a configured interface a route only adds a second, confusing error. */
    bool iface_ok = !c->has_ip || setup_interface(sock, c);
    if (c->has_gw && iface_ok)
        add_default_route(sock, c);
    close(sock);
}
