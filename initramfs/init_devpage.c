/* init_devpage.c: the device page (noxs) the host writes into guest RAM: found and checked. */
#include "initramfs/init_devpage.h"
#include "initramfs/init_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HEADER_SIZE offsetof(struct devpage_abi, dev)
#define ENTRY_SIZE  sizeof(struct devpage_abi_device)
#define KNOWN_FLAGS (DEVPAGE_ABI_HAS_IP | DEVPAGE_ABI_HAS_GW)

/* Little-endian field reads from untrusted, possibly unaligned bytes. */
#define HDR32(p, field)  le32((p) + offsetof(struct devpage_abi, field))
#define HDR64(p, field)  le64((p) + offsetof(struct devpage_abi, field))
#define DEV32(e, field)  le32((e) + offsetof(struct devpage_abi_device, field))
#define DEV64(e, field)  le64((e) + offsetof(struct devpage_abi_device, field))
#define DEV_AT(e, field) ((e) + offsetof(struct devpage_abi_device, field))
#define DEV_RESERVED     sizeof(((struct devpage_abi_device *)0)->reserved)

static int say(int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int say(int rc, char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Entry i (at e, inside the checksummed bytes): checked, and copied out when it is a net. */
static int parse_entry(const uint8_t *e, unsigned i, struct initramfs_devpage *out, char *err,
                       size_t errlen)
{
    uint32_t type = DEV32(e, type), flags = DEV32(e, flags), mmio_size = DEV32(e, mmio_size);
    uint64_t mmio_base = DEV64(e, mmio_base);
    unsigned prefix = *DEV_AT(e, prefix);

    if (type != DEVPAGE_ABI_NET && type != DEVPAGE_ABI_BLK)
        return say(-1, err, errlen, "device %u: unknown type %u (known: %u net, %u blk)", i,
                   (unsigned)type, DEVPAGE_ABI_NET, DEVPAGE_ABI_BLK);
    if (flags & ~KNOWN_FLAGS)
        return say(-1, err, errlen, "device %u: unknown flag bits 0x%x", i,
                   (unsigned)(flags & ~KNOWN_FLAGS));
    if (*DEV_AT(e, pad0) || !all_zero(DEV_AT(e, reserved), DEV_RESERVED))
        return say(-1, err, errlen, "device %u: padding or reserved bytes are not zero", i);
    if (prefix > 32)
        return say(-1, err, errlen, "device %u: IPv4 prefix length %u (at most 32)", i, prefix);
    if (mmio_base + mmio_size < mmio_base)
        return say(-1, err, errlen, "device %u: mmio window 0x%llx+0x%x wraps around", i,
                   (unsigned long long)mmio_base, (unsigned)mmio_size);
    if (type != DEVPAGE_ABI_NET)
        return 0;

    struct initramfs_devpage_net *n = &out->net[out->n_nets++];
    memcpy(n->mac, DEV_AT(e, mac), sizeof n->mac);
    n->mmio_base = mmio_base;
    n->mmio_size = mmio_size;
    n->irq = DEV32(e, irq);
    n->has_ip = flags & DEVPAGE_ABI_HAS_IP;
    if (n->has_ip) {
        memcpy(&n->ip.s_addr, DEV_AT(e, ip), 4); /* network order, as in_addr keeps it */
        n->prefix = prefix;
    }
    n->has_gw = flags & DEVPAGE_ABI_HAS_GW;
    if (n->has_gw)
        memcpy(&n->gw.s_addr, DEV_AT(e, gw), 4);
    return 0;
}

static int parse(const uint8_t *p, size_t len, struct initramfs_devpage *out, char *err,
                 size_t errlen)
{
    if (len < 4)
        return say(0, err, errlen, "only %zu bytes to look at", len);
    if (le32(p) != DEVPAGE_ABI_MAGIC)
        return all_zero(p, len) ? say(0, err, errlen, "the page is all zeros")
                                : say(0, err, errlen, "no magic (0x%08x)", (unsigned)le32(p));
    if (len < HEADER_SIZE)
        return say(-1, err, errlen, "cut short: %zu bytes, the header alone is %zu", len,
                   HEADER_SIZE);

    uint32_t version = HDR32(p, version), size = HDR32(p, size), count = HDR32(p, count);
    uint32_t checksum = HDR32(p, checksum);
    if (version != DEVPAGE_ABI_VERSION)
        return say(-1, err, errlen, "version %u, this init reads version %u", (unsigned)version,
                   DEVPAGE_ABI_VERSION);
    if (size != sizeof(struct devpage_abi))
        return say(-1, err, errlen, "size %u, version %u pages are %zu bytes", (unsigned)size,
                   DEVPAGE_ABI_VERSION, sizeof(struct devpage_abi));
    if (size > len)
        return say(-1, err, errlen, "cut short: %zu bytes, the page says %u", len, (unsigned)size);
    if (count > DEVPAGE_ABI_MAX_DEVICES)
        return say(-1, err, errlen, "%u devices, at most %u", (unsigned)count,
                   DEVPAGE_ABI_MAX_DEVICES);
    /* size and count are checked: the entries lie inside the checksummed bytes. */
    uint32_t want = devpage_abi_checksum(p, size);
    if (checksum != want)
        return say(-1, err, errlen,
                   "checksum 0x%08x, the bytes give 0x%08x (damaged, or written half)",
                   (unsigned)checksum, (unsigned)want);
    if (HDR32(p, reserved))
        return say(-1, err, errlen, "the header's reserved field is not zero");

    out->instance = HDR64(p, instance);
    out->n_devices = count;
    for (unsigned i = 0; i < count; i++)
        if (parse_entry(p + HEADER_SIZE + i * ENTRY_SIZE, i, out, err, errlen) != 0)
            return -1;
    return 1;
}

int initramfs_devpage_parse(const void *page, size_t len, struct initramfs_devpage *out, char *err,
                            size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc = parse(page, len, out, err, errlen);
    if (rc != 1)
        memset(out, 0, sizeof *out);
    return rc;
}

int initramfs_devpage_load(const char *mem_path, struct initramfs_devpage *out, char *err,
                           size_t errlen)
{
    static uint8_t buf[DEVPAGE_ABI_SIZE];
    memset(out, 0, sizeof *out);
    int fd = open(mem_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return say(0, err, errlen, "cannot open %s: %s", mem_path, strerror(errno));
    ssize_t n;
    do
        n = pread(fd, buf, sizeof buf, DEVPAGE_ABI_GPA);
    while (n < 0 && errno == EINTR);
    int read_errno = errno;
    close(fd);
    if (n < 0)
        return say(0, err, errlen, "cannot read %s at 0x%x: %s", mem_path, DEVPAGE_ABI_GPA,
                   strerror(read_errno));
    return initramfs_devpage_parse(buf, (size_t)n, out, err, errlen);
}

bool initramfs_devpage_find(struct initramfs_devpage *out)
{
    char err[256];
    int rc = initramfs_devpage_load("/dev/mem", out, err, sizeof err);
    if (rc < 0)
        initramfs_error("device page at 0x%x: %s; ignoring it", DEVPAGE_ABI_GPA, err);
    else if (rc == 0)
        initramfs_debug("no device page at 0x%x (%s)", DEVPAGE_ABI_GPA, err);
    else
        initramfs_debug("device page: instance %llu, %zu devices, %zu of them net",
                        (unsigned long long)out->instance, out->n_devices, out->n_nets);
    return rc > 0;
}
