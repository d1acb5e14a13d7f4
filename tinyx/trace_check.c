/* trace_check.c: the traced app's check: read it, and run `tinyx-launch check` in the app's netns.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "tinyx/trace_internal.h"
#include "tinyx/util.h"

int tinyx_trace_check_parse(const struct tinyx_trace_spec *spec, struct tinyx_trace_check *out)
{
    memset(out, 0, sizeof(*out));
    if (spec->expect_output) {
        out->mode = TINYX_TRACE_CHECK_OUTPUT;
        out->expect = tinyx_xstrdup(spec->expect_output);
        out->description = tinyx_xasprintf("output contains \"%s\"", spec->expect_output);
    }
    if (!spec->check_json)
        return 0;
    json_error_t jerr;
    json_t *check = json_loads(spec->check_json, JSON_REJECT_DUPLICATES, &jerr);
    if (!check)
        return tinyx_err("bad check JSON for the trace (%s): %s", jerr.text, spec->check_json);
    int rc = 0;
    const char *kind =
        json_is_object(check) ? json_string_value(json_object_get(check, "kind")) : NULL;
    json_t *port = json_is_object(check) ? json_object_get(check, "port") : NULL;
    if (json_is_null(check)) {
        /* "check": null means no check */
    } else if (!kind) {
        rc = tinyx_err("bad check for the trace: expected an object with a \"kind\", got %s",
                       spec->check_json);
    } else if (!strcmp(kind, "output")) {
        const char *expect = json_string_value(json_object_get(check, "expect"));
        if (!expect || !*expect) {
            rc = tinyx_err("bad output check for the trace: \"expect\" must be a non-empty "
                           "string: %s",
                           spec->check_json);
        } else if (!out->expect) {
            out->mode = TINYX_TRACE_CHECK_OUTPUT;
            out->expect = tinyx_xstrdup(expect);
            out->description = tinyx_xasprintf("output contains \"%s\"", expect);
        }
    } else if (!strcmp(kind, "tcp") || !strcmp(kind, "http")) {
        if (!json_is_integer(port) || json_integer_value(port) < 1 ||
            json_integer_value(port) > 65535) {
            rc = tinyx_err("bad %s check for the trace: \"port\" must be 1-65535: %s", kind,
                           spec->check_json);
        } else if (!spec->launcher || !*spec->launcher || access(spec->launcher, X_OK) != 0) {
            rc = tinyx_err("the %s check needs the launcher to run it, but %s is not an "
                           "executable file (build it with `make`)",
                           kind, spec->launcher && *spec->launcher ? spec->launcher : "(none)");
        } else if (out->mode == TINYX_TRACE_CHECK_OUTPUT) {
            rc = tinyx_err("the trace got both an output check and a %s check; give one", kind);
        } else {
            out->mode = TINYX_TRACE_CHECK_SERVER;
            out->description =
                tinyx_xasprintf("%s check on port %lld", kind, json_integer_value(port));
        }
    } else {
        rc = tinyx_err("unknown check kind \"%s\" for the trace (expected output, tcp or http)",
                       kind);
    }
    json_decref(check);
    return rc;
}

pid_t tinyx_trace_check_start(const char *launcher, const char *check_json, int netns_fd,
                              unsigned timeout_s, int out_fd)
{
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%u", timeout_s ? timeout_s : 1);
    char *const argv[] = {(char *)launcher,   "check",  "--check",
                          (char *)check_json, "--host", "127.0.0.1",
                          "--timeout",        timeout,  NULL};
    pid_t pid = fork();
    if (pid < 0)
        return tinyx_errno("cannot start the check");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd >= 0)
            dup2(null_fd, STDIN_FILENO);
        dup2(out_fd, STDOUT_FILENO);
        dup2(out_fd, STDERR_FILENO);
        if (setns(netns_fd, CLONE_NEWNET) < 0) {
            dprintf(STDERR_FILENO, "cannot enter the app's network namespace: %s\n",
                    strerror(errno));
            _exit(127);
        }
        execv(launcher, argv);
        dprintf(STDERR_FILENO, "cannot run %s: %s\n", launcher, strerror(errno));
        _exit(127);
    }
    return pid;
}

void tinyx_trace_check_free(struct tinyx_trace_check *c)
{
    free(c->expect);
    free(c->description);
    memset(c, 0, sizeof(*c));
}
