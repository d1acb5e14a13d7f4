/* vmm_test_elf.h: build small PVH ELF kernels (ELF32/ELF64) in memory for the unit tests. */
#ifndef TESTS_UNIT_VMM_TEST_ELF_H
#define TESTS_UNIT_VMM_TEST_ELF_H

#include <elf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_segment {
    uint64_t paddr;
    const void *data;
    size_t filesz;
    uint64_t memsz;
};

struct test_note {
    const char *name; /* with its NUL, as the ELF note stores it */
    uint32_t type;
    const void *desc;
    uint32_t descsz;
};

#define TEST_ELF_MAX 8192

static inline size_t test_align4(size_t v)
{
    return (v + 3) & ~(size_t)3;
}

/* Build the file into buf (TEST_ELF_MAX bytes): header, program headers, one PT_NOTE
 * segment with every note, then each segment's bytes. Returns the file size. */
static inline size_t test_elf_build(uint8_t *buf, bool is64, const struct test_segment *segs,
                                    size_t n_segs, const struct test_note *notes, size_t n_notes)
{
    memset(buf, 0, TEST_ELF_MAX);
    size_t ehsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    size_t phsize = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    size_t n_ph = n_segs + (n_notes ? 1 : 0);
    size_t off = ehsize + n_ph * phsize;
    /* Notes first. */
    size_t notes_off = off;
    for (size_t i = 0; i < n_notes; i++) {
        uint32_t hdr[3] = {(uint32_t)strlen(notes[i].name) + 1, notes[i].descsz, notes[i].type};
        memcpy(buf + off, hdr, sizeof(hdr));
        off += sizeof(hdr);
        memcpy(buf + off, notes[i].name, hdr[0]);
        off += test_align4(hdr[0]);
        memcpy(buf + off, notes[i].desc, notes[i].descsz);
        off += test_align4(notes[i].descsz);
    }
    size_t notes_len = off - notes_off;
    uint64_t seg_off[16];
    for (size_t i = 0; i < n_segs; i++) {
        off = (off + 15) & ~(size_t)15;
        seg_off[i] = off;
        memcpy(buf + off, segs[i].data, segs[i].filesz);
        off += segs[i].filesz;
    }
    size_t ph_at = ehsize;
    for (size_t i = 0; i < n_ph; i++, ph_at += phsize) {
        bool is_note = i == n_segs;
        uint32_t type = is_note ? PT_NOTE : PT_LOAD;
        uint64_t p_off = is_note ? notes_off : seg_off[i];
        uint64_t paddr = is_note ? 0 : segs[i].paddr;
        uint64_t filesz = is_note ? notes_len : segs[i].filesz;
        uint64_t memsz = is_note ? notes_len : segs[i].memsz;
        if (is64) {
            Elf64_Phdr ph = {.p_type = type,
                             .p_offset = p_off,
                             .p_vaddr = paddr,
                             .p_paddr = paddr,
                             .p_filesz = filesz,
                             .p_memsz = memsz,
                             .p_align = is_note ? 4 : 16,
                             .p_flags = PF_R | PF_X};
            memcpy(buf + ph_at, &ph, sizeof(ph));
        } else {
            Elf32_Phdr ph = {.p_type = type,
                             .p_offset = (uint32_t)p_off,
                             .p_vaddr = (uint32_t)paddr,
                             .p_paddr = (uint32_t)paddr,
                             .p_filesz = (uint32_t)filesz,
                             .p_memsz = (uint32_t)memsz,
                             .p_align = is_note ? 4 : 16,
                             .p_flags = PF_R | PF_X};
            memcpy(buf + ph_at, &ph, sizeof(ph));
        }
    }
    unsigned char ident[EI_NIDENT] = {
        ELFMAG0,     ELFMAG1,   ELFMAG2, ELFMAG3, is64 ? ELFCLASS64 : ELFCLASS32,
        ELFDATA2LSB, EV_CURRENT};
    if (is64) {
        Elf64_Ehdr eh = {.e_type = ET_EXEC,
                         .e_machine = EM_X86_64,
                         .e_version = EV_CURRENT,
                         .e_phoff = sizeof(Elf64_Ehdr),
                         .e_ehsize = sizeof(Elf64_Ehdr),
                         .e_phentsize = sizeof(Elf64_Phdr),
                         .e_phnum = (uint16_t)n_ph};
        memcpy(eh.e_ident, ident, EI_NIDENT);
        memcpy(buf, &eh, sizeof(eh));
    } else {
        Elf32_Ehdr eh = {.e_type = ET_EXEC,
                         .e_machine = EM_386,
                         .e_version = EV_CURRENT,
                         .e_phoff = sizeof(Elf32_Ehdr),
                         .e_ehsize = sizeof(Elf32_Ehdr),
                         .e_phentsize = sizeof(Elf32_Phdr),
                         .e_phnum = (uint16_t)n_ph};
        memcpy(eh.e_ident, ident, EI_NIDENT);
        memcpy(buf, &eh, sizeof(eh));
    }
    return off;
}

/* The Xen PVH entry note for entry (a 4-byte value). */
static inline struct test_note test_pvh_note(const uint32_t *entry)
{
    return (struct test_note){.name = "Xen", .type = 18, .desc = entry, .descsz = 4};
}

static inline char *test_write_file(const char *dir, const char *name, const void *data, size_t len)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    snprintf(path, n, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        abort();
    }
    return path;
}

#endif
