/* kernel.c: recognise a bootable kernel file (bzImage header, or ELF with the PVH note) and what
 * it is (Linux or not, PVH or not). */
#include "launcher/kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The Xen ELF note that gives the 32-bit PVH entry point; QEMU loads an ELF kernel only if it
 * has one (include/xen/interface/elfnote.h: XEN_ELFNOTE_PHYS32_ENTRY). */
#define PVH_NOTE_NAME "Xen"
#define PVH_NOTE_TYPE 18
/* Notes that say "this kernel is Linux": any note called "Linux"; Xen's GUEST_OS note. */
#define LINUX_NOTE_NAME   "Linux"
#define XEN_NOTE_GUEST_OS 6

/* Linux x86 boot protocol: boot-sector signature and the setup header's magic. */
#define BZ_BOOT_FLAG_OFF 0x1fe
#define BZ_HEADER_OFF    0x202
#define BZ_HEADER_MAGIC  "HdrS"

const char *launcher_virtio_mmio_name(enum launcher_virtio_discovery mode)
{
    return mode == LAUNCHER_VIRTIO_MMIO_CMDLINE ? "cmdline" : "acpi";
}

int launcher_virtio_mmio_from_name(const char *name, enum launcher_virtio_discovery *out)
{
    if (!strcmp(name, "acpi"))
        *out = LAUNCHER_VIRTIO_MMIO_ACPI;
    else if (!strcmp(name, "cmdline"))
        *out = LAUNCHER_VIRTIO_MMIO_CMDLINE;
    else
        return -1;
    return 0;
}

const char *launcher_kernel_format_name(enum launcher_kernel_format format)
{
    return format == LAUNCHER_KERNEL_PVH_ELF ? "vmlinux (PVH ELF)" : "bzImage";
}

static int fail(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why && why_len)
        vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    return -1;
}

static bool read_at(int fd, void *buf, size_t n, off_t off)
{
    ssize_t got = pread(fd, buf, n, off);
    return got == (ssize_t)n;
}

static bool is_bzimage(int fd, uint64_t size)
{
    unsigned char flag[2];
    char magic[4];
    return size > BZ_HEADER_OFF + sizeof(magic) &&
           read_at(fd, flag, sizeof(flag), BZ_BOOT_FLAG_OFF) && flag[0] == 0x55 &&
           flag[1] == 0xaa && read_at(fd, magic, sizeof(magic), BZ_HEADER_OFF) &&
           !memcmp(magic, BZ_HEADER_MAGIC, sizeof(magic));
}

/* Whether a PT_NOTE segment of e holds the PVH entry note. */
static bool has_pvh_note(Elf *e, size_t nph)
{
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE || !ph.p_filesz)
            continue;
        Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
        if (!d)
            continue;
        GElf_Nhdr nh;
        size_t name_off, desc_off;
        for (size_t off = 0; off < d->d_size;) {
            size_t next = gelf_getnote(d, off, &nh, &name_off, &desc_off);
            if (!next)
                break;
            if (nh.n_type == PVH_NOTE_TYPE && nh.n_namesz == sizeof(PVH_NOTE_NAME) &&
                !memcmp((char *)d->d_buf + name_off, PVH_NOTE_NAME, sizeof(PVH_NOTE_NAME)))
                return true;
            off = next;
        }
    }
    return false;
}

static int probe_elf(int fd, const char *path, char *why, size_t why_len)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return fail(why, why_len, "libelf is out of date; cannot read %s", path);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    GElf_Ehdr eh;
    size_t nph = 0;
    int rc = 0;
    if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) || elf_getphdrnum(e, &nph) != 0)
        rc = fail(why, why_len, "%s is a broken ELF file (%s)", path, elf_errmsg(-1));
    else if (eh.e_machine != EM_X86_64 && eh.e_machine != EM_386)
        rc = fail(why, why_len,
                  "%s is an ELF file for another machine (e_machine %u), not an x86 "
                  "kernel",
                  path, (unsigned)eh.e_machine);
    else if (!has_pvh_note(e, nph))
        rc = fail(why, why_len,
                  "%s is an ELF file without the PVH entry note (Xen note %d), so it cannot be "
                  "booted directly; build the kernel with CONFIG_PVH=y, or give its bzImage",
                  path, PVH_NOTE_TYPE);
    if (e)
        elf_end(e);
    return rc;
}

