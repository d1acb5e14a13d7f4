/* test_vmm_pvh.c: tinyx-kvm's PVH ELF loader against crafted good and broken kernels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "launcher/layout.h"
#include "launcher/vmm.h"
#include "launcher/vmm_pvh.h"
#include "tests/unit/vmm_test_elf.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

#define MIB (1024u * 1024u)

static char *tmp_dir;
static uint8_t elf[TEST_ELF_MAX];
static const uint8_t code[] = {0xb0, 0x7b, 0x66, 0xba, 0xf0, 0x03, 0xee, 0xf4};
static const uint32_t entry_1m = 0x100000;

static int setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/test-vmm-pvh-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    tmp_dir = tinyx_xstrdup(tmpl);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tinyx_rm_rf(tmp_dir);
    free(tmp_dir);
    return 0;
}

/* Messages go to stderr: keep them in a file while the code under test runs. */
static int saved_stderr = -1;
static char *capture_path;

static void capture_begin(void)
{
    capture_path = tinyx_xasprintf("%s/stderr", tmp_dir);
    int fd = open(capture_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

static char *capture_end(void)
{
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    char *text = tinyx_read_file(capture_path, NULL);
    assert_non_null(text);
    free(capture_path);
    return text;
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("expected \"%s\" in \"%s\"", part, text);
}

/* Fresh guest RAM, as the monitor gives it (anonymous, zero). */
static void ram_init(struct launcher_vmm *v, uint64_t bytes)
{
    memset(v, 0, sizeof(*v));
    void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(mem != MAP_FAILED);
    v->mem = mem;
    v->mem_size = bytes;
}

static void ram_free(struct launcher_vmm *v)
{
    munmap(v->mem, v->mem_size);
}

/* A one-segment kernel at paddr with the PVH note for entry. */
static char *kernel_file(const char *name, bool is64, uint64_t paddr, uint64_t memsz,
                         const uint32_t *entry, size_t *len_out)
{
    struct test_segment seg = {
        .paddr = paddr, .data = code, .filesz = sizeof(code), .memsz = memsz};
    struct test_note note = test_pvh_note(entry);
    size_t len = test_elf_build(elf, is64, &seg, 1, &note, entry ? 1 : 0);
    if (len_out)
        *len_out = len;
    return test_write_file(tmp_dir, name, elf, len);
}

/* Expect open to fail with TINYX_EXIT_IMAGE and a message containing why. */
static void expect_open_fails(const char *path, const char *why)
{
    struct launcher_pvh_kernel k;
    capture_begin();
    int rc = launcher_vmm_pvh_open(path, &k);
    char *msg = capture_end();
    assert_int_equal(rc, TINYX_EXIT_IMAGE);
    assert_contains(msg, why);
    free(msg);
}

static void test_good_elf32(void **state)
{
    (void)state;
    char *path = kernel_file("good32", false, 0x100000, 0x3000, &entry_1m, NULL);
    struct launcher_pvh_kernel k;
    assert_int_equal(launcher_vmm_pvh_open(path, &k), 0);
    assert_int_equal(k.entry, 0x100000);
    assert_int_equal(k.n_segments, 1);
    assert_int_equal(k.load_end, 0x103000);
    assert_false(k.is_linux);

    struct launcher_vmm v;
    ram_init(&v, 16 * MIB);
    assert_int_equal(launcher_vmm_pvh_load(&v, &k, NULL, "console=ttyS0 hello"), 0);
    assert_int_equal(v.entry, 0x100000);
    assert_memory_equal(v.mem + 0x100000, code, sizeof(code));
    assert_int_equal(v.mem[0x100000 + sizeof(code)], 0); /* .bss part */

    struct launcher_pvh_start_info *si = (void *)(v.mem + LAYOUT_START_INFO);
    assert_int_equal(si->magic, LAUNCHER_PVH_START_MAGIC);
    assert_int_equal(si->version, 1);
    assert_int_equal(si->nr_modules, 0);
    assert_int_equal(si->modlist_paddr, 0);
    assert_int_equal(si->cmdline_paddr, LAYOUT_CMDLINE);
    assert_string_equal((char *)v.mem + si->cmdline_paddr, "console=ttyS0 hello");
    assert_int_equal(si->memmap_paddr, LAYOUT_MEMMAP);
    assert_int_equal(si->memmap_entries, 4);
    struct launcher_pvh_memmap_entry *map = (void *)(v.mem + si->memmap_paddr);
    /* Low RAM around the reserved device page, then RAM from 1 MiB: sorted, no overlap. */
    assert_int_equal(map[0].addr, 0);
    assert_int_equal(map[0].size, LAYOUT_DEVPAGE);
    assert_int_equal(map[0].type, LAUNCHER_PVH_E820_RAM);
    assert_int_equal(map[1].addr, LAYOUT_DEVPAGE);
    assert_int_equal(map[1].size, LAYOUT_DEVPAGE_SIZE);
    assert_int_equal(map[1].type, LAUNCHER_PVH_E820_RESERVED);
    assert_int_equal(map[2].addr, LAYOUT_DEVPAGE + LAYOUT_DEVPAGE_SIZE);
    assert_int_equal(map[2].addr + map[2].size, LAYOUT_LOW_END);
    assert_int_equal(map[2].type, LAUNCHER_PVH_E820_RAM);
    assert_int_equal(map[3].addr, 0x100000);
    assert_int_equal(map[3].size, 16 * MIB - 0x100000);
    assert_int_equal(map[3].type, LAUNCHER_PVH_E820_RAM);
    ram_free(&v);
    free(path);
}

static void test_good_elf64_with_initrd(void **state)
{
    (void)state;
    /* A 64-bit vmlinux gives the entry as an 8-byte value; this one also says it is Linux. */
    uint64_t entry64 = 0x200010;
    uint8_t text[64];
    memset(text, 0x90, sizeof(text));
    struct test_segment seg = {
        .paddr = 0x200000, .data = text, .filesz = sizeof(text), .memsz = 0x1000};
    struct test_note notes[] = {
        {.name = "Xen", .type = 18, .desc = &entry64, .descsz = 8},
        {.name = "Linux", .type = 0x100, .desc = "salt", .descsz = 4},
    };
    size_t len = test_elf_build(elf, true, &seg, 1, notes, 2);
    char *path = test_write_file(tmp_dir, "good64", elf, len);
    uint8_t initrd_data[5000];
    for (size_t i = 0; i < sizeof(initrd_data); i++)
        initrd_data[i] = (uint8_t)(i * 7);
    char *initrd = test_write_file(tmp_dir, "initrd", initrd_data, sizeof(initrd_data));

    struct launcher_pvh_kernel k;
    assert_int_equal(launcher_vmm_pvh_open(path, &k), 0);
    assert_int_equal(k.entry, 0x200010);
    assert_true(k.is_linux);

    struct launcher_vmm v;
    ram_init(&v, 8 * MIB);
    assert_int_equal(launcher_vmm_pvh_load(&v, &k, initrd, ""), 0);
    assert_true(v.kernel_is_linux);
    struct launcher_pvh_start_info *si = (void *)(v.mem + LAYOUT_START_INFO);
    assert_int_equal(si->nr_modules, 1);
    assert_int_equal(si->modlist_paddr, LAYOUT_MODLIST);
    struct launcher_pvh_module *mod = (void *)(v.mem + si->modlist_paddr);
    /* Page-aligned, at the top of RAM. */
    assert_int_equal(mod->size, sizeof(initrd_data));
    assert_int_equal(mod->paddr % LAYOUT_INITRD_ALIGN, 0);
    assert_true(mod->paddr + mod->size <= 8 * MIB);
    assert_true(8 * MIB - (mod->paddr + mod->size) < LAYOUT_INITRD_ALIGN);
    assert_memory_equal(v.mem + mod->paddr, initrd_data, sizeof(initrd_data));
    assert_string_equal((char *)v.mem + LAYOUT_CMDLINE, "");
    ram_free(&v);
    free(path);
    free(initrd);
}

static void test_truncated(void **state)
{
    (void)state;
    size_t len;
    char *path = kernel_file("whole", false, 0x100000, 0x1000, &entry_1m, &len);
    /* Cut inside the segment's bytes, then inside the program headers, then the header. */
    char *cut = test_write_file(tmp_dir, "cut-segment", elf, len - 2);
    expect_open_fails(cut, "truncated");
    free(cut);
    cut = test_write_file(tmp_dir, "cut-phdrs", elf, sizeof(Elf32_Ehdr) + 8);
    expect_open_fails(cut, "truncated");
    free(cut);
    cut = test_write_file(tmp_dir, "cut-header", elf, 20);
    expect_open_fails(cut, "truncated");
    free(cut);
    free(path);
}

static void test_no_pvh_note(void **state)
{
    (void)state;
    char *path = kernel_file("nonote", true, 0x100000, 0x1000, NULL, NULL);
    expect_open_fails(path, "no PVH entry note");
    free(path);
    /* A note with another name or type is not the PVH note either. */
    struct test_segment seg = {
        .paddr = 0x100000, .data = code, .filesz = sizeof(code), .memsz = 0x1000};
    struct test_note other = {.name = "GNU", .type = 18, .desc = &entry_1m, .descsz = 4};
    size_t len = test_elf_build(elf, true, &seg, 1, &other, 1);
    path = test_write_file(tmp_dir, "gnunote", elf, len);
    expect_open_fails(path, "no PVH entry note");
    free(path);
}

static void test_not_an_elf(void **state)
{
    (void)state;
    char *path = test_write_file(tmp_dir, "text", "hello, this is not a kernel\n", 28);
    expect_open_fails(path, "not an ELF file");
    free(path);
    /* What a bzImage looks like at the setup header. */
    uint8_t bz[1024] = {0};
    bz[0x1fe] = 0x55;
    bz[0x1ff] = 0xaa;
    memcpy(bz + 0x202, "HdrS", 4);
    path = test_write_file(tmp_dir, "bzImage", bz, sizeof(bz));
    expect_open_fails(path, "bzImage");
    free(path);
    char *missing = tinyx_xasprintf("%s/does-not-exist", tmp_dir);
    expect_open_fails(missing, "cannot open");
    free(missing);
    path = test_write_file(tmp_dir, "empty", "", 0);
    expect_open_fails(path, "empty");
    free(path);
}

static void test_segment_placement(void **state)
{
    (void)state;
    /* Below 1 MiB, where the boot data lives. */
    uint32_t low_entry = 0x8000;
    char *path = kernel_file("low", false, 0x8000, 0x1000, &low_entry, NULL);
    expect_open_fails(path, "below 1 MiB");
    free(path);
    /* Past 4 GiB (and the sum would wrap in 32 bits). */
    uint32_t high_entry = 0xfffff000;
    path = kernel_file("wrap", true, 0xfffff000, 0x2000, &high_entry, NULL);
    expect_open_fails(path, "beyond 4 GiB");
    free(path);
    /* The entry must be inside a loaded segment. */
    uint32_t stray = 0x300000;
    path = kernel_file("stray", false, 0x100000, 0x1000, &stray, NULL);
    expect_open_fails(path, "lies in no loadable segment");
    free(path);

    /* Fine as a file, but outside 16 MiB of RAM: the load says so and names --mem. */
    uint32_t entry_64m = 64 * MIB;
    path = kernel_file("high", false, 64 * MIB, 0x1000, &entry_64m, NULL);
    struct launcher_pvh_kernel k;
    assert_int_equal(launcher_vmm_pvh_open(path, &k), 0);
    struct launcher_vmm v;
    ram_init(&v, 16 * MIB);
    capture_begin();
    int rc = launcher_vmm_pvh_load(&v, &k, NULL, "");
    char *msg = capture_end();
    assert_int_equal(rc, TINYX_EXIT_IMAGE);
    assert_contains(msg, "outside the 16 MiB of guest RAM");
    assert_contains(msg, "--mem");
    free(msg);
    ram_free(&v);
    free(path);
}

static void test_initrd_too_large(void **state)
{
    (void)state;
    char *path = kernel_file("k", false, 0x100000, 0x100000, &entry_1m, NULL);
    /* 3 MiB of initrd cannot sit above a kernel ending at 2 MiB in 4 MiB of RAM. */
    size_t big = 3 * MIB;
    uint8_t *data = tinyx_xcalloc(1, big);
    char *initrd = test_write_file(tmp_dir, "big-initrd", data, big);
    free(data);
    struct launcher_pvh_kernel k;
    assert_int_equal(launcher_vmm_pvh_open(path, &k), 0);
    struct launcher_vmm v;
    ram_init(&v, 4 * MIB);
    capture_begin();
    int rc = launcher_vmm_pvh_load(&v, &k, initrd, "");
    char *msg = capture_end();
    assert_int_equal(rc, TINYX_EXIT_IMAGE);
    assert_contains(msg, "does not fit in 4 MiB");
    assert_contains(msg, "give --mem 5 or more");
    free(msg);
    ram_free(&v);
    /* The same initrd fits in 8 MiB. */
    ram_init(&v, 8 * MIB);
    assert_int_equal(launcher_vmm_pvh_load(&v, &k, initrd, ""), 0);
    ram_free(&v);
    free(initrd);
    free(path);
}

static void test_corrupt_notes_and_headers(void **state)
{
    (void)state;
    size_t len;
    char *path = kernel_file("base", false, 0x100000, 0x1000, &entry_1m, &len);
    free(path);
    /* The note's name size runs past its segment. */
    size_t note_at = sizeof(Elf32_Ehdr) + 2 * sizeof(Elf32_Phdr);
    uint32_t huge = 0x7fffffff;
    uint8_t copy[TEST_ELF_MAX];
    memcpy(copy, elf, len);
    memcpy(copy + note_at, &huge, 4);
    path = test_write_file(tmp_dir, "badnote", copy, len);
    expect_open_fails(path, "corrupt ELF note");
    free(path);
    /* A PVH note whose value is neither 4 nor 8 bytes. */
    memcpy(copy, elf, len);
    uint32_t three = 3;
    memcpy(copy + note_at + 4, &three, 4);
    path = test_write_file(tmp_dir, "badentry", copy, len);
    expect_open_fails(path, "4 or 8");
    free(path);
    /* Program headers said to be elsewhere than the file has. */
    memcpy(copy, elf, len);
    Elf32_Ehdr *eh = (Elf32_Ehdr *)copy;
    eh->e_phoff = 0xfffffff0u;
    path = test_write_file(tmp_dir, "badphoff", copy, len);
    expect_open_fails(path, "truncated");
    free(path);
    memcpy(copy, elf, len);
    eh->e_phentsize = 7;
    path = test_write_file(tmp_dir, "badphent", copy, len);
    expect_open_fails(path, "bad program header table");
    free(path);
    /* Another machine. */
    memcpy(copy, elf, len);
    eh->e_machine = EM_AARCH64;
    path = test_write_file(tmp_dir, "arm", copy, len);
    expect_open_fails(path, "another machine");
    free(path);
    /* filesz > memsz */
    memcpy(copy, elf, len);
    Elf32_Phdr *ph = (Elf32_Phdr *)(copy + sizeof(Elf32_Ehdr));
    ph->p_memsz = 2;
    path = test_write_file(tmp_dir, "memsz", copy, len);
    expect_open_fails(path, "more file bytes than memory bytes");
    free(path);
}

static void test_cmdline_too_long(void **state)
{
    (void)state;
    char *path = kernel_file("k2", false, 0x100000, 0x1000, &entry_1m, NULL);
    struct launcher_pvh_kernel k;
    assert_int_equal(launcher_vmm_pvh_open(path, &k), 0);
    char *longline = tinyx_xcalloc(1, LAYOUT_CMDLINE_MAX + 1);
    memset(longline, 'x', LAYOUT_CMDLINE_MAX);
    struct launcher_vmm v;
    ram_init(&v, 4 * MIB);
    capture_begin();
    int rc = launcher_vmm_pvh_load(&v, &k, NULL, longline);
    char *msg = capture_end();
    assert_int_equal(rc, TINYX_EXIT_IMAGE);
    assert_contains(msg, "at most 4095 fit");
    free(msg);
    /* One byte shorter fits exactly. */
    longline[LAYOUT_CMDLINE_MAX - 1] = '\0';
    assert_int_equal(launcher_vmm_pvh_load(&v, &k, NULL, longline), 0);
    assert_int_equal(strlen((char *)v.mem + LAYOUT_CMDLINE), LAYOUT_CMDLINE_MAX - 1);
    ram_free(&v);
    free(longline);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_elf32),       cmocka_unit_test(test_good_elf64_with_initrd),
        cmocka_unit_test(test_truncated),        cmocka_unit_test(test_no_pvh_note),
        cmocka_unit_test(test_not_an_elf),       cmocka_unit_test(test_segment_placement),
        cmocka_unit_test(test_initrd_too_large), cmocka_unit_test(test_corrupt_notes_and_headers),
        cmocka_unit_test(test_cmdline_too_long),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
