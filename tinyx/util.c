/* util.c: messages, allocation, clock and file helpers shared by tinyx and the launcher. */
#include "tinyx/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *tinyx_progname = "tinyx";
int tinyx_verbosity = 1;

static void vmsg(const char *kind, const char *fmt, va_list ap, const char *tail)
{
    /* Build the line first so concurrent writers do not interleave mid-line. */
    char line[4096];
    int n = snprintf(line, sizeof(line), "%s: %s", tinyx_progname, kind);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (m > 0)
        n = (size_t)(n + m) >= sizeof(line) ? (int)sizeof(line) - 1 : n + m;
    if (tail)
        n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s", tail);
    if ((size_t)n >= sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

int tinyx_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("error: ", fmt, ap, NULL);
    va_end(ap);
    return -1;
}

int tinyx_errno(const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    vmsg("error: ", fmt, ap, strerror(e));
    va_end(ap);
    errno = e;
    return -1;
}

void tinyx_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap, NULL);
    va_end(ap);
}

void tinyx_info(const char *fmt, ...)
{
    if (tinyx_verbosity < 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap, NULL);
    va_end(ap);
}

void tinyx_debug(const char *fmt, ...)
{
    if (tinyx_verbosity < 2)
        return;
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap, NULL);
    va_end(ap);
}

static void oom(void)
{
    static const char msg[] = "tinyx: error: out of memory\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)w;
    abort();
}

void *tinyx_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *tinyx_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *tinyx_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

char *tinyx_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        oom();
    return p;
}

char *tinyx_xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        oom();
    return p;
}

char *tinyx_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom();
    return s;
}

uint64_t tinyx_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int tinyx_mkdir_p(const char *path, mode_t mode)
{
    char *p = tinyx_xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST) {
            tinyx_errno("cannot create folder %s", p);
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = 0;
    if (mkdir(p, mode) < 0 && errno != EEXIST)
        rc = tinyx_errno("cannot create folder %s", p);
    free(p);
    return rc;
}

static int rm_rf_at(int dirfd, const char *name, dev_t dev)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode)) {
        if (st.st_dev != dev) {
            errno = EBUSY; /* a mount point: never delete through it */
            return -1;
        }
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return -1;
        DIR *d = fdopendir(fd);
        if (!d) {
            close(fd);
            return -1;
        }
        int rc = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            if (rm_rf_at(fd, e->d_name, dev) < 0)
                rc = -1;
        }
        closedir(d);
        if (rc < 0)
            return -1;
        return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
    }
    return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
}

int tinyx_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : tinyx_errno("cannot remove %s", path);
    if (rm_rf_at(AT_FDCWD, path, st.st_dev) < 0)
        return tinyx_errno("cannot remove %s", path);
    return 0;
}

char *tinyx_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = tinyx_xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = tinyx_xrealloc(buf, cap);
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            free(buf);
            errno = e;
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int tinyx_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char *tmp = tinyx_xasprintf("%s.tmp-XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        tinyx_errno("cannot create %s", tmp);
        free(tmp);
        return -1;
    }
    int rc = 0;
    if (write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0 || fsync(fd) < 0) {
        rc = tinyx_errno("cannot write %s", path);
        close(fd);
    } else if (close(fd) < 0) {
        rc = tinyx_errno("cannot write %s", path);
    } else if (rename(tmp, path) < 0) {
        rc = tinyx_errno("cannot rename %s to %s", tmp, path);
    }
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int tinyx_copy_file(const char *src, const char *dst, mode_t mode)
{
    size_t len;
    char *data = tinyx_read_file(src, &len);
    if (!data)
        return tinyx_errno("cannot read %s", src);
    int rc = tinyx_write_file_atomic(dst, data, len, mode);
    free(data);
    return rc;
}

bool tinyx_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool tinyx_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

const char *tinyx_self_dir(void)
{
    static char dir[4096];
    if (dir[0])
        return dir;
    ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
    if (n <= 0) {
        strcpy(dir, ".");
        return dir;
    }
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir)
        *slash = '\0';
    return dir;
}

bool tinyx_str_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool tinyx_str_ends(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

char *tinyx_human_size(uint64_t bytes, char *buf, size_t len)
{
    if (bytes < 1024)
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
    else if (bytes < 1024 * 1024)
        snprintf(buf, len, "%.1f KiB", bytes / 1024.0);
    else if (bytes < 1024ull * 1024 * 1024)
        snprintf(buf, len, "%.2f MiB", bytes / (1024.0 * 1024));
    else
        snprintf(buf, len, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
    return buf;
}
