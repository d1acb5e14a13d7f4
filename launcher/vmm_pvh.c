/* vmm_pvh.c: load a PVH ELF kernel (parsed by hand, every bound checked) and its boot data. */
#include "launcher/vmm_pvh.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/layout.h"
#include "launcher/vmm.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

#define MIB             (1024ull * 1024)
#define FOUR_GIB        (4ull << 30)
#define MAX_PHDRS       64
#define MAX_NOTE_BYTES  (1u << 20)
#define PAGE_SIZE_BYTES 4096ull

/* Linux's x86 boot protocol header, to tell a bzImage from garbage in the message. */
#define BZ_HEADER_OFF   0x202
#define BZ_HEADER_MAGIC "HdrS"

_Static_assert(sizeof(struct launcher_pvh_start_info) == 56, "hvm_start_info is 56 bytes");
_Static_assert(sizeof(struct launcher_pvh_module) == 32, "hvm_modlist_entry is 32 bytes");
_Static_assert(sizeof(struct launcher_pvh_memmap_entry) == 24, "hvm_memmap_table_entry: 24");
_Static_assert(LAYOUT_START_INFO + sizeof(struct launcher_pvh_start_info) <= LAYOUT_MODLIST,
               "start_info overlaps the module list");
_Static_assert(LAYOUT_MODLIST + LAYOUT_MAX_MODULES * sizeof(struct launcher_pvh_module) <=
                   LAYOUT_MEMMAP,
               "the module list overlaps the memory map");
_Static_assert(LAYOUT_MEMMAP + LAYOUT_MAX_MEMMAP * sizeof(struct launcher_pvh_memmap_entry) <=
                   LAYOUT_CMDLINE,
               "the memory map overlaps the command line");
_Static_assert(LAYOUT_CMDLINE + LAYOUT_CMDLINE_MAX <= LAYOUT_LOW_END,
               "the command line runs past low memory");

static int bad(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(const char *path, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tinyx_err("kernel %s: %s", path, msg);
    return TINYX_EXIT_IMAGE;
}

/* Read exactly n bytes at off; false on a short file or an error (errno 0 for short). */
static bool read_exact(int fd, void *buf, uint64_t n, uint64_t off)
{
    uint8_t *p = buf;
    while (n) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : (size_t)n;
        ssize_t got = pread(fd, p, chunk, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == 0)
                errno = 0;
            return false;
        }
        p += got;
        off += (uint64_t)got;
        n -= (uint64_t)got;
    }
    return true;
}

static uint16_t get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* [off, off + len) inside a file of size bytes, without overflow. */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* The ELF header fields we use, for both classes. */
struct elf_header {
    bool is64;
    uint16_t type, machine, phentsize, phnum;
    uint64_t phoff;
};

