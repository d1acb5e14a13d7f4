/* test_kconfig_minimize.c: the kconfig minimizer's search (kconfig-minimizer/minimize.h) driven
 * by synthetic oracles: flat lists, trees, forced-on options, budgets, resume, random forests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kconfig-minimizer/minimize.h"
#include "tinyx/strvec.h"
#include "tinyx/util.h"

#define MAX_OPTS 64

/* ---- a synthetic kernel: a forest of options, some needed, some forced on ---- */

struct tree {
    size_t n;
    struct kmin_option opt[MAX_OPTS];
    char names[MAX_OPTS][24];
    bool needed[MAX_OPTS]; /* the app's check fails when one of these is off */
    bool forced[MAX_OPTS]; /* something selects it: asking for it off alone changes nothing */
};

static void tree_init(struct tree *t, size_t n, const int *parents)
{
    memset(t, 0, sizeof *t);
    t->n = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(t->names[i], sizeof t->names[i], "OPT_%02zu", i);
        t->opt[i].name = t->names[i];
        t->opt[i].parent = parents ? parents[i] : -1;
    }
}

static bool is_ancestor(const struct tree *t, size_t anc, size_t i)
{
    for (int p = t->opt[i].parent; p >= 0; p = t->opt[p].parent)
        if ((size_t)p == anc)
            return true;
    return false;
}

/* What olddefconfig would turn off: what was asked (unless forced on) and, like a "depends on",
 * everything under an option that is off. */
static bool resolve_one(const struct tree *t, const bool *asked, size_t i)
{
    if (asked[i] && !t->forced[i])
        return true;
    return t->opt[i].parent >= 0 && resolve_one(t, asked, (size_t)t->opt[i].parent);
}

static void tree_resolve(const struct tree *t, const bool *asked, bool *off)
{
    for (size_t i = 0; i < t->n; i++)
        off[i] = resolve_one(t, asked, i);
}

/* The app's check: passes when no needed option is off. */
static bool tree_passes(const struct tree *t, const bool *off)
{
    for (size_t i = 0; i < t->n; i++)
        if (off[i] && t->needed[i])
            return false;
    return true;
}

static size_t tree_index(const struct tree *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->names[i], name))
            return i;
    return SIZE_MAX;
}

/* ---- the oracle over a tree, checking the search's protocol on every call ---- */

struct tree_oracle {
    const struct tree *t;
    bool current[MAX_OPTS]; /* off in the last passing config: what the search has accepted */
    size_t calls;
    size_t stop_at;    /* return KMIN_STOP on this call (1-based); 0: never */
    double *clock;     /* fake clock advanced per call, or NULL */
    double tick;       /* seconds per call */
    struct strvec log; /* every call's off[] joined by ',' */
    char problem[512]; /* first protocol violation */
};

