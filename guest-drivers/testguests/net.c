/* net.c: the net test guest: answer ARP and ICMP echo for its address, so ping proves it. */
#include "bootinfo.h"
#include "cmdline.h"
#include "console.h"
#include "devpage.h"
#include "inet.h"
#include "initramfs/boot_abi.h"
#include "mem.h"
#include "power.h"
#include "program.h"
#include "virtio_net.h"

#define ETH_HDR           14
#define ETH_MIN_FRAME     60 /* shorter frames are padded, as on the wire */
#define ETHERTYPE_IP      0x0800
#define ETHERTYPE_ARP     0x0806
#define ARP_LEN           28
#define ARP_REQUEST       1
#define ARP_REPLY         2
#define IP_PROTO_ICMP     1
#define ICMP_ECHO_REPLY   0
#define ICMP_ECHO_REQUEST 8

/* The short word for the address; the launcher writes BOOT_ABI_CMDLINE_IP (tinyx.ip=). */
#define CMDLINE_IP_SHORT "ip="
#define CMDLINE_COUNT    "net.count="

struct state {
    struct tg_net net;
    uint8_t ip[4];
    uint8_t out[TG_ETH_FRAME_MAX];
    unsigned arp_replies, echo_replies;
};

static void send_frame(struct state *st, size_t len)
{
    if (len < ETH_MIN_FRAME) {
        memset(st->out + len, 0, ETH_MIN_FRAME - len);
        len = ETH_MIN_FRAME;
    }
    tg_net_send(&st->net, st->out, len);
}

static void answer_arp(struct state *st, const uint8_t *f, size_t len)
{
    const uint8_t *a = f + ETH_HDR;
    if (len < ETH_HDR + ARP_LEN || tg_get_be16(a) != 1 || tg_get_be16(a + 2) != ETHERTYPE_IP ||
        a[4] != 6 || a[5] != 4 || tg_get_be16(a + 6) != ARP_REQUEST || memcmp(a + 24, st->ip, 4))
        return;
    uint8_t *o = st->out, *r = o + ETH_HDR;
    memcpy(o, a + 8, 6); /* to the asker's hardware address */
    memcpy(o + 6, st->net.mac, 6);
    tg_put_be16(o + 12, ETHERTYPE_ARP);
    memcpy(r, a, 6); /* htype, ptype, hlen, plen */
    tg_put_be16(r + 6, ARP_REPLY);
    memcpy(r + 8, st->net.mac, 6);
    memcpy(r + 14, st->ip, 4);
    memcpy(r + 18, a + 8, 10); /* the asker's hardware and protocol address */
    send_frame(st, ETH_HDR + ARP_LEN);
    st->arp_replies++;
    tg_printf("net: arp reply to %u.%u.%u.%u\n", a[14], a[15], a[16], a[17]);
}

static void answer_icmp(struct state *st, const uint8_t *f, size_t len)
{
    const uint8_t *ip = f + ETH_HDR;
    if (len < ETH_HDR + 20 || (ip[0] >> 4) != 4)
        return;
    size_t ihl = (size_t)(ip[0] & 0xf) * 4, total = tg_get_be16(ip + 2);
    if (ihl < 20 || total < ihl + 8 || total > len - ETH_HDR || ip[9] != IP_PROTO_ICMP ||
        (tg_get_be16(ip + 6) & 0x3fff) != 0 /* a fragment */ || memcmp(ip + 16, st->ip, 4) ||
        tg_inet_checksum(ip, ihl) != 0)
        return;
    const uint8_t *icmp = ip + ihl;
    size_t icmp_len = total - ihl;
    if (icmp[0] != ICMP_ECHO_REQUEST || icmp[1] != 0 || tg_inet_checksum(icmp, icmp_len) != 0)
        return;
    uint8_t *o = st->out, *rip = o + ETH_HDR, *ricmp = rip + ihl;
    memcpy(o, f + 6, 6);
    memcpy(o + 6, st->net.mac, 6);
    tg_put_be16(o + 12, ETHERTYPE_IP);
    memcpy(rip, ip, total);
    memcpy(rip + 12, ip + 16, 4); /* swap the addresses */
    memcpy(rip + 16, ip + 12, 4);
    rip[8] = 64; /* TTL */
    tg_put_be16(rip + 10, 0);
    tg_put_be16(rip + 10, tg_inet_checksum(rip, ihl));
    ricmp[0] = ICMP_ECHO_REPLY;
    tg_put_be16(ricmp + 2, 0);
    tg_put_be16(ricmp + 2, tg_inet_checksum(ricmp, icmp_len));
    send_frame(st, ETH_HDR + total);
    st->echo_replies++;
    tg_printf("net: echo reply to %u.%u.%u.%u seq=%u\n", ip[12], ip[13], ip[14], ip[15],
              tg_get_be16(icmp + 6));
}

