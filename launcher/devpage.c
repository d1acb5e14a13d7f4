/* devpage.c: build and check the device page the daemon writes into each guest (noxs). */
#include "launcher/devpage.h"

#include <ctype.h>
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
        if (net->have_ip && net->prefix > 32)
            return 0;
        d->type = DEVPAGE_ABI_NET;
        d->irq = LAYOUT_VIRTIO_IRQ_BASE + i;
        d->mmio_base = LAYOUT_VIRTIO_MMIO_BASE + (uint64_t)i * LAYOUT_VIRTIO_MMIO_STRIDE;
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
