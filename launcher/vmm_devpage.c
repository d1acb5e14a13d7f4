/* vmm_devpage.c: build and check the device page (noxs) the daemon and tinyx-kvm write into a
 * guest, and check the --net ip=/gw= values that go into it. */
#include "launcher/vmm_devpage.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/layout.h"

size_t launcher_devpage_build(struct devpage_abi *page, uint64_t instance,
                              const struct launcher_devpage_net *nets, unsigned n)
{
    if (n > DEVPAGE_ABI_MAX_DEVICES || n > LAYOUT_VIRTIO_MAX_DEVICES)
        return 0;
    memset(page, 0, sizeof(*page));
    page->magic = DEVPAGE_ABI_MAGIC;
    page->version = DEVPAGE_ABI_VERSION;
    page->size = sizeof(*page);
    page->count = n;
    page->instance = instance;
    for (unsigned i = 0; i < n; i++) {
        struct devpage_abi_device *d = &page->dev[i];
        const struct launcher_devpage_net *net = &nets[i];
        if ((net->have_ip && net->prefix > 32) || net->slot >= LAYOUT_VIRTIO_MAX_DEVICES)
            return 0;
        for (unsigned k = 0; k < i; k++)
            if (nets[k].slot == net->slot)
                return 0;
        d->type = DEVPAGE_ABI_NET;
        d->irq = LAYOUT_VIRTIO_IRQ_BASE + net->slot;
        d->mmio_base = LAYOUT_VIRTIO_MMIO_BASE + (uint64_t)net->slot * LAYOUT_VIRTIO_MMIO_STRIDE;
        d->mmio_size = LAYOUT_VIRTIO_MMIO_SIZE;
        memcpy(d->mac, net->mac, 6);
        if (net->have_ip) {
            d->flags |= DEVPAGE_ABI_HAS_IP;
            memcpy(d->ip, net->ip, 4);
            d->prefix = (uint8_t)net->prefix;
        }
        if (net->have_gw) {
            d->flags |= DEVPAGE_ABI_HAS_GW;
            memcpy(d->gw, net->gw, 4);
        }
    }
    page->checksum = devpage_abi_checksum(page, page->size);
    return page->size;
}

bool launcher_devpage_valid(const void *bytes, size_t len)
{
    struct devpage_abi page;
    if (len < offsetof(struct devpage_abi, dev) || len > sizeof(page))
        return false;
    memset(&page, 0, sizeof(page));
    memcpy(&page, bytes, len);
    if (page.magic != DEVPAGE_ABI_MAGIC || page.version != DEVPAGE_ABI_VERSION ||
        page.size != len || page.count > DEVPAGE_ABI_MAX_DEVICES ||
        offsetof(struct devpage_abi, dev) + page.count * sizeof(page.dev[0]) > len ||
        page.checksum != devpage_abi_checksum(bytes, (uint32_t)len))
        return false;
    uint64_t lo = LAYOUT_VIRTIO_MMIO_BASE,
             hi = LAYOUT_VIRTIO_MMIO_BASE +
                  (uint64_t)LAYOUT_VIRTIO_MAX_DEVICES * LAYOUT_VIRTIO_MMIO_STRIDE;
    for (unsigned i = 0; i < page.count; i++) {
        const struct devpage_abi_device *d = &page.dev[i];
        if (d->type != DEVPAGE_ABI_NET && d->type != DEVPAGE_ABI_BLK)
            return false;
        if (d->mmio_base < lo || d->mmio_base >= hi || d->mmio_size > hi - d->mmio_base ||
            d->prefix > 32)
            return false;
    }
    return true;
}

