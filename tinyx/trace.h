/* trace.h: run the app in a throw-away copy of the staged root and record every file it names. */
#ifndef TINYX_TRACE_H
#define TINYX_TRACE_H

#include <stddef.h>
#include <sys/types.h>

#include "tinyx/strvec.h"

struct tinyx_trace_spec {
    const char *root;          /* staged root folder: never modified (an overlay goes on top) */
    char *const *argv;         /* app argv; argv[0] absolute inside root */
    char *const *envp;         /* app environment, exactly this (NULL: empty) */
    const char *cwd;           /* inside root; NULL: "/" */
    uid_t uid;                 /* credentials the app runs with */
    gid_t gid;                 /* */
    const gid_t *groups;       /* supplementary groups (n_groups of them) */
    size_t n_groups;           /* */
    const char *check_json;    /* app.check object of docs/image-format.md, or NULL. Kind tcp or
                                  http runs `launcher check` in the app's network namespace;
                                  kind output is the same as expect_output = its "expect". */
    const char *launcher;      /* path of tinyx-launch (needed for a tcp/http check) */
    const char *expect_output; /* output check: stdout+stderr must contain it (NULL: none) */
    unsigned timeout_ms;       /* whole run; 0: 30 s */
};

enum tinyx_trace_result {
    TINYX_TRACE_OK = 0,       /* the check passed (or, without a check, the app exited 0 or
                                 still ran, idle) */
    TINYX_TRACE_EXEC_FAILED,  /* argv[0] could not be executed inside the root */
    TINYX_TRACE_EXITED_EARLY, /* the app exited before its server check passed (or, without a
                                 check, with a non-zero status) */
    TINYX_TRACE_CHECK_FAILED, /* the check ran and failed (output lacks expect_output, or the
                                 launcher's check kept failing until the deadline) */
    TINYX_TRACE_TIMEOUT,      /* the run did not finish within timeout_ms */
    TINYX_TRACE_SETUP_FAILED, /* this host cannot trace (not root, no overlayfs, ...) or the
                                 spec is bad; nothing ran */
    TINYX_TRACE_INTERRUPTED,  /* SIGINT/SIGTERM (tinyx_interrupted()) */
};

/* Run spec->argv inside an overlay on spec->root (own mount, network, UTS and IPC namespaces;
 * loopback up; /proc, read-only /sys and a minimal /dev; the overlay's writable layer is a
 * tmpfs) under ptrace + seccomp, run the check, then stop the app and everything it started
 * (SIGTERM, 300 ms, SIGKILL) and remove the overlay. Without a check the app passes when it
 * exits 0, or when it still runs but made no file syscall for 3 s (a started server).
 *
 * paths receives every absolute guest path that the app, its threads and its descendants named
 * in a file syscall (open, stat, access, readlink, exec, mkdir, unlink, rename, bind/connect on
 * a unix socket path, ...), whether or not it existed. Relative names are joined to the
 * caller's cwd or dirfd (which the kernel reports canonical); names with ".." are recorded
 * lexically normalised, plus each folder they step out of and where they really lead. Also
 * recorded: the interpreter named by each executed file ("#!" line or ELF PT_INTERP), which
 * the kernel opens without a syscall, and each executed file's canonical path. Symlinks in the
 * names are NOT resolved (resolve them in the root; see rootpath.h). Sorted, no duplicates.
 * Not seen: 32-bit (int 0x80) syscalls, and fstatat/statx with AT_EMPTY_PATH plus a non-empty
 * name (glibc's fstat uses an empty one). io_uring is refused (ENOSYS) during the run.
 *
 * While it runs it reaps with waitpid(-1): the caller must have no other children it waits
 * for. output (may be NULL) receives the app's stdout+stderr (first 1 MiB; always malloc'd when
 * non-NULL); when it is NULL, failure messages include the output's tail instead. Returns a
 * tinyx_trace_result; a message saying what went wrong is printed for every result but OK. */
int tinyx_trace_run(const struct tinyx_trace_spec *spec, struct strvec *paths, char **output);

/* Can this host trace? Checks root, overlayfs and namespaces by really mounting a tiny overlay
 * in a throw-away namespace. Returns 0, or -1 with *why (malloc'd) saying what is missing. */
int tinyx_trace_available(char **why);

/* Human name of a result ("ok", "exec failed", ...). */
const char *tinyx_trace_result_name(int result);

#endif
