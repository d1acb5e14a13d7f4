/* scale_spawn.c: the scale benchmark's process driver: start a command N times in a row, time
 * each start to its boot-timer byte, keep the instances alive, sum their memory, stop them all.
 *
 *   scale_spawn [--hold] [--logs DIR] [--boot-timeout MS] [--label L] [--summary FILE]
 *               [--min-avail-mb M] N -- CMD [ARG...] [--then CMD2 [ARG...]]
 *
 * Instance I runs CMD with "%i" in its arguments replaced by I, stdin and stdout on /dev/null,
 * stderr on DIR/I.err (or /dev/null), and descriptor 3 the write end of a pipe: its first byte
 * there is "ready" (tinyx-kvm --timer-fd 3; QEMU -chardev file,path=/dev/fd/3 behind an
 * isa-debugcon on the boot-timer port; a container's program writing to fd 3 under runc
 * --preserve-fds 1). Printed on stdout per instance: "I,BOOT_US,PID", BOOT_US = fork -> the
 * byte. With --hold every instance stays running until all N are up; then the summary (alive
 * count, summed PSS and RSS from /proc/PID/smaps_rollup, MemAvailable before and after) goes to
 * FILE and all are stopped (SIGTERM, SIGKILL after 15 s). Without --hold each instance must exit
 * 0 (within --boot-timeout of its byte) before the next starts: a container that signals and
 * exits. Default --boot-timeout: 30000 ms. --min-avail-mb stops starting new instances when
 * the host's MemAvailable falls below M MiB (the summary says so).
 * With --then, instance I is made ahead in two steps, like a prepared shell: CMD runs first
 * with descriptor 3 and must exit 0 (untimed: `runc create --preserve-fds 1`, whose container
 * keeps descriptor 3 and waits), then CMD2 is started and timed to the byte (`runc start`);
 * without --hold CMD2 must exit 0. Printed BOOT_US = CMD2's fork -> the byte.
 *
 * Exit status: 0 all started (and, without --hold, exited 0); 1 an instance failed (its stderr
 * is named); 2 usage; 130 interrupted. Everything started is stopped and reaped in every case;
 * instances also get PR_SET_PDEATHSIG, so even a killed driver leaves nothing behind. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_FD        3
#define PROGRESS_EVERY  100
#define STOP_GRACE_MS   15000
#define DEFAULT_BOOT_MS 30000

struct instance {
    pid_t pid;
    bool alive;
    int status; /* wait status once reaped */
};

static volatile sig_atomic_t stop_signal;
static struct instance *inst;
static size_t n_started;
static const char *label = "scale";

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: [scale] %s: ", label);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static uint64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "scale_spawn: %s\n", why);
    fprintf(stderr, "usage: scale_spawn [--hold] [--logs DIR] [--boot-timeout MS] [--label L] "
                    "[--summary FILE] [--min-avail-mb M] N -- CMD [ARG...]\n");
    return 2;
}

static bool parse_count(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > max || s[0] == '-')
        return false;
    *out = v;
    return true;
}

/* A field of /proc/meminfo in kB, or 0 when it cannot be read. */
static unsigned long meminfo_kb(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long v = 0;
    size_t klen = strlen(key);
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, key, klen) && line[klen] == ':') {
            v = strtoul(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Rss and Pss of one process in kB, from smaps_rollup; false when it is gone. */
static bool process_mem(pid_t pid, unsigned long *rss, unsigned long *pss)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[256];
    *rss = *pss = 0;
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "Rss:", 4))
            *rss = strtoul(line + 4, NULL, 10);
        else if (!strncmp(line, "Pss:", 4))
            *pss = strtoul(line + 4, NULL, 10);
    }
    fclose(f);
    return true;
}

static struct instance *find(pid_t pid)
{
    for (size_t i = 0; i < n_started; i++)
        if (inst[i].pid == pid)
            return &inst[i];
    return NULL;
}

/* Reap whatever has ended; returns how many did. */
static size_t reap_ended(void)
{
    size_t n = 0;
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct instance *in = find(pid);
        if (in && in->alive) {
            in->alive = false;
            in->status = status;
            n++;
        }
    }
    return n;
}

static size_t count_alive(void)
{
    size_t n = 0;
    for (size_t i = 0; i < n_started; i++)
        n += inst[i].alive;
    return n;
}