static void oracle_problem(struct tree_oracle *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void oracle_problem(struct tree_oracle *o, const char *fmt, ...)
{
    if (o->problem[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->problem, sizeof o->problem, fmt, ap);
    va_end(ap);
}

static char *join(char *const *off, size_t n_off)
{
    size_t len = 1;
    for (size_t i = 0; i < n_off; i++)
        len += strlen(off[i]) + 1;
    char *s = tinyx_xcalloc(len, 1);
    for (size_t i = 0; i < n_off; i++) {
        if (i)
            strcat(s, ",");
        strcat(s, off[i]);
    }
    return s;
}

static int tree_judge(void *ud, char *const *off, size_t n_off, struct strvec *effective_off)
{
    struct tree_oracle *o = ud;
    const struct tree *t = o->t;
    o->calls++;
    if (o->clock)
        *o->clock += o->tick;
    char *key = join(off, n_off);
    if (tinyx_strvec_contains(&o->log, key))
        oracle_problem(o, "call %zu repeats an off set already judged: %s", o->calls, key);
    tinyx_strvec_push_owned(&o->log, key);
    if (o->stop_at && o->calls == o->stop_at)
        return KMIN_STOP;
    if (effective_off->n != 0)
        oracle_problem(o, "call %zu: effective_off was not cleared", o->calls);

    bool asked[MAX_OPTS] = {0};
    for (size_t k = 0; k < n_off; k++) {
        if (k > 0 && strcmp(off[k - 1], off[k]) >= 0)
            oracle_problem(o, "call %zu: off[] not sorted/unique at %s", o->calls, off[k]);
        size_t i = tree_index(t, off[k]);
        if (i == SIZE_MAX) {
            oracle_problem(o, "call %zu: unknown option %s", o->calls, off[k]);
            continue;
        }
        asked[i] = true;
    }
    /* The search must keep what it accepted off, and try something new that is still on and
     * not under an option already removed (that subtree went with its parent). */
    size_t fresh = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (o->current[i] && !asked[i])
            oracle_problem(o, "call %zu: accepted %s is back on", o->calls, t->names[i]);
        if (!asked[i] || o->current[i])
            continue;
        fresh++;
        for (size_t a = 0; a < t->n; a++)
            if (o->current[a] && is_ancestor(t, a, i))
                oracle_problem(o, "call %zu: tries %s although its ancestor %s is removed",
                               o->calls, t->names[i], t->names[a]);
    }
    if (fresh == 0)
        oracle_problem(o, "call %zu tries nothing new", o->calls);

    bool resolved[MAX_OPTS];
    tree_resolve(t, asked, resolved);
    if (!memcmp(resolved, o->current, t->n * sizeof(bool)))
        return KMIN_NOOP;
    if (!tree_passes(t, resolved))
        return KMIN_FAIL;
    for (size_t i = 0; i < t->n; i++)
        if (resolved[i])
            tinyx_strvec_push(effective_off, t->names[i]);
    tinyx_strvec_push(effective_off, "NOT_A_CANDIDATE"); /* real configs have those too */
    memcpy(o->current, resolved, sizeof o->current);
    return KMIN_PASS;
}

static void tree_oracle_init(struct tree_oracle *o, const struct tree *t)
{
    memset(o, 0, sizeof *o);
    o->t = t;
}

static void tree_oracle_free(struct tree_oracle *o)
{
    tinyx_strvec_free(&o->log);
}

/* ---- a fake clock and a progress checker ---- */

static double fake_now(void *ud)
{
    return *(double *)ud;
}

struct progress_log {
    size_t calls;
    size_t last_trials;
    double last_eta;
    bool saw_eta;
    char problem[256];
};

static void check_progress(void *ud, const struct kmin_progress *p)
{
    struct progress_log *l = ud;
    char *bad = l->problem[0] ? NULL : l->problem;
    if (bad && p->removed + p->kept + p->undecided != p->options)
        snprintf(bad, sizeof l->problem, "counts %zu+%zu+%zu != %zu", p->removed, p->kept,
                 p->undecided, p->options);
    else if (bad && l->calls == 0 && (p->trials != 0 || p->eta_s >= 0))
        snprintf(bad, sizeof l->problem, "first report: %zu trials, eta %g", p->trials, p->eta_s);
    else if (bad && l->calls > 0 && p->trials != l->last_trials + 1 && p->trials != l->last_trials)
        snprintf(bad, sizeof l->problem, "trials jumped %zu -> %zu", l->last_trials, p->trials);
    else if (bad && (!p->doing || !p->doing[0]))
        snprintf(bad, sizeof l->problem, "no 'doing' text");
    if (p->eta_s >= 0)
        l->saw_eta = true;
    l->last_trials = p->trials;
    l->last_eta = p->eta_s;
    l->calls++;
}

/* ---- running the search ---- */

struct run {
    struct kmin_result r;
    struct tree_oracle o;
    struct progress_log progress;
    double clock;
};

static void run_tree(struct run *run, const struct tree *t, double budget_s)
{
    memset(run, 0, sizeof *run);
    tree_oracle_init(&run->o, t);
    run->o.clock = &run->clock;
    run->o.tick = 10;
    struct kmin_oracle oracle = {tree_judge, &run->o};
    struct kmin_opts opts = {budget_s, check_progress, &run->progress, fake_now, &run->clock};
    assert_int_equal(kmin_minimize(t->opt, t->n, &oracle, &opts, &run->r), 0);
    if (run->o.problem[0])
        fail_msg("protocol: %s", run->o.problem);
    if (run->progress.problem[0])
        fail_msg("progress: %s", run->progress.problem);
    assert_int_equal(run->r.trials, run->o.calls);
    if (run->r.complete) {
        assert_int_equal(run->progress.calls, run->r.trials + 2); /* start, each judge, end */
        assert_true(run->progress.last_eta == 0);
    }
}

static void run_free(struct run *run)
{
    kmin_result_free(&run->r);
    tree_oracle_free(&run->o);
}

/* The names of a result list as bools per option. */
static void result_set(const struct tree *t, const struct strvec *names, bool *set)
{
    memset(set, 0, MAX_OPTS * sizeof(bool));
    for (size_t k = 0; k < names->n; k++) {
        size_t i = tree_index(t, names->v[k]);
        if (i == SIZE_MAX)
            fail_msg("result names %s, not a candidate", names->v[k]);
        set[i] = true;
    }
}

/* removed must be exactly want_off, kept the rest. */
static void expect_exact(const struct tree *t, const struct kmin_result *r, const bool *want_off)
{
    bool removed[MAX_OPTS], kept[MAX_OPTS];
    result_set(t, &r->removed, removed);
    result_set(t, &r->kept, kept);
    assert_int_equal(r->removed.n + r->kept.n, t->n);
    for (size_t i = 0; i < t->n; i++) {
        if (removed[i] != want_off[i])
            fail_msg("%s: removed=%d, want %d", t->names[i], removed[i], want_off[i]);
        if (kept[i] == removed[i])
            fail_msg("%s: kept=%d removed=%d", t->names[i], kept[i], removed[i]);
    }
}

/* The removed set is a passing configuration that the oracle reproduces as is. */
static void expect_valid(const struct tree *t, const struct kmin_result *r)
{
    bool removed[MAX_OPTS], resolved[MAX_OPTS];
    result_set(t, &r->removed, removed);
    tree_resolve(t, removed, resolved);
    assert_true(tree_passes(t, resolved));
    assert_memory_equal(resolved, removed, t->n * sizeof(bool));
}

/* ---- flat lists ---- */

static size_t flat_trials(const size_t *needed, size_t n_needed)
{
    struct tree t;
    tree_init(&t, 8, NULL);
    for (size_t k = 0; k < n_needed; k++)
        t.needed[needed[k]] = true;
    struct run run;
    run_tree(&run, &t, 0);
    bool want_off[MAX_OPTS];
    for (size_t i = 0; i < t.n; i++)
        want_off[i] = !t.needed[i];
    assert_true(run.r.complete);
    expect_exact(&t, &run.r, want_off);
    size_t trials = run.r.trials;
    run_free(&run);
    return trials;
}

static void test_flat(void **state)
{
    (void)state;
    static const size_t three[] = {1, 4, 6}, one[] = {5}, all[] = {0, 1, 2, 3, 4, 5, 6, 7};
    size_t t3 = flat_trials(three, 3), t1 = flat_trials(one, 1), t0 = flat_trials(NULL, 0);
    size_t t8 = flat_trials(all, 8);
    print_message("flat 8 options: 3 needed %zu trials, 1 needed %zu, none needed %zu, all "
                  "needed %zu\n",
                  t3, t1, t0, t8);
    assert_int_equal(t0, 1);  /* everything goes in one trial */
    assert_true(t1 < 8);      /* beats one at a time */
    assert_true(t3 <= 12);    /* dense: ddmin pays for its splits, but stays bounded */
    assert_true(t8 <= 2 * 8); /* worst case: 1 + 2 + 4 + 8 splits */
}

/* ---- a tree ---- */

/* 40 options, 3 roots, each option k has children 2k+3 and 2k+4: OPT_21 is a leaf 4 deep
 * (00 > 03 > 09 > 21); the app needs it (hence its ancestors) and OPT_07 (under 02). */
static void make_tree40(struct tree *t)
{
    int parents[40];
    for (int i = 0; i < 40; i++)
        parents[i] = i < 3 ? -1 : (i - 3) / 2;
    tree_init(t, 40, parents);
    static const int needed[] = {0, 3, 9, 21, 2, 7};
    for (size_t k = 0; k < sizeof needed / sizeof needed[0]; k++)
        t->needed[needed[k]] = true;
}

static void test_tree(void **state)
{
    (void)state;
    struct tree t;
    make_tree40(&t);
    struct run run;
    run_tree(&run, &t, 0); /* the oracle checks nothing under a removed parent is tried */
    bool want_off[MAX_OPTS];
    for (size_t i = 0; i < t.n; i++)
        want_off[i] = !t.needed[i];
    assert_true(run.r.complete);
    expect_exact(&t, &run.r, want_off);
    expect_valid(&t, &run.r);
    assert_true(run.progress.saw_eta);
    print_message("tree of 40 (6 needed): %zu trials\n", run.r.trials);
    assert_true(run.r.trials < 20); /* 40 one at a time; subtrees go in one trial */
    /* The fake clock: 10 s per trial. */
    assert_true(run.r.seconds == 10.0 * (double)run.r.trials);
    run_free(&run);
}

/* ---- tiers: requested options are tried last ---- */

/* 16 flat options: 0-7 tier 0 (OPT_02 needed), 8-15 tier 1 (OPT_09 needed). Every tier-0 option
 * must be decided before any tier-1 option is asked for, and a budget of one trial must remove
 * the unneeded tier-0 options as a block when none of them is needed. */
static void test_tiers(void **state)
{
    (void)state;
    struct tree t;
    tree_init(&t, 16, NULL);
    for (size_t i = 8; i < 16; i++)
        t.opt[i].tier = 1;
    t.needed[2] = t.needed[9] = true;
    struct run run;
    run_tree(&run, &t, 0);
    bool want_off[MAX_OPTS];
    for (size_t i = 0; i < t.n; i++)
        want_off[i] = !t.needed[i];
    assert_true(run.r.complete);
    expect_exact(&t, &run.r, want_off);
    size_t first_tier1 = SIZE_MAX;
    for (size_t c = 0; c < run.o.log.n && first_tier1 == SIZE_MAX; c++)
        for (size_t i = 8; i < 16; i++)
            if (strstr(run.o.log.v[c], t.names[i]))
                first_tier1 = c;
    assert_true(first_tier1 != SIZE_MAX);
    for (size_t i = 0; i < 8; i++)
        if (i != 2 && !strstr(run.o.log.v[first_tier1], t.names[i]))
            fail_msg("call %zu asks for a tier-1 option while %s (tier 0) is still undecided: %s",
                     first_tier1 + 1, t.names[i], run.o.log.v[first_tier1]);
    assert_null(strstr(run.o.log.v[0], "OPT_08")); /* the first trial is tier 0 only */
    run_free(&run);

    /* Nothing needed in tier 0: one trial (the budget) removes all of it. */
    t.needed[2] = false;
    run_tree(&run, &t, 10);
    assert_false(run.r.complete);
    assert_int_equal(run.r.trials, 1);
    assert_int_equal(run.r.removed.n, 8);
    for (size_t k = 0; k < run.r.removed.n; k++)
        assert_true(strcmp(run.r.removed.v[k], "OPT_08") < 0);
    run_free(&run);

    /* A negative tier is refused. */
    t.opt[3].tier = -1;
    struct kmin_oracle oracle = {tree_judge, NULL};
    struct kmin_result r;
    assert_int_equal(kmin_minimize(t.opt, t.n, &oracle, NULL, &r), -1);
}

/* ---- forced-on options ---- */

static void test_forced_on(void **state)
{
    (void)state;
    /* 0 ROOT_A needed; 1 forced under 0; 2 under 0; 3 removable root; 4 forced under 3;
     * 5 forced root; 6 removable root. */
    static const int parents[] = {-1, 0, 0, -1, 3, -1, -1};
    struct tree t;
    tree_init(&t, 7, parents);
    t.needed[0] = true;
    t.forced[1] = t.forced[4] = t.forced[5] = true;
    struct run run;
    run_tree(&run, &t, 0);
    static const bool want_off[MAX_OPTS] = {false, false, true, true, true, false, true};
    assert_true(run.r.complete);
    expect_exact(&t, &run.r, want_off);
    expect_valid(&t, &run.r);
    print_message("forced-on (7 options, 2 forced stay): %zu trials\n", run.r.trials);
    run_free(&run);

    /* Everything forced: every trial is a no-op, all kept. */
    tree_init(&t, 5, NULL);
    for (size_t i = 0; i < t.n; i++)
        t.forced[i] = true;
    run_tree(&run, &t, 0);
    static const bool none_off[MAX_OPTS] = {false};
    assert_true(run.r.complete);
    expect_exact(&t, &run.r, none_off);
    run_free(&run);
}

/* ---- budget and resume through a caching oracle ---- */

/* Stands in for the oracle's persistent cache: verdicts keyed by the sorted off set survive
 * between runs; only misses reach the "expensive" inner oracle. */
struct cached_oracle {
    struct tree_oracle *inner;
    struct strvec keys;
    int verdicts[256];
    bool resolved[256][MAX_OPTS];
    size_t expensive;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cached_judge(void *ud, char *const *off, size_t n_off, struct strvec *effective_off)
{
    struct cached_oracle *c = ud;
    char **sorted = tinyx_xcalloc(n_off + 1, sizeof(char *));
    memcpy(sorted, off, n_off * sizeof(char *));
    qsort(sorted, n_off, sizeof(char *), cmp_str);
    char *key = join(sorted, n_off);
    free(sorted);
    const struct tree *t = c->inner->t;
    for (size_t k = 0; k < c->keys.n; k++) {
        if (strcmp(c->keys.v[k], key) != 0)
            continue;
        free(key);
        if (c->verdicts[k] == KMIN_PASS) {
            for (size_t i = 0; i < t->n; i++)
                if (c->resolved[k][i])
                    tinyx_strvec_push(effective_off, t->names[i]);
            /* The inner oracle's notion of the current config follows the replay. */
            memcpy(c->inner->current, c->resolved[k], sizeof c->inner->current);
        }
        return c->verdicts[k];
    }
    c->expensive++;
    int verdict = tree_judge(c->inner, off, n_off, effective_off);
    if (verdict == KMIN_STOP || c->keys.n == 256) {
        free(key);
        return verdict;
    }
    c->verdicts[c->keys.n] = verdict;
    memcpy(c->resolved[c->keys.n], c->inner->current, sizeof c->resolved[0]);
    tinyx_strvec_push_owned(&c->keys, key);
    return verdict;
}

static void test_budget_and_resume(void **state)
{
    (void)state;
    struct tree t;
    make_tree40(&t);
    struct run full;
    run_tree(&full, &t, 0);
    assert_true(full.r.complete);
    assert_true(full.r.trials > 4);

    /* Run 1: 10 s per trial, budget 35 s: trials start at 0, 10, 20, 30; the 5th would start
     * at 40 >= 35. */
    struct cached_oracle cache = {0};
    struct tree_oracle inner1, inner2;
    tree_oracle_init(&inner1, &t);
    double clock = 0;
    inner1.clock = &clock;
    inner1.tick = 10;
    cache.inner = &inner1;
    struct kmin_oracle oracle = {cached_judge, &cache};
    struct progress_log progress = {0};
    struct kmin_opts opts = {35, check_progress, &progress, fake_now, &clock};
    struct kmin_result r1;
    assert_int_equal(kmin_minimize(t.opt, t.n, &oracle, &opts, &r1), 0);
    if (inner1.problem[0])
        fail_msg("run 1 protocol: %s", inner1.problem);
    assert_false(r1.complete);
    assert_int_equal(r1.trials, 4);
    assert_int_equal(cache.expensive, 4);
    assert_true(r1.seconds == 40.0);
    expect_valid(&t, &r1);
    assert_true(r1.removed.n > 0 && r1.removed.n < full.r.removed.n);
    for (size_t k = 0; k < 4; k++) /* the same questions as the full run, in the same order */
        assert_string_equal(inner1.log.v[k], full.o.log.v[k]);

    /* Run 2 (the resume): no budget; the cache answers the first 4, only the rest is built. */
    tree_oracle_init(&inner2, &t);
    inner2.clock = &clock;
    inner2.tick = 10;
    cache.inner = &inner2;
    opts.budget_s = 0;
    memset(&progress, 0, sizeof progress);
    struct kmin_result r2;
    assert_int_equal(kmin_minimize(t.opt, t.n, &oracle, &opts, &r2), 0);
    if (inner2.problem[0])
        fail_msg("run 2 protocol: %s", inner2.problem);
    assert_true(r2.complete);
    assert_int_equal(r2.trials, full.r.trials);
    assert_int_equal(cache.expensive, full.r.trials);  /* 4 in run 1, the rest now */
    assert_int_equal(inner2.calls, full.r.trials - 4); /* ... and nothing twice */
    for (size_t k = 0; k < inner2.log.n; k++)
        assert_string_equal(inner2.log.v[k], full.o.log.v[k + 4]);
    assert_int_equal(r2.removed.n, full.r.removed.n);
    for (size_t k = 0; k < r2.removed.n; k++)
        assert_string_equal(r2.removed.v[k], full.r.removed.v[k]);
    assert_int_equal(r2.kept.n, full.r.kept.n);
    print_message("budget 35 s at 10 s/trial: stopped after %zu trials (%zu removed); resume "
                  "built %zu more (full run: %zu)\n",
                  r1.trials, r1.removed.n, inner2.calls, full.r.trials);

    kmin_result_free(&r1);
    kmin_result_free(&r2);
    tinyx_strvec_free(&cache.keys);
    tree_oracle_free(&inner1);
    tree_oracle_free(&inner2);
    run_free(&full);
}

/* ---- KMIN_STOP ---- */

static void test_oracle_stop(void **state)
{
    (void)state;
    struct tree t;
    make_tree40(&t);
    for (size_t stop_at = 1; stop_at <= 6; stop_at++) {
        struct kmin_result r;
        struct tree_oracle o;
        tree_oracle_init(&o, &t);
        o.stop_at = stop_at;
        struct kmin_oracle oracle = {tree_judge, &o};
        assert_int_equal(kmin_minimize(t.opt, t.n, &oracle, NULL, &r), 0);
        assert_false(r.complete);
        assert_int_equal(o.calls, stop_at); /* nothing after the stop */
        assert_int_equal(r.trials, stop_at);
        /* The result is the accepted state: the oracle's last passing config. */
        bool removed[MAX_OPTS];
        result_set(&t, &r.removed, removed);
        assert_memory_equal(removed, o.current, t.n * sizeof(bool));
        expect_valid(&t, &r);
        /* Kept lists only what was decided; the undecided are in neither list. */
        assert_true(r.removed.n + r.kept.n < t.n);
        for (size_t k = 0; k < r.kept.n; k++)
            assert_true(t.needed[tree_index(&t, r.kept.v[k])]);
        kmin_result_free(&r);
        tree_oracle_free(&o);
    }
}

/* ---- determinism ---- */

static void test_deterministic(void **state)
{
    (void)state;
    struct tree t;
    make_tree40(&t);
    t.forced[12] = true;
    struct run a, b;
    run_tree(&a, &t, 0);
    run_tree(&b, &t, 0);
    assert_int_equal(a.o.log.n, b.o.log.n);
    for (size_t k = 0; k < a.o.log.n; k++)
        assert_string_equal(a.o.log.v[k], b.o.log.v[k]);
    assert_int_equal(a.r.removed.n, b.r.removed.n);
    for (size_t k = 0; k < a.r.removed.n; k++)
        assert_string_equal(a.r.removed.v[k], b.r.removed.v[k]);
    run_free(&a);
    run_free(&b);
}

/* ---- bad input ---- */

static int never_judge(void *ud, char *const *off, size_t n_off, struct strvec *effective_off)
{
    (void)off;
    (void)n_off;
    (void)effective_off;
    (*(size_t *)ud)++;
    return KMIN_FAIL;
}

static void expect_rejected(const struct kmin_option *opts, size_t n, const char *why)
{
    size_t calls = 0;
    struct kmin_oracle oracle = {never_judge, &calls};
    struct kmin_result r;
    if (kmin_minimize(opts, n, &oracle, NULL, &r) != -1)
        fail_msg("accepted bad input (%s)", why);
    assert_int_equal(calls, 0);
    assert_int_equal(r.removed.n + r.kept.n + r.trials, 0);
    kmin_result_free(&r);
}

static void test_bad_input(void **state)
{
    (void)state;
    const struct kmin_option out_of_range[] = {{"A", -1, 0}, {"B", 0, 0}, {"C", 5, 0}};
    const struct kmin_option negative[] = {{"A", -2, 0}};
    const struct kmin_option self[] = {{"A", -1, 0}, {"B", 1, 0}};
    const struct kmin_option cycle[] = {
        {"R", -1, 0}, {"A", 3, 0}, {"B", 1, 0}, {"C", 2, 0}, {"D", 0, 0}};
    const struct kmin_option no_name[] = {{"A", -1, 0}, {NULL, 0, 0}};
    const struct kmin_option empty_name[] = {{"", -1, 0}};
    const struct kmin_option twice[] = {{"A", -1, 0}, {"B", 0, 0}, {"A", -1, 0}};
    expect_rejected(out_of_range, 3, "parent index out of range");
    expect_rejected(negative, 1, "parent -2");
    expect_rejected(self, 2, "own parent");
    expect_rejected(cycle, 5, "cycle");
    expect_rejected(no_name, 2, "NULL name");
    expect_rejected(empty_name, 1, "empty name");
    expect_rejected(twice, 3, "duplicate name");
    expect_rejected(NULL, 3, "no options");
    struct kmin_result r;
    assert_int_equal(kmin_minimize(twice, 1, NULL, NULL, &r), -1);
    kmin_result_free(&r);
    /* Nothing to do is fine. */
    size_t calls = 0;
    struct kmin_oracle oracle = {never_judge, &calls};
    assert_int_equal(kmin_minimize(NULL, 0, &oracle, NULL, &r), 0);
    assert_true(r.complete);
    assert_int_equal(r.trials + r.removed.n + r.kept.n + calls, 0);
    kmin_result_free(&r);
}

/* ---- misbehaving oracles ---- */

static int pass_without_effective(void *ud, char *const *off, size_t n_off,
                                  struct strvec *effective_off)
{
    (void)off;
    (void)n_off;
    (void)effective_off;
    (*(size_t *)ud)++;
    return KMIN_PASS;
}

static int bad_verdict(void *ud, char *const *off, size_t n_off, struct strvec *effective_off)
{
    (void)off;
    (void)n_off;
    (void)effective_off;
    (*(size_t *)ud)++;
    return 7;
}

static void test_odd_oracles(void **state)
{
    (void)state;
    struct tree t;
    make_tree40(&t);
    /* A pass that turns nothing off changes nothing: no loop, everything ends up kept. */
    size_t calls = 0;
    struct kmin_oracle oracle = {pass_without_effective, &calls};
    struct kmin_result r;
    assert_int_equal(kmin_minimize(t.opt, t.n, &oracle, NULL, &r), 0);
    assert_true(r.complete);
    assert_int_equal(r.removed.n, 0);
    assert_int_equal(r.kept.n, t.n);
    assert_int_equal(r.trials, calls);
    assert_true(calls <= 4 * t.n);
    kmin_result_free(&r);
    /* Not a verdict: stop with a message, result still valid. */
    calls = 0;
    oracle.judge = bad_verdict;
    assert_int_equal(kmin_minimize(t.opt, t.n, &oracle, NULL, &r), 0);
    assert_false(r.complete);
    assert_int_equal(calls, 1);
    assert_int_equal(r.removed.n, 0);
    kmin_result_free(&r);
}

/* ---- random forests ---- */

static uint64_t rng_state;

static uint32_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

/* A random forest whose parent indices point anywhere (before or after the child), random needed
 * options closed under ancestors, and (every other seed) some forced-on options. */
static void make_random_tree(struct tree *t, size_t n, uint64_t seed)
{
    rng_state = seed;
    size_t perm[MAX_OPTS];
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i-- > 1;) {
        size_t j = rng() % (i + 1), tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    /* Build in creation order c (parent created earlier), store at index perm[c]. */
    int parents[MAX_OPTS];
    for (size_t c = 0; c < n; c++) {
        bool root = c == 0 || rng() % 5 == 0;
        parents[perm[c]] = root ? -1 : (int)perm[rng() % c];
    }
    tree_init(t, n, parents);
    for (size_t i = 0; i < n; i++)
        if (rng() % 6 == 0)
            for (int a = (int)i; a >= 0 && !t->needed[a]; a = t->opt[a].parent)
                t->needed[a] = true;
    if (seed % 2)
        for (size_t i = 0; i < n; i++)
            t->forced[i] = !t->needed[i] && rng() % 8 == 0;
}

/* What the search must find: every option off except the needed ones and the forced ones that
 * nothing above takes down. */
static bool expected_off(const struct tree *t, size_t i)
{
    if (t->needed[i])
        return false;
    if (!t->forced[i])
        return true;
    return t->opt[i].parent >= 0 && expected_off(t, (size_t)t->opt[i].parent);
}

static void test_random_forests(void **state)
{
    (void)state;
    size_t total_trials = 0, total_kept = 0, max_trials = 0;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        struct tree t;
        make_random_tree(&t, 30, seed);
        struct run run;
        run_tree(&run, &t, 0);
        assert_true(run.r.complete);
        expect_valid(&t, &run.r);
        bool removed[MAX_OPTS], off[MAX_OPTS], resolved[MAX_OPTS];
        result_set(&t, &run.r.removed, removed);
        for (size_t i = 0; i < t.n; i++) {
            /* Each removed option is really removable: the oracle passes with it off alone. */
            if (removed[i]) {
                memset(off, 0, sizeof off);
                off[i] = true;
                tree_resolve(&t, off, resolved);
                if (!tree_passes(&t, resolved))
                    fail_msg("seed %d: removed %s is needed", (int)seed, t.names[i]);
                continue;
            }
            /* 1-minimal: no kept option can go on top of the result. */
            memcpy(off, removed, sizeof off);
            off[i] = true;
            tree_resolve(&t, off, resolved);
            if (resolved[i] && tree_passes(&t, resolved))
                fail_msg("seed %d: kept %s could be removed", (int)seed, t.names[i]);
        }
        bool want_off[MAX_OPTS];
        for (size_t i = 0; i < t.n; i++)
            want_off[i] = expected_off(&t, i);
        expect_exact(&t, &run.r, want_off);
        total_trials += run.r.trials;
        total_kept += run.r.kept.n;
        if (run.r.trials > max_trials)
            max_trials = run.r.trials;
        run_free(&run);
    }
    print_message("50 random forests of 30: %.1f trials on average (max %zu), %.1f kept\n",
                  (double)total_trials / 50, max_trials, (double)total_kept / 50);
    assert_true(total_trials < 50 * 30); /* on average better than one option at a time */
    assert_true(max_trials <= 2 * 30);
}

/* A search that loops would hang the test run: fail it instead. */
static void watchdog(int sig)
{
    (void)sig;
    static const char msg[] = "test_kconfig_minimize: still running after 60 s: the search "
                              "loops\n";
    if (write(2, msg, sizeof msg - 1) < 0) {
    }
    _exit(1);
}

int main(void)
{
    signal(SIGALRM, watchdog);
    alarm(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat),           cmocka_unit_test(test_tree),
        cmocka_unit_test(test_forced_on),      cmocka_unit_test(test_budget_and_resume),
        cmocka_unit_test(test_oracle_stop),    cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_bad_input),      cmocka_unit_test(test_odd_oracles),
        cmocka_unit_test(test_random_forests), cmocka_unit_test(test_tiers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
