/* trace_paths.c: turn what a tracee names (strings in its memory, dirfds, cwd) into guest paths. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tinyx/rootpath.h"
#include "tinyx/trace_internal.h"
#include "tinyx/util.h"

#define PAGE 4096ul

/* ---- tracee memory ------------------------------------------------------------------------ */

/* Read len bytes (within one page, so all or nothing); PTRACE_PEEKDATA if process_vm_readv is
 * refused (some sandboxes forbid it). */
static int read_mem(pid_t pid, unsigned long addr, void *buf, size_t len)
{
    struct iovec local = {buf, len}, remote = {(void *)addr, len};
    ssize_t r = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (r == (ssize_t)len)
        return 0;
    if (r >= 0 || (errno != ENOSYS && errno != EPERM))
        return -1;
    unsigned long word_addr = addr & ~(sizeof(long) - 1);
    size_t skip = addr - word_addr, done = 0;
    while (done < len) {
        errno = 0;
        long word = ptrace(PTRACE_PEEKDATA, pid, (void *)word_addr, NULL);
        if (errno)
            return -1;
        size_t take = sizeof(long) - skip;
        if (take > len - done)
            take = len - done;
        memcpy((char *)buf + done, (char *)&word + skip, take);
        done += take;
        skip = 0;
        word_addr += sizeof(long);
    }
    return 0;
}

int tinyx_tracee_read(pid_t pid, unsigned long addr, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        unsigned long a = addr + done;
        size_t chunk = PAGE - (a % PAGE);
        if (chunk > len - done)
            chunk = len - done;
        if (read_mem(pid, a, (char *)buf + done, chunk) < 0)
            return -1;
        done += chunk;
    }
    return 0;
}

ssize_t tinyx_tracee_read_string(pid_t pid, unsigned long addr, char *buf, size_t size)
{
    if (!addr || size == 0)
        return -1;
    size_t got = 0;
    /* Page by page: the string may end right before an unmapped page. */
    while (got < size) {
        unsigned long a = addr + got;
        size_t chunk = PAGE - (a % PAGE);
        if (chunk > size - got)
            chunk = size - got;
        if (read_mem(pid, a, buf + got, chunk) < 0)
            return -1;
        char *nul = memchr(buf + got, '\0', chunk);
        if (nul)
            return nul - buf;
        got += chunk;
    }
    return -1;
}

/* ---- guest paths -------------------------------------------------------------------------- */

/* Host path (as our /proc links name it) to guest path, or NULL if outside the sandbox root. */
static char *host_to_guest(const struct tinyx_tracer *tr, const char *host)
{
    if (!tr->prefix || strncmp(host, tr->prefix, tr->prefix_len) != 0)
        return NULL;
    const char *rest = host + tr->prefix_len;
    if (*rest == '\0')
        return tinyx_xstrdup("/");
    if (*rest != '/')
        return NULL;
    return tinyx_xstrdup(rest);
}

static char *read_link(const char *link)
{
    char buf[PATH_MAX + 32];
    ssize_t n = readlink(link, buf, sizeof(buf) - 1);
    if (n <= 0 || (size_t)n >= sizeof(buf) - 1)
        return NULL;
    buf[n] = '\0';
    /* A removed folder still works as a base; its name just gains this suffix. */
    if (tinyx_str_ends(buf, " (deleted)"))
        buf[n - 10] = '\0';
    return tinyx_xstrdup(buf);
}

char *tinyx_tracer_guest_link(const struct tinyx_tracer *tr, pid_t pid, const char *link)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, link);
    char *host = read_link(path);
    if (!host)
        return NULL;
    char *guest = host_to_guest(tr, host);
    free(host);
    return guest;
}

void tinyx_tracer_learn_root(struct tinyx_tracer *tr, pid_t pid)
{
    if (tr->prefix)
        return;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
    char *host = read_link(path);
    if (!host || !strcmp(host, "/")) {
        free(host);
        return; /* not in the sandbox yet */
    }
    tr->prefix = host;
    tr->prefix_len = strlen(host);
    tr->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
    tr->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
    tinyx_debug("trace: sandbox root is %s", host);
}

