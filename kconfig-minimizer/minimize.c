/* minimize.c: the kconfig minimizer's search: hierarchical delta debugging over the options. */
#include "kconfig-minimizer/minimize.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tinyx/util.h"

/*
 * Why this shape:
 * - A trial (build + boot + check) costs seconds to minutes, so everything here is about making
 *   fewer trials; the bookkeeping is O(n) per trial and never matters next to a kernel build.
 * - The premise of the whole search is monotonicity: turning more options off never repairs a
 *   failure. So a single option that fails on top of the accepted state stays needed for the
 *   rest of the run and is marked kept at once instead of being retried after later removals
 *   (classic ddmin would retry it; under the premise the retry can only fail again), and a set
 *   that contains a failed set is answered "fail" without a trial. A flaky check (a boot that
 *   times out once) therefore costs at most the options of that one trial being kept, which is
 *   the safe direction.
 * - The oracle reports what it really turned off (effective_off). That, not what we asked for, is
 *   the accepted state: it covers whole subtrees dropped with their parent (so they are never
 *   tried) and leaves out options something else forces back on (so they get judged alone and
 *   end up kept).
 * - Determinism: groups, chunks and the off[] lists depend only on the input order, so two runs
 *   ask the same questions in the same order. That is what lets a persistent verdict cache in the
 *   oracle replay an interrupted run up to where it stopped (the resume path).
 */

#define KMIN_ROOT SIZE_MAX /* the "parent" of the top-level group */

/* A fixed-size set of option indices. Memo keys and the accepted state use it: comparing two
 * sets is a memcmp, whatever order the options were chosen in. */
struct optset {
    uint64_t *w;
};

/* One judged trial: its off set (what we asked for, accepted state included) and the answer. */
struct memo_entry {
    uint64_t hash;
    struct optset asked;
    struct optset effective; /* only meaningful for KMIN_PASS */
    int verdict;
};

struct search {
    const struct kmin_option *opt;
    size_t n, words;
    const struct kmin_oracle *oracle;
    const struct kmin_opts *opts;

    size_t *by_name;         /* indices sorted by name: name lookup and canonical off[] order */
    size_t *child_start;     /* children of i: children[child_start[i] .. child_start[i + 1]) */
    size_t *children;        /* index order inside each list; the roots come last (slot n) */
    struct optset off;       /* accepted state: off in the last passing trial */
    unsigned char *kept;     /* found needed or forced on */
    struct memo_entry *memo; /* linear: a few thousand trials at most, each worth seconds */
    size_t n_memo, cap_memo;

    size_t trials;
    double t0, judge_seconds;
    size_t group_estimate; /* judges the current group still needs (for the ETA) */
    size_t group_size;     /* options of the current group still undecided */
    int tier_now;          /* the pass: options of a higher tier are not tried yet */
    bool stopped;
    const char *stop_reason;
    char doing[256];
};

/* ---- small helpers ---- */

static struct optset optset_new(const struct search *s)
{
    struct optset set = {tinyx_xcalloc(s->words, sizeof(uint64_t))};
    return set;
}

static bool optset_has(const struct optset *set, size_t i)
{
    return (set->w[i / 64] >> (i % 64)) & 1;
}

static void optset_add(struct optset *set, size_t i)
{
    set->w[i / 64] |= (uint64_t)1 << (i % 64);
}

static size_t optset_count(const struct search *s, const struct optset *set)
{
    size_t c = 0;
    for (size_t i = 0; i < s->words; i++)
        c += (size_t)__builtin_popcountll(set->w[i]);
    return c;
}

static uint64_t optset_hash(const struct search *s, const struct optset *set)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the words */
    for (size_t i = 0; i < s->words; i++) {
        h ^= set->w[i];
        h *= 1099511628211ull;
    }
    return h;
}