static void handle_frame(struct state *st, const uint8_t *f, size_t len)
{
    if (len < ETH_HDR)
        return;
    uint16_t type = tg_get_be16(f + 12);
    if (type == ETHERTYPE_ARP)
        answer_arp(st, f, len);
    else if (type == ETHERTYPE_IP)
        answer_icmp(st, f, len);
}

/* The address: the last of tinyx.ip=ADDR[/PREFIX] and ip=ADDR on the command line. */
static int parse_address(const char *cmdline, uint8_t ip[4])
{
    struct tg_str long_v, short_v, v;
    bool have_long = tg_cmdline_get(cmdline, BOOT_ABI_CMDLINE_IP, &long_v);
    bool have_short = tg_cmdline_get(cmdline, "ip", &short_v);
    if (!have_long && !have_short) {
        tg_printf("net: no address: add " BOOT_ABI_CMDLINE_IP "ADDR (e.g. " BOOT_ABI_CMDLINE_IP
                  "10.0.0.2/24) to the command line\n");
        return TG_EXIT_USAGE;
    }
    v = have_long && (!have_short || long_v.s > short_v.s) ? long_v : short_v;
    unsigned prefix;
    if (!tg_parse_ipv4(v, ip, &prefix)) {
        tg_printf("net: '%.*s' is not an IPv4 address (want A.B.C.D or A.B.C.D/PREFIX)\n",
                  (int)v.len, v.s);
        return TG_EXIT_USAGE;
    }
    return 0;
}

int tg_main(void)
{
    static struct state st;
    tg_runtime_init();
    const char *cmdline = tg_cmdline();
    /* The device page (written by the launcher daemon) wins over the command line. */
    struct devpage_abi_device entry;
    bool ip_from_page =
        tg_devpage_find(DEVPAGE_ABI_NET, 0, &entry) && (entry.flags & DEVPAGE_ABI_HAS_IP);
    int rc = 0;
    if (ip_from_page)
        memcpy(st.ip, entry.ip, 4);
    else
        rc = parse_address(cmdline, st.ip);
    if (rc)
        return rc;
    uint64_t count = 0;
    struct tg_str v;
    if (tg_cmdline_get(cmdline, "net.count", &v) && !tg_parse_u64(v, false, &count)) {
        tg_printf("net: " CMDLINE_COUNT "'%.*s' is not a number\n", (int)v.len, v.s);
        return TG_EXIT_USAGE;
    }
    rc = tg_net_init(&st.net, cmdline);
    if (rc)
        return rc;
    const uint8_t *m = st.net.mac;
    tg_printf("net: virtio-mmio version %u at %#llx irq %u\n", st.net.dev.version,
              (unsigned long long)st.net.dev.base, st.net.dev.irq);
    tg_printf("net: ready ip=%u.%u.%u.%u mac=%02x:%02x:%02x:%02x:%02x:%02x%s\n", st.ip[0], st.ip[1],
              st.ip[2], st.ip[3], m[0], m[1], m[2], m[3], m[4], m[5],
              ip_from_page ? " (from device page)" : "");
    tg_boot_ready();
    while (!count || st.echo_replies < count) {
        size_t len;
        uint8_t *f;
        while ((f = tg_net_receive(&st.net, &len))) {
            handle_frame(&st, f, len);
            tg_net_recycle(&st.net, f);
        }
        if (tg_virtio_needs_reset(&st.net.dev)) {
            tg_printf("net: the device reports our rings broken (DEVICE_NEEDS_RESET)\n");
            return TG_EXIT_DEVICE;
        }
        if (!count || st.echo_replies < count)
            tg_net_wait(&st.net);
    }
    /* The last reply must leave before the VM powers off. */
    tg_net_flush(&st.net);
    tg_printf("net: done: %u echo replies, %u arp replies, %u interrupts\n", st.echo_replies,
              st.arp_replies, st.net.interrupts);
    return TG_EXIT_OK;
}