/* SIGTERM to every instance, SIGKILL to what is left after the grace period, reap all. */
static void stop_all(void)
{
    reap_ended();
    size_t left = count_alive();
    if (!left)
        return;
    for (size_t i = 0; i < n_started; i++)
        if (inst[i].alive)
            kill(inst[i].pid, SIGTERM);
    uint64_t deadline = now_us() + (uint64_t)STOP_GRACE_MS * 1000u;
    while (count_alive() && now_us() < deadline) {
        if (!reap_ended())
            usleep(10000);
    }
    left = count_alive();
    if (left) {
        say("%zu instance(s) ignored SIGTERM for %d s: killing them", left, STOP_GRACE_MS / 1000);
        for (size_t i = 0; i < n_started; i++)
            if (inst[i].alive)
                kill(inst[i].pid, SIGKILL);
    }
    for (size_t i = 0; i < n_started; i++) {
        while (inst[i].alive) {
            int status = 0;
            if (waitpid(inst[i].pid, &status, 0) == inst[i].pid || errno == ECHILD) {
                inst[i].alive = false;
                inst[i].status = status;
            }
        }
    }
}

static void describe_status(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "status %#x", status);
}

/* CMD's arguments for instance i: "%i" replaced by i. Freed by the exec or the child's exit. */
static char **instance_argv(char **cmd, int argc, unsigned long i)
{
    char **av = calloc((size_t)argc + 1, sizeof(*av));
    if (!av)
        return NULL;
    char num[24];
    snprintf(num, sizeof(num), "%lu", i);
    for (int a = 0; a < argc; a++) {
        const char *src = cmd[a];
        size_t extra = 0;
        for (const char *p = strstr(src, "%i"); p; p = strstr(p + 2, "%i"))
            extra += strlen(num);
        char *dst = malloc(strlen(src) + extra + 1);
        if (!dst)
            return NULL;
        char *o = dst;
        while (*src) {
            if (src[0] == '%' && src[1] == 'i') {
                o = stpcpy(o, num);
                src += 2;
            } else {
                *o++ = *src++;
            }
        }
        *o = '\0';
        av[a] = dst;
    }
    return av;
}

/* The child: descriptors 0-3, die with the driver, exec. Never returns. */
static void exec_child(char **av, int ready_w, const char *logs, unsigned long i)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        _exit(126);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int err = out;
    if (logs) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%lu.err", logs, i);
        err = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    if (in < 0 || out < 0 || err < 0)
        _exit(126);
    /* Into 10+ first, so that no dup2 below overwrites a descriptor still to be moved. */
    int fds[4] = {fcntl(in, F_DUPFD, 10), fcntl(out, F_DUPFD, 10), fcntl(err, F_DUPFD, 10),
                  fcntl(ready_w, F_DUPFD, 10)};
    for (int k = 0; k < 4; k++)
        if (fds[k] < 0 || dup2(fds[k], k) < 0)
            _exit(126);
    for (int k = 0; k < 4; k++)
        close(fds[k]);
    execvp(av[0], av);
    dprintf(2, "scale_spawn: cannot run %s: %s\n", av[0], strerror(errno));
    _exit(127);
}

static void free_argv(char **av, int argc)
{
    for (int a = 0; a < argc; a++)
        free(av[a]);
    free(av);
}

/* The untimed first step of a --then instance: CMD with the pipe as descriptor 3, which must
 * exit 0 within boot_ms. Returns 0, or -1 after saying why. */
static int prepare_one(char **cmd, int argc, unsigned long i, int ready_w, const char *logs,
                       unsigned boot_ms)
{
    char **av = instance_argv(cmd, argc, i);
    if (!av) {
        say("out of memory");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        say("instance %lu: fork: %s", i, strerror(errno));
        free_argv(av, argc);
        return -1;
    }
    if (pid == 0)
        exec_child(av, ready_w, logs, i);
    free_argv(av, argc);
    uint64_t deadline = now_us() + (uint64_t)boot_ms * 1000u;
    for (;;) {
        int status = 0;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
            char how[96];
            describe_status(status, how, sizeof(how));
            say("instance %lu: its first step (%s) failed: %s", i, cmd[0], how);
            return -1;
        }
        if (stop_signal || now_us() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            if (!stop_signal)
                say("instance %lu: its first step (%s) did not end within %u ms", i, cmd[0],
                    boot_ms);
            return -1;
        }
        usleep(200);
    }
}

/* Start instance i (after its untimed first step, with --then); wait for its ready byte (and,
 * without hold, its exit). Returns 0 with *boot_us set, or -1 after saying why. */