static double clock_now(const struct search *s)
{
    if (s->opts->now)
        return s->opts->now(s->opts->now_ud);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_by_name(const void *a, const void *b, void *ctx)
{
    const struct kmin_option *opt = ctx;
    return strcmp(opt[*(const size_t *)a].name, opt[*(const size_t *)b].name);
}

/* The candidate index of name, or SIZE_MAX when it is not a candidate. */
static size_t find_name(const struct search *s, const char *name)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->opt[s->by_name[mid]].name, name);
        if (c == 0)
            return s->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* ---- input checks and the forest ---- */

/* Reject what would make the search loop or misreport: missing names, bad parents, cycles. */
static int check_links(const struct search *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!s->opt[i].name || !s->opt[i].name[0])
            return tinyx_err("kconfig minimizer: candidate #%zu has no name; the candidate list "
                             "is broken (a bug in whatever produced it)",
                             i);
        int p = s->opt[i].parent;
        if (p < -1 || (p >= 0 && (size_t)p >= s->n))
            return tinyx_err("kconfig minimizer: candidate %s (#%zu) has parent index %d, but "
                             "there are %zu candidates; a parent must be -1 or a valid index",
                             s->opt[i].name, i, p, s->n);
        if (s->opt[i].tier < 0 || s->opt[i].tier > 15)
            return tinyx_err("kconfig minimizer: candidate %s has tier %d; tiers run from 0 "
                             "(tried first) to 15",
                             s->opt[i].name, s->opt[i].tier);
    }
    /* Cycles: walk up from each option; state 1 = on the current walk, 2 = reaches a root. */
    unsigned char *state = tinyx_xcalloc(s->n, 1);
    int rc = 0;
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        size_t j = i;
        while (state[j] == 0) {
            state[j] = 1;
            if (s->opt[j].parent < 0)
                break;
            j = (size_t)s->opt[j].parent;
        }
        if (state[j] == 1 && s->opt[j].parent >= 0)
            rc = tinyx_err("kconfig minimizer: the parent links of the candidates form a cycle "
                           "through %s (#%zu); each option needs one chain of parents ending at "
                           "-1",
                           s->opt[j].name, j);
        for (j = i; state[j] == 1; j = s->opt[j].parent < 0 ? j : (size_t)s->opt[j].parent)
            state[j] = 2;
    }
    free(state);
    return rc;
}

/* effective_off comes back as names, so a name must say which option it is. Needs by_name. */
static int check_unique_names(const struct search *s)
{
    for (size_t k = 1; k < s->n; k++) {
        size_t a = s->by_name[k - 1], b = s->by_name[k];
        if (!strcmp(s->opt[a].name, s->opt[b].name))
            return tinyx_err("kconfig minimizer: candidate %s appears twice (#%zu and #%zu); "
                             "each option may be listed once",
                             s->opt[a].name, a < b ? a : b, a < b ? b : a);
    }
    return 0;
}

/* Children lists in index order (so groups and their chunks follow the menu order). The roots
 * are stored as the children of the virtual node n. */
static void build_forest(struct search *s)
{
    s->child_start = tinyx_xcalloc(s->n + 2, sizeof(size_t));
    s->children = tinyx_xcalloc(s->n, sizeof(size_t));
    for (size_t i = 0; i < s->n; i++) {
        size_t p = s->opt[i].parent < 0 ? s->n : (size_t)s->opt[i].parent;
        s->child_start[p + 1]++;
    }
    for (size_t p = 0; p <= s->n; p++)
        s->child_start[p + 1] += s->child_start[p];
    size_t *fill = tinyx_xcalloc(s->n + 1, sizeof(size_t));
    for (size_t i = 0; i < s->n; i++) {
        size_t p = s->opt[i].parent < 0 ? s->n : (size_t)s->opt[i].parent;
        s->children[s->child_start[p] + fill[p]++] = i;
    }
    free(fill);
}

/* ---- progress ---- */

static size_t count_kept(const struct search *s)
{
    size_t c = 0;
    for (size_t i = 0; i < s->n; i++)
        c += s->kept[i] && !optset_has(&s->off, i);
    return c;
}

