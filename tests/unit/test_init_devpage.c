/* test_init_devpage.c: the guest init's device page parser and its /dev/mem reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "initramfs/init_devpage.h"

static struct initramfs_devpage out;

/* A page as the launcher writes it (launcher/devpage.c): n net devices, the first with an
 * address and gateway, the others with an address only. */
static void make_page(struct devpage_abi *p, unsigned n)
{
    memset(p, 0, sizeof *p);
    p->magic = DEVPAGE_ABI_MAGIC;
    p->version = DEVPAGE_ABI_VERSION;
    p->size = sizeof *p;
    p->count = n;
    p->instance = 4242;
    for (unsigned i = 0; i < n; i++) {
        struct devpage_abi_device *d = &p->dev[i];
        d->type = DEVPAGE_ABI_NET;
        d->irq = 5 + i;
        d->mmio_base = 0xd0000000u + i * 0x1000u;
        d->mmio_size = 0x200;
        memcpy(d->mac, (uint8_t[6]){0x02, 0, 0, 0, 0, (uint8_t)(i + 1)}, 6);
        d->flags = DEVPAGE_ABI_HAS_IP | (i == 0 ? DEVPAGE_ABI_HAS_GW : 0);
        d->prefix = (uint8_t)(24 + i);
        memcpy(d->ip, (uint8_t[4]){10, 0, (uint8_t)i, 2}, 4);
        if (i == 0)
            memcpy(d->gw, (uint8_t[4]){10, 0, 0, 1}, 4);
    }
    p->checksum = devpage_abi_checksum(p, p->size);
}

/* After an edit: the checksum made right again, so only the edited field is wrong. */
static void reseal(struct devpage_abi *p)
{
    p->checksum = devpage_abi_checksum(p, sizeof *p);
}

static void assert_addr(struct in_addr got, const char *want)
{
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &got, text, sizeof text);
    assert_string_equal(text, want);
}

static void expect_valid(const void *page, size_t len)
{
    char err[256] = "";
    int rc = initramfs_devpage_parse(page, len, &out, err, sizeof err);
    if (rc != 1)
        fail_msg("valid page rejected (%d): %s", rc, err);
}

static void expect_none(const void *page, size_t len, const char *want)
{
    char err[256] = "";
    int rc = initramfs_devpage_parse(page, len, &out, err, sizeof err);
    if (rc != 0)
        fail_msg("expected no page, got %d (%s)", rc, err);
    if (!strstr(err, want))
        fail_msg("reason '%s' does not contain '%s'", err, want);
    assert_int_equal(out.n_nets, 0);
}

static void expect_invalid(const void *page, size_t len, const char *want)
{
    char err[256] = "";
    int rc = initramfs_devpage_parse(page, len, &out, err, sizeof err);
    if (rc != -1)
        fail_msg("expected an invalid page with '%s', got %d (%s)", want, rc, err);
    if (!strstr(err, want))
        fail_msg("error '%s' does not contain '%s'", err, want);
    assert_int_equal(out.n_nets, 0); /* nothing half-filled is left for the caller */
    assert_int_equal(out.n_devices, 0);
}

static void test_one_net(void **state)
{
    (void)state;
    struct devpage_abi p;
    make_page(&p, 1);
    expect_valid(&p, sizeof p);
    assert_int_equal(out.instance, 4242);
    assert_int_equal(out.n_devices, 1);
    assert_int_equal(out.n_nets, 1);
    static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};
    assert_memory_equal(out.net[0].mac, mac, 6);
    assert_true(out.net[0].has_ip);
    assert_addr(out.net[0].ip, "10.0.0.2");
    assert_int_equal(out.net[0].prefix, 24);
    assert_true(out.net[0].has_gw);
    assert_addr(out.net[0].gw, "10.0.0.1");
    assert_int_equal(out.net[0].mmio_base, 0xd0000000u);
    assert_int_equal(out.net[0].mmio_size, 0x200);
    assert_int_equal(out.net[0].irq, 5);
}

