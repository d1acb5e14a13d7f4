/* proc.h: run helper programs (apt-get, mmdebstrap, depmod, qemu) and handle interruption. */
#ifndef TINYX_PROC_H
#define TINYX_PROC_H

#include <stdbool.h>
#include <stddef.h>

#include "tinyx/strvec.h"

struct tinyx_cmd {
    char *const *argv;    /* argv[0] is looked up in PATH */
    const char *cwd;      /* NULL: inherit */
    char *const *envp;    /* NULL: inherit */
    char **out;           /* non-NULL: capture stdout here (malloc'd, NUL-terminated) */
    size_t *out_len;      /* optional length of *out */
    const char *log_path; /* non-NULL: append stdout (unless captured) and stderr to this file */
    unsigned timeout_ms;  /* 0: no timeout */
};

#define TINYX_CMD_SPAWN_FAILED (-1)
#define TINYX_CMD_TIMED_OUT    (-2)
#define TINYX_CMD_INTERRUPTED  (-3)

/* Run to completion. Returns the exit status (0-255), 128+N if killed by signal N, or one of
 * the negative codes above (a message is printed for a spawn failure). */
int tinyx_cmd_run(const struct tinyx_cmd *cmd);
/* Same as tinyx_cmd_run with just argv. */
int tinyx_run_argv(char *const *argv);
/* Append the current environment to env, minus entries starting with any of the NULL-terminated
 * prefixes ("MAKEFLAGS=", "KCONFIG_"...). */
void tinyx_env_without(const char *const *prefixes, struct strvec *env);
/* True if the program is found in PATH. */
bool tinyx_have_program(const char *name);

/* Interruption: SIGINT/SIGTERM/SIGHUP set a flag and are forwarded to the running child. */
void tinyx_interrupt_install(void);
bool tinyx_interrupted(void);
/* Paths removed (rm -rf) by tinyx_cleanup_run(), e.g. a half-written output folder. */
void tinyx_cleanup_add(const char *path);
void tinyx_cleanup_remove(const char *path);
void tinyx_cleanup_run(void);

#endif