/*
 * ETA = average judge() time so far x judges left, estimated as:
 * - the current group: during ddmin, 2*ceil(log2(size)) + 1 (a few needed options cost about
 *   two trials per halving); in the final one-by-one pass, one per option not yet tried;
 * - every other undecided option: one judge each. That is pessimistic early (a removed parent
 *   takes its whole subtree with it in one trial) and tightens as subtrees fall.
 * Unknown (< 0) until a judge has been timed.
 */
static void report(struct search *s)
{
    if (!s->opts->progress)
        return;
    struct kmin_progress p = {0};
    p.options = s->n;
    p.removed = optset_count(s, &s->off);
    p.kept = count_kept(s);
    p.undecided = s->n - p.removed - p.kept;
    p.trials = s->trials;
    p.elapsed_s = clock_now(s) - s->t0;
    p.eta_s = -1;
    if (p.undecided == 0)
        p.eta_s = 0;
    else if (s->trials > 0 && !s->stopped) {
        size_t elsewhere = p.undecided > s->group_size ? p.undecided - s->group_size : 0;
        p.eta_s = s->judge_seconds / (double)s->trials * (double)(s->group_estimate + elsewhere);
    }
    p.doing = s->doing; /* valid during the call only */
    s->opts->progress(s->opts->progress_ud, &p);
}

static void set_group_estimate(struct search *s, size_t undecided_in_group, bool one_by_one)
{
    s->group_size = undecided_in_group;
    if (one_by_one || undecided_in_group <= 1) {
        s->group_estimate = undecided_in_group;
        return;
    }
    size_t halvings = 0; /* ceil(log2(size)) */
    while (((size_t)1 << halvings) < undecided_in_group)
        halvings++;
    s->group_estimate = 2 * halvings + 1;
}

/* ---- trials ---- */

static struct memo_entry *memo_find(const struct search *s, const struct optset *asked,
                                    uint64_t hash)
{
    for (size_t i = 0; i < s->n_memo; i++)
        if (s->memo[i].hash == hash &&
            !memcmp(s->memo[i].asked.w, asked->w, s->words * sizeof(uint64_t)))
            return &s->memo[i];
    return NULL;
}

/* Monotonicity again: if turning off F failed, turning off any superset of F fails too. ddmin
 * re-splits a group after each accepted chunk, so it often asks for a failed chunk again on top
 * of a larger accepted state; this answers those without a build. */
static bool memo_known_to_fail(const struct search *s, const struct optset *asked)
{
    for (size_t i = 0; i < s->n_memo; i++) {
        if (s->memo[i].verdict != KMIN_FAIL)
            continue;
        bool subset = true;
        for (size_t w = 0; w < s->words && subset; w++)
            subset = (s->memo[i].asked.w[w] & ~asked->w[w]) == 0;
        if (subset)
            return true;
    }
    return false;
}

/* Ask the oracle (or the memo, or the monotonicity premise) about this off set. Fills verdict
 * and, on KMIN_PASS, effective (candidates only). Returns KMIN_STOP when the budget is spent or
 * the oracle stopped us; the asked set is then not memoized. */
static int judge(struct search *s, const struct optset *asked, uint64_t hash,
                 struct optset *effective)
{
    const struct memo_entry *m = memo_find(s, asked, hash);
    if (m) {
        if (m->verdict == KMIN_PASS)
            memcpy(effective->w, m->effective.w, s->words * sizeof(uint64_t));
        return m->verdict;
    }
    if (memo_known_to_fail(s, asked))
        return KMIN_FAIL;
    double start = clock_now(s);
    if (s->opts->budget_s > 0 && start - s->t0 >= s->opts->budget_s) {
        s->stopped = true;
        s->stop_reason = "stopped: the time budget is used up";
        return KMIN_STOP;
    }
    /* off[] in name order: the same set always reads the same, whatever chose it. */
    char **names = tinyx_xcalloc(s->n + 1, sizeof(char *));
    size_t n_names = 0;
    for (size_t k = 0; k < s->n; k++)
        if (optset_has(asked, s->by_name[k]))
            names[n_names++] = (char *)s->opt[s->by_name[k]].name;
    struct strvec eff = STRVEC_INIT;
    int verdict = s->oracle->judge(s->oracle->ud, names, n_names, &eff);
    free(names);
    s->trials++;
    s->judge_seconds += clock_now(s) - start;

