/* backend.c: the compiled-in VM backends, lookup by name (a new backend adds one line), and the
 * automatic choice in order of preference. */
#include "launcher/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyx/strvec.h"
#include "tinyx/suggest.h"
#include "tinyx/util.h"

extern const struct launcher_backend launcher_backend_qemu;
extern const struct launcher_backend launcher_backend_kvm;
extern const struct launcher_backend launcher_backend_daemon;

static const struct launcher_backend *const backends[] = {
    &launcher_backend_qemu,
    &launcher_backend_kvm,
    &launcher_backend_daemon,
};

#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

/* Without --backend, the first of these whose can_boot says yes: a running daemon's prepared
 * shell (fastest), then our own monitor, then QEMU, which boots anything. */
static const struct launcher_backend *const preference[] = {
    &launcher_backend_daemon,
    &launcher_backend_kvm,
    &launcher_backend_qemu,
};

#define N_PREFERENCE (sizeof(preference) / sizeof(preference[0]))

size_t launcher_backend_count(void)
{
    return N_BACKENDS;
}

const struct launcher_backend *launcher_backend_at(size_t i)
{
    return i < N_BACKENDS ? backends[i] : NULL;
}

const struct launcher_backend *launcher_backend_default(void)
{
    return preference[N_PREFERENCE - 1];
}

const struct launcher_backend *launcher_backend_preferred(size_t i)
{
    return i < N_PREFERENCE ? preference[i] : NULL;
}

const struct launcher_backend *launcher_backend_pick(const struct launcher_boot_request *req,
                                                     char *why, size_t why_len)
{
    char last_no[512] = "";
    for (size_t i = 0; i + 1 < N_PREFERENCE; i++) {
        const struct launcher_backend *b = preference[i];
        char says[512] = "";
        bool yes;
        if (req->accel && !b->accels) {
            snprintf(says, sizeof(says), "--accel %s: the %s backend has no accelerator choice",
                     req->accel, b->name);
            yes = false;
        } else {
            yes = !b->can_boot || b->can_boot(req, says, sizeof(says));
        }
        if (yes) {
            snprintf(why, why_len, "%s", says[0] ? says : "it can boot this image here");
            return b;
        }
        tinyx_debug("not the %s backend: %s", b->name, says);
        snprintf(last_no, sizeof(last_no), "%s", says);
    }
    snprintf(why, why_len, "%s", last_no[0] ? last_no : "the default");
    return launcher_backend_default();
}

const struct launcher_backend *launcher_backend_find(const char *name)
{
    struct strvec names = STRVEC_INIT;
    for (size_t i = 0; i < N_BACKENDS; i++) {
        if (!strcmp(backends[i]->name, name)) {
            tinyx_strvec_free(&names);
            return backends[i];
        }
        tinyx_strvec_push(&names, backends[i]->name);
    }
    struct strvec close_matches = STRVEC_INIT;
    tinyx_suggest(name, tinyx_strvec_argv(&names), names.n, 3, &close_matches);
    char *hint = tinyx_suggest_phrase(&close_matches);
    size_t joined_len = 1;
    for (size_t i = 0; i < names.n; i++)
        joined_len += strlen(names.v[i]) + 2;
    char *joined = tinyx_xcalloc(1, joined_len);
    for (size_t i = 0; i < names.n; i++) {
        if (i)
            strcat(joined, ", ");
        strcat(joined, names.v[i]);
    }
    tinyx_err("unknown backend '%s'%s; this launcher has: %s", name, hint, joined);
    free(joined);
    free(hint);
    tinyx_strvec_free(&close_matches);
    tinyx_strvec_free(&names);
    return NULL;
}
