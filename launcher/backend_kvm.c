/* backend_kvm.c: the KVM backend: one tinyx-kvm process per VM, console and timer on pipes. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/backend.h"
#include "launcher/backend_kvm.h"
#include "launcher/hostinfo.h"
#include "launcher/kernel.h"
#include "launcher/layout.h"
#include "launcher/vmm.h"
#include "launcher/vmm_spawn.h"
#include "tinyx/exitcode.h"
#include "tinyx/strvec.h"
#include "tinyx/util.h"

/* tinyx-kvm's --mem limit (LAYOUT_RAM_MAX). */
#define MAX_MEMORY_MB 3072u
#define MIB           (1024ull * 1024)
/* stop(): SIGTERM lets tinyx-kvm write out the console and close its devices; a monitor that
 * does not end by then is killed. */
#define STOP_GRACE_MS 200

/* ELF notes that say "this kernel is Linux" (see scan_notes). */
#define NOTE_LINUX       "Linux"
#define NOTE_XEN         "Xen"
#define XEN_GUEST_OS     6
#define XEN_PHYS32_ENTRY 18

struct kvm_vm {
    pid_t pid;
    bool reaped;
    int wait_status;
};

/* TINYX_KVM overrides the monitor (tests use a missing one); else tinyx-kvm beside us. */
static const char *kvm_program(void)
{
    static char path[4200];
    const char *p = getenv("TINYX_KVM");
    if (p && *p)
        return p;
    snprintf(path, sizeof(path), "%s/tinyx-kvm", tinyx_self_dir());
    return path;
}

static void note_set(char *note, size_t note_len, const char *text)
{
    if (note && note_len)
        snprintf(note, note_len, "%s", text);
}

static int kvm_prepare(const char *requested, const char **accel_out, char *note, size_t note_len)
{
    (void)requested; /* no accelerator choice: run.c refuses --accel for this backend */
    const char *prog = kvm_program();
    if (access(prog, X_OK) < 0) {
        tinyx_err("the kvm backend needs tinyx-kvm, and %s %s; build it with `make` (it is "
                  "installed next to tinyx-launch), or set TINYX_KVM",
                  prog, errno == ENOENT ? "does not exist" : "is not executable");
        return TINYX_EXIT_ENV;
    }
    char why[256];
    enum launcher_kvm_state kvm = launcher_host_kvm(why, sizeof(why));
    if (kvm == LAUNCHER_KVM_MISSING) {
        tinyx_err("the kvm backend cannot run here: %s; use --backend qemu", why);
        return TINYX_EXIT_ENV;
    }
    *accel_out = "kvm";
    note_set(note, note_len,
             kvm == LAUNCHER_KVM_SOFTWARE
                 ? "kvm_pvm (software nested virtualisation): tiny PVH guests run, a standard "
                   "Linux kernel does not"
                 : "hardware KVM");
    return 0;
}

/* What an ELF kernel's headers and notes say. */
struct kernel_elf {
    bool pvh_entry;    /* Xen's PHYS32_ENTRY note: tinyx-kvm can boot it */
    bool is_linux;     /* a note called "Linux" (every vmlinux since 5.x carries its build-salt
                        * note), or Xen's GUEST_OS note saying "linux" */
    uint64_t load_end; /* the highest p_paddr + p_memsz of its PT_LOAD segments */
    char broken[300];  /* why it is not a whole ELF file; "" when it is */
};

static void scan_notes(Elf *e, const GElf_Phdr *ph, struct kernel_elf *out)
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
        bool xen = nh.n_namesz == sizeof(NOTE_XEN) && !memcmp(name, NOTE_XEN, sizeof(NOTE_XEN));
        if (nh.n_namesz == sizeof(NOTE_LINUX) && !memcmp(name, NOTE_LINUX, sizeof(NOTE_LINUX)))
            out->is_linux = true;
        if (xen && nh.n_type == XEN_GUEST_OS && nh.n_descsz >= 5 && !strncasecmp(desc, "linux", 5))
            out->is_linux = true;
        if (xen && nh.n_type == XEN_PHYS32_ENTRY)
            out->pvh_entry = true;
        off = next;
    }
}

/* Every program header, and the bytes of the segments tinyx-kvm reads, inside the file. */
static void scan_segments(Elf *e, uint64_t file_size, struct kernel_elf *out)
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

/* 1 with *k filled for a file that starts with the ELF magic (k->broken set when it is not a
 * whole ELF file), 0 for anything else. */
