/* plan.h: write the boot plan the guest init reads (format: initramfs/plan_abi.h). */
#ifndef TINYX_PLAN_H
#define TINYX_PLAN_H

#include <stddef.h>
#include <sys/types.h>

#include "tinyx/strvec.h"

struct tinyx_plan {
    const char *hostname;
    const struct strvec *mounts;  /* "TYPE TARGET" entries */
    const struct strvec *modules; /* guest paths, load order */
    const struct strvec *env;     /* NAME=VALUE */
    const char *cwd;
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t n_groups;
    const struct strvec *argv;
};

/* Escape a value: bytes below 0x20, 0x7f and '%' become %XX. Returns a malloc'd string. */
char *tinyx_plan_escape(const char *value);
/* The plan text (malloc'd). */
char *tinyx_plan_render(const struct tinyx_plan *plan);

#endif
