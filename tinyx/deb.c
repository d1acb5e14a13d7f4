/* deb.c: extract files from a .deb: the outer ar archive, then the nested data.tar.* stream. */
#include "tinyx/deb.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "tinyx/util.h"

/* The nested tar is read straight from the ar member through these callbacks. */
/* libarchive leaves the error string NULL for some short reads. */
static const char *errstr(struct archive *a)
{
    const char *s = archive_error_string(a);
    return s ? s : "unexpected end of data";
}

struct inner {
    struct archive *outer;
    char block[65536];
};

static la_ssize_t inner_read(struct archive *a, void *ud, const void **buf)
{
    (void)a;
    struct inner *in = ud;
    *buf = in->block;
    return archive_read_data(in->outer, in->block, sizeof(in->block));
}

static int extract_data(struct archive *outer, const char *deb, const char *dest,
                        bool (*want)(const char *, void *), void *ud)
{
    struct archive *in = archive_read_new();
    archive_read_support_filter_all(in);
    archive_read_support_format_tar(in);
    struct archive *out = archive_write_disk_new();
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                            ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                            ARCHIVE_EXTRACT_SECURE_SYMLINKS);
    int count = 0;
    struct inner *src = tinyx_xmalloc(sizeof(*src));
    src->outer = outer;
    if (archive_read_open(in, src, NULL, inner_read, NULL) != ARCHIVE_OK) {
        count = tinyx_err("broken .deb %s: data archive: %s", deb, errstr(in));
        goto done;
    }
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
        /* A copy: renaming the entry below frees the string libarchive handed out. */
        const char *name = archive_entry_pathname(e);
        while (name[0] == '.' && name[1] == '/')
            name += 2;
        char *p = tinyx_xstrdup(name);
        size_t pl = strlen(p);
        while (pl > 0 && p[pl - 1] == '/')
            p[--pl] = '\0'; /* folders come as "usr/bin/": normalise to "usr/bin" */
        if (!*p || !want(p, ud)) {
            free(p);
            archive_read_data_skip(in);
            continue;
        }
        char *target = tinyx_xasprintf("%s/%s", dest, p);
        archive_entry_set_pathname(e, target);
        const char *hl = archive_entry_hardlink(e);
        char *hltarget = NULL;
        if (hl) {
            while (hl[0] == '.' && hl[1] == '/')
                hl += 2;
            hltarget = tinyx_xasprintf("%s/%s", dest, hl);
            archive_entry_set_hardlink(e, hltarget);
        }
        int w = archive_write_header(out, e);
        if (w == ARCHIVE_OK && archive_entry_size(e) > 0) {
            const void *buf;
            size_t size;
            la_int64_t off;
            int d;
            while ((d = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK)
                if (archive_write_data_block(out, buf, size, off) != ARCHIVE_OK) {
                    w = ARCHIVE_FATAL;
                    break;
                }
            if (d < ARCHIVE_WARN) {
                count = tinyx_err("broken .deb %s: %s: %s", deb, p, errstr(in));
                free(target);
                free(hltarget);
                free(p);
                goto done;
            }
        }
        if (w < ARCHIVE_WARN || archive_write_finish_entry(out) < ARCHIVE_WARN) {
            count = tinyx_err("cannot extract %s from %s: %s", p, deb, errstr(out));
            free(target);
            free(hltarget);
            free(p);
            goto done;
        }
        free(target);
        free(hltarget);
        free(p);
        count++;
    }
    if (r != ARCHIVE_EOF)
        count = tinyx_err("broken .deb %s: %s", deb, errstr(in));
done:
    archive_write_free(out);
    archive_read_free(in);
    free(src);
    return count;
}

int tinyx_deb_extract(const char *deb, const char *dest, bool (*want)(const char *path, void *ud),
                      void *ud)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_ar(a);
    if (archive_read_open_filename(a, deb, 65536) != ARCHIVE_OK) {
        int rc = tinyx_err("cannot open .deb %s: %s", deb, errstr(a));
        archive_read_free(a);
        return rc;
    }
    struct archive_entry *e;
    int rc = -2, r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        if (tinyx_str_starts(name, "data.tar")) {
            rc = extract_data(a, deb, dest, want, ud);
            break;
        }
        archive_read_data_skip(a);
    }
    if (rc == -2)
        rc = tinyx_err("broken .deb %s: no data.tar member (%s)", deb,
                       r == ARCHIVE_EOF ? "end of archive" : errstr(a));
    archive_read_free(a);
    return rc;
}