/* Open a guest path inside the sandbox root the way the app would (symlinks stay inside the
 * root; no /proc magic links, which would name the tracer's own files). */
static int open_in_root(const struct tinyx_tracer *tr, const char *guest, int flags)
{
    if (tr->root_fd < 0)
        return -1;
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (unsigned long long)(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, tr->root_fd, guest, &how, sizeof(how));
}

/* The canonical guest path of an existing guest path, or NULL. */
static char *physical(const struct tinyx_tracer *tr, const char *guest)
{
    int fd = open_in_root(tr, guest, O_PATH);
    if (fd < 0)
        return NULL;
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    char *host = read_link(link);
    close(fd);
    char *g = host ? host_to_guest(tr, host) : NULL;
    free(host);
    return g;
}

/* Collapse "//" and "." and drop a trailing "/", keeping ".." (which only the filesystem can
 * resolve when symlinks are involved). path is absolute. */
static char *clean_path(const char *path)
{
    size_t len = strlen(path);
    char *out = tinyx_xmalloc(len + 2);
    size_t o = 0;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - start);
        if (n == 0 || (n == 1 && start[0] == '.'))
            continue;
        out[o++] = '/';
        memcpy(out + o, start, n);
        o += n;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return out;
}

static bool has_dotdot(const char *clean)
{
    for (const char *p = strstr(clean, "/.."); p; p = strstr(p + 1, "/.."))
        if (p[3] == '/' || p[3] == '\0')
            return true;
    return false;
}

static void add(struct tinyx_tracer *tr, const char *guest)
{
    if (guest && guest[0] == '/')
        tinyx_strmap_add(&tr->paths, guest, NULL);
}

static void add_physical_or_lexical(struct tinyx_tracer *tr, const char *clean)
{
    char *p = physical(tr, clean);
    if (!p)
        p = tinyx_rootpath_normalize(clean);
    add(tr, p);
    free(p);
}

/* A path with "..": record its lexical form, every folder it steps out of, and where it
 * really leads (the folder resolved by the kernel, plus the last name). */
static void add_dotdot(struct tinyx_tracer *tr, const char *clean)
{
    char *lexical = tinyx_rootpath_normalize(clean);
    add(tr, lexical);
    free(lexical);
    for (const char *p = strstr(clean, "/.."); p; p = strstr(p + 1, "/..")) {
        if (p[3] != '/' && p[3] != '\0')
            continue;
        char *prefix = p == clean ? tinyx_xstrdup("/") : tinyx_xstrndup(clean, (size_t)(p - clean));
        add_physical_or_lexical(tr, prefix);
        free(prefix);
    }
    const char *last = strrchr(clean, '/');
    if (!strcmp(last, "/..")) {
        add_physical_or_lexical(tr, clean);
        return;
    }
    char *dir = last == clean ? tinyx_xstrdup("/") : tinyx_xstrndup(clean, (size_t)(last - clean));
    char *real_dir = physical(tr, dir);
    if (real_dir) {
        char *full = tinyx_xasprintf("%s%s", strcmp(real_dir, "/") ? real_dir : "", last);
        add(tr, full);
        free(full);
    }
    free(real_dir);
    free(dir);
}

/* The absolute, cleaned guest path that (dirfd, name) means for pid, or NULL. */
static char *guest_path(const struct tinyx_tracer *tr, pid_t pid, int dirfd, const char *name)
{
    if (name[0] == '/')
        return clean_path(name);
    char link[32];
    if (dirfd == AT_FDCWD)
        strcpy(link, "cwd");
    else if (dirfd >= 0)
        snprintf(link, sizeof(link), "fd/%d", dirfd);
    else
        return NULL;
    if (name[0] == '\0' && dirfd == AT_FDCWD)
        return NULL; /* "" without AT_EMPTY_PATH: ENOENT, names nothing */
    char *base = tinyx_tracer_guest_link(tr, pid, link);
    if (!base)
        return NULL;
    char *full = tinyx_xasprintf("%s/%s", base, name);
    free(base);
    char *clean = clean_path(full);
    free(full);
    return clean;
}