static void test_two_nets(void **state)
{
    (void)state;
    struct devpage_abi p;
    make_page(&p, 2);
    /* A whole page from /dev/mem: the bytes after `size` are not the page's. */
    static uint8_t whole[DEVPAGE_ABI_SIZE];
    memset(whole, 0xee, sizeof whole);
    memcpy(whole, &p, sizeof p);
    expect_valid(whole, sizeof whole);
    assert_int_equal(out.n_nets, 2);
    assert_addr(out.net[0].ip, "10.0.0.2");
    assert_true(out.net[0].has_gw);
    assert_int_equal(out.net[1].mac[5], 2);
    assert_true(out.net[1].has_ip);
    assert_addr(out.net[1].ip, "10.0.1.2");
    assert_int_equal(out.net[1].prefix, 25);
    assert_false(out.net[1].has_gw);
    assert_addr(out.net[1].gw, "0.0.0.0");
    assert_int_equal(out.net[1].irq, 6);
    assert_int_equal(out.net[1].mmio_base, 0xd0001000u);

    /* No address flag: the address bytes are not taken. */
    p.dev[1].flags = 0;
    reseal(&p);
    expect_valid(&p, sizeof p);
    assert_false(out.net[1].has_ip);
    assert_addr(out.net[1].ip, "0.0.0.0");
    assert_int_equal(out.net[1].prefix, 0);

    /* A blk entry counts as a device, not as a net. */
    p.dev[0].type = DEVPAGE_ABI_BLK;
    p.dev[0].flags = 0;
    reseal(&p);
    expect_valid(&p, sizeof p);
    assert_int_equal(out.n_devices, 2);
    assert_int_equal(out.n_nets, 1);
    assert_int_equal(out.net[0].mac[5], 2);
}

static void test_no_page(void **state)
{
    (void)state;
    static uint8_t zero[DEVPAGE_ABI_SIZE];
    expect_none(zero, sizeof zero, "all zeros");
    expect_none(zero, 0, "0 bytes");
    expect_none("TXD", 3, "3 bytes");

    struct devpage_abi p;
    make_page(&p, 1);
    p.magic ^= 0x01000000; /* "TXDQ" */
    expect_none(&p, sizeof p, "no magic");
    make_page(&p, 1);
    p.magic = 0;
    expect_none(&p, sizeof p, "no magic (0x00000000)");
}

static void test_short(void **state)
{
    (void)state;
    struct devpage_abi p;
    make_page(&p, 1);
    /* The magic alone, or part of the header: the page claims to be there but is not whole. */
    expect_invalid(&p, 4, "cut short: 4 bytes, the header alone is 32");
    expect_invalid(&p, 31, "cut short");
    expect_invalid(&p, 32, "cut short: 32 bytes, the page says 544");
    expect_invalid(&p, sizeof p - 1, "cut short");
    expect_valid(&p, sizeof p);
}

static void test_bad_header(void **state)
{
    (void)state;
    struct devpage_abi p;

    make_page(&p, 1);
    p.checksum ^= 0x10;
    expect_invalid(&p, sizeof p, "checksum");
    make_page(&p, 1);
    p.dev[0].ip[3] = 3; /* a byte changed after the checksum was taken */
    expect_invalid(&p, sizeof p, "checksum");

    make_page(&p, 1);
    p.version = 2;
    reseal(&p);
    expect_invalid(&p, sizeof p, "version 2, this init reads version 1");

    make_page(&p, 1);
    p.size = sizeof p - 64;
    reseal(&p);
    expect_invalid(&p, sizeof p, "size 480");
    make_page(&p, 1);
    p.size = 0xffffffffu;
    expect_invalid(&p, sizeof p, "size 4294967295");
    make_page(&p, 1);
    p.size = 0;
    expect_invalid(&p, sizeof p, "size 0");

    make_page(&p, 1);
    p.count = DEVPAGE_ABI_MAX_DEVICES + 1;
    reseal(&p);
    expect_invalid(&p, sizeof p, "9 devices, at most 8");
    make_page(&p, 1);
    p.count = 0x80000000u; /* count * 64 would wrap a 32-bit product */
    reseal(&p);
    expect_invalid(&p, sizeof p, "at most 8");

    make_page(&p, 1);
    p.reserved = 1;
    reseal(&p);
    expect_invalid(&p, sizeof p, "reserved");
}