static int read_header(int fd, const char *path, uint64_t size, struct elf_header *h)
{
    uint8_t e[sizeof(Elf64_Ehdr)] = {0};
    uint64_t want = size < sizeof(e) ? size : sizeof(e);
    if (!read_exact(fd, e, want, 0))
        return bad(path, "cannot read it: %s", errno ? strerror(errno) : "short read");
    if (want < SELFMAG || memcmp(e, ELFMAG, SELFMAG)) {
        char magic[4] = {0};
        if (size > BZ_HEADER_OFF + 4 && read_exact(fd, magic, 4, BZ_HEADER_OFF) &&
            !memcmp(magic, BZ_HEADER_MAGIC, 4))
            return bad(path, "is a bzImage; tinyx-kvm boots ELF kernels with the PVH entry note "
                             "(a vmlinux built with CONFIG_PVH=y): give that, or use --backend "
                             "qemu");
        return bad(path, "is not an ELF file (no \\177ELF magic); give a PVH ELF kernel");
    }
    if (e[EI_CLASS] != ELFCLASS32 && e[EI_CLASS] != ELFCLASS64)
        return bad(path, "has an unknown ELF class %u (corrupt?)", e[EI_CLASS]);
    h->is64 = e[EI_CLASS] == ELFCLASS64;
    size_t ehsize = h->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    if (size < ehsize)
        return bad(path, "is truncated: %llu bytes, shorter than its ELF header",
                   (unsigned long long)size);
    if (e[EI_DATA] != ELFDATA2LSB || e[EI_VERSION] != EV_CURRENT)
        return bad(path, "is not a little-endian ELF version 1 file, as x86 kernels are");
    /* e_type and e_machine sit at the same offsets in both classes. */
    h->type = get16(e + offsetof(Elf64_Ehdr, e_type));
    h->machine = get16(e + offsetof(Elf64_Ehdr, e_machine));
    if (h->is64) {
        h->phoff = get64(e + offsetof(Elf64_Ehdr, e_phoff));
        h->phentsize = get16(e + offsetof(Elf64_Ehdr, e_phentsize));
        h->phnum = get16(e + offsetof(Elf64_Ehdr, e_phnum));
    } else {
        h->phoff = get32(e + offsetof(Elf32_Ehdr, e_phoff));
        h->phentsize = get16(e + offsetof(Elf32_Ehdr, e_phentsize));
        h->phnum = get16(e + offsetof(Elf32_Ehdr, e_phnum));
    }
    if (h->machine != EM_X86_64 && h->machine != EM_386)
        return bad(path, "is an ELF file for another machine (e_machine %u), not an x86 kernel",
                   h->machine);
    if (h->type != ET_EXEC)
        return bad(path,
                   "is not an executable ELF file (e_type %u); a kernel is linked at fixed "
                   "addresses",
                   h->type);
    size_t want_phent = h->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if (h->phentsize != want_phent || h->phnum == 0 || h->phnum > MAX_PHDRS)
        return bad(path, "has a bad program header table (%u entries of %u bytes)", h->phnum,
                   h->phentsize);
    if (!in_file(h->phoff, (uint64_t)h->phnum * h->phentsize, size))
        return bad(path,
                   "is truncated: its program headers end past the end of the file "
                   "(%llu bytes)",
                   (unsigned long long)size);
    return 0;
}

struct phdr {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz, align;
};

static void parse_phdr(const uint8_t *p, bool is64, struct phdr *out)
{
    if (is64) {
        out->type = get32(p + offsetof(Elf64_Phdr, p_type));
        out->offset = get64(p + offsetof(Elf64_Phdr, p_offset));
        out->paddr = get64(p + offsetof(Elf64_Phdr, p_paddr));
        out->filesz = get64(p + offsetof(Elf64_Phdr, p_filesz));
        out->memsz = get64(p + offsetof(Elf64_Phdr, p_memsz));
        out->align = get64(p + offsetof(Elf64_Phdr, p_align));
    } else {
        out->type = get32(p + offsetof(Elf32_Phdr, p_type));
        out->offset = get32(p + offsetof(Elf32_Phdr, p_offset));
        out->paddr = get32(p + offsetof(Elf32_Phdr, p_paddr));
        out->filesz = get32(p + offsetof(Elf32_Phdr, p_filesz));
        out->memsz = get32(p + offsetof(Elf32_Phdr, p_memsz));
        out->align = get32(p + offsetof(Elf32_Phdr, p_align));
    }
}

/* Walk the notes of one PT_NOTE segment: the PVH entry, and whether the kernel is Linux. */
static int scan_notes(const char *path, const uint8_t *buf, uint64_t len, uint64_t align,
                      struct launcher_pvh_kernel *k, bool *have_entry)
{
    /* Notes are 4-byte aligned, except in segments that say 8 (GNU property notes). */
    uint64_t a = align == 8 ? 8 : 4;
    uint64_t off = 0;
    while (len - off >= 12) {
        uint32_t namesz = get32(buf + off), descsz = get32(buf + off + 4);
        uint32_t type = get32(buf + off + 8);
        off += 12;
        if (namesz > len - off)
            return bad(path, "has a corrupt ELF note (its name runs past the segment)");
        const uint8_t *name = buf + off;
        uint64_t step = align_up(namesz, a);
        off = step > len - off ? len : off + step;
        if (descsz > len - off)
            return bad(path, "has a corrupt ELF note (its value runs past the segment)");
        const uint8_t *desc = buf + off;
        step = align_up(descsz, a);
        off = step > len - off ? len : off + step;

        bool xen = namesz == sizeof(LAUNCHER_PVH_NOTE_NAME) &&
                   !memcmp(name, LAUNCHER_PVH_NOTE_NAME, namesz);
        if (namesz == sizeof(LAUNCHER_PVH_NOTE_LINUX) &&
            !memcmp(name, LAUNCHER_PVH_NOTE_LINUX, namesz))
            k->is_linux = true;
        if (xen && type == LAUNCHER_PVH_NOTE_GUEST_OS && descsz >= 5 &&
            !strncasecmp((const char *)desc, "linux", 5))
            k->is_linux = true;
        if (xen && type == LAUNCHER_PVH_NOTE_ENTRY) {
            if (descsz == 4)
                k->entry = get32(desc);
            else if (descsz == 8)
                k->entry = get64(desc);
            else
                return bad(path, "has a PVH entry note with a %u-byte value (expected 4 or 8)",
                           descsz);
            *have_entry = true;
        }
    }
    return 0;
}