int launcher_kernel_probe(const char *path, enum launcher_kernel_format *format, uint64_t *bytes,
                          char *why, size_t why_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(why, why_len, "cannot open kernel %s: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = fail(why, why_len, "cannot read kernel %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = fail(why, why_len, "kernel %s is not a regular file", path);
    else if (st.st_size == 0)
        rc = fail(why, why_len, "kernel %s is empty", path);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    unsigned char magic[SELFMAG];
    if (read_at(fd, magic, sizeof(magic), 0) && !memcmp(magic, ELFMAG, SELFMAG)) {
        rc = probe_elf(fd, path, why, why_len);
        if (rc == 0 && format)
            *format = LAUNCHER_KERNEL_PVH_ELF;
    } else if (is_bzimage(fd, (uint64_t)st.st_size)) {
        if (format)
            *format = LAUNCHER_KERNEL_BZIMAGE;
    } else {
        rc = fail(why, why_len,
                  "%s is not a bootable kernel: neither a bzImage (no \"HdrS\" boot header) "
                  "nor an ELF vmlinux",
                  path);
    }
    close(fd);
    if (rc == 0 && bytes)
        *bytes = (uint64_t)st.st_size;
    return rc;
}

static void scan_notes(Elf *e, const GElf_Phdr *ph, struct launcher_kernel_info *out)
{
    Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph->p_offset, ph->p_filesz, ELF_T_NHDR);
    if (!d)
        return;
    GElf_Nhdr nh;
    size_t name_off, desc_off;
    for (size_t off = 0; off < d->d_size;) {
        size_t next = gelf_getnote(d, off, &nh, &name_off, &desc_off);
        if (!next)
            break;
        const char *name = (const char *)d->d_buf + name_off;
        const char *desc = (const char *)d->d_buf + desc_off;
        bool xen = nh.n_namesz == sizeof(PVH_NOTE_NAME) &&
                   !memcmp(name, PVH_NOTE_NAME, sizeof(PVH_NOTE_NAME));
        if (nh.n_namesz == sizeof(LINUX_NOTE_NAME) &&
            !memcmp(name, LINUX_NOTE_NAME, sizeof(LINUX_NOTE_NAME)))
            out->is_linux = true;
        if (xen && nh.n_type == XEN_NOTE_GUEST_OS && nh.n_descsz >= 5 &&
            !strncasecmp(desc, "linux", 5))
            out->is_linux = true;
        if (xen && nh.n_type == PVH_NOTE_TYPE)
            out->pvh_entry = true;
        off = next;
    }
}

/* Every program header, and the bytes of the segments a loader reads, inside the file. */
static void scan_segments(Elf *e, uint64_t file_size, struct launcher_kernel_info *out)
{
    GElf_Ehdr eh;
    size_t nph = 0;
    if (!gelf_getehdr(e, &eh) || elf_getphdrnum(e, &nph) != 0) {
        snprintf(out->broken, sizeof(out->broken), "%s", elf_errmsg(-1));
        return;
    }
    /* libelf says nothing about program headers past the end of a truncated file (and may
     * then report none at all): check the header's own numbers. */
    if (eh.e_phnum != PN_XNUM)
        nph = eh.e_phnum;
    uint64_t ph_bytes = (uint64_t)nph * eh.e_phentsize;
    if (eh.e_phoff > file_size || ph_bytes > file_size - eh.e_phoff) {
        snprintf(out->broken, sizeof(out->broken),
                 "its program headers end at offset %llu and the file has %llu bytes: truncated?",
                 (unsigned long long)(eh.e_phoff + ph_bytes), (unsigned long long)file_size);
        return;
    }
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph)) {
            snprintf(out->broken, sizeof(out->broken), "program header %zu: %s", i, elf_errmsg(-1));
            return;
        }
        if ((ph.p_type != PT_LOAD && ph.p_type != PT_NOTE) || !ph.p_filesz)
            continue;
        if (ph.p_offset > file_size || ph.p_filesz > file_size - ph.p_offset) {
            snprintf(out->broken, sizeof(out->broken),
                     "segment %zu needs bytes up to offset %llu and the file has %llu bytes: "
                     "truncated?",
                     i, (unsigned long long)ph.p_offset + (unsigned long long)ph.p_filesz,
                     (unsigned long long)file_size);
            return;
        }
    }
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph))
            continue;
        if (ph.p_type == PT_LOAD && ph.p_paddr + ph.p_memsz > out->load_end)
            out->load_end = ph.p_paddr + ph.p_memsz;
        if (ph.p_type == PT_NOTE && ph.p_filesz)
            scan_notes(e, &ph, out);
    }
}

void launcher_kernel_inspect(const char *path, struct launcher_kernel_info *info)
{
    memset(info, 0, sizeof(*info));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    unsigned char magic[SELFMAG];
    if (fstat(fd, &st) < 0) {
        close(fd);
        return;
    }
    if (!read_at(fd, magic, SELFMAG, 0) || memcmp(magic, ELFMAG, SELFMAG)) {
        info->bzimage = S_ISREG(st.st_mode) && is_bzimage(fd, (uint64_t)st.st_size);
        info->is_linux = info->bzimage; /* the Linux boot protocol */
        close(fd);
        return;
    }
    info->elf = true;
    Elf *e = elf_version(EV_CURRENT) == EV_NONE ? NULL : elf_begin(fd, ELF_C_READ, NULL);
    unsigned char cls = 0;
    bool whole_header =
        read_at(fd, &cls, 1, EI_CLASS) &&
        (uint64_t)st.st_size >= (cls == ELFCLASS32 ? sizeof(Elf32_Ehdr) : sizeof(Elf64_Ehdr));
    if (!whole_header)
        snprintf(info->broken, sizeof(info->broken),
                 "%lld bytes, shorter than an ELF header: truncated?", (long long)st.st_size);
    else if (!e || elf_kind(e) != ELF_K_ELF)
        snprintf(info->broken, sizeof(info->broken), "libelf cannot read it: %s", elf_errmsg(-1));
    else
        scan_segments(e, (uint64_t)st.st_size, info);
    if (e)
        elf_end(e);
    close(fd);
}