static void test_bad_entry(void **state)
{
    (void)state;
    struct devpage_abi p;

    make_page(&p, 2);
    p.dev[1].prefix = 33;
    reseal(&p);
    expect_invalid(&p, sizeof p, "device 1: IPv4 prefix length 33");

    make_page(&p, 1);
    p.dev[0].flags |= 4;
    reseal(&p);
    expect_invalid(&p, sizeof p, "device 0: unknown flag bits 0x4");

    make_page(&p, 1);
    p.dev[0].pad0 = 1;
    reseal(&p);
    expect_invalid(&p, sizeof p, "device 0: padding");
    make_page(&p, 1);
    p.dev[0].reserved[23] = 1;
    reseal(&p);
    expect_invalid(&p, sizeof p, "reserved bytes");

    make_page(&p, 1);
    p.dev[0].type = 77;
    reseal(&p);
    expect_invalid(&p, sizeof p, "device 0: unknown type 77");

    make_page(&p, 1);
    p.dev[0].mmio_base = UINT64_MAX - 0x10;
    reseal(&p);
    expect_invalid(&p, sizeof p, "wraps");

    /* Entries past count are not looked at. */
    make_page(&p, 1);
    p.dev[3].type = 77;
    p.dev[3].prefix = 200;
    reseal(&p);
    expect_valid(&p, sizeof p);
    assert_int_equal(out.n_nets, 1);
}

static void test_max_count(void **state)
{
    (void)state;
    struct devpage_abi p;
    make_page(&p, DEVPAGE_ABI_MAX_DEVICES);
    expect_valid(&p, sizeof p);
    assert_int_equal(out.n_devices, DEVPAGE_ABI_MAX_DEVICES);
    assert_int_equal(out.n_nets, DEVPAGE_ABI_MAX_DEVICES);
    assert_int_equal(out.net[7].mac[5], 8);
    assert_addr(out.net[7].ip, "10.0.7.2");
    assert_int_equal(out.net[7].prefix, 31);

    make_page(&p, 0); /* no devices: still a page (the host says there are none) */
    expect_valid(&p, sizeof p);
    assert_int_equal(out.n_devices, 0);
}

