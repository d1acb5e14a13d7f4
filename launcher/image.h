/* image.h: read a Tinyx image directory (docs/image-format.md) and validate its manifest. */
#ifndef LAUNCHER_IMAGE_H
#define LAUNCHER_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "launcher/check.h"
#include "launcher/kernel.h"
#include "tinyx/exitcode.h"

/* Exit code for an image directory with missing/unreadable files or a bad manifest.
 * TODO(lead): move into tinyx/exitcode.h as TINYX_EXIT_IMAGE. */

struct launcher_image {
    char *dir;
    char *kernel_path;
    char *initrd_path; /* NULL when the manifest says "initrd": null */
    char *cmdline;     /* the cmdline file's one line, without the newline */
    char *name;        /* manifest "name", or the directory's base name */
    uint64_t kernel_bytes;
    uint64_t initrd_bytes;
    unsigned memory_mb; /* app.memory_mb; 0 when the manifest does not say */
    int *ports;         /* app.ports */
    size_t n_ports;
    struct launcher_check check;                /* app.check (kind NONE when null or absent) */
    enum launcher_virtio_discovery virtio_mmio; /* kernel.virtio_mmio (ACPI when absent) */
};

/* Load and validate. Returns 0, or after a message naming the file or manifest field:
 * TINYX_EXIT_USAGE when dir does not exist or is not a directory, TINYX_EXIT_IMAGE when a
 * file is missing or unreadable or the manifest is invalid. */
int launcher_image_load(const char *dir, struct launcher_image *img);
void launcher_image_free(struct launcher_image *img);

#endif