static int check_load(const char *path, unsigned i, const struct phdr *ph, uint64_t size,
                      struct launcher_pvh_kernel *k)
{
    if (ph->filesz > ph->memsz)
        return bad(path, "segment %u has more file bytes than memory bytes (corrupt)", i);
    if (!in_file(ph->offset, ph->filesz, size))
        return bad(path,
                   "is truncated: segment %u needs bytes up to offset %llu, the file has "
                   "%llu",
                   i, (unsigned long long)ph->offset + (unsigned long long)ph->filesz,
                   (unsigned long long)size);
    if (ph->paddr < LAYOUT_KERNEL_MIN)
        return bad(path,
                   "segment %u loads at 0x%llx, below 1 MiB, where the monitor keeps its "
                   "boot data; link the kernel at 1 MiB (0x100000) or above",
                   i, (unsigned long long)ph->paddr);
    if (ph->paddr >= FOUR_GIB || ph->memsz > FOUR_GIB - ph->paddr)
        return bad(path,
                   "segment %u (0x%llx, %llu bytes) reaches beyond 4 GiB; a PVH kernel "
                   "loads in 32-bit physical memory",
                   i, (unsigned long long)ph->paddr, (unsigned long long)ph->memsz);
    if (k->n_segments == LAUNCHER_PVH_MAX_SEGMENTS)
        return bad(path, "has more than %u loadable segments", LAUNCHER_PVH_MAX_SEGMENTS);
    k->segments[k->n_segments].offset = ph->offset;
    k->segments[k->n_segments].filesz = ph->filesz;
    k->segments[k->n_segments].paddr = ph->paddr;
    k->segments[k->n_segments].memsz = ph->memsz;
    k->n_segments++;
    if (ph->paddr + ph->memsz > k->load_end)
        k->load_end = ph->paddr + ph->memsz;
    return 0;
}

static int open_checked(int fd, const char *path, uint64_t size, struct launcher_pvh_kernel *k)
{
    struct elf_header h = {0};
    int rc = read_header(fd, path, size, &h);
    if (rc != 0)
        return rc;
    uint8_t phdrs[MAX_PHDRS * sizeof(Elf64_Phdr)];
    if (!read_exact(fd, phdrs, (uint64_t)h.phnum * h.phentsize, h.phoff))
        return bad(path, "cannot read its program headers: %s",
                   errno ? strerror(errno) : "short read");
    bool have_entry = false;
    for (unsigned i = 0; i < h.phnum; i++) {
        struct phdr ph;
        parse_phdr(phdrs + (size_t)i * h.phentsize, h.is64, &ph);
        if (ph.type == PT_LOAD && ph.memsz) {
            rc = check_load(path, i, &ph, size, k);
        } else if (ph.type == PT_NOTE && ph.filesz) {
            if (!in_file(ph.offset, ph.filesz, size))
                return bad(path, "is truncated: its note segment ends past the end of the file");
            if (ph.filesz > MAX_NOTE_BYTES)
                return bad(path, "has a note segment of %llu bytes (corrupt?)",
                           (unsigned long long)ph.filesz);
            uint8_t *notes = tinyx_xmalloc((size_t)ph.filesz);
            if (!read_exact(fd, notes, ph.filesz, ph.offset))
                rc = bad(path, "cannot read its notes: %s", errno ? strerror(errno) : "short read");
            else
                rc = scan_notes(path, notes, ph.filesz, ph.align, k, &have_entry);
            free(notes);
        }
        if (rc != 0)
            return rc;
    }
    if (!k->n_segments)
        return bad(path, "has no loadable segments");
    if (!have_entry)
        return bad(path,
                   "has no PVH entry note (ELF note \"Xen\", type %d, "
                   "XEN_ELFNOTE_PHYS32_ENTRY), so it cannot be booted the PVH way; build "
                   "Linux with CONFIG_PVH=y, or add the note to your guest",
                   LAUNCHER_PVH_NOTE_ENTRY);
    for (unsigned i = 0; i < k->n_segments; i++)
        if (k->entry >= k->segments[i].paddr &&
            k->entry - k->segments[i].paddr < k->segments[i].memsz)
            return 0;
    return bad(path, "its PVH entry point 0x%llx lies in no loadable segment (corrupt note?)",
               (unsigned long long)k->entry);
}

