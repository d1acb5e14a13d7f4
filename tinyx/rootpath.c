/* rootpath.c: symlink-aware path resolution confined to a root folder. */
#include "tinyx/rootpath.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tinyx/util.h"

#define MAX_SYMLINKS 40

char *tinyx_rootpath_normalize(const char *path)
{
    size_t len = strlen(path);
    char *out = tinyx_xmalloc(len + 2);
    size_t o = 0;
    out[o++] = '/';
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - start);
        if (n == 0 || (n == 1 && start[0] == '.'))
            continue;
        if (n == 2 && start[0] == '.' && start[1] == '.') {
            while (o > 1 && out[o - 1] != '/')
                o--;
            if (o > 1)
                o--; /* drop the slash too, unless it is the root */
            continue;
        }
        if (o > 1)
            out[o++] = '/';
        memcpy(out + o, start, n);
        o += n;
    }
    out[o] = '\0';
    return out;
}

/* Append component (len n) to a canonical path held in buf (no trailing slash unless "/"). */
static char *join(const char *dir, const char *comp, size_t n)
{
    size_t dl = strlen(dir);
    char *p = tinyx_xmalloc(dl + n + 2);
    memcpy(p, dir, dl);
    size_t o = dl;
    if (o == 0 || p[o - 1] != '/')
        p[o++] = '/';
    memcpy(p + o, comp, n);
    p[o + n] = '\0';
    return p;
}

static void parent_inplace(char *p)
{
    char *slash = strrchr(p, '/');
    if (!slash || slash == p)
        strcpy(p, "/");
    else
        *slash = '\0';
}

int tinyx_rootpath_resolve(const char *root, const char *path, bool follow_last,
                           struct strvec *links, char **canon, char **existing)
{
    char *resolved = tinyx_xstrdup("/");
    char *rest = tinyx_xstrdup(path);
    int symlinks = 0;
    int result = TINYX_ROOTPATH_FOUND;
    size_t rootlen = strlen(root);

    for (;;) {
        char *p = rest;
        while (*p == '/')
            p++;
        if (!*p)
            break;
        char *end = p;
        while (*end && *end != '/')
            end++;
        size_t n = (size_t)(end - p);
        bool last = true;
        for (char *q = end; *q; q++)
            if (*q != '/') {
                last = false;
                break;
            }
        if (n == 1 && p[0] == '.') {
            memmove(rest, end, strlen(end) + 1);
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            parent_inplace(resolved);
            memmove(rest, end, strlen(end) + 1);
            continue;
        }
        char *cand = join(resolved, p, n);
        char *host = tinyx_xmalloc(rootlen + strlen(cand) + 1);
        memcpy(host, root, rootlen);
        strcpy(host + rootlen, cand);
        struct stat st;
        if (lstat(host, &st) < 0) {
            /* Missing: the canonical path is the resolved prefix plus the unresolved rest. */
            free(host);
            free(cand);
            result = TINYX_ROOTPATH_MISSING;
            break;
        }
        if (S_ISLNK(st.st_mode) && (!last || follow_last)) {
            if (++symlinks > MAX_SYMLINKS) {
                free(host);
                free(cand);
                result = TINYX_ROOTPATH_LOOP;
                break;
            }
            char target[PATH_MAX];
            ssize_t tl = readlink(host, target, sizeof(target) - 1);
            free(host);
            if (tl < 0) {
                free(cand);
                result = TINYX_ROOTPATH_MISSING;
                break;
            }
            target[tl] = '\0';
            if (links)
                tinyx_strvec_push(links, cand);
            free(cand);
            char *newrest = tinyx_xasprintf("%s/%s", target, end);
            free(rest);
            rest = newrest;
            if (target[0] == '/')
                strcpy(resolved, "/");
            continue;
        }
        free(host);
        free(resolved);
        resolved = cand;
        memmove(rest, end, strlen(end) + 1);
    }
    if (existing)
        *existing = tinyx_xstrdup(resolved);
    if (result == TINYX_ROOTPATH_MISSING) {
        char *full = join(resolved, rest, strlen(rest));
        *canon = tinyx_rootpath_normalize(full);
        free(full);
    } else {
        *canon = tinyx_xstrdup(resolved);
    }
    free(resolved);
    free(rest);
    return result;
}
