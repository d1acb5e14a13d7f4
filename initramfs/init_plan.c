/* init_plan.c: reads the boot plan tinyx wrote into the image (format: initramfs/plan_abi.h). */
#include "initramfs/init_plan.h"
#include "initramfs/plan_abi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A plan is a few KiB; anything near this is not a plan. */
#define PLAN_MAX_FILE (16u << 20)
/* Linux's NGROUPS_MAX. */
#define PLAN_MAX_GROUPS 65536

static const char *const fs_names[] = {
    [INITRAMFS_FS_PROC] = "proc",         [INITRAMFS_FS_SYSFS] = "sysfs",
    [INITRAMFS_FS_DEVTMPFS] = "devtmpfs", [INITRAMFS_FS_TMPFS] = "tmpfs",
    [INITRAMFS_FS_DEVPTS] = "devpts",
};

const char *initramfs_fs_name(enum initramfs_fs fs)
{
    return fs_names[fs];
}

static int fail(char *err, size_t errlen, size_t lineno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, size_t lineno, const char *fmt, ...)
{
    if (errlen == 0)
        return -1;
    int used = lineno ? snprintf(err, errlen, "line %zu: ", lineno) : 0;
    if (used < 0 || (size_t)used >= errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + used, errlen - (size_t)used, fmt, ap);
    va_end(ap);
    return -1;
}

/* A short, printable copy of untrusted text for an error message. */
static const char *shown(const char *s, size_t n, char *buf, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (o + 4 >= size && n > o)
        memcpy(buf + o, "...", 3), o += 3;
    buf[o] = '\0';
    return buf;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Undo initramfs_plan_escape: in[0..n) to out (NUL-terminated). Returns the length or -1. */
static long decode_value(const char *in, size_t n, char *out, size_t lineno, char *err,
                         size_t errlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            int hi = i + 1 < n ? hex_digit(in[i + 1]) : -1;
            int lo = i + 2 < n ? hex_digit(in[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                char b[8];
                return fail(err, errlen, lineno,
                            "bad escape '%s' (write '%%' as %%25; escapes are %%XX with two hex "
                            "digits)",
                            shown(in + i, n - i < 3 ? n - i : 3, b, sizeof b));
            }
            c = (unsigned char)(hi << 4 | lo);
            if (c == 0)
                return fail(err, errlen, lineno, "%%00 (a NUL byte) cannot be part of a value");
            i += 2;
        } else if (c < 0x20 || c == 0x7f) {
            return fail(err, errlen, lineno,
                        "raw control byte 0x%02X in the value (the plan writer must escape it as "
                        "%%%02X)",
                        c, c);
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (long)o;
}

size_t initramfs_plan_escape(const char *value, char *out, size_t outsize)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t total = 0, written = 0;
    bool full = false;

    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        char piece[3];
        size_t k = 1;
        piece[0] = (char)*p;
        if (*p < 0x20 || *p == 0x7f || *p == '%') {
            piece[0] = '%';
            piece[1] = hex[*p >> 4];
            piece[2] = hex[*p & 15];
            k = 3;
        }
        if (!full && written + k < outsize) {
            memcpy(out + written, piece, k);
            written += k;
        } else {
            full = true;
        }
        total += k;
    }
    if (outsize)
        out[written] = '\0';
    return total;
}

/* Decimal id 0..4294967294 (-1 means "unchanged" to the kernel, so it is refused). */
static bool parse_id(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v >= UINT32_MAX)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

static bool push_str(char ***arr, size_t *n, char *s)
{
    char **grown = realloc(*arr, (*n + 2) * sizeof **arr);
    if (!grown)
        return false;
    grown[(*n)++] = s;
    grown[*n] = NULL;
    *arr = grown;
    return true;
}

enum key {
    KEY_VERSION,
    KEY_HOSTNAME,
    KEY_MOUNT,
    KEY_MODULE,
    KEY_ENV,
    KEY_CWD,
    KEY_UID,
    KEY_GID,
    KEY_GROUPS,
    KEY_ARG,
    KEY_COUNT
};

static const char *const key_names[KEY_COUNT] = {
    [KEY_VERSION] = "version", [KEY_HOSTNAME] = "hostname", [KEY_MOUNT] = "mount",
    [KEY_MODULE] = "module",   [KEY_ENV] = "env",           [KEY_CWD] = "cwd",
    [KEY_UID] = "uid",         [KEY_GID] = "gid",           [KEY_GROUPS] = "groups",
    [KEY_ARG] = "arg",
};

#define KNOWN_KEYS "version, hostname, mount, module, env, cwd, uid, gid, groups, arg"

static int find_key(const char *key, size_t len)
{
    for (int k = 0; k < KEY_COUNT; k++)
        if (strlen(key_names[k]) == len && memcmp(key_names[k], key, len) == 0)
            return k;
    return -1;
}