void tinyx_tracer_note(struct tinyx_tracer *tr, pid_t pid, int dirfd, const char *name)
{
    char *path = guest_path(tr, pid, dirfd, name);
    if (!path)
        return;
    if (has_dotdot(path))
        add_dotdot(tr, path);
    else
        add(tr, path);
    free(path);
}

/* ---- interpreters the kernel loads by itself at execve ------------------------------------ */

/* The "#!" program of a script (malloc'd), or NULL. */
static char *shebang_program(const char *head, size_t n)
{
    if (n < 3 || head[0] != '#' || head[1] != '!')
        return NULL;
    size_t i = 2;
    while (i < n && (head[i] == ' ' || head[i] == '\t'))
        i++;
    size_t start = i;
    while (i < n && head[i] != ' ' && head[i] != '\t' && head[i] != '\n' && head[i] != '\0')
        i++;
    return i > start ? tinyx_xstrndup(head + start, i - start) : NULL;
}

/* The PT_INTERP of an ELF file (malloc'd), or NULL. */
static char *elf_interp(int fd, const unsigned char *head, size_t n)
{
    if (n < EI_NIDENT || memcmp(head, ELFMAG, SELFMAG) != 0)
        return NULL;
    bool is64 = head[EI_CLASS] == ELFCLASS64;
    if (!is64 && head[EI_CLASS] != ELFCLASS32)
        return NULL;
    uint64_t phoff;
    unsigned phnum, phentsize;
    if (is64 && n >= sizeof(Elf64_Ehdr)) {
        Elf64_Ehdr eh;
        memcpy(&eh, head, sizeof(eh));
        phoff = eh.e_phoff;
        phnum = eh.e_phnum;
        phentsize = eh.e_phentsize;
    } else if (!is64 && n >= sizeof(Elf32_Ehdr)) {
        Elf32_Ehdr eh;
        memcpy(&eh, head, sizeof(eh));
        phoff = eh.e_phoff;
        phnum = eh.e_phnum;
        phentsize = eh.e_phentsize;
    } else {
        return NULL;
    }
    if (phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || phnum > 256)
        return NULL;
    for (unsigned i = 0; i < phnum; i++) {
        unsigned char ph[sizeof(Elf64_Phdr)];
        size_t want = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
        if (pread(fd, ph, want, (off_t)(phoff + (uint64_t)i * phentsize)) != (ssize_t)want)
            return NULL;
        uint64_t off, size;
        uint32_t type;
        if (is64) {
            Elf64_Phdr p;
            memcpy(&p, ph, sizeof(p));
            type = p.p_type, off = p.p_offset, size = p.p_filesz;
        } else {
            Elf32_Phdr p;
            memcpy(&p, ph, sizeof(p));
            type = p.p_type, off = p.p_offset, size = p.p_filesz;
        }
        if (type != PT_INTERP)
            continue;
        if (size < 2 || size > PATH_MAX)
            return NULL;
        char *s = tinyx_xmalloc(size + 1);
        if (pread(fd, s, size, (off_t)off) != (ssize_t)size) {
            free(s);
            return NULL;
        }
        s[size] = '\0';
        return s;
    }
    return NULL;
}

void tinyx_tracer_note_exec(struct tinyx_tracer *tr, pid_t pid, int dirfd, const char *name)
{
    char *path = guest_path(tr, pid, dirfd, name);
    /* A script's interpreter may itself be a script (the kernel allows a few levels). */
    for (int depth = 0; path && depth < 5; depth++) {
        int fd = open_in_root(tr, path, O_RDONLY);
        free(path);
        path = NULL;
        if (fd < 0)
            break;
        unsigned char head[256];
        ssize_t n = pread(fd, head, sizeof(head), 0);
        char *next = NULL;
        if (n > 0) {
            next = shebang_program((const char *)head, (size_t)n);
            if (!next)
                next = elf_interp(fd, head, (size_t)n);
        }
        close(fd);
        if (!next)
            break;
        tinyx_tracer_note(tr, pid, AT_FDCWD, next);
        path = guest_path(tr, pid, AT_FDCWD, next);
        free(next);
    }
    free(path);
}
