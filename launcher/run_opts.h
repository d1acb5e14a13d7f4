/* run_opts.h: the options of `tinyx-launch run` and their parsing. */
#ifndef LAUNCHER_RUN_OPTS_H
#define LAUNCHER_RUN_OPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "launcher/backend.h"
#include "launcher/kernel.h"

#define LAUNCHER_RUN_DEFAULT_TIMEOUT_S 60.0
#define LAUNCHER_RUN_DEFAULT_MEMORY_MB 128u
#define LAUNCHER_RUN_MAX_RUNS          1000u
/* --net and --blk together: tinyx-kvm has this many virtio-mmio slots. */
#define LAUNCHER_RUN_MAX_DEVICES 8u

struct launcher_run_opts {
    const char *image_dir;
    const char *backend;
    const char *accel;
    const char *kernel;   /* --kernel FILE; NULL: the image's kernel */
    bool virtio_mmio_set; /* --virtio-mmio given: virtio_mmio overrides the manifest */
    enum launcher_virtio_discovery virtio_mmio;
    char *append;  /* every --append, joined by spaces; NULL: none */
    unsigned runs; /* --runs N (>= 1; 1 when not given) */
    bool json;
    bool quiet;
    bool until_ready;
    double timeout_s;   /* per boot */
    unsigned memory_mb; /* 0: the manifest's */
    /* --net and --blk, in the order given; blk paths are owned (freed by _free). */
    struct launcher_vm_device devices[LAUNCHER_RUN_MAX_DEVICES];
    size_t n_devices;
};

/* Parse argv (argv[0] is "run"). Returns -1 to go on, or the exit code to end with: 0 after
 * --help, TINYX_EXIT_USAGE after a message naming the bad option. Call
 * launcher_run_opts_free in every case. */
int launcher_run_parse_opts(int argc, char **argv, struct launcher_run_opts *o);
void launcher_run_opts_free(struct launcher_run_opts *o);

#endif