    if (verdict != KMIN_PASS && verdict != KMIN_FAIL && verdict != KMIN_NOOP &&
        verdict != KMIN_STOP) {
        tinyx_err("kconfig minimizer: the oracle returned %d, which is not a verdict (PASS 0, "
                  "FAIL 1, NOOP 2, STOP -1); stopping with the best configuration so far",
                  verdict);
        verdict = KMIN_STOP;
    }
    if (verdict == KMIN_STOP) {
        tinyx_strvec_free(&eff);
        s->stopped = true;
        if (!s->stop_reason)
            s->stop_reason = "stopped by the oracle";
        return KMIN_STOP;
    }
    memset(effective->w, 0, s->words * sizeof(uint64_t));
    if (verdict == KMIN_PASS)
        for (size_t k = 0; k < eff.n; k++) {
            size_t i = find_name(s, eff.v[k]);
            if (i != SIZE_MAX) /* non-candidates (dependants outside the list) do not matter */
                optset_add(effective, i);
        }
    tinyx_strvec_free(&eff);

    if (s->n_memo == s->cap_memo) {
        s->cap_memo = s->cap_memo ? 2 * s->cap_memo : 64;
        s->memo = tinyx_xrealloc(s->memo, s->cap_memo * sizeof(*s->memo));
    }
    struct memo_entry *e = &s->memo[s->n_memo++];
    e->hash = hash;
    e->asked = optset_new(s);
    memcpy(e->asked.w, asked->w, s->words * sizeof(uint64_t));
    e->effective = optset_new(s);
    memcpy(e->effective.w, effective->w, s->words * sizeof(uint64_t));
    e->verdict = verdict;
    return verdict;
}

/*
 * Try turning off `chunk` (on top of the accepted state). Returns KMIN_PASS when the trial passed
 * AND at least one option of the chunk really went off (the accepted state is then updated),
 * KMIN_FAIL, KMIN_NOOP (nothing of the chunk could be turned off: forced on, or a pass that
 * changed nothing, which also keeps a replayed pass from looping), or KMIN_STOP.
 * A single option that does not come off is marked kept here: under the monotonicity premise it
 * stays needed whatever is removed later.
 */
static int try_off(struct search *s, const size_t *chunk, size_t k)
{
    struct optset asked = optset_new(s), effective = optset_new(s);
    memcpy(asked.w, s->off.w, s->words * sizeof(uint64_t));
    for (size_t i = 0; i < k; i++)
        optset_add(&asked, chunk[i]);
    size_t trials_before = s->trials;
    int verdict = judge(s, &asked, optset_hash(s, &asked), &effective);
    if (verdict == KMIN_PASS) {
        bool progress = false;
        for (size_t i = 0; i < k && !progress; i++)
            progress = optset_has(&effective, chunk[i]);
        if (progress)
            memcpy(s->off.w, effective.w, s->words * sizeof(uint64_t));
        else
            verdict = KMIN_NOOP;
    }
    if (k == 1 && (verdict == KMIN_FAIL || verdict == KMIN_NOOP))
        s->kept[chunk[0]] = 1;
    free(asked.w);
    free(effective.w);
    if (verdict == KMIN_STOP)
        return verdict;

    if (s->trials != trials_before) { /* a real judge() call, not a memo replay */
        const char *outcome = verdict == KMIN_PASS   ? "pass"
                              : verdict == KMIN_FAIL ? (k == 1 ? "needed" : "fail")
                                                     : (k == 1 ? "forced on" : "no change");
        size_t len = strlen(s->doing);
        snprintf(s->doing + len, sizeof s->doing - len, ": %s", outcome);
        report(s);
    }
    return verdict;
}