static int start_one(char **prep, int prep_argc, char **cmd, int argc, unsigned long i, bool hold,
                     const char *logs, unsigned boot_ms, uint64_t *boot_us)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        say("instance %lu: pipe: %s (open-file limit? ulimit -n)", i, strerror(errno));
        return -1;
    }
    if (prep && prepare_one(prep, prep_argc, i, p[1], logs, boot_ms) < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    char **av = instance_argv(cmd, argc, i);
    if (!av) {
        say("out of memory");
        close(p[0]);
        close(p[1]);
        return -1;
    }
    uint64_t t0 = now_us();
    pid_t pid = fork();
    if (pid < 0) {
        say("instance %lu: fork: %s (process limit? memory?)", i, strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0)
        exec_child(av, p[1], logs, i);
    free_argv(av, argc);
    close(p[1]);
    struct instance *in = &inst[n_started++];
    *in = (struct instance){.pid = pid, .alive = true};

    uint64_t deadline = t0 + (uint64_t)boot_ms * 1000u;
    int rc = -1;
    for (;;) {
        if (stop_signal)
            break;
        uint64_t t = now_us();
        if (t >= deadline) {
            say("instance %lu (pid %d) gave no ready byte within %u ms", i, (int)pid, boot_ms);
            break;
        }
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int n = poll(&pfd, 1, (int)((deadline - t + 999) / 1000));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            say("poll: %s", strerror(errno));
            break;
        }
        if (n == 0)
            continue;
        uint64_t t_ready = now_us();
        char byte;
        ssize_t r = read(p[0], &byte, 1);
        if (r == 1) {
            *boot_us = t_ready - t0;
            rc = 0;
        } else {
            /* The write end closed: the instance ended before it signalled. */
            int status = 0;
            if (waitpid(pid, &status, 0) == pid) {
                in->alive = false;
                in->status = status;
            }
            char how[96];
            describe_status(status, how, sizeof(how));
            say("instance %lu (pid %d) ended before its ready byte: %s", i, (int)pid, how);
        }
        break;
    }
    close(p[0]);
    if (rc < 0 || hold)
        return rc;

    /* Not held: the instance must now exit 0 (a container that signalled and ended), within
     * the same time limit counted from its ready byte. */
    uint64_t exit_deadline = now_us() + (uint64_t)boot_ms * 1000u;
    for (;;) {
        int status = 0;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == 0 || (w < 0 && errno == EINTR)) {
            if (stop_signal)
                return -1;
            if (now_us() >= exit_deadline) {
                say("instance %lu (pid %d) signalled ready but did not exit within %u ms", i,
                    (int)pid, boot_ms);
                return -1;
            }
            usleep(200);
            continue;
        }
        in->alive = false;
        in->status = status;
        if (w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
            return 0;
        char how[96];
        describe_status(status, how, sizeof(how));
        say("instance %lu (pid %d) signalled ready but then failed: %s", i, (int)pid, how);
        return -1;
    }
}

