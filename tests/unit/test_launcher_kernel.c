/* test_launcher_kernel.c: kernel files (bzImage, PVH ELF, anything else) and virtio-mmio modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/kernel.h"
#include "tinyx/util.h"

static char *tmp_dir;

static int setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/test-launcher-kernel-XXXXXX";
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

static char *write_bytes(const char *name, const void *data, size_t len)
{
    char *path = tinyx_xasprintf("%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("expected \"%s\" in \"%s\"", part, text);
}

/* A minimal x86-64 ELF file with one PT_NOTE segment holding one note. */
struct tiny_elf {
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    Elf64_Nhdr nh;
    char name[4];
    unsigned char desc[8];
};

static void make_elf(struct tiny_elf *e, uint16_t machine, const char *note_name,
                     uint32_t note_type)
{
    memset(e, 0, sizeof(*e));
    memcpy(e->eh.e_ident, ELFMAG, SELFMAG);
    e->eh.e_ident[EI_CLASS] = ELFCLASS64;
    e->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    e->eh.e_ident[EI_VERSION] = EV_CURRENT;
    e->eh.e_type = ET_EXEC;
    e->eh.e_machine = machine;
    e->eh.e_version = EV_CURRENT;
    e->eh.e_phoff = offsetof(struct tiny_elf, ph);
    e->eh.e_ehsize = sizeof(Elf64_Ehdr);
    e->eh.e_phentsize = sizeof(Elf64_Phdr);
    e->eh.e_phnum = 1;
    e->ph.p_type = PT_NOTE;
    e->ph.p_offset = offsetof(struct tiny_elf, nh);
    e->ph.p_filesz = e->ph.p_memsz = sizeof(*e) - offsetof(struct tiny_elf, nh);
    e->ph.p_align = 4;
    e->nh.n_namesz = 4;
    e->nh.n_descsz = 8;
    e->nh.n_type = note_type;
    memcpy(e->name, note_name, 4);
    e->desc[0] = 0xf0;
}

static void test_virtio_mmio_names(void **state)
{
    (void)state;
    enum launcher_virtio_discovery m = LAUNCHER_VIRTIO_MMIO_CMDLINE;
    assert_int_equal(launcher_virtio_mmio_from_name("acpi", &m), 0);
    assert_int_equal(m, LAUNCHER_VIRTIO_MMIO_ACPI);
    assert_int_equal(launcher_virtio_mmio_from_name("cmdline", &m), 0);
    assert_int_equal(m, LAUNCHER_VIRTIO_MMIO_CMDLINE);
    assert_int_equal(launcher_virtio_mmio_from_name("ACPI", &m), -1);
    assert_int_equal(launcher_virtio_mmio_from_name("", &m), -1);
    assert_int_equal(launcher_virtio_mmio_from_name("pci", &m), -1);
    assert_int_equal(m, LAUNCHER_VIRTIO_MMIO_CMDLINE); /* untouched on error */
    assert_string_equal(launcher_virtio_mmio_name(LAUNCHER_VIRTIO_MMIO_ACPI), "acpi");
    assert_string_equal(launcher_virtio_mmio_name(LAUNCHER_VIRTIO_MMIO_CMDLINE), "cmdline");
}

static void test_bzimage(void **state)
{
    (void)state;
    unsigned char img[2048] = {0};
    img[0x1fe] = 0x55;
    img[0x1ff] = 0xaa;
    memcpy(img + 0x202, "HdrS", 4);
    char *path = write_bytes("bzImage", img, sizeof(img));
    enum launcher_kernel_format format = LAUNCHER_KERNEL_PVH_ELF;
    uint64_t bytes = 0;
    char why[512] = "";
    assert_int_equal(launcher_kernel_probe(path, &format, &bytes, why, sizeof(why)), 0);
    assert_int_equal(format, LAUNCHER_KERNEL_BZIMAGE);
    assert_int_equal(bytes, sizeof(img));
    free(path);

    /* the boot-sector flag alone is not enough */
    memset(img + 0x202, 0, 4);
    path = write_bytes("not-bzImage", img, sizeof(img));
    assert_int_equal(launcher_kernel_probe(path, &format, &bytes, why, sizeof(why)), -1);
    assert_contains(why, "neither a bzImage");
    free(path);
}

