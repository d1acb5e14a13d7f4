/* exitcode.h: the exit codes of tinyx and tinyx-launch (documented in README.md). */
#ifndef TINYX_EXITCODE_H
#define TINYX_EXITCODE_H

enum tinyx_exit {
    TINYX_EXIT_OK = 0,
    TINYX_EXIT_FAIL = 1,         /* the operation failed (see the message) */
    TINYX_EXIT_USAGE = 2,        /* bad command line */
    TINYX_EXIT_RECIPE = 3,       /* bad recipe: YAML syntax, unknown key, bad value */
    TINYX_EXIT_PACKAGE = 4,      /* unknown package or apt/dpkg failure */
    TINYX_EXIT_APP = 5,          /* the app is broken: binary missing, check failed */
    TINYX_EXIT_ENV = 6,          /* the host lacks something: a tool, root, KVM, disk space */
    TINYX_EXIT_TIMEOUT = 7,      /* a guest or check did not finish in time */
    TINYX_EXIT_IMAGE = 8,        /* a broken image folder (missing file, bad manifest.json) */
    TINYX_EXIT_INTERRUPTED = 130 /* SIGINT/SIGTERM: partial output removed */
};

#endif
