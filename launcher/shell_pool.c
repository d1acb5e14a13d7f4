/* shell_pool.c: image templates in sealed memfds, and prepared shells started with
 * posix_spawn (no shell, no script). */
#include "launcher/shell_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "launcher/image.h"
#include "launcher/shell_abi.h"
#include "launcher/vmm.h"
#include "launcher/vmm_core.h"
#include "launcher/vmm_pvh.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

#define MIB (1024ull * 1024)

extern char **environ;

static int load_into(struct launcher_template *t, const char *initrd, char *err, size_t errlen)
{
    struct launcher_vmm_config cfg = {.kernel = t->kernel, .mem_bytes = t->mem_mib * MIB};
    struct launcher_pvh_kernel k;
    int rc = launcher_vmm_open_kernel(&cfg, &k);
    if (rc != 0) {
        snprintf(err, errlen,
                 rc == TINYX_EXIT_ENV
                     ? "this host cannot run the kernel of %s (a Linux kernel on kvm_pvm?); boot "
                       "it with `tinyx run --backend qemu` instead"
                     : "the kernel of %s cannot be booted (see the daemon's log)",
                 t->image);
        return rc;
    }
    t->is_linux = k.is_linux;
    t->memfd = memfd_create("tinyx-template", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (t->memfd < 0 || ftruncate(t->memfd, (off_t)cfg.mem_bytes) < 0) {
        snprintf(err, errlen, "cannot create the RAM template of %s: %s", t->image,
                 strerror(errno));
        return TINYX_EXIT_FAIL;
    }
    void *mem = mmap(NULL, cfg.mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, t->memfd, 0);
    if (mem == MAP_FAILED) {
        snprintf(err, errlen, "cannot map the RAM template of %s: %s", t->image, strerror(errno));
        return TINYX_EXIT_FAIL;
    }
    /* The monitor's own loader, on a stand-in VM whose RAM is the template. */
    struct launcher_vmm v;
    memset(&v, 0, sizeof(v));
    v.cfg = &cfg;
    v.mem = mem;
    v.mem_size = cfg.mem_bytes;
    rc = launcher_vmm_pvh_load(&v, &k, initrd, "");
    munmap(mem, cfg.mem_bytes);
    if (rc != 0) {
        snprintf(err, errlen,
                 "cannot load %s into %u MiB of guest RAM (see the daemon's log; "
                 "more memory: \"mem_mib\")",
                 t->image, t->mem_mib);
        return rc;
    }
    /* Sealed: no shell (nor anyone) can change the pages every shell shares. */
    if (fcntl(t->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        tinyx_warn("cannot seal the RAM template of %s: %s", t->image, strerror(errno));
    return 0;
}

int launcher_template_load(const char *image, unsigned mem_mib, struct launcher_template **out,
                           char *err, size_t errlen)
{
    *out = NULL;
    struct launcher_image img;
    memset(&img, 0, sizeof(img));
    int rc = launcher_image_load(image, &img);
    if (rc != 0) {
        snprintf(err, errlen,
                 "%s is not a usable image folder (kernel, cmdline, manifest.json); "
                 "the daemon's log says what is wrong",
                 image);
        return rc;
    }
    struct launcher_template *t = tinyx_xcalloc(1, sizeof(*t));
    t->memfd = -1;
    t->image = tinyx_xstrdup(image);
    t->mem_mib = mem_mib;
    t->kernel = tinyx_xstrdup(img.kernel_path);
    t->cmdline = tinyx_xstrdup(img.cmdline ? img.cmdline : "");
    rc = load_into(t, img.initrd_path, err, errlen);
    launcher_image_free(&img);
    if (rc != 0) {
        launcher_template_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void launcher_template_free(struct launcher_template *t)
{
    if (!t)
        return;
    if (t->memfd >= 0)
        close(t->memfd);
    free(t->image);
    free(t->kernel);
    free(t->cmdline);
    free(t);
}

/* A descriptor that is not one of the shell's fixed numbers (so dup2 in the child moves it). */
static int above_fixed(int fd)
{
    if (fd > SHELL_ABI_FD_RAM)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, SHELL_ABI_FD_RAM + 1);
    close(fd);
    return moved;
}

pid_t launcher_shell_spawn(const struct launcher_template *t, const char *kvm_path, bool verbose,
                           int *sock, char *err, size_t errlen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "cannot create a socket pair for a shell: %s", strerror(errno));
        return -1;
    }
    sv[1] = above_fixed(sv[1]);
    char parent[24], mem[24];
    snprintf(parent, sizeof(parent), "%ld", (long)getpid());
    snprintf(mem, sizeof(mem), "%u", t->mem_mib);
    char *argv[] = {
        (char *)kvm_path, "--shell", "--parent-pid",        parent, "--kernel", t->kernel,
        "--mem",          mem,       verbose ? "-v" : NULL, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, sv[1], SHELL_ABI_FD_SOCK);
    posix_spawn_file_actions_adddup2(&fa, t->memfd, SHELL_ABI_FD_RAM);
    /* The daemon blocks its signals for signalfd and ignores SIGPIPE: the shell gets none of
     * that. */
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    int sigs[] = {SIGPIPE, SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGALRM};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&defaults, sigs[i]);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int rc = sv[1] < 0 || t->memfd <= SHELL_ABI_FD_RAM
                 ? EBADF
                 : posix_spawn(&pid, kvm_path, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (sv[1] >= 0)
        close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        snprintf(err, errlen, "cannot start the monitor %s: %s (run `make`, or set TINYX_KVM)",
                 kvm_path, strerror(rc));
        return -1;
    }
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    *sock = sv[0];
    return pid;
}
