/* cpio_writer.h: write a folder tree as a compressed newc cpio (the initramfs), byte-
 * reproducibly: sorted entries, fixed times, inode numbers assigned in order. Host side. */
#ifndef INITRAMFS_CPIO_WRITER_H
#define INITRAMFS_CPIO_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A device node added without creating it on disk (e.g. dev/console, char 5:1). */
struct initramfs_node {
    const char *path; /* relative, e.g. "dev/console" */
    mode_t mode;      /* including S_IFCHR or S_IFBLK */
    unsigned major, minor;
};

struct initramfs_cpio_opts {
    const char *compression; /* "zstd", "xz", "gzip" or "none" */
    int level;               /* 0: Tinyx's default for that compressor */
    int64_t mtime;           /* every entry's modification time */
    bool (*stop)(void);      /* asked between entries: true = give up (no message), -1 */
};

struct initramfs_cpio_stats {
    uint64_t entries;
    uint64_t file_bytes; /* sum of regular file sizes (the uncompressed rootfs) */
    uint64_t out_bytes;  /* compressed size */
};

/* True if name is a supported compression. */
int initramfs_cpio_compression_ok(const char *name);
/* Write TREE as OUT (atomically: temp file + rename). Owners and modes come from the tree. */
int initramfs_cpio_write(const char *tree, const char *out, const struct initramfs_cpio_opts *o,
                         const struct initramfs_node *nodes, size_t n_nodes,
                         struct initramfs_cpio_stats *stats);

#endif
