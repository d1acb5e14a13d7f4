/* trace_internal.h: what the tracer's files share (sandbox set-up, ptrace loop, paths, check). */
#ifndef TINYX_TRACE_INTERNAL_H
#define TINYX_TRACE_INTERNAL_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tinyx/strmap.h"
#include "tinyx/trace.h"

/* ---- sandbox (trace_sandbox.c) ---------------------------------------------------------- */

/* Host device nodes bound into the sandbox's /dev (a tmpfs). */
#define TINYX_SANDBOX_N_DEVS 6

/* Everything the sandbox child needs, built by the parent before fork so that the child only
 * makes system calls (no allocation between fork and exec). */
struct tinyx_sandbox {
    char *dir;    /* temp folder holding mem/, upper/, work/ and merged/; removed at the end */
    char *merged; /* where the overlay is mounted (inside the child's mount namespace) */
    /* The overlay's writable layer: preferably in a tmpfs mounted at mem_at in the child's
     * namespace (vanishes with it; works where /tmp is itself on overlayfs), else upper/ and
     * work/ on disk. */
    char *mem_at, *mem_upper, *mem_work, *mem_opts;
    char *upper, *work, *disk_opts; /* "lowerdir=ROOT,upperdir=...,workdir=..." */
    char *proc_at, *sys_at, *dev_at, *shm_at;
    char *dev_node_at[TINYX_SANDBOX_N_DEVS]; /* MERGED/dev/null, ... */
    char *dev_link_at[4];                    /* MERGED/dev/fd, stdin, stdout, stderr */
    const char *cwd;                         /* guest working folder */
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t n_groups;
    char *const *argv;
    char *const *envp;
    struct sock_fprog filter; /* the seccomp program installed right before execve */
    int out_fd;               /* write end of the output pipe: the app's stdout and stderr */
    int report_fd;            /* write end (close-on-exec) of the set-up failure report pipe */
    int go_fd;                /* read end: the parent writes one byte once it has attached */
};

/* The set-up step that failed in the child, sent through report_fd with the errno. */
enum tinyx_sandbox_step {
    TINYX_STEP_NONE = 0,
    TINYX_STEP_WAIT,
    TINYX_STEP_UNSHARE,
    TINYX_STEP_PRIVATE,
    TINYX_STEP_OVERLAY,
    TINYX_STEP_PROC,
    TINYX_STEP_DEV,
    TINYX_STEP_LOOPBACK,
    TINYX_STEP_STDIO,
    TINYX_STEP_CHROOT,
    TINYX_STEP_CHDIR,
    TINYX_STEP_SECCOMP,
    TINYX_STEP_CREDS,
    TINYX_STEP_EXEC,
};

struct tinyx_sandbox_report {
    int step; /* enum tinyx_sandbox_step */
    int err;  /* errno */
};

/* Create the temp folders and every string of sb (the fds and filter are set by the caller).
 * Returns 0, or -1 with a message. */
int tinyx_sandbox_prepare(struct tinyx_sandbox *sb, const struct tinyx_trace_spec *spec);
/* The forked child: wait for the go byte, build the namespaces and overlay, chroot, drop
 * credentials, install the filter and exec the app. Never returns. */
void tinyx_sandbox_child(const struct tinyx_sandbox *sb) __attribute__((noreturn));
/* A message for a failure report from the child. Returns the tinyx_trace_result it means. */
int tinyx_sandbox_explain(const struct tinyx_sandbox *sb, const struct tinyx_trace_spec *spec,
                          const struct tinyx_sandbox_report *rep);
/* Remove the temp folders (the overlay vanished with the child's mount namespace) and free. */
void tinyx_sandbox_destroy(struct tinyx_sandbox *sb);

/* ---- tracer (trace_ptrace.c) ------------------------------------------------------------ */

struct tinyx_tracee {
    pid_t pid;
    bool started; /* its first stop (the attach stop of an auto-attached child) was seen */
};

