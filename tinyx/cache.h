/* cache.h: the build cache (apt state, .deb files, staged roots, kernels): location, locks and
 * atomic publication of folders, so an interrupted build never leaves a corrupt entry. */
#ifndef TINYX_CACHE_H
#define TINYX_CACHE_H

#include <stdbool.h>

/* The cache root: $TINYX_CACHE, else $XDG_CACHE_HOME/tinyx, else $HOME/.cache/tinyx.
 * Returns a malloc'd path. */
char *tinyx_cache_default_dir(void);
/* dir as an absolute path (apt and chrooted tools resolve relative ones elsewhere). */
char *tinyx_cache_absolute(const char *dir);

/* An exclusive lock on PATH (created if missing); blocks, printing a note if it must wait.
 * Returns an fd to pass to tinyx_cache_unlock, or -1 with a message. */
int tinyx_cache_lock(const char *path);
void tinyx_cache_unlock(int fd);

/* A fresh temp folder "FINAL.tmp-PID" next to FINAL, registered for cleanup on failure or
 * interruption. Stale temp folders of dead processes next to FINAL are removed first. Returns a
 * malloc'd path or NULL. */
char *tinyx_cache_tmpdir_for(const char *final);
/* Publish TMP as FINAL atomically: rename, or exchange with an existing FINAL and remove the
 * old one. Unregisters TMP from cleanup. */
int tinyx_cache_publish_dir(const char *tmp, const char *final);

/* Unmount (lazily) every mount point at or under PATH, deepest first. */
void tinyx_umount_under(const char *path);

#endif
