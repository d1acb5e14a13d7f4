/* passwd.c: parse passwd/group files of a staged root (no NSS: the root is not the host). */
#include "tinyx/passwd.h"

#include <stdlib.h>
#include <string.h>

#include "tinyx/strvec.h"
#include "tinyx/suggest.h"
#include "tinyx/util.h"

/* Split a colon-separated line into at most max fields (in place). */
static size_t split_fields(char *line, char **f, size_t max)
{
    size_t n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == ':') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

int tinyx_passwd_lookup(const char *root, const char *name, struct tinyx_user *out)
{
    memset(out, 0, sizeof(*out));
    char *path = tinyx_xasprintf("%s/etc/passwd", root);
    char *text = tinyx_read_file(path, NULL);
    if (!text) {
        tinyx_errno("cannot read %s", path);
        free(path);
        return -1;
    }
    free(path);
    char *end = NULL;
    long numeric = strtol(name, &end, 10);
    bool is_num = *name && !*end;
    struct strvec names = STRVEC_INIT;
    bool found = false;
    for (char *s = NULL, *l = strtok_r(text, "\n", &s); l && !found; l = strtok_r(NULL, "\n", &s)) {
        char *f[7];
        if (split_fields(l, f, 7) < 7)
            continue;
        tinyx_strvec_push(&names, f[0]);
        if (is_num ? atol(f[2]) == numeric : !strcmp(f[0], name)) {
            out->name = tinyx_xstrdup(f[0]);
            out->uid = (uid_t)atol(f[2]);
            out->gid = (gid_t)atol(f[3]);
            out->home = tinyx_xstrdup(f[5]);
            found = true;
        }
    }
    free(text);
    if (!found) {
        if (is_num && numeric >= 0) {
            /* A bare uid without an entry is allowed (as in containers): gid = uid. */
            out->name = tinyx_xstrdup(name);
            out->uid = (uid_t)numeric;
            out->gid = (gid_t)numeric;
            out->home = tinyx_xstrdup("/");
            tinyx_strvec_free(&names);
            return 0;
        }
        struct strvec sugg = STRVEC_INIT;
        tinyx_suggest(name, names.v, names.n, 3, &sugg);
        char *phrase = tinyx_suggest_phrase(&sugg);
        tinyx_err("user '%s' does not exist in the staged root's /etc/passwd%s", name, phrase);
        free(phrase);
        tinyx_strvec_free(&sugg);
        tinyx_strvec_free(&names);
        return -1;
    }
    tinyx_strvec_free(&names);

    path = tinyx_xasprintf("%s/etc/group", root);
    text = tinyx_read_file(path, NULL);
    free(path);
    if (text) {
        for (char *s = NULL, *l = strtok_r(text, "\n", &s); l; l = strtok_r(NULL, "\n", &s)) {
            char *f[4];
            if (split_fields(l, f, 4) < 4)
                continue;
            gid_t gid = (gid_t)atol(f[2]);
            bool member = false;
            char *save = NULL;
            for (char *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
                if (!strcmp(m, out->name))
                    member = true;
            if (member && gid != out->gid) {
                out->groups = tinyx_xrealloc(out->groups, (out->n_groups + 1) * sizeof(gid_t));
                out->groups[out->n_groups++] = gid;
            }
        }
        free(text);
    }
    return 0;
}

void tinyx_user_free(struct tinyx_user *u)
{
    free(u->name);
    free(u->home);
    free(u->groups);
    memset(u, 0, sizeof(*u));
}