static void test_pvh_elf(void **state)
{
    (void)state;
    struct tiny_elf e;
    make_elf(&e, EM_X86_64, "Xen", 18);
    char *path = write_bytes("vmlinux", &e, sizeof(e));
    enum launcher_kernel_format format = LAUNCHER_KERNEL_BZIMAGE;
    uint64_t bytes = 0;
    char why[512] = "";
    if (launcher_kernel_probe(path, &format, &bytes, why, sizeof(why)) != 0)
        fail_msg("a PVH ELF was refused: %s", why);
    assert_int_equal(format, LAUNCHER_KERNEL_PVH_ELF);
    assert_int_equal(bytes, sizeof(e));
    free(path);
}

static void test_elf_without_pvh_note(void **state)
{
    (void)state;
    struct tiny_elf e;
    char why[512];
    make_elf(&e, EM_X86_64, "Xen", 17); /* another Xen note */
    char *path = write_bytes("vmlinux-nopvh", &e, sizeof(e));
    assert_int_equal(launcher_kernel_probe(path, NULL, NULL, why, sizeof(why)), -1);
    assert_contains(why, "PVH");
    assert_contains(why, "CONFIG_PVH=y");
    free(path);

    make_elf(&e, EM_X86_64, "GNU", 18); /* the right type from another owner */
    path = write_bytes("vmlinux-gnu", &e, sizeof(e));
    assert_int_equal(launcher_kernel_probe(path, NULL, NULL, why, sizeof(why)), -1);
    assert_contains(why, "PVH");
    free(path);

    /* this test program: a real x86-64 ELF without the note */
    assert_int_equal(launcher_kernel_probe("/proc/self/exe", NULL, NULL, why, sizeof(why)), -1);
    assert_contains(why, "PVH");
}

static void test_elf_for_another_machine(void **state)
{
    (void)state;
    struct tiny_elf e;
    make_elf(&e, EM_AARCH64, "Xen", 18);
    char *path = write_bytes("vmlinux-arm", &e, sizeof(e));
    char why[512];
    assert_int_equal(launcher_kernel_probe(path, NULL, NULL, why, sizeof(why)), -1);
    assert_contains(why, "another machine");
    free(path);

    /* cut short inside the header */
    make_elf(&e, EM_X86_64, "Xen", 18);
    path = write_bytes("vmlinux-cut", &e, 20);
    assert_int_equal(launcher_kernel_probe(path, NULL, NULL, why, sizeof(why)), -1);
    assert_contains(why, "broken ELF");
    free(path);
}

static void test_not_a_kernel(void **state)
{
    (void)state;
    char why[512];
    char *path = write_bytes("text", "console=ttyS0\n", 14);
    assert_int_equal(launcher_kernel_probe(path, NULL, NULL, why, sizeof(why)), -1);
    assert_contains(why, "is not a bootable kernel");
    assert_contains(why, path);
    free(path);

    path = write_bytes("empty", "", 0);
    assert_int_equal(launcher_kernel_probe(path, NULL, NULL, why, sizeof(why)), -1);
    assert_contains(why, "empty");
    free(path);

    path = tinyx_xasprintf("%s/missing", tmp_dir);
    assert_int_equal(launcher_kernel_probe(path, NULL, NULL, why, sizeof(why)), -1);
    assert_contains(why, "No such file");
    free(path);

    assert_int_equal(launcher_kernel_probe(tmp_dir, NULL, NULL, why, sizeof(why)), -1);
    assert_contains(why, "not a regular file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_virtio_mmio_names),
        cmocka_unit_test(test_bzimage),
        cmocka_unit_test(test_pvh_elf),
        cmocka_unit_test(test_elf_without_pvh_note),
        cmocka_unit_test(test_elf_for_another_machine),
        cmocka_unit_test(test_not_a_kernel),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