/* ---- the search ---- */

static bool decided(const struct search *s, size_t i)
{
    return optset_has(&s->off, i) || s->kept[i];
}

/* Undecided, and its tier's turn has come. */
static bool open_now(const struct search *s, size_t i)
{
    return !decided(s, i) && s->opt[i].tier <= s->tier_now;
}

/* Drop from the group what is decided (off or kept) or not yet due (a later tier); the order of
 * the rest is kept. */
static size_t compact(const struct search *s, size_t *set, size_t k)
{
    size_t w = 0;
    for (size_t r = 0; r < k; r++)
        if (open_now(s, set[r]))
            set[w++] = set[r];
    return w;
}

static void describe(struct search *s, const size_t *chunk, size_t k, size_t group_size,
                     const char *where)
{
    if (k == 1)
        snprintf(s->doing, sizeof s->doing, "%s alone", s->opt[chunk[0]].name);
    else if (k == group_size)
        snprintf(s->doing, sizeof s->doing, "all %zu options %s", k, where);
    else
        snprintf(s->doing, sizeof s->doing, "%zu of %zu options %s", k, group_size, where);
}

/* Last stage of ddmin: every chunk is one option. Each is tried once, in order (see try_off for
 * why a failed one is not retried). Returns -1 when stopped. */
static int search_one_by_one(struct search *s, size_t *set, size_t k, const char *where)
{
    for (size_t i = 0; i < k; i++) {
        if (!open_now(s, set[i]))
            continue; /* went off with an earlier one */
        size_t left = 0;
        for (size_t j = i; j < k; j++)
            left += open_now(s, set[j]);
        set_group_estimate(s, left, true);
        describe(s, &set[i], 1, 1, where);
        if (try_off(s, &set[i], 1) == KMIN_STOP)
            return -1;
    }
    return 0;
}

/*
 * ddmin on one group of siblings (set: in index order; decided ones are dropped in place).
 * First the whole group at once (the common case deep in a tree: nothing of it is needed);
 * then n chunks, n = 2 first: a passing chunk is accepted and the rest is searched with
 * n = max(n - 1, 2); when none passes, n doubles; at n = |set| it ends one by one.
 * Returns -1 when stopped.
 */
static int search_group(struct search *s, size_t *set, size_t k, const char *where)
{
    k = compact(s, set, k);
    if (k == 0)
        return 0;
    set_group_estimate(s, k, false);
    describe(s, set, k, k, where);
    int verdict = try_off(s, set, k);
    if (verdict == KMIN_STOP)
        return -1;
    k = compact(s, set, k); /* after a pass, what is left is forced on: found out below */
    size_t n = 2;
    while (k > 0) {
        if (n >= k)
            return search_one_by_one(s, set, k, where);
        set_group_estimate(s, k, false);
        bool passed = false;
        for (size_t c = 0; c < n && !passed; c++) {
            size_t lo = c * k / n, hi = (c + 1) * k / n;
            describe(s, set + lo, hi - lo, k, where);
            verdict = try_off(s, set + lo, hi - lo);
            if (verdict == KMIN_STOP)
                return -1;
            passed = verdict == KMIN_PASS;
        }
        k = compact(s, set, k);
        n = passed ? (n > 2 ? n - 1 : 2) : (2 * n < k ? 2 * n : k);
    }
    return 0;
}

/*
 * Walk the forest depth first, in index order: a group is the still-on children of one option
 * (the roots first). A kept option's children are searched next; a removed option's children
 * are normally off with it (the oracle's effective_off) and cost nothing. The group of a parent
 * is gathered when it is popped, not when pushed, so it sees everything decided meanwhile.
 */