struct tinyx_tracer {
    pid_t main_pid;
    bool main_exec_done; /* the app's first execve succeeded */
    bool main_exited;
    int main_status;           /* wait status of main_pid once main_exited */
    struct tinyx_tracee *live; /* every traced thread not yet reaped */
    size_t n_live, cap_live;
    struct strmap paths; /* recorded guest paths (a set) */
    int root_fd;         /* the sandbox root (/proc/PID/root), for in-root resolution */
    int netns_fd;        /* the app's network namespace (/proc/PID/ns/net), for the check */
    char *prefix;        /* the sandbox root as the tracer's /proc links name it */
    size_t prefix_len;
    unsigned long n_stops;     /* seccomp stops handled (for the summary line) */
    uint64_t last_activity_us; /* time of the last file syscall (tinyx_now_us) */
};

/* Build the seccomp program (trace file syscalls, allow the rest). Returns 0 or -1. */
int tinyx_tracer_build_filter(struct sock_fprog *prog);
/* Attach to the not-yet-started sandbox child with the tracing options. */
int tinyx_tracer_attach(struct tinyx_tracer *tr, pid_t pid);
/* Handle one wait status of a traced thread (records paths, resumes it). */
void tinyx_tracer_handle(struct tinyx_tracer *tr, pid_t pid, int status);
bool tinyx_tracer_is_traced(const struct tinyx_tracer *tr, pid_t pid);
/* Send sig to every live tracee. */
void tinyx_tracer_signal_all(const struct tinyx_tracer *tr, int sig);
/* Move the recorded paths into out (sorted, unique). */
void tinyx_tracer_take_paths(struct tinyx_tracer *tr, struct strvec *out);
void tinyx_tracer_free(struct tinyx_tracer *tr);

/* ---- paths (trace_paths.c) -------------------------------------------------------------- */

/* Read a NUL-terminated string of at most size-1 bytes at addr in pid's memory. Returns its
 * length, or -1 (unreadable or too long). */
ssize_t tinyx_tracee_read_string(pid_t pid, unsigned long addr, char *buf, size_t size);
/* Read exactly len bytes at addr in pid's memory. Returns 0 or -1. */
int tinyx_tracee_read(pid_t pid, unsigned long addr, void *buf, size_t len);
/* Learn the sandbox root and network namespace from a stopped tracee that has entered the
 * sandbox (idempotent). */
void tinyx_tracer_learn_root(struct tinyx_tracer *tr, pid_t pid);
/* Record the path `name` that pid used relative to dirfd (AT_FDCWD: its cwd). An empty name
 * means dirfd itself (AT_EMPTY_PATH). */
void tinyx_tracer_note(struct tinyx_tracer *tr, pid_t pid, int dirfd, const char *name);
/* pid is about to execve `name` (relative to dirfd): also record the interpreters the kernel
 * will load ("#!" line, ELF PT_INTERP). */
void tinyx_tracer_note_exec(struct tinyx_tracer *tr, pid_t pid, int dirfd, const char *name);
/* The guest path that /proc/PID/{cwd,fd/N,exe} (link) names, or NULL (malloc'd). */
char *tinyx_tracer_guest_link(const struct tinyx_tracer *tr, pid_t pid, const char *link);

/* ---- check (trace_check.c) -------------------------------------------------------------- */

enum tinyx_trace_check_mode {
    TINYX_TRACE_CHECK_NONE = 0,
    TINYX_TRACE_CHECK_OUTPUT, /* the app's output must contain expect */
    TINYX_TRACE_CHECK_SERVER, /* `launcher check` must pass while the app runs */
};

struct tinyx_trace_check {
    int mode;
    char *expect;      /* output check */
    char *description; /* "http port 80" (for messages) */
};

/* Read spec->check_json / spec->expect_output. Returns 0 or -1 with a message. */
int tinyx_trace_check_parse(const struct tinyx_trace_spec *spec, struct tinyx_trace_check *out);
/* Start `LAUNCHER check --check JSON --host 127.0.0.1 --timeout S` inside the network namespace
 * netns_fd, stdout+stderr to out_fd. Returns its pid, or -1 with a message. */
pid_t tinyx_trace_check_start(const char *launcher, const char *check_json, int netns_fd,
                              unsigned timeout_s, int out_fd);
void tinyx_trace_check_free(struct tinyx_trace_check *c);

#endif
