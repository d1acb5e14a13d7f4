/* vmm_shell.c: tinyx-kvm --shell: a prepared VM shell for the launcher daemon. Prepare (VM,
 * copy-on-write RAM from the image template, irqchip, vCPU) ahead of time, then wait for the
 * execute record (command line, device page, taps), plug the devices and run. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "launcher/layout.h"
#include "launcher/shell_abi.h"
#include "launcher/vdev_net.h"
#include "launcher/vmm_core.h"
#include "launcher/vmm_shell.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

_Static_assert(DEVPAGE_ABI_GPA == LAYOUT_DEVPAGE, "devpage_abi.h and layout.h agree");
_Static_assert(DEVPAGE_ABI_SIZE == LAYOUT_DEVPAGE_SIZE, "devpage_abi.h and layout.h agree");
_Static_assert(LAYOUT_MEMMAP + LAYOUT_MAX_MEMMAP * 24 <= LAYOUT_DEVPAGE, "memmap below devpage");
_Static_assert(LAYOUT_DEVPAGE + LAYOUT_DEVPAGE_SIZE <= LAYOUT_CMDLINE, "devpage below cmdline");

static void send_msg(int sock, uint32_t type, uint32_t code, const char *text)
{
    struct shell_abi_msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.code = code;
    m.t_us = tinyx_now_us();
    if (text)
        snprintf(m.text, sizeof(m.text), "%s", text);
    ssize_t w;
    do
        w = write(sock, &m, sizeof(m));
    while (w < 0 && errno == EINTR);
}

/* The execute record and its descriptors. 1 = got it, 0 = the daemon closed the socket (the
 * shell is not needed), -1 = malformed (message printed). */
