/* test_virtio_blk.c: virtio-blk against a fake guest and a temporary disk image. */
#include "tests/unit/virtio_fake_guest.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "launcher/vdev_blk.h"

#define SECTORS 64u
#define SECTOR  512u

struct fixture {
    struct fake_guest g;
    char path[64];
    uint8_t disk[SECTORS * SECTOR]; /* what the file holds */
    struct launcher_vdev_blk *b;
    struct fake_queue q;
};

static void make_disk(struct fixture *f)
{
    snprintf(f->path, sizeof(f->path), "/tmp/test_virtio_blk.XXXXXX");
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    for (size_t i = 0; i < sizeof(f->disk); i++)
        f->disk[i] = (uint8_t)(i * 131 + (i >> 9) * 17);
    assert_int_equal(write(fd, f->disk, sizeof(f->disk)), sizeof(f->disk));
    close(fd);
}

static void open_device(struct fixture *f, bool ro)
{
    uint64_t sectors = 0;
    int fd = launcher_vdev_blk_open(f->path, ro, &sectors);
    assert_true(fd >= 0);
    assert_int_equal(sectors, SECTORS);
    f->b = launcher_vdev_blk_create(&f->g.vm, fd, sectors, ro, "disk-serial-0123456789");
    fake_irqfd(&f->b->mmio);
}

static void bring_up(struct fixture *f)
{
    struct launcher_virtio_mmio *d = &f->b->mmio;
    uint64_t want = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_BLK_F_FLUSH);
    if (f->b->ro)
        want |= 1ull << VIRTIO_BLK_F_RO;
    assert_true(fake_negotiate(d, want) & VIRTIO_CONFIG_S_FEATURES_OK);
    fake_queue_setup(&f->g, d, &f->q, 0, 16);
    fake_driver_ok(d);
}

static int setup_common(void **state, bool ro)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fake_guest_init(&f->g);
    make_disk(f);
    open_device(f, ro);
    bring_up(f);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_common(state, false);
}

static int setup_ro(void **state)
{
    return setup_common(state, true);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    launcher_vdev_blk_destroy(f->b);
    unlink(f->path);
    fake_guest_free(&f->g);
    free(f);
    return 0;
}

/* One request: header, then data buffers (readable for OUT, writable otherwise), then the
 * status byte. Returns the status, and the used length in *used_len. */
static uint8_t request(struct fixture *f, uint32_t type, uint64_t sector,
                       const struct fake_seg *data, unsigned n_data, uint32_t *used_len)
{
    uint64_t hdr = fake_alloc(&f->g, 16, 8), status = fake_alloc(&f->g, 1, 1);
    struct virtio_blk_outhdr h = {.type = type, .sector = sector};
    memcpy(fake_ptr(&f->g, hdr), &h, sizeof(h));
    *(uint8_t *)fake_ptr(&f->g, status) = 0x77;
    struct fake_seg segs[8];
    unsigned n = 0;
    segs[n++] = (struct fake_seg){hdr, 16, false};
    for (unsigned i = 0; i < n_data; i++)
        segs[n++] = data[i];
    segs[n++] = (struct fake_seg){status, 1, true};
    uint16_t head = fake_post(&f->g, &f->q, segs, n);
    fake_notify(&f->b->mmio, &f->q);
    uint32_t id = 0;
    assert_true(fake_used(&f->g, &f->q, &id, used_len));
    assert_int_equal(id, head);
    return *(uint8_t *)fake_ptr(&f->g, status);
}

static void file_bytes(struct fixture *f, uint64_t off, void *out, size_t len)
{
    int fd = open(f->path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, out, len, (off_t)off), (ssize_t)len);
    close(fd);
}

static void test_config_and_features(void **state)
{
    struct fixture *f = *state;
    struct launcher_virtio_mmio *d = &f->b->mmio;
    assert_int_equal(reg_read(d, VIRTIO_MMIO_DEVICE_ID), 2);
    uint64_t capacity = 0;
    launcher_virtio_mmio_access(d, VIRTIO_MMIO_CONFIG, false, (uint8_t *)&capacity, 8);
    assert_int_equal(capacity, SECTORS);
    reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES),
                     (1u << VIRTIO_BLK_F_FLUSH) | (1u << VIRTIO_BLK_F_SEG_MAX));
    uint32_t seg_max = 0;
    launcher_virtio_mmio_access(d, VIRTIO_MMIO_CONFIG + 12, false, (uint8_t *)&seg_max, 4);
    assert_int_equal(seg_max, LAUNCHER_VIRTQ_MAX_SIZE - 2);
}

