/* init_net.c: the guest's network setup: hostname, resolv.conf, addresses from page or cmdline. */
#include "initramfs/init_net.h"
#include "initramfs/boot_abi.h"
#include "initramfs/init_log.h"
#include "initramfs/init_netif.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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

static bool setup_interface(int sock, const struct initramfs_cmdline *c)
{
    char ip[INET_ADDRSTRLEN], names[256];
    inet_ntop(AF_INET, &c->ip, ip, sizeof ip);

    if (if_nametoindex(c->iface) == 0) {
        initramfs_netif_list(names, sizeof names);
        initramfs_error("network interface %s does not exist (interfaces: %s); %s/%u not "
                        "configured. Does the plan load its driver module, or should "
                        "tinyx.iface= name another?",
                        c->iface, names, ip, c->prefix);
        return false;
    }
    return initramfs_netif_configure(sock, c->iface, c->ip, c->prefix);
}

/* tinyx.ip= / tinyx.gw= on tinyx.iface= (eth0). */
static void setup_from_cmdline(int sock, const struct initramfs_cmdline *c)
{
    /* Without a configured interface a route only adds a second, confusing error. */
    bool iface_ok = !c->has_ip || setup_interface(sock, c);
    if (c->has_gw && iface_ok)
        initramfs_netif_default_route(sock, c->iface, c->gw);
}

/* One net device of the page: its interface found by MAC, its address set. Returns the
 * interface's name in iface, or false (reported). */
static bool setup_page_net(int sock, size_t i, const struct initramfs_devpage_net *n,
                           char iface[IF_NAMESIZE])
{
    char mac[18], ip[INET_ADDRSTRLEN], names[256];
    const uint8_t *m = n->mac;
    snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    inet_ntop(AF_INET, &n->ip, ip, sizeof ip);

    if (!n->has_ip) {
        initramfs_debug("device page: net %zu (%s) has no address; left alone", i, mac);
        return false;
    }
    if (!initramfs_netif_by_mac(sock, n->mac, iface, IF_NAMESIZE)) {
        initramfs_netif_list(names, sizeof names);
        initramfs_error("device page: no network interface has MAC %s (interfaces: %s); %s/%u "
                        "not configured. Does the plan load the virtio-net driver module?",
                        mac, names, ip, n->prefix);
        return false;
    }
    initramfs_debug("device page: net %zu (%s, mmio 0x%llx, irq %u) is %s", i, mac,
                    (unsigned long long)n->mmio_base, (unsigned)n->irq, iface);
    return initramfs_netif_configure(sock, iface, n->ip, n->prefix);
}

/* Every net device of the page that has an address; the default route goes with the first
 * one that has an address and a gateway. */
static void setup_from_page(int sock, const struct initramfs_devpage *page)
{
    bool route_taken = false;
    for (size_t i = 0; i < page->n_nets; i++) {
        const struct initramfs_devpage_net *n = &page->net[i];
        char iface[IF_NAMESIZE] = "";
        bool ok = setup_page_net(sock, i, n, iface);
        if (!n->has_ip || !n->has_gw)
            continue;
        if (route_taken) {
            initramfs_debug("device page: net %zu's gateway ignored (one default route)", i);
            continue;
        }
        route_taken = true;
        /* Without a configured interface a route only adds a second, confusing error. */
        if (ok)
            initramfs_netif_default_route(sock, iface, n->gw);
    }
}

static bool page_has_address(const struct initramfs_devpage *page)
{
    for (size_t i = 0; page && i < page->n_nets; i++)
        if (page->net[i].has_ip)
            return true;
    return false;
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

void initramfs_net_setup(const struct initramfs_plan *plan, const struct initramfs_cmdline *c,
                         const struct initramfs_devpage *page)
{
    set_hostname(plan, c);
    if (c->n_dns)
        write_resolv_conf(c);

    bool use_page = page_has_address(page);
    if (page && !use_page)
        initramfs_debug("the device page gives no address; the network comes from the kernel "
                        "command line");
    if (use_page && (c->has_ip || c->has_gw))
        initramfs_debug("the device page wins: " BOOT_ABI_CMDLINE_IP ", " BOOT_ABI_CMDLINE_GW
                        " and " BOOT_ABI_CMDLINE_IFACE " on the command line are ignored");

    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        if (use_page || c->has_ip || c->has_gw)
            initramfs_error_errno(errno, "cannot configure the network: no IPv4 socket");
        else
            initramfs_debug("no IPv4 socket (%s); network left alone", strerror(errno));
        return;
    }
    initramfs_netif_loopback(sock);
    if (use_page)
        setup_from_page(sock, page);
    else
        setup_from_cmdline(sock, c);
    close(sock);
}