static int receive_exec(int sock, struct shell_abi_exec *x, int *fds, unsigned *n_fds)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * (2 + DEVPAGE_ABI_MAX_DEVICES))];
    } control;
    struct iovec iov = {.iov_base = x, .iov_len = sizeof(*x)};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof(control.buf)};
    ssize_t got;
    do
        got = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (got < 0 && errno == EINTR);
    if (got == 0)
        return 0;
    if (got < 0)
        return tinyx_errno("shell: cannot read the execute record");
    *n_fds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n && *n_fds < 2 + DEVPAGE_ABI_MAX_DEVICES; i++)
            memcpy(&fds[(*n_fds)++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }
    if ((size_t)got != sizeof(*x) || x->magic != SHELL_ABI_EXEC_MAGIC ||
        (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || x->n_net > DEVPAGE_ABI_MAX_DEVICES ||
        *n_fds != 1 + !!(x->flags & SHELL_ABI_EXEC_LOG) + x->n_net ||
        x->devpage_len > sizeof(x->devpage) || !memchr(x->cmdline, 0, sizeof(x->cmdline)))
        return tinyx_err("shell: malformed execute record (%zd bytes, %u descriptors)", got,
                         *n_fds);
    for (unsigned i = 0; i < x->n_net; i++)
        x->net[i].ifname[IFNAMSIZ - 1] = '\0';
    return 1;
}

/* Every device the page declares must be where the modules put it (their cmdline words). */
static int check_devpage(const struct shell_abi_exec *x, const struct strvec *words)
{
    if (!x->devpage_len)
        return 0;
    struct devpage_abi page;
    memset(&page, 0, sizeof(page));
    memcpy(&page, x->devpage, x->devpage_len);
    if (page.magic != DEVPAGE_ABI_MAGIC || page.count > DEVPAGE_ABI_MAX_DEVICES ||
        page.size != x->devpage_len ||
        page.checksum != devpage_abi_checksum(x->devpage, x->devpage_len))
        return tinyx_err("shell: the device page is malformed");
    for (unsigned i = 0; i < page.count; i++) {
        char want[96];
        snprintf(want, sizeof(want), "virtio_mmio.device=%u@0x%llx:%u", page.dev[i].mmio_size,
                 (unsigned long long)page.dev[i].mmio_base, page.dev[i].irq);
        bool found = false;
        for (size_t k = 0; k < words->n && !found; k++)
            found = !strcmp(words->v[k], want);
        if (!found)
            return tinyx_err("shell: device page entry %u (%s) matches no device plugged", i, want);
    }
    return 0;
}

/* Copy-on-write faults in the prepare phase rather than in the guest's first microseconds: the
 * boot data below 1 MiB (start_info, device page, command line) and the kernel image with its
 * .bss (page tables, stack), which every guest writes. The rest of RAM stays shared. */
static void prefault(struct launcher_vmm *v, const struct launcher_pvh_kernel *k)
{
#ifdef MADV_POPULATE_WRITE
    uint64_t low = LAYOUT_CMDLINE + LAYOUT_CMDLINE_MAX;
    if (launcher_vmm_gpa(v, 0, low))
        madvise(v->mem, low, MADV_POPULATE_WRITE);
    uint64_t from = LAYOUT_KERNEL_MIN & ~0xfffull, to = (k->load_end + 0xfff) & ~0xfffull;
    if (to > from && launcher_vmm_gpa(v, from, to - from))
        madvise(v->mem + from, to - from, MADV_POPULATE_WRITE);
#else
    (void)v;
    (void)k;
#endif
}

/* Execute phase: devices, command line, device page. 0 or a TINYX_EXIT_* code. */
static int execute(struct launcher_vmm *v, const struct shell_abi_exec *x, const int *taps,
                   bool *setup_done)
{
    for (unsigned i = 0; i < x->n_net; i++)
        if (launcher_vdev_net_add_open(taps[i], x->net[i].ifname, x->net[i].mac) < 0)
            return TINYX_EXIT_FAIL;
    struct strvec words = STRVEC_INIT;
    int rc = 0;
    for (size_t i = 0; i < launcher_vmm_module_count() && rc == 0; i++) {
        const struct launcher_vmm_module *m = launcher_vmm_module_at(i);
        if (!m->setup)
            continue;
        setup_done[i] = true;
        if (m->setup(v, &words) < 0)
            rc = tinyx_err("device %s could not be set up", m->name) ? TINYX_EXIT_FAIL : 0;
    }
    if (rc == 0 && check_devpage(x, &words) < 0)
        rc = TINYX_EXIT_FAIL;
    if (rc == 0) {
        char *cmdline = launcher_vmm_join_cmdline(x->cmdline, &words);
        size_t len = strlen(cmdline) + 1;
        char *dst = launcher_vmm_gpa(v, LAYOUT_CMDLINE, LAYOUT_CMDLINE_MAX);
        if (!dst || len > LAYOUT_CMDLINE_MAX)
            rc = tinyx_err("the kernel command line is %zu bytes; at most %u fit", len - 1,
                           LAYOUT_CMDLINE_MAX - 1)
                     ? TINYX_EXIT_USAGE
                     : 0;
        else
            memcpy(dst, cmdline, len);
        free(cmdline);
    }
    tinyx_strvec_free(&words);
    if (rc == 0 && x->devpage_len) {
        uint8_t *page = launcher_vmm_gpa(v, LAYOUT_DEVPAGE, LAYOUT_DEVPAGE_SIZE);
        if (!page)
            return tinyx_err("guest RAM has no room for the device page") ? TINYX_EXIT_FAIL : 0;
        memset(page, 0, LAYOUT_DEVPAGE_SIZE);
        memcpy(page, x->devpage, x->devpage_len);
    }
    return rc;
}

int launcher_vmm_shell(struct launcher_vmm_config *cfg, struct launcher_vmm *v, int sock,
                       int ram_fd)
{
    v->cfg = cfg;
    v->kvm_fd = v->vm_fd = v->vcpu_fd = -1;
    bool *setup_done = tinyx_xcalloc(launcher_vmm_module_count() + 1, sizeof(bool));
    struct shell_abi_exec *x = tinyx_xcalloc(1, sizeof(*x));
    int fds[2 + DEVPAGE_ABI_MAX_DEVICES];
    unsigned n_fds = 0;

    /* Prepare. */
    struct launcher_pvh_kernel k;
    int rc = launcher_vmm_open_kernel(cfg, &k);
    if (rc == 0)
        rc = launcher_vmm_create_vm(v, ram_fd);
    if (rc == 0 && (launcher_vmm_irqchip_create(v) < 0 || launcher_vmm_create_vcpu(v) < 0))
        rc = TINYX_EXIT_FAIL;
    if (rc == 0) {
        v->entry = k.entry;
        v->kernel_is_linux = k.is_linux;
        if (launcher_vmm_x86_setup(v) < 0 || launcher_vmm_finish_memory() < 0)
            rc = TINYX_EXIT_FAIL;
    }
    if (ram_fd >= 0)
        close(ram_fd); /* the mapping keeps the template */
    if (rc == 0)
        prefault(v, &k);
    if (rc != 0) {
        send_msg(sock, SHELL_ABI_FAILED, (uint32_t)rc, "the shell could not be prepared");
        goto out;
    }
    /* The seccomp filter is compiled now, off the hot path. Modules add rules for the devices
     * they have, and the net devices do not exist yet; but the rules of virtio-net only name
     * read/writev on its tap, which the core rules allow on any descriptor already, so the
     * filter built here admits the devices plugged at execute. */
    if (!cfg->no_sandbox)
        launcher_vmm_sandbox_prepare(v);
    v->t_created = tinyx_now_us();
    send_msg(sock, SHELL_ABI_READY, 0, NULL);

    /* Execute. */
    int got = receive_exec(sock, x, fds, &n_fds);
    if (got <= 0) {
        rc = got == 0 ? -1 : TINYX_EXIT_FAIL;
        goto out;
    }
    v->t_start = tinyx_now_us();
    /* Never block the vCPU on the daemon: when it does not read (it stops once the boot byte
     * came), boot-timer bytes are dropped (vmm_ports.c stops writing on a failed write). */
    fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
    /* From here on the monitor's messages (and its end line) go to its log, or to the VM's
     * console log. */
    unsigned first_tap = x->flags & SHELL_ABI_EXEC_LOG ? 2 : 1;
    dup2(fds[first_tap - 1], STDERR_FILENO);
    cfg->console_fd = fds[0];
    cfg->timer_fd = sock;
    cfg->timeout_ms = x->timeout_ms;
    rc = execute(v, x, fds + first_tap, setup_done);
    n_fds = first_tap; /* the taps belong to the net module now */
    uint64_t t_devices = tinyx_now_us();
    if (rc == 0 && (launcher_vmm_io_start(v) < 0 || launcher_vmm_loop_prepare(v) < 0))
        rc = TINYX_EXIT_FAIL;
    uint64_t t_io = tinyx_now_us();
    if (rc == 0 && !cfg->no_sandbox && launcher_vmm_sandbox_install(v) < 0) {
        launcher_vmm_loop_finish(v);
        rc = TINYX_EXIT_FAIL;
    }
    if (rc != 0) {
        send_msg(sock, SHELL_ABI_FAILED, (uint32_t)rc, "the shell could not start the guest");
        goto out;
    }
    send_msg(sock, SHELL_ABI_STARTED, 0, NULL);
    tinyx_debug("shell: execute record -> guest entry %llu us (devices %llu, I/O thread %llu, "
                "sandbox %llu)",
                (unsigned long long)(tinyx_now_us() - v->t_start),
                (unsigned long long)(t_devices - v->t_start),
                (unsigned long long)(t_io - t_devices),
                (unsigned long long)(tinyx_now_us() - t_io));
    launcher_vmm_loop(v);
    launcher_vmm_loop_finish(v);
out:
    launcher_vmm_destroy(v, setup_done);
    for (unsigned i = 0; i < n_fds; i++)
        if (fds[i] != STDERR_FILENO)
            close(fds[i]);
    free(x);
    free(setup_done);
    return rc;
}