static void test_read(void **state)
{
    struct fixture *f = *state;
    /* Sectors 2-4 into two buffers split mid-sector. */
    uint64_t a = fake_alloc(&f->g, 700, 8), b = fake_alloc(&f->g, 836, 8);
    struct fake_seg data[] = {{a, 700, true}, {b, 836, true}};
    uint32_t len = 0;
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 2, data, 2, &len), VIRTIO_BLK_S_OK);
    assert_int_equal(len, 1536 + 1);
    assert_memory_equal(fake_ptr(&f->g, a), f->disk + 2 * SECTOR, 700);
    assert_memory_equal(fake_ptr(&f->g, b), f->disk + 2 * SECTOR + 700, 836);
    /* The last sector. */
    uint64_t c = fake_alloc(&f->g, SECTOR, 8);
    struct fake_seg last[] = {{c, SECTOR, true}};
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, SECTORS - 1, last, 1, &len), VIRTIO_BLK_S_OK);
    assert_memory_equal(fake_ptr(&f->g, c), f->disk + (SECTORS - 1) * SECTOR, SECTOR);
    assert_int_equal(fake_irqs(&f->b->mmio), 2);
}

static void test_write_and_flush(void **state)
{
    struct fixture *f = *state;
    uint64_t a = fake_alloc(&f->g, 2 * SECTOR, 8);
    memset(fake_ptr(&f->g, a), 0x5c, 2 * SECTOR);
    struct fake_seg data[] = {{a, 2 * SECTOR, false}};
    uint32_t len = 0;
    assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 10, data, 1, &len), VIRTIO_BLK_S_OK);
    assert_int_equal(len, 1);
    uint8_t got[3 * SECTOR];
    file_bytes(f, 9 * SECTOR, got, sizeof(got));
    assert_memory_equal(got, f->disk + 9 * SECTOR, SECTOR); /* untouched before */
    for (size_t i = SECTOR; i < 3 * SECTOR; i++)
        assert_int_equal(got[i], 0x5c);
    assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &len), VIRTIO_BLK_S_OK);
    assert_int_equal(len, 1);
}

static void test_many_segments(void **state)
{
    struct fixture *f = *state;
    /* 4 sectors written from 6 uneven buffers, read back through 5 others. */
    const uint32_t out_len[] = {100, 412, 512, 1, 511, 512};
    const uint32_t in_len[] = {1024, 3, 509, 256, 256};
    struct fake_seg out[6], in[5];
    uint8_t pattern[4 * SECTOR];
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i ^ 0x3c);
    size_t at = 0;
    for (int i = 0; i < 6; i++) {
        out[i] = (struct fake_seg){fake_alloc(&f->g, out_len[i], 1), out_len[i], false};
        memcpy(fake_ptr(&f->g, out[i].gpa), pattern + at, out_len[i]);
        at += out_len[i];
    }
    for (int i = 0; i < 5; i++)
        in[i] = (struct fake_seg){fake_alloc(&f->g, in_len[i], 1), in_len[i], true};
    uint32_t len = 0;
    assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 20, out, 6, &len), VIRTIO_BLK_S_OK);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 20, in, 5, &len), VIRTIO_BLK_S_OK);
    assert_int_equal(len, 4 * SECTOR + 1);
    at = 0;
    for (int i = 0; i < 5; i++) {
        assert_memory_equal(fake_ptr(&f->g, in[i].gpa), pattern + at, in_len[i]);
        at += in_len[i];
    }
}

static void test_get_id(void **state)
{
    struct fixture *f = *state;
    uint64_t a = fake_alloc(&f->g, 20, 8);
    struct fake_seg data[] = {{a, 20, true}};
    uint32_t len = 0;
    assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, data, 1, &len), VIRTIO_BLK_S_OK);
    assert_int_equal(len, 21);
    assert_memory_equal(fake_ptr(&f->g, a), "disk-serial-01234567", 20); /* cut at 20 bytes */
}