static int read_kernel_elf(const char *path, struct kernel_elf *k)
{
    memset(k, 0, sizeof(*k));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st;
    unsigned char magic[SELFMAG];
    if (fstat(fd, &st) < 0 || pread(fd, magic, SELFMAG, 0) != SELFMAG ||
        memcmp(magic, ELFMAG, SELFMAG)) {
        close(fd);
        return 0;
    }
    Elf *e = elf_version(EV_CURRENT) == EV_NONE ? NULL : elf_begin(fd, ELF_C_READ, NULL);
    unsigned char cls = 0;
    bool whole_header =
        pread(fd, &cls, 1, EI_CLASS) == 1 &&
        (uint64_t)st.st_size >= (cls == ELFCLASS32 ? sizeof(Elf32_Ehdr) : sizeof(Elf64_Ehdr));
    if (!whole_header)
        snprintf(k->broken, sizeof(k->broken), "%lld bytes, shorter than an ELF header: truncated?",
                 (long long)st.st_size);
    else if (!e || elf_kind(e) != ELF_K_ELF)
        snprintf(k->broken, sizeof(k->broken), "libelf cannot read it: %s", elf_errmsg(-1));
    else
        scan_segments(e, (uint64_t)st.st_size, k);
    if (e)
        elf_end(e);
    close(fd);
    return 1;
}

static uint64_t align_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

/* The initrd goes page-aligned at the top of RAM, above the kernel (tinyx-kvm's rule,
 * vmm_pvh.c): one that does not fit is refused here, with the --mem that would do. */
static int check_initrd_fits(const struct launcher_vm_spec *spec, uint64_t kernel_end)
{
    struct stat st;
    if (!spec->initrd_path || stat(spec->initrd_path, &st) < 0)
        return 0; /* none, or the monitor says what is wrong with it */
    uint64_t mem = (uint64_t)spec->memory_mb * MIB, size = (uint64_t)st.st_size;
    uint64_t lowest = align_up(kernel_end, LAYOUT_INITRD_ALIGN);
    if (size <= mem && ((mem - size) & ~(uint64_t)(LAYOUT_INITRD_ALIGN - 1)) >= lowest)
        return 0;
    uint64_t need = lowest + align_up(size, LAYOUT_INITRD_ALIGN);
    char human[32];
    tinyx_err("the initrd %s (%s) does not fit in %u MiB of guest RAM above the kernel (which "
              "ends at %.1f MiB): give --mem %llu or more",
              spec->initrd_path, tinyx_human_size(size, human, sizeof(human)), spec->memory_mb,
              (double)kernel_end / MIB, (unsigned long long)((need + MIB - 1) / MIB));
    return TINYX_EXIT_USAGE;
}

bool launcher_kvm_can_boot(const char *kernel_path)
{
    struct kernel_elf elf;
    if (read_kernel_elf(kernel_path, &elf) != 1 || elf.broken[0] || !elf.pvh_entry)
        return false;
    char why[512];
    return !elf.is_linux || launcher_host_kvm(why, sizeof(why)) != LAUNCHER_KVM_SOFTWARE;
}

/* What this host's KVM and tinyx-kvm cannot boot is refused here, before any process starts,
 * with the way out. The rule for "this kernel is Linux": a bzImage (the Linux boot protocol),
 * or an ELF file with a Linux note (above); the test guests carry only the PVH entry note. */
static int check_bootable(const struct launcher_vm_spec *spec)
{
    char why[512];
    struct kernel_elf elf;
    bool is_elf = read_kernel_elf(spec->kernel_path, &elf);
    enum launcher_kernel_format format = LAUNCHER_KERNEL_PVH_ELF;
    if (!is_elf && launcher_kernel_probe(spec->kernel_path, &format, NULL, why, sizeof(why)) < 0) {
        tinyx_err("%s", why); /* missing, unreadable, or neither ELF nor bzImage */
        return TINYX_EXIT_IMAGE;
    }
    if (is_elf && elf.broken[0]) {
        tinyx_err("kernel %s is a corrupt ELF file (%s); rebuild it or copy it again",
                  spec->kernel_path, elf.broken);
        return TINYX_EXIT_IMAGE;
    }
    bool linux_kernel = is_elf ? elf.is_linux : format == LAUNCHER_KERNEL_BZIMAGE;
    if (linux_kernel && launcher_host_kvm(why, sizeof(why)) == LAUNCHER_KVM_SOFTWARE) {
        tinyx_err("the kvm backend cannot boot %s: it is a Linux kernel, and %s (it would stall "
                  "in instruction emulation); use --backend qemu",
                  spec->kernel_path, why);
        return TINYX_EXIT_ENV;
    }
    if (!is_elf) {
        tinyx_err("the kvm backend boots PVH ELF kernels (a vmlinux built with CONFIG_PVH=y); "
                  "%s is a bzImage: give the vmlinux with --kernel, or use --backend qemu",
                  spec->kernel_path);
        return TINYX_EXIT_IMAGE;
    }
    if (!elf.pvh_entry) {
        tinyx_err("the kvm backend boots PVH ELF kernels, and %s has no PVH entry note (ELF note "
                  "\"Xen\", type %d): build Linux with CONFIG_PVH=y, or use --backend qemu",
                  spec->kernel_path, XEN_PHYS32_ENTRY);
        return TINYX_EXIT_IMAGE;
    }
    if (spec->n_forwards) {
        tinyx_err("the kvm backend does not forward guest ports to the host yet (this app uses "
                  "port %d); use --backend qemu",
                  spec->forwards[0].guest_port);
        return TINYX_EXIT_USAGE;
    }
    if (spec->memory_mb > MAX_MEMORY_MB) {
        tinyx_err("the kvm backend gives a guest at most %u MiB (asked: %u); use a smaller --mem",
                  MAX_MEMORY_MB, spec->memory_mb);
        return TINYX_EXIT_USAGE;
    }
    if (spec->n_devices > LAYOUT_VIRTIO_MAX_DEVICES) {
        tinyx_err("the kvm backend gives a guest at most %u devices (asked: %zu)",
                  LAYOUT_VIRTIO_MAX_DEVICES, spec->n_devices);
        return TINYX_EXIT_USAGE;
    }
    return check_initrd_fits(spec, elf.load_end);
}

