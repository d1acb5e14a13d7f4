/* minimize.h: the search of the kconfig minimizer: which options can be turned off while the
 * app still passes its check. Pure algorithm; the oracle (build + boot + check) is a callback. */
#ifndef KCONFIG_MINIMIZE_H
#define KCONFIG_MINIMIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "tinyx/strvec.h"

/* A candidate option (on in the starting configuration) and its place in the Kconfig menu
 * tree: turning a parent off turns its whole subtree off. */
struct kmin_option {
    const char *name;
    int parent; /* index of the nearest candidate ancestor, or -1 */
    /* Search order: every tier-0 option is decided before any tier-1 option is tried. Callers
     * put what is probably needed in tier 1 (options the platform and app fragments asked
     * for), so that the cheap wins (whole unrequested subtrees at once) come first and a time
     * budget is spent where removals are likely. */
    int tier;
};

enum kmin_verdict {
    KMIN_PASS = 0,  /* the candidate config builds, boots and passes the check */
    KMIN_FAIL = 1,  /* build failure, panic, timeout or failed check: something removed is needed */
    KMIN_NOOP = 2,  /* the resolved config equals the current one (the options are forced on) */
    KMIN_STOP = -1, /* interrupted, or a fatal error (the oracle printed why): stop searching */
};

struct kmin_oracle {
    /* Judge the starting config with every option in off[] turned off (olddefconfig then also
     * drops what depends on them). On KMIN_PASS, effective_off (cleared by the caller) receives
     * every candidate name that is off in the resolved config (a superset of off[]).
     * Implementations cache verdicts by the resolved config's hash, persistently: re-running a
     * search replays cached verdicts instantly, which is how an interrupted search resumes. */
    int (*judge)(void *ud, char *const *off, size_t n_off, struct strvec *effective_off);
    void *ud;
};

struct kmin_progress {
    size_t options;   /* candidates */
    size_t removed;   /* off in the current (passing) config */
    size_t kept;      /* found needed (or forced on) */
    size_t undecided; /* not yet judged */
    size_t trials;    /* judge() calls */
    double elapsed_s;
    double eta_s;      /* estimate of the time left (< 0: unknown) */
    const char *doing; /* what is being tried, e.g. "3 options under NET" */
};

struct kmin_opts {
    double budget_s; /* 0: none; when exceeded, stop with the best config so far */
    void (*progress)(void *ud, const struct kmin_progress *p);
    void *progress_ud;
    /* The current time in seconds, any origin (tests inject a fake clock); NULL: CLOCK_MONOTONIC.
     */
    double (*now)(void *ud);
    void *now_ud;
};

struct kmin_result {
    struct strvec removed; /* candidates off in the final passing configuration */
    struct strvec kept;    /* candidates found needed or forced on */
    size_t trials;
    double seconds;
    bool complete; /* false: stopped by the budget or KMIN_STOP; the result is still valid */
};

/* Hierarchical delta debugging: starting from the top of the menu tree, try to turn off groups
 * of sibling options at once; when a group fails, split it (ddmin) down to single options; a
 * needed option's children are then searched the same way. The whole walk runs once per tier
 * (tier 0 first), each pass seeing only the options of its tier and below. Options turned off by
 * the oracle's resolution (effective_off) are never tried again. Deterministic for a given input
 * and oracle. Returns 0 (also when stopped early: see result->complete), -1 on bad input. */
int kmin_minimize(const struct kmin_option *options, size_t n, const struct kmin_oracle *oracle,
                  const struct kmin_opts *opts, struct kmin_result *result);
void kmin_result_free(struct kmin_result *r);

#endif