static void test_unknown_type(void **state)
{
    struct fixture *f = *state;
    uint32_t len = 0;
    assert_int_equal(request(f, 99, 0, NULL, 0, &len), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(len, 1);
}

static void test_requests_past_the_end(void **state)
{
    struct fixture *f = *state;
    uint64_t a = fake_alloc(&f->g, 2 * SECTOR, 8);
    memset(fake_ptr(&f->g, a), 0x11, 2 * SECTOR);
    struct fake_seg two[] = {{a, 2 * SECTOR, true}};
    struct fake_seg two_out[] = {{a, 2 * SECTOR, false}};
    struct fake_seg odd[] = {{a, 100, true}};
    uint32_t len = 0;
    /* Straddles the end. */
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, SECTORS - 1, two, 1, &len), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(f, VIRTIO_BLK_T_OUT, SECTORS - 1, two_out, 1, &len),
                     VIRTIO_BLK_S_IOERR);
    /* Starts past the end. */
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, SECTORS, two, 1, &len), VIRTIO_BLK_S_IOERR);
    /* A sector whose byte offset overflows 64 bits. */
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, UINT64_MAX / 256, two, 1, &len),
                     VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(f, VIRTIO_BLK_T_OUT, UINT64_MAX, two_out, 1, &len),
                     VIRTIO_BLK_S_IOERR);
    /* Not a whole number of sectors. */
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, odd, 1, &len), VIRTIO_BLK_S_IOERR);
    /* Nothing was written to the file, and the device still works. */
    uint8_t got[SECTORS * SECTOR];
    file_bytes(f, 0, got, sizeof(got));
    assert_memory_equal(got, f->disk, sizeof(got));
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, two, 1, &len), VIRTIO_BLK_S_OK);
    assert_int_equal(f->b->errors, 6);
}

static void test_header_split_across_buffers(void **state)
{
    struct fixture *f = *state;
    uint64_t h1 = fake_alloc(&f->g, 4, 8), h2 = fake_alloc(&f->g, 12, 8);
    struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_IN, .sector = 7};
    memcpy(fake_ptr(&f->g, h1), &h, 4);
    memcpy(fake_ptr(&f->g, h2), (uint8_t *)&h + 4, 12);
    /* The status byte shares the last writable buffer with the data. */
    uint64_t tail = fake_alloc(&f->g, SECTOR + 1, 8);
    struct fake_seg segs[] = {{h1, 4, false}, {h2, 12, false}, {tail, SECTOR + 1, true}};
    fake_post(&f->g, &f->q, segs, 3);
    fake_notify(&f->b->mmio, &f->q);
    uint32_t id, len;
    assert_true(fake_used(&f->g, &f->q, &id, &len));
    assert_int_equal(len, SECTOR + 1);
    assert_memory_equal(fake_ptr(&f->g, tail), f->disk + 7 * SECTOR, SECTOR);
    assert_int_equal(*(uint8_t *)fake_ptr(&f->g, tail + SECTOR), VIRTIO_BLK_S_OK);
}