/* Whether the kernel command line has parameter name, bare or as name=VALUE. */
static bool has_param(const char *cmdline, const char *name)
{
    size_t name_len = strlen(name);
    for (const char *p = cmdline; *p;) {
        p += strspn(p, " \t");
        size_t word_len = strcspn(p, " \t");
        if (word_len >= name_len && !strncmp(p, name, name_len) &&
            (word_len == name_len || p[name_len] == '='))
            return true;
        p += word_len;
    }
    return false;
}

/* The image's words, then what makes a panic end the VM (a triple fault, which tinyx-kvm
 * reports as "halted"), then the user's words, which win. */
static char *build_cmdline(const struct launcher_vm_spec *spec)
{
    const char *append = spec->append ? spec->append : "";
    char *cmdline = tinyx_xstrdup(spec->cmdline ? spec->cmdline : "");
    static const char *const exit_params[][2] = {{"panic", "panic=-1"}, {"reboot", "reboot=t"}};
    for (size_t i = 0; i < sizeof(exit_params) / sizeof(exit_params[0]); i++) {
        if (has_param(cmdline, exit_params[i][0]) || has_param(append, exit_params[i][0]))
            continue;
        char *more = tinyx_xasprintf("%s%s%s", cmdline, cmdline[0] ? " " : "", exit_params[i][1]);
        free(cmdline);
        cmdline = more;
    }
    if (append[0]) {
        char *more = tinyx_xasprintf("%s %s", cmdline, append);
        free(cmdline);
        cmdline = more;
    }
    return cmdline;
}

/* tinyx-kvm's option for a device: --net=TAP[,mac=..][,bridge=BR] or --blk=FILE[,ro]. */
static char *device_option(const struct launcher_vm_device *d)
{
    if (d->kind == LAUNCHER_VM_DEVICE_BLK) {
        /* tinyx-kvm reads a trailing ",ro" or ",rw" as the mode: a file whose own name ends
         * that way gets an explicit ",rw" after it. */
        bool ambiguous = tinyx_str_ends(d->blk.path, ",ro") || tinyx_str_ends(d->blk.path, ",rw");
        return tinyx_xasprintf("--blk=%s%s", d->blk.path,
                               d->blk.read_only ? ",ro"
                               : ambiguous      ? ",rw"
                                                : "");
    }
    char mac[32] = "";
    if (d->net.have_mac)
        snprintf(mac, sizeof(mac), ",mac=%02x:%02x:%02x:%02x:%02x:%02x", d->net.mac[0],
                 d->net.mac[1], d->net.mac[2], d->net.mac[3], d->net.mac[4], d->net.mac[5]);
    return tinyx_xasprintf("--net=%s%s%s%s", d->net.tap, mac, d->net.bridge[0] ? ",bridge=" : "",
                           d->net.bridge);
}

static void build_argv(const struct launcher_vm_spec *spec, struct strvec *av)
{
    tinyx_strvec_push(av, kvm_program());
    tinyx_strvec_push(av, "--kernel");
    tinyx_strvec_push(av, spec->kernel_path);
    if (spec->initrd_path) {
        tinyx_strvec_push(av, "--initrd");
        tinyx_strvec_push(av, spec->initrd_path);
    }
    tinyx_strvec_push(av, "--cmdline");
    tinyx_strvec_push_owned(av, build_cmdline(spec));
    tinyx_strvec_push(av, "--mem");
    tinyx_strvec_pushf(av, "%u", spec->memory_mb);
    tinyx_strvec_push(av, "--console-fd");
    tinyx_strvec_push(av, "1");
    tinyx_strvec_push(av, "--timer-fd");
    tinyx_strvec_pushf(av, "%d", LAUNCHER_SPAWN_TIMER_FD);
    for (size_t i = 0; i < spec->n_devices; i++)
        tinyx_strvec_push_owned(av, device_option(&spec->devices[i]));
}