bool launcher_devpage_parse_ipv4(const char *s, uint8_t ip[4], unsigned *prefix)
{
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        if (!isdigit((unsigned char)*p))
            return false;
        unsigned v = 0;
        int digits = 0;
        while (isdigit((unsigned char)*p)) {
            v = v * 10 + (unsigned)(*p++ - '0');
            if (++digits > 3 || v > 255)
                return false;
        }
        ip[i] = (uint8_t)v;
        if (i < 3 && *p++ != '.')
            return false;
    }
    if (prefix)
        *prefix = 32;
    if (*p == '/' && prefix) {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        unsigned v = 0;
        int digits = 0;
        while (isdigit((unsigned char)*p)) {
            v = v * 10 + (unsigned)(*p++ - '0');
            if (++digits > 2)
                return false;
        }
        if (v > 32)
            return false;
        *prefix = v;
    }
    return *p == '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool launcher_devpage_parse_mac(const char *s, uint8_t mac[6])
{
    if (strlen(s) != 17)
        return false;
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
            return false;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return !(mac[0] & 1);
}

static bool say(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool say(char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* What keeps ip from being a host's unicast address ("a loopback address (127.0.0.0/8)"), or
 * NULL. */
static const char *not_unicast(const uint8_t ip[4])
{
    if (ip[0] == 0)
        return "a \"this network\" address (0.0.0.0/8)";
    if (ip[0] == 127)
        return "a loopback address (127.0.0.0/8)";
    if (ip[0] >= 224 && ip[0] <= 239)
        return "a multicast address (224.0.0.0/4)";
    if (ip[0] == 255 && ip[1] == 255 && ip[2] == 255 && ip[3] == 255)
        return "the broadcast address";
    if (ip[0] >= 240)
        return "a reserved address (240.0.0.0/4)";
    return NULL;
}

static uint32_t to_u32(const uint8_t ip[4])
{
    return (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3];
}

bool launcher_devpage_net_ip(const char *text, uint8_t ip[4], unsigned *prefix, char *why,
                             size_t why_len)
{
    if (!launcher_devpage_parse_ipv4(text, ip, prefix))
        return say(why, why_len,
                   "ip=%s is not an IPv4 address with a prefix length; write it like "
                   "ip=10.0.0.2/24",
                   text);
    if (!strchr(text, '/'))
        return say(why, why_len, "ip=%s has no prefix length; write it like ip=%s/24", text, text);
    if (*prefix < 1 || *prefix > 30)
        return say(why, why_len,
                   "ip=%s: the prefix length must be 1-30 (a /31 or /32 leaves no address for "
                   "the other side), as in ip=10.0.0.2/24",
                   text);
    const char *kind = not_unicast(ip);
    if (kind)
        return say(why, why_len, "ip=%s is %s; give the guest a unicast one, e.g. ip=10.0.0.2/24",
                   text, kind);
    uint32_t a = to_u32(ip), host_mask = (1u << (32 - *prefix)) - 1;
    if ((a & host_mask) == 0 || (a & host_mask) == host_mask) {
        uint32_t first = (a & ~host_mask) + 1;
        return say(why, why_len,
                   "ip=%s is the %s address of its subnet; pick a host address such as "
                   "ip=%u.%u.%u.%u/%u",
                   text, (a & host_mask) == 0 ? "network" : "broadcast", first >> 24,
                   (first >> 16) & 0xff, (first >> 8) & 0xff, first & 0xff, *prefix);
    }
    return true;
}

bool launcher_devpage_net_gw(const char *text, const uint8_t *ip, uint8_t gw[4], char *why,
                             size_t why_len)
{
    if (strchr(text, '/'))
        return say(why, why_len, "gw=%s: a gateway has no prefix length; write it like gw=10.0.0.1",
                   text);
    if (!launcher_devpage_parse_ipv4(text, gw, NULL))
        return say(why, why_len, "gw=%s is not an IPv4 address; write it like gw=10.0.0.1", text);
    const char *kind = not_unicast(gw);
    if (kind)
        return say(why, why_len,
                   "gw=%s is %s; give the unicast address of a router, e.g. gw=10.0.0.1", text,
                   kind);
    if (ip && !memcmp(ip, gw, 4))
        return say(why, why_len,
                   "gw=%s is the guest's own address (ip=); give the address of a router, "
                   "such as the host's side of the tap",
                   text);
    return true;
}
