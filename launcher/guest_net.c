/* guest_net.c: where the host reaches the guest's ports, and its address as command-line words. */
#include "launcher/guest_net.h"

#include <stdio.h>
#include <string.h>

#include "initramfs/boot_abi.h"
#include "tinyx/util.h"

void launcher_guest_net_ntoa(const uint8_t ip[4], char out[INET_ADDRSTRLEN])
{
    snprintf(out, INET_ADDRSTRLEN, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
}

const struct launcher_vm_device *launcher_guest_net_addressed(const struct launcher_vm_device *devs,
                                                              size_t n, size_t *net_index)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (devs[i].kind != LAUNCHER_VM_DEVICE_NET)
            continue;
        if (devs[i].net.have_ip) {
            if (net_index)
                *net_index = k;
            return &devs[i];
        }
        k++;
    }
    return NULL;
}

size_t launcher_guest_net_ports(const struct launcher_image *img, int *ports, size_t max)
{
    size_t m = 0;
    for (size_t i = 0; i <= img->n_ports && m < max; i++) {
        int port;
        if (i < img->n_ports)
            port = img->ports[i];
        else if (img->check.kind == LAUNCHER_CHECK_TCP || img->check.kind == LAUNCHER_CHECK_HTTP)
            port = img->check.port;
        else
            break;
        bool seen = false;
        for (size_t k = 0; k < m; k++)
            seen = seen || ports[k] == port;
        if (!seen)
            ports[m++] = port;
    }
    return m;
}

void launcher_guest_net_direct(struct launcher_port_forward *f, size_t n, const char *addr)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(f[i].host_addr, sizeof(f[i].host_addr), "%s", addr);
        f[i].host_port = f[i].guest_port;
        f[i].direct = true;
    }
}

const struct launcher_port_forward *launcher_guest_net_find(const struct launcher_port_forward *f,
                                                            size_t n, int guest_port)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].guest_port == guest_port)
            return &f[i];
    return NULL;
}

char *launcher_guest_net_cmdline(const struct launcher_vm_device *devs, size_t n)
{
    size_t k = 0;
    const struct launcher_vm_device *d = launcher_guest_net_addressed(devs, n, &k);
    if (!d)
        return NULL;
    char ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN + 16] = "", iface[48] = "";
    launcher_guest_net_ntoa(d->net.ip, ip);
    if (d->net.have_gw) {
        char g[INET_ADDRSTRLEN];
        launcher_guest_net_ntoa(d->net.gw, g);
        snprintf(gw, sizeof(gw), " " BOOT_ABI_CMDLINE_GW "%s", g);
    }
    if (k)
        snprintf(iface, sizeof(iface), " " BOOT_ABI_CMDLINE_IFACE "eth%zu", k);
    return tinyx_xasprintf(BOOT_ABI_CMDLINE_IP "%s/%u%s%s", ip, d->net.prefix, gw, iface);
}
