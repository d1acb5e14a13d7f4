/* plan.c: render the guest init's boot plan (initramfs/plan_abi.h). */
#include "tinyx/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initramfs/plan_abi.h"
#include "tinyx/util.h"

char *tinyx_plan_escape(const char *value)
{
    size_t n = strlen(value);
    char *out = tinyx_xmalloc(n * 3 + 1);
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '%') {
            snprintf(out + o, 4, "%%%02X", *p);
            o += 3;
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = '\0';
    return out;
}

struct buf {
    char *s;
    size_t n, cap;
};

static void put_line(struct buf *b, const char *key, const char *value)
{
    char *esc = tinyx_plan_escape(value);
    size_t need = strlen(key) + strlen(esc) + 3;
    if (b->n + need + 1 > b->cap) {
        b->cap = (b->n + need + 1) * 2;
        b->s = tinyx_xrealloc(b->s, b->cap);
    }
    b->n += (size_t)sprintf(b->s + b->n, "%s %s\n", key, esc);
    free(esc);
}

char *tinyx_plan_render(const struct tinyx_plan *plan)
{
    struct buf b = {0};
    char num[64];
    snprintf(num, sizeof(num), "%d", PLAN_ABI_VERSION);
    put_line(&b, "version", num);
    if (plan->hostname)
        put_line(&b, "hostname", plan->hostname);
    for (size_t i = 0; plan->mounts && i < plan->mounts->n; i++)
        put_line(&b, "mount", plan->mounts->v[i]);
    for (size_t i = 0; plan->modules && i < plan->modules->n; i++)
        put_line(&b, "module", plan->modules->v[i]);
    for (size_t i = 0; plan->env && i < plan->env->n; i++)
        put_line(&b, "env", plan->env->v[i]);
    put_line(&b, "cwd", plan->cwd ? plan->cwd : "/");
    snprintf(num, sizeof(num), "%u", (unsigned)plan->uid);
    put_line(&b, "uid", num);
    snprintf(num, sizeof(num), "%u", (unsigned)plan->gid);
    put_line(&b, "gid", num);
    if (plan->n_groups) {
        char groups[4096] = "";
        for (size_t i = 0; i < plan->n_groups; i++) {
            size_t l = strlen(groups);
            snprintf(groups + l, sizeof(groups) - l, "%s%u", i ? "," : "",
                     (unsigned)plan->groups[i]);
        }
        put_line(&b, "groups", groups);
    }
    for (size_t i = 0; plan->argv && i < plan->argv->n; i++)
        put_line(&b, "arg", plan->argv->v[i]);
    return b.s;
}