static void test_bad_requests(void **state)
{
    struct fixture *f = *state;
    /* A header shorter than 16 bytes: IOERR, nothing read. */
    uint64_t h = fake_alloc(&f->g, 8, 8), st = fake_alloc(&f->g, 1, 1);
    struct fake_seg shorthdr[] = {{h, 8, false}, {st, 1, true}};
    fake_post(&f->g, &f->q, shorthdr, 2);
    fake_notify(&f->b->mmio, &f->q);
    uint32_t id, len;
    assert_true(fake_used(&f->g, &f->q, &id, &len));
    assert_int_equal(*(uint8_t *)fake_ptr(&f->g, st), VIRTIO_BLK_S_IOERR);

    /* A data buffer outside RAM: the device stops (NEEDS_RESET), the monitor lives on. */
    uint64_t hdr = fake_alloc(&f->g, 16, 8);
    struct virtio_blk_outhdr out = {.type = VIRTIO_BLK_T_IN, .sector = 0};
    memcpy(fake_ptr(&f->g, hdr), &out, sizeof(out));
    struct fake_seg outside[] = {
        {hdr, 16, false}, {FAKE_RAM_SIZE - SECTOR / 2, SECTOR, true}, {st, 1, true}};
    fake_post(&f->g, &f->q, outside, 3);
    fake_notify(&f->b->mmio, &f->q);
    assert_false(fake_used(&f->g, &f->q, &id, &len));
    assert_true(reg_read(&f->b->mmio, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_no_status_byte(void **state)
{
    struct fixture *f = *state;
    uint64_t hdr = fake_alloc(&f->g, 16, 8);
    struct fake_seg segs[] = {{hdr, 16, false}};
    fake_post(&f->g, &f->q, segs, 1);
    fake_notify(&f->b->mmio, &f->q);
    uint32_t id, len;
    assert_false(fake_used(&f->g, &f->q, &id, &len));
    assert_true(reg_read(&f->b->mmio, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_read_only_disk(void **state)
{
    struct fixture *f = *state;
    reg_write(&f->b->mmio, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    assert_true(reg_read(&f->b->mmio, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_RO));
    uint64_t a = fake_alloc(&f->g, SECTOR, 8);
    memset(fake_ptr(&f->g, a), 0x99, SECTOR);
    struct fake_seg out[] = {{a, SECTOR, false}};
    struct fake_seg in[] = {{a, SECTOR, true}};
    uint32_t len = 0;
    assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 0, out, 1, &len), VIRTIO_BLK_S_IOERR);
    uint8_t got[SECTOR];
    file_bytes(f, 0, got, SECTOR);
    assert_memory_equal(got, f->disk, SECTOR);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 3, in, 1, &len), VIRTIO_BLK_S_OK);
    assert_memory_equal(fake_ptr(&f->g, a), f->disk + 3 * SECTOR, SECTOR);
    assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &len), VIRTIO_BLK_S_OK);
}

static void test_parse(void **state)
{
    (void)state;
    struct launcher_vdev_blk_config c;
    assert_int_equal(launcher_vdev_blk_parse("disk.img", &c), 0);
    assert_string_equal(c.path, "disk.img");
    assert_false(c.ro);
    free(c.path);
    assert_int_equal(launcher_vdev_blk_parse("/a,b/disk.img,ro", &c), 0);
    assert_string_equal(c.path, "/a,b/disk.img");
    assert_true(c.ro);
    free(c.path);
    assert_int_equal(launcher_vdev_blk_parse("x,rw", &c), 0);
    assert_string_equal(c.path, "x");
    assert_false(c.ro);
    free(c.path);
    assert_int_equal(launcher_vdev_blk_parse("", &c), -1);
    assert_int_equal(launcher_vdev_blk_parse(NULL, &c), -1);
}

static void test_open_errors(void **state)
{
    (void)state;
    uint64_t sectors = 0;
    assert_int_equal(launcher_vdev_blk_open("/nonexistent/disk.img", false, &sectors), -1);
    assert_int_equal(launcher_vdev_blk_open("/tmp", false, &sectors), -1);     /* a directory */
    assert_int_equal(launcher_vdev_blk_open("/dev/null", true, &sectors), -1); /* char dev */

    char path[] = "/tmp/test_virtio_blk_open.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "tiny", 4), 4);
    assert_int_equal(launcher_vdev_blk_open(path, false, &sectors), -1); /* < one sector */
    uint8_t buf[1000] = {0};
    assert_int_equal(pwrite(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
    close(fd);

    /* 1000 bytes: one whole sector (the tail is not visible). */
    int a = launcher_vdev_blk_open(path, false, &sectors);
    assert_true(a >= 0);
    assert_int_equal(sectors, 1);
    /* One writer at a time: a second open, read-write or read-only, is refused. */
    assert_int_equal(launcher_vdev_blk_open(path, false, &sectors), -1);
    assert_int_equal(launcher_vdev_blk_open(path, true, &sectors), -1);
    close(a);
    /* Readers share. */
    int r1 = launcher_vdev_blk_open(path, true, &sectors);
    int r2 = launcher_vdev_blk_open(path, true, &sectors);
    assert_true(r1 >= 0 && r2 >= 0);
    assert_int_equal(launcher_vdev_blk_open(path, false, &sectors), -1);
    close(r1);
    close(r2);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_and_features, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_and_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_past_the_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_split_across_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_status_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_disk, setup_ro, teardown),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
