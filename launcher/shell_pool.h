/* shell_pool.h: image templates (kernel and initrd loaded once into a sealed memfd that every
 * shell maps copy-on-write) and spawning prepared shells (tinyx-kvm --shell). */
#ifndef LAUNCHER_SHELL_POOL_H
#define LAUNCHER_SHELL_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct launcher_template {
    char *image;      /* real path of the image folder */
    unsigned mem_mib; /* guest RAM of its shells */
    int memfd;        /* guest RAM image [0, mem_mib MiB): segments, initrd, PVH boot data */
    char *kernel;     /* the kernel file (shells re-check its headers) */
    char *cmdline;    /* the image's command line */
    bool is_linux;
    unsigned target;    /* prepared shells to keep ready (0: none, fresh ones only) */
    unsigned ready;     /* shells READY and unclaimed */
    unsigned preparing; /* shells spawned, not READY yet, unclaimed */
    unsigned failures;  /* shells that died before READY, in a row */
    char broken[400];   /* non-empty: no more shells are spawned, and why */
};

/* Load image (an image folder) for mem_mib of guest RAM into a new template. 0, or a
 * TINYX_EXIT_* code with a message for the client in err (details on stderr). */
int launcher_template_load(const char *image, unsigned mem_mib, struct launcher_template **out,
                           char *err, size_t errlen);
void launcher_template_free(struct launcher_template *t);

/* Start tinyx-kvm (kvm_path) as a shell of t: its socket (SOCK_SEQPACKET, the daemon's end
 * non-blocking and close-on-exec) in *sock. Returns the pid, or -1 with a message in err. */
pid_t launcher_shell_spawn(const struct launcher_template *t, const char *kvm_path, bool verbose,
                           int *sock, char *err, size_t errlen);

#endif