static int search_forest(struct search *s)
{
    size_t *stack = tinyx_xcalloc(s->n + 1, sizeof(size_t));
    size_t *group = tinyx_xcalloc(s->n, sizeof(size_t));
    size_t depth = 0;
    int rc = 0;
    stack[depth++] = KMIN_ROOT;
    while (depth > 0 && rc == 0) {
        size_t parent = stack[--depth];
        size_t slot = parent == KMIN_ROOT ? s->n : parent;
        const size_t *kids = s->children + s->child_start[slot];
        size_t n_kids = s->child_start[slot + 1] - s->child_start[slot];
        memcpy(group, kids, n_kids * sizeof(size_t));
        char where[160];
        if (parent == KMIN_ROOT)
            snprintf(where, sizeof where, "at the top level");
        else
            snprintf(where, sizeof where, "under %s", s->opt[parent].name);
        rc = search_group(s, group, n_kids, where);
        for (size_t i = n_kids; i-- > 0;) /* reversed: the stack pops them in index order */
            if (s->child_start[kids[i] + 1] > s->child_start[kids[i]])
                stack[depth++] = kids[i];
    }
    free(stack);
    free(group);
    return rc;
}

int kmin_minimize(const struct kmin_option *options, size_t n, const struct kmin_oracle *oracle,
                  const struct kmin_opts *opts, struct kmin_result *result)
{
    static const struct kmin_opts no_opts;
    memset(result, 0, sizeof *result);
    if ((n > 0 && !options) || !oracle || !oracle->judge)
        return tinyx_err("kconfig minimizer: called without %s (a bug in the caller)",
                         !oracle || !oracle->judge ? "an oracle" : "the option list");
    struct search s = {0};
    s.opt = options;
    s.n = n;
    s.words = (n + 63) / 64;
    s.oracle = oracle;
    s.opts = opts ? opts : &no_opts;
    s.by_name = tinyx_xcalloc(n, sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        s.by_name[i] = i;
    int rc = check_links(&s);
    if (rc == 0) {
        qsort_r(s.by_name, n, sizeof(size_t), cmp_by_name, (void *)options);
        rc = check_unique_names(&s);
    }
    if (rc) {
        free(s.by_name);
        return -1;
    }
    build_forest(&s);
    s.off = optset_new(&s);
    s.kept = tinyx_xcalloc(n, 1);
    s.t0 = clock_now(&s);

    size_t roots = s.child_start[n + 1] - s.child_start[n];
    snprintf(s.doing, sizeof s.doing, "starting: %zu options, %zu at the top level", n, roots);
    set_group_estimate(&s, roots, false);
    report(&s);
    int max_tier = 0;
    for (size_t i = 0; i < n; i++)
        max_tier = options[i].tier > max_tier ? options[i].tier : max_tier;
    for (s.tier_now = 0; s.tier_now <= max_tier && !s.stopped; s.tier_now++)
        if (search_forest(&s) < 0)
            break;
    s.group_size = s.group_estimate = 0;
    snprintf(s.doing, sizeof s.doing, "%s", s.stopped ? s.stop_reason : "done");
    report(&s);

    /* removed = the accepted state; kept = found needed or forced on. A complete search decided
     * every option, so anything still on is kept (it can only be undecided when an oracle
     * turned a removed option back on later, which a sane one does not). */
    for (size_t i = 0; i < n; i++) {
        if (optset_has(&s.off, i))
            tinyx_strvec_push(&result->removed, options[i].name);
        else if (s.kept[i] || !s.stopped)
            tinyx_strvec_push(&result->kept, options[i].name);
    }
    result->trials = s.trials;
    result->seconds = clock_now(&s) - s.t0;
    result->complete = !s.stopped;

    for (size_t i = 0; i < s.n_memo; i++) {
        free(s.memo[i].asked.w);
        free(s.memo[i].effective.w);
    }
    free(s.memo);
    free(s.off.w);
    free(s.kept);
    free(s.by_name);
    free(s.child_start);
    free(s.children);
    return 0;
}

void kmin_result_free(struct kmin_result *r)
{
    tinyx_strvec_free(&r->removed);
    tinyx_strvec_free(&r->kept);
    memset(r, 0, sizeof *r);
}