static int parse_groups(struct initramfs_plan *plan, const char *v, size_t lineno, char *err,
                        size_t errlen)
{
    size_t count = 1;
    for (const char *p = v; *p; p++)
        count += *p == ',';
    if (count > PLAN_MAX_GROUPS)
        return fail(err, errlen, lineno, "%zu groups (the kernel allows at most %d)", count,
                    PLAN_MAX_GROUPS);
    plan->groups = calloc(count, sizeof *plan->groups);
    if (!plan->groups)
        return fail(err, errlen, lineno, "out of memory");
    char num[16];
    for (const char *p = v;; p++) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        uint32_t id;
        if (n >= sizeof num)
            n = sizeof num - 1;
        memcpy(num, p, n);
        num[n] = '\0';
        if (!parse_id(num, &id))
            return fail(err, errlen, lineno,
                        "bad group '%s' in \"groups %s\" (expected numbers 0-4294967294 "
                        "separated by commas)",
                        num, v);
        plan->groups[plan->n_groups++] = (gid_t)id;
        if (!end)
            break;
        p = end;
    }
    return 0;
}

static int apply_line(struct initramfs_plan *plan, int key, char *v, size_t vlen, unsigned *seen,
                      size_t lineno, char *err, size_t errlen)
{
    char b[64];
    bool once = key == KEY_VERSION || key == KEY_HOSTNAME || key == KEY_CWD || key == KEY_UID ||
                key == KEY_GID || key == KEY_GROUPS;
    if (once && (*seen & (1u << key)))
        return fail(err, errlen, lineno, "'%s' given twice", key_names[key]);
    *seen |= 1u << key;
    if (vlen == 0 && key != KEY_ARG)
        return fail(err, errlen, lineno, "'%s' has an empty value", key_names[key]);

    switch (key) {
    case KEY_VERSION: {
        uint32_t version;
        if (lineno != 1)
            return fail(err, errlen, lineno, "'version' must be the first line");
        if (!parse_id(v, &version))
            return fail(err, errlen, lineno, "bad version '%s' (expected a number)",
                        shown(v, vlen, b, sizeof b));
        if (version != PLAN_ABI_VERSION)
            return fail(err, errlen, lineno,
                        "plan version %u, but this tinyx-init reads version %d (rebuild the image "
                        "with the same tinyx release)",
                        version, PLAN_ABI_VERSION);
        plan->version = (int)version;
        return 0;
    }
    case KEY_HOSTNAME:
        if (vlen > 64)
            return fail(err, errlen, lineno, "hostname is %zu bytes long (the kernel allows 64)",
                        vlen);
        plan->hostname = v;
        return 0;
    case KEY_MOUNT: {
        char *space = strchr(v, ' ');
        if (!space)
            return fail(err, errlen, lineno,
                        "\"mount %s\" needs a type and a target, e.g. \"mount proc /proc\"",
                        shown(v, vlen, b, sizeof b));
        *space = '\0';
        const char *target = space + 1;
        int fs = -1;
        for (int i = 0; i <= INITRAMFS_FS_DEVPTS; i++)
            if (strcmp(v, fs_names[i]) == 0)
                fs = i;
        if (fs < 0)
            return fail(err, errlen, lineno,
                        "unknown mount type '%s' (known: proc, sysfs, devtmpfs, tmpfs, devpts)",
                        shown(v, strlen(v), b, sizeof b));
        if (target[0] != '/')
            return fail(err, errlen, lineno, "mount target '%s' is not an absolute path",
                        shown(target, strlen(target), b, sizeof b));
        struct initramfs_plan_mount *grown =
            realloc(plan->mounts, (plan->n_mounts + 1) * sizeof *plan->mounts);
        if (!grown)
            return fail(err, errlen, lineno, "out of memory");
        plan->mounts = grown;
        plan->mounts[plan->n_mounts].fs = (enum initramfs_fs)fs;
        plan->mounts[plan->n_mounts].target = target;
        plan->n_mounts++;
        return 0;
    }
    case KEY_MODULE:
        if (v[0] != '/')
            return fail(err, errlen, lineno, "module '%s' is not an absolute path",
                        shown(v, vlen, b, sizeof b));
        return push_str(&plan->modules, &plan->n_modules, v)
                   ? 0
                   : fail(err, errlen, lineno, "out of memory");
    case KEY_ENV: {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v)
            return fail(err, errlen, lineno, "env '%s' is not NAME=VALUE",
                        shown(v, vlen, b, sizeof b));
        size_t name_len = (size_t)(eq - v) + 1;
        for (size_t i = 0; i < plan->n_env; i++)
            if (strncmp(plan->env[i], v, name_len) == 0)
                return fail(err, errlen, lineno, "env %s given twice",
                            shown(v, name_len - 1, b, sizeof b));
        return push_str(&plan->env, &plan->n_env, v) ? 0
                                                     : fail(err, errlen, lineno, "out of memory");
    }
    case KEY_CWD:
        if (v[0] != '/')
            return fail(err, errlen, lineno, "cwd '%s' is not an absolute path",
                        shown(v, vlen, b, sizeof b));
        plan->cwd = v;
        return 0;
    case KEY_UID:
    case KEY_GID: {
        uint32_t id;
        if (!parse_id(v, &id))
            return fail(err, errlen, lineno, "bad %s '%s' (expected a number 0-4294967294)",
                        key_names[key], shown(v, vlen, b, sizeof b));
        if (key == KEY_UID)
            plan->uid = (uid_t)id;
        else
            plan->gid = (gid_t)id;
        return 0;
    }
    case KEY_GROUPS:
        return parse_groups(plan, v, lineno, err, errlen);
    case KEY_ARG:
        if (plan->argc == 0 && v[0] != '/')
            return fail(err, errlen, lineno,
                        "the first arg '%s' must be the program's absolute path",
                        shown(v, vlen, b, sizeof b));
        return push_str(&plan->argv, &plan->argc, v) ? 0
                                                     : fail(err, errlen, lineno, "out of memory");
    }
    return fail(err, errlen, lineno, "internal error: key %d", key);
}

