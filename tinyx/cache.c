/* cache.c: cache location, file locks and atomic publication of folders. */
#include "tinyx/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tinyx/proc.h"
#include "tinyx/strvec.h"
#include "tinyx/util.h"

char *tinyx_cache_absolute(const char *dir)
{
    if (dir[0] == '/')
        return tinyx_xstrdup(dir);
    char *cwd = getcwd(NULL, 0);
    if (!cwd) /* the folder we are in was removed: keep it relative, apt will say what failed */
        return tinyx_xstrdup(dir);
    char *abs = tinyx_xasprintf("%s/%s", cwd, dir);
    free(cwd);
    return abs;
}

char *tinyx_cache_default_dir(void)
{
    const char *e = getenv("TINYX_CACHE");
    if (e && *e)
        return tinyx_cache_absolute(e);
    e = getenv("XDG_CACHE_HOME");
    if (e && *e)
        return tinyx_xasprintf("%s/tinyx", e);
    e = getenv("HOME");
    return tinyx_xasprintf("%s/.cache/tinyx", e && *e ? e : "/root");
}

int tinyx_cache_lock(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return tinyx_errno("cannot open lock %s", path);
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return fd;
    tinyx_info("waiting for another tinyx using %s", path);
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR || tinyx_interrupted()) {
            tinyx_errno("cannot lock %s", path);
            close(fd);
            return -1;
        }
    }
    return fd;
}

void tinyx_cache_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* closing releases the flock */
}

void tinyx_umount_under(const char *path)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return;
    struct strvec points = STRVEC_INIT;
    size_t plen = strlen(path);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        char mp[4096];
        /* Fields: id parent major:minor root mountpoint ... */
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
            continue;
        if (!strncmp(mp, path, plen) && (mp[plen] == '\0' || mp[plen] == '/'))
            tinyx_strvec_push(&points, mp);
    }
    free(line);
    fclose(f);
    /* Deepest (longest) first. */
    for (size_t i = points.n; i-- > 0;)
        for (size_t j = 0; j < i; j++)
            if (strlen(points.v[j]) > strlen(points.v[i])) {
                char *t = points.v[i];
                points.v[i] = points.v[j];
                points.v[j] = t;
            }
    for (size_t i = points.n; i-- > 0;)
        umount2(points.v[i], MNT_DETACH);
    tinyx_strvec_free(&points);
}

static void remove_stale_tmps(const char *final)
{
    char *dir = tinyx_xstrdup(final);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : final;
    if (slash)
        *slash = '\0';
    char *prefix = tinyx_xasprintf("%s.tmp-", base);
    DIR *d = opendir(slash ? dir : ".");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!tinyx_str_starts(e->d_name, prefix))
                continue;
            long pid = strtol(e->d_name + strlen(prefix), NULL, 10);
            if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
                continue; /* its builder is still running */
            char *p = tinyx_xasprintf("%s/%s", slash ? dir : ".", e->d_name);
            tinyx_debug("removing stale %s", p);
            tinyx_umount_under(p);
            tinyx_rm_rf(p);
            free(p);
        }
        closedir(d);
    }
    free(prefix);
    free(dir);
}

char *tinyx_cache_tmpdir_for(const char *final)
{
    remove_stale_tmps(final);
    char *tmp = tinyx_xasprintf("%s.tmp-%ld", final, (long)getpid());
    tinyx_rm_rf(tmp);
    if (mkdir(tmp, 0755) < 0) {
        tinyx_errno("cannot create %s", tmp);
        free(tmp);
        return NULL;
    }
    tinyx_cleanup_add(tmp);
    return tmp;
}

int tinyx_cache_publish_dir(const char *tmp, const char *final)
{
    if (rename(tmp, final) == 0) {
        tinyx_cleanup_remove(tmp);
        return 0;
    }
    if (errno != ENOTEMPTY && errno != EEXIST)
        return tinyx_errno("cannot rename %s to %s", tmp, final);
    /* FINAL exists: swap atomically, then remove the old contents now sitting at TMP. */
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) < 0)
        return tinyx_errno("cannot replace %s", final);
    tinyx_rm_rf(tmp);
    tinyx_cleanup_remove(tmp);
    return 0;
}