int launcher_vmm_pvh_open(const char *path, struct launcher_pvh_kernel *k)
{
    memset(k, 0, sizeof(*k));
    k->path = path;
    if (!path || !*path) {
        tinyx_err("no kernel given (--kernel FILE)");
        return TINYX_EXIT_USAGE;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bad(path, "cannot open it: %s", strerror(errno));
    struct stat st;
    int rc;
    if (fstat(fd, &st) < 0)
        rc = bad(path, "cannot read it: %s", strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = bad(path, "is not a regular file");
    else if (st.st_size == 0)
        rc = bad(path, "is empty");
    else {
        k->file_size = (uint64_t)st.st_size;
        rc = open_checked(fd, path, k->file_size, k);
    }
    close(fd);
    return rc;
}

/* The initrd at the top of RAM, above the kernel: its guest address in *addr. */
static int load_initrd(struct launcher_vmm *v, const char *path, uint64_t kernel_end,
                       uint64_t *addr, uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tinyx_errno("initrd %s: cannot open it", path);
        return TINYX_EXIT_IMAGE;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        tinyx_err("initrd %s: not a non-empty regular file", path);
        rc = TINYX_EXIT_IMAGE;
        goto out;
    }
    *size = (uint64_t)st.st_size;
    uint64_t lowest = align_up(kernel_end, LAYOUT_INITRD_ALIGN);
    if (*size > v->mem_size ||
        ((v->mem_size - *size) & ~(uint64_t)(LAYOUT_INITRD_ALIGN - 1)) < lowest) {
        uint64_t need = lowest + align_up(*size, LAYOUT_INITRD_ALIGN);
        char human[32];
        tinyx_err("initrd %s (%s) does not fit in %llu MiB of guest RAM above the kernel "
                  "(which ends at %.1f MiB); give --mem %llu or more",
                  path, tinyx_human_size(*size, human, sizeof(human)),
                  (unsigned long long)(v->mem_size / MIB), (double)kernel_end / MIB,
                  (unsigned long long)((need + MIB - 1) / MIB));
        rc = TINYX_EXIT_IMAGE;
        goto out;
    }
    *addr = (v->mem_size - *size) & ~(uint64_t)(LAYOUT_INITRD_ALIGN - 1);
    void *dst = launcher_vmm_gpa(v, *addr, *size);
    if (!dst || !read_exact(fd, dst, *size, 0)) {
        tinyx_err("initrd %s: cannot read it: %s", path, errno ? strerror(errno) : "short read");
        rc = TINYX_EXIT_IMAGE;
    }
out:
    close(fd);
    return rc;
}

static int load_segments(struct launcher_vmm *v, const struct launcher_pvh_kernel *k)
{
    int fd = open(k->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bad(k->path, "cannot open it: %s", strerror(errno));
    int rc = 0;
    for (unsigned i = 0; i < k->n_segments && rc == 0; i++) {
        uint64_t paddr = k->segments[i].paddr, memsz = k->segments[i].memsz;
        /* RAM is fresh anonymous memory, so the part past filesz (.bss) is zero already. */
        void *dst = launcher_vmm_gpa(v, paddr, memsz);
        if (!dst)
            rc = bad(k->path,
                     "segment at 0x%llx-0x%llx lies outside the %llu MiB of guest RAM; "
                     "give more --mem",
                     (unsigned long long)paddr, (unsigned long long)(paddr + memsz),
                     (unsigned long long)(v->mem_size / MIB));
        else if (!read_exact(fd, dst, k->segments[i].filesz, k->segments[i].offset))
            rc = bad(k->path, "cannot read segment %u: %s (did the file change?)", i,
                     errno ? strerror(errno) : "short read");
    }
    close(fd);
    return rc;
}

int launcher_vmm_pvh_load(struct launcher_vmm *v, const struct launcher_pvh_kernel *k,
                          const char *initrd, const char *cmdline)
{
    int rc = load_segments(v, k);
    if (rc != 0)
        return rc;

    size_t cmdline_len = strlen(cmdline) + 1;
    char *cmdline_dst = launcher_vmm_gpa(v, LAYOUT_CMDLINE, LAYOUT_CMDLINE_MAX);
    if (cmdline_len > LAYOUT_CMDLINE_MAX || !cmdline_dst) {
        tinyx_err("the kernel command line is %zu bytes; at most %u fit", cmdline_len - 1,
                  LAYOUT_CMDLINE_MAX - 1);
        return TINYX_EXIT_IMAGE;
    }
    memcpy(cmdline_dst, cmdline, cmdline_len);

    struct launcher_pvh_start_info *si = launcher_vmm_gpa(v, LAYOUT_START_INFO, sizeof(*si));
    struct launcher_pvh_memmap_entry *map = launcher_vmm_gpa(v, LAYOUT_MEMMAP, 4 * sizeof(*map));
    struct launcher_pvh_module *mod = launcher_vmm_gpa(v, LAYOUT_MODLIST, sizeof(*mod));
    if (!si || !map || !mod || v->mem_size <= LAYOUT_KERNEL_MIN) {
        tinyx_err("guest RAM (%llu bytes) is too small for the boot data",
                  (unsigned long long)v->mem_size);
        return TINYX_EXIT_USAGE;
    }
    memset(si, 0, sizeof(*si));
    si->magic = LAUNCHER_PVH_START_MAGIC;
    si->version = 1;
    si->cmdline_paddr = LAYOUT_CMDLINE;
    if (initrd) {
        uint64_t addr = 0, size = 0;
        rc = load_initrd(v, initrd, k->load_end, &addr, &size);
        if (rc != 0)
            return rc;
        *mod = (struct launcher_pvh_module){.paddr = addr, .size = size};
        si->nr_modules = 1;
        si->modlist_paddr = LAYOUT_MODLIST;
    }
    /* E820-like: conventional memory below the EBDA, then everything from 1 MiB up. The device
     * page is reserved, not RAM: the guest kernel leaves it alone, and Linux lets its init read
     * it through /dev/mem (STRICT_DEVMEM admits reserved pages of the first MiB). */
    map[0] = (struct launcher_pvh_memmap_entry){
        .addr = 0, .size = LAYOUT_DEVPAGE, .type = LAUNCHER_PVH_E820_RAM};
    map[1] = (struct launcher_pvh_memmap_entry){
        .addr = LAYOUT_DEVPAGE, .size = LAYOUT_DEVPAGE_SIZE, .type = LAUNCHER_PVH_E820_RESERVED};
    map[2] = (struct launcher_pvh_memmap_entry){.addr = LAYOUT_DEVPAGE + LAYOUT_DEVPAGE_SIZE,
                                                .size = LAYOUT_LOW_END - LAYOUT_DEVPAGE -
                                                        LAYOUT_DEVPAGE_SIZE,
                                                .type = LAUNCHER_PVH_E820_RAM};
    map[3] = (struct launcher_pvh_memmap_entry){.addr = LAYOUT_KERNEL_MIN,
                                                .size = v->mem_size - LAYOUT_KERNEL_MIN,
                                                .type = LAUNCHER_PVH_E820_RAM};
    si->memmap_paddr = LAYOUT_MEMMAP;
    si->memmap_entries = 4;
    v->entry = k->entry;
    v->kernel_is_linux = k->is_linux;
    return 0;
}