/* Input of no particular alignment is read byte by byte. */
static void test_unaligned(void **state)
{
    (void)state;
    struct devpage_abi p;
    static uint8_t buf[sizeof p + 1];
    make_page(&p, 2);
    memcpy(buf + 1, &p, sizeof p);
    expect_valid(buf + 1, sizeof p);
    assert_int_equal(out.n_nets, 2);
    assert_int_equal(out.net[1].mmio_base, 0xd0001000u);
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

/* Random bytes flipped: never a crash (ASan/UBSan in the SAN=1 build), never a page accepted
 * whose checksummed bytes changed, never a read past len. */
static void test_fuzz(void **state)
{
    (void)state;
    struct devpage_abi good;
    make_page(&good, 3);
    unsigned accepted = 0, rejected = 0, absent = 0;
    for (unsigned round = 0; round < 20000; round++) {
        size_t len = sizeof good;
        if (round % 7 == 0)
            len = rnd() % (sizeof good + 1);
        /* Exactly len bytes on the heap, so ASan sees a read past the end. */
        uint8_t *buf = malloc(len ? len : 1);
        assert_non_null(buf);
        memcpy(buf, &good, len);
        unsigned flips = 1 + rnd() % 4;
        for (unsigned f = 0; f < flips && len; f++)
            buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
        if (round % 5 == 0 && len >= 20) { /* sometimes a matching checksum over damage */
            uint32_t sum = devpage_abi_checksum(buf, (uint32_t)len);
            memcpy(buf + 16, &sum, 4);
        }
        char err[256] = "";
        int rc = initramfs_devpage_parse(buf, len, &out, err, sizeof err);
        if (rc == 1) {
            uint32_t stored;
            memcpy(&stored, buf + 16, 4);
            assert_int_equal(len, sizeof good);
            if (stored != devpage_abi_checksum(buf, (uint32_t)len))
                fail_msg("round %u: accepted with a bad checksum", round);
            if (round % 5 != 0 && memcmp(buf, &good, len) != 0)
                fail_msg("round %u: damaged page accepted", round);
            assert_true(out.n_nets <= DEVPAGE_ABI_MAX_DEVICES);
            for (size_t i = 0; i < out.n_nets; i++)
                assert_true(out.net[i].prefix <= 32);
            accepted++;
        } else if (rc == -1) {
            assert_true(err[0] != '\0');
            rejected++;
        } else {
            assert_int_equal(rc, 0);
            absent++;
        }
        free(buf);
    }
    /* The loop took all three ways (else it tested less than it seems). */
    assert_true(accepted > 0);
    assert_true(rejected > 1000);
    assert_true(absent > 0);
}

/* The reader, on a file standing in for /dev/mem. */
static char *mem_file(const void *page, size_t len)
{
    static char path[] = "/tmp/test_init_devpage.XXXXXX";
    strcpy(path, "/tmp/test_init_devpage.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    if (len)
        assert_int_equal(pwrite(fd, page, len, DEVPAGE_ABI_GPA), (ssize_t)len);
    close(fd);
    return path;
}

static void test_load(void **state)
{
    (void)state;
    char err[256];
    struct devpage_abi p;
    make_page(&p, 2);

    static uint8_t whole[DEVPAGE_ABI_SIZE];
    memcpy(whole, &p, sizeof p);
    char *path = mem_file(whole, sizeof whole);
    assert_int_equal(initramfs_devpage_load(path, &out, err, sizeof err), 1);
    assert_int_equal(out.n_nets, 2);
    assert_int_equal(out.instance, 4242);
    unlink(path);

    memset(whole, 0, sizeof whole); /* what STRICT_DEVMEM shows for RAM */
    path = mem_file(whole, sizeof whole);
    assert_int_equal(initramfs_devpage_load(path, &out, err, sizeof err), 0);
    assert_non_null(strstr(err, "all zeros"));
    unlink(path);

    path = mem_file(NULL, 0); /* nothing at the offset: a read of 0 bytes */
    assert_int_equal(initramfs_devpage_load(path, &out, err, sizeof err), 0);
    unlink(path);

    p.checksum ^= 1;
    memcpy(whole, &p, sizeof p);
    path = mem_file(whole, sizeof whole);
    assert_int_equal(initramfs_devpage_load(path, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "checksum"));
    unlink(path);

    assert_int_equal(initramfs_devpage_load("/nonexistent/mem", &out, err, sizeof err), 0);
    assert_non_null(strstr(err, "cannot open /nonexistent/mem"));
    assert_int_equal(initramfs_devpage_load("/tmp", &out, err, sizeof err), 0); /* EISDIR */
    assert_non_null(strstr(err, "cannot read /tmp"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_net),    cmocka_unit_test(test_two_nets),
        cmocka_unit_test(test_no_page),    cmocka_unit_test(test_short),
        cmocka_unit_test(test_bad_header), cmocka_unit_test(test_bad_entry),
        cmocka_unit_test(test_max_count),  cmocka_unit_test(test_unaligned),
        cmocka_unit_test(test_fuzz),       cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