int main(int argc, char **argv)
{
    bool hold = false;
    const char *logs = NULL, *summary = NULL;
    unsigned long n = 0, boot_ms = DEFAULT_BOOT_MS, min_avail_mb = 0;
    int a = 1;
    for (; a < argc; a++) {
        const char *o = argv[a];
        bool has_value = a + 1 < argc;
        if (!strcmp(o, "--")) {
            a++;
            break;
        } else if (!strcmp(o, "--hold")) {
            hold = true;
        } else if (!strcmp(o, "--logs") && has_value) {
            logs = argv[++a];
        } else if (!strcmp(o, "--summary") && has_value) {
            summary = argv[++a];
        } else if (!strcmp(o, "--label") && has_value) {
            label = argv[++a];
        } else if (!strcmp(o, "--boot-timeout") && has_value) {
            if (!parse_count(argv[++a], 3600000, &boot_ms))
                return usage("--boot-timeout wants milliseconds (1 or more)");
        } else if (!strcmp(o, "--min-avail-mb") && has_value) {
            if (!parse_count(argv[++a], ULONG_MAX / 1024, &min_avail_mb))
                return usage("--min-avail-mb wants MiB (1 or more)");
        } else if (o[0] == '-') {
            return usage("unknown option or missing value");
        } else if (!n) {
            if (!parse_count(o, 1000000, &n))
                return usage("N wants a whole number from 1 to 1000000");
        } else {
            return usage("expected -- before the command");
        }
    }
    if (!n || a >= argc)
        return usage("need N and a command after --");
    char **cmd = argv + a;
    int cmd_argc = argc - a;
    /* CMD --then CMD2: CMD is the untimed first step, CMD2 the timed one. */
    char **prep = NULL;
    int prep_argc = 0;
    for (int k = 0; k < cmd_argc; k++) {
        if (!strcmp(cmd[k], "--then")) {
            if (k == 0 || k + 1 >= cmd_argc)
                return usage("--then needs a command before and after it");
            prep = cmd;
            prep_argc = k;
            cmd = cmd + k + 1;
            cmd_argc = cmd_argc - k - 1;
            break;
        }
    }

    inst = calloc(n, sizeof(*inst));
    if (!inst) {
        say("out of memory for %lu instances", n);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    unsigned long avail_before = meminfo_kb("MemAvailable");
    const char *short_reason = NULL;
    int rc = 0;
    uint64_t t_all = now_us(), sum_chunk = 0;
    for (unsigned long i = 1; i <= n; i++) {
        if (min_avail_mb && meminfo_kb("MemAvailable") < min_avail_mb * 1024) {
            short_reason = "the host's MemAvailable fell below --min-avail-mb";
            say("stopping at %lu instances: MemAvailable below %lu MiB", i - 1, min_avail_mb);
            break;
        }
        uint64_t boot_us = 0;
        if (start_one(prep, prep_argc, cmd, cmd_argc, i, hold, logs, (unsigned)boot_ms, &boot_us) <
            0) {
            if (logs && !stop_signal)
                say("its stderr: %s/%lu.err", logs, i);
            rc = stop_signal ? 130 : 1;
            break;
        }
        printf("%lu,%llu,%d\n", i, (unsigned long long)boot_us, (int)inst[n_started - 1].pid);
        sum_chunk += boot_us;
        if (i % PROGRESS_EVERY == 0 || i == n) {
            unsigned long k = i % PROGRESS_EVERY ? i % PROGRESS_EVERY : PROGRESS_EVERY;
            say("%lu/%lu started, mean boot of the last %lu: %.2f ms (%.1f s so far)", i, n, k,
                (double)sum_chunk / (double)k / 1000.0, (double)(now_us() - t_all) / 1e6);
            sum_chunk = 0;
        }
        /* An instance that dies while held is a failure of the series, found as it happens. */
        if (hold && reap_ended()) {
            for (size_t k = 0; k < n_started; k++) {
                if (!inst[k].alive) {
                    char how[96];
                    describe_status(inst[k].status, how, sizeof(how));
                    say("instance %zu (pid %d) ended while it should idle: %s", k + 1,
                        (int)inst[k].pid, how);
                    if (logs)
                        say("its stderr: %s/%zu.err", logs, k + 1);
                    break;
                }
            }
            rc = 1;
            break;
        }
    }

    if (hold && rc == 0) {
        /* Everything started: let the last ones settle, then measure. */
        usleep(200000);
        reap_ended();
        unsigned long rss_sum = 0, pss_sum = 0;
        size_t measured = 0;
        for (size_t k = 0; k < n_started; k++) {
            unsigned long rss, pss;
            if (inst[k].alive && process_mem(inst[k].pid, &rss, &pss)) {
                rss_sum += rss;
                pss_sum += pss;
                measured++;
            }
        }
        unsigned long avail_after = meminfo_kb("MemAvailable");
        size_t alive = count_alive();
        say("%zu of %zu alive; PSS %.1f MiB total, %.0f KiB each; MemAvailable %+.1f MiB", alive,
            n_started, (double)pss_sum / 1024.0,
            measured ? (double)pss_sum / (double)measured : 0.0,
            ((double)avail_after - (double)avail_before) / 1024.0);
        if (summary) {
            FILE *f = fopen(summary, "w");
            if (!f) {
                say("cannot write %s: %s", summary, strerror(errno));
                rc = 1;
            } else {
                fprintf(f, "started %zu\nalive %zu\nmeasured %zu\npss_kb %lu\nrss_kb %lu\n",
                        n_started, alive, measured, pss_sum, rss_sum);
                fprintf(f, "memavail_before_kb %lu\nmemavail_after_kb %lu\n", avail_before,
                        avail_after);
                fprintf(f, "short_reason %s\n", short_reason ? short_reason : "-");
                fclose(f);
            }
        }
        if (alive != n_started)
            rc = 1;
    } else if (summary && rc == 0) {
        FILE *f = fopen(summary, "w");
        if (f) {
            fprintf(f, "started %zu\nshort_reason %s\n", n_started,
                    short_reason ? short_reason : "-");
            fclose(f);
        }
    }
    uint64_t t_stop = now_us();
    stop_all();
    if (hold && n_started)
        say("stopped %zu instance(s) in %.1f s", n_started, (double)(now_us() - t_stop) / 1e6);
    if (stop_signal)
        rc = 130;
    return rc;
}