int initramfs_plan_parse(const char *buf, size_t len, struct initramfs_plan *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->cwd = "/";
    if (len == 0)
        return fail(err, errlen, 0, "the plan is empty (expected \"version %d\" on line 1)",
                    PLAN_ABI_VERSION);
    /* Decoded values are never longer than the lines they come from. */
    out->storage = malloc(len + 1);
    if (!out->storage)
        return fail(err, errlen, 0, "out of memory");

    char *store = out->storage;
    unsigned seen = 0;
    size_t lineno = 0;
    int rc = 0;
    for (size_t pos = 0; pos < len && rc == 0;) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        char b[48];
        lineno++;
        if (!nl) {
            rc = fail(err, errlen, lineno,
                      "'%s' does not end with a newline (is the plan truncated?)",
                      shown(line, len - pos, b, sizeof b));
            break;
        }
        size_t line_len = (size_t)(nl - line);
        pos += line_len + 1;
        if (line_len > PLAN_ABI_MAX_LINE) {
            rc = fail(err, errlen, lineno, "longer than %d bytes", PLAN_ABI_MAX_LINE);
            break;
        }
        const char *space = memchr(line, ' ', line_len);
        if (!space) {
            rc = line_len ? fail(err, errlen, lineno, "'%s' has no value (expected \"KEY VALUE\")",
                                 shown(line, line_len, b, sizeof b))
                          : fail(err, errlen, lineno, "empty line (expected \"KEY VALUE\")");
            break;
        }
        size_t key_len = (size_t)(space - line);
        int key = find_key(line, key_len);
        if (key < 0) {
            rc = fail(err, errlen, lineno, "unknown key '%s' (known keys: " KNOWN_KEYS ")",
                      shown(line, key_len, b, sizeof b));
            break;
        }
        if (lineno == 1 && key != KEY_VERSION) {
            rc = fail(err, errlen, lineno, "the plan must start with \"version %d\", not with '%s'",
                      PLAN_ABI_VERSION, key_names[key]);
            break;
        }
        char *value = store;
        long vlen = decode_value(space + 1, line_len - key_len - 1, value, lineno, err, errlen);
        if (vlen < 0) {
            rc = -1;
            break;
        }
        store += vlen + 1;
        rc = apply_line(out, key, value, (size_t)vlen, &seen, lineno, err, errlen);
    }
    if (rc == 0 && out->argc == 0)
        rc = fail(err, errlen, 0, "the plan has no 'arg' line, so it names no program to run");
    if (rc != 0)
        initramfs_plan_free(out);
    return rc;
}

int initramfs_plan_load(const char *path, struct initramfs_plan *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, 0, "cannot open %s: %s (is this an image built by tinyx?)", path,
                    strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)PLAN_MAX_FILE) {
        close(fd);
        return fail(err, errlen, 0, "%s is not a regular file of at most %u bytes", path,
                    PLAN_MAX_FILE);
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return fail(err, errlen, 0, "out of memory reading %s", path);
    }
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return fail(err, errlen, 0, "cannot read %s: %s", path, strerror(e));
        }
        got += (size_t)n;
    }
    close(fd);
    char inner[480];
    int rc = initramfs_plan_parse(buf, size, out, inner, sizeof inner);
    free(buf);
    if (rc != 0)
        return fail(err, errlen, 0, "%s %s", path, inner);
    return 0;
}

void initramfs_plan_free(struct initramfs_plan *plan)
{
    free(plan->mounts);
    free(plan->modules);
    free(plan->env);
    free(plan->groups);
    free(plan->argv);
    free(plan->storage);
    memset(plan, 0, sizeof *plan);
    plan->cwd = "/";
}