static int kvm_start(const struct launcher_vm_spec *spec, struct launcher_vm *vm)
{
    int rc = check_bootable(spec);
    if (rc != 0)
        return rc;
    struct strvec av = STRVEC_INIT;
    build_argv(spec, &av);
    pid_t pid;
    rc = launcher_spawn_vmm(tinyx_strvec_argv(&av), "tinyx-kvm", NULL, 0, vm, &pid);
    tinyx_strvec_free(&av);
    if (rc != 0)
        return rc;
    struct kvm_vm *k = tinyx_xcalloc(1, sizeof(*k));
    k->pid = pid;
    vm->priv = k;
    return 0;
}

static void reap(struct kvm_vm *k)
{
    if (k->reaped)
        return;
    while (waitpid(k->pid, &k->wait_status, 0) < 0) {
        if (errno != EINTR) {
            k->wait_status = 0;
            break;
        }
    }
    k->reaped = true;
}

/* The last "tinyx-kvm: vm ended: ..." line of the log (vmm.h), or NULL. */
static const char *end_line(const char *log)
{
    const char *found = NULL;
    size_t key_len = strlen(LAUNCHER_VMM_END_LINE);
    for (const char *p = log; (p = strstr(p, LAUNCHER_VMM_END_LINE)); p += key_len)
        if (p == log || p[-1] == '\n')
            found = p + key_len;
    return found;
}

int launcher_backend_kvm_end(const char *vmm_log, int wait_status, struct launcher_vm_end *end)
{
    if (WIFSIGNALED(wait_status)) {
        end->kind = LAUNCHER_VM_END_KILLED;
        end->code = WTERMSIG(wait_status);
        return 0;
    }
    int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : TINYX_EXIT_FAIL;
    const char *line = end_line(vmm_log ? vmm_log : "");
    /* tinyx-kvm's exit code alone cannot tell a guest status 5 from "halted" (5): its last
     * line can. Without that line the monitor itself broke. */
    if (line && tinyx_str_starts(line, "status ")) {
        end->kind = LAUNCHER_VM_END_STATUS;
        end->code = atoi(line + strlen("status "));
    } else if (line && tinyx_str_starts(line, "halted")) {
        end->kind = LAUNCHER_VM_END_RESET;
        end->code = 0;
    } else if (line && tinyx_str_starts(line, "interrupted")) {
        end->kind = LAUNCHER_VM_END_KILLED;
        end->code = SIGTERM;
    } else {
        end->kind = LAUNCHER_VM_END_VMM_FAILED;
        end->code = code;
    }
    return 0;
}

static int kvm_wait(struct launcher_vm *vm, const char *vmm_log, struct launcher_vm_end *end)
{
    struct kvm_vm *k = vm->priv;
    reap(k);
    return launcher_backend_kvm_end(vmm_log, k->wait_status, end);
}

static void kvm_stop(struct launcher_vm *vm)
{
    struct kvm_vm *k = vm->priv;
    if (!k || k->reaped)
        return;
    kill(k->pid, SIGTERM);
    if (vm->exit_fd >= 0) {
        struct pollfd p = {.fd = vm->exit_fd, .events = POLLIN};
        uint64_t deadline = tinyx_now_us() + STOP_GRACE_MS * 1000ull;
        for (uint64_t now = tinyx_now_us(); now < deadline; now = tinyx_now_us())
            if (poll(&p, 1, (int)((deadline - now + 999) / 1000)) > 0)
                break;
    } else {
        usleep(STOP_GRACE_MS * 1000);
    }
    if (waitpid(k->pid, &k->wait_status, WNOHANG) == k->pid) {
        k->reaped = true;
        return;
    }
    kill(k->pid, SIGKILL);
    reap(k);
}

static void kvm_release(struct launcher_vm *vm)
{
    kvm_stop(vm);
    launcher_spawn_close(vm);
    free(vm->priv);
    vm->priv = NULL;
}

const struct launcher_backend launcher_backend_kvm = {
    .name = "kvm",
    .summary = "tinyx-kvm, our own KVM monitor (PVH ELF kernels; no port forwarding yet)",
    .accels = NULL,
    .ports_proxied = false,
    .prepare = kvm_prepare,
    .start = kvm_start,
    .wait = kvm_wait,
    .stop = kvm_stop,
    .release = kvm_release,
};
