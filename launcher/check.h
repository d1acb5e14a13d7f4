/* check.h: the app check of docs/image-format.md: parse it, run tcp/http checks from the host. */
#ifndef LAUNCHER_CHECK_H
#define LAUNCHER_CHECK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum launcher_check_kind {
    LAUNCHER_CHECK_NONE = 0, /* no check: the app is ready at the boot-timer signal */
    LAUNCHER_CHECK_OUTPUT,   /* the console output contains expect */
    LAUNCHER_CHECK_TCP,      /* connect to port; optionally send, then look for expect */
    LAUNCHER_CHECK_HTTP,     /* GET path answers status and the body contains expect */
};

struct launcher_check {
    enum launcher_check_kind kind;
    int port;     /* tcp, http: the guest port */
    char *path;   /* http: default "/" */
    int status;   /* http: default 200 */
    char *expect; /* output: required; tcp, http: optional */
    char *send;   /* tcp: optional */
};

/* Parse a check object (or JSON null: kind NONE). field names it in messages ("app.check").
 * On error writes "FIELD.KEY: what is wrong" to err and returns -1. */
int launcher_check_from_json(const json_t *j, const char *field, struct launcher_check *out,
                             char *err, size_t err_len);
void launcher_check_free(struct launcher_check *c);
const char *launcher_check_kind_name(enum launcher_check_kind kind);

/* Where a tcp/http check connects. */
struct launcher_check_target {
    char host[256]; /* as given, for messages and the Host header */
    int port;
    struct sockaddr_storage addr;
    socklen_t addr_len;
};

/* Resolve host (numeric addresses first; names through the resolver). -1 with why on error. */
int launcher_check_target_init(struct launcher_check_target *t, const char *host, int port,
                               char *why, size_t why_len);
/* "http://127.0.0.1:8080/" or "tcp 127.0.0.1:8080", for messages. */
void launcher_check_describe(const struct launcher_check *c, const struct launcher_check_target *t,
                             char *buf, size_t len);

struct launcher_check_opts {
    unsigned op_timeout_ms; /* each connect, send and receive; 0: 2000 */
    unsigned interval_ms;   /* pause between attempts; 0: 20 */
    /* Non-zero when ports are proxied by a user-mode NAT that accepts before the guest does: a
     * tcp check without expect then passes only if the connection is still open (or data
     * arrived) after this many ms, since a refused guest port closes it at once. */
    unsigned settle_ms;
    size_t max_response; /* bytes kept of an answer; 0: 1 MiB */
    int cancel_fd;       /* readable: give up now; -1: none */
};

#define LAUNCHER_CHECK_OPTS_INIT                                                                   \
    {                                                                                              \
        0, 0, 0, 0, -1                                                                             \
    }

enum launcher_check_result {
    LAUNCHER_CHECK_PASSED = 0,
    LAUNCHER_CHECK_FAILED,    /* this attempt failed; why says how */
    LAUNCHER_CHECK_TIMED_OUT, /* the deadline passed; why holds the last failure */
    LAUNCHER_CHECK_CANCELLED, /* cancel_fd became readable */
};

/* One attempt of a tcp or http check, bounded by deadline_us (tinyx_now_us() clock). On a pass
 * *passed_at_us (may be NULL) gets when the app answered (for a settled proxied connect: when
 * it connected). */
enum launcher_check_result launcher_check_try(const struct launcher_check *c,
                                              const struct launcher_check_target *t,
                                              const struct launcher_check_opts *o,
                                              uint64_t deadline_us, uint64_t *passed_at_us,
                                              char *why, size_t why_len);

/* Attempt every interval_ms until one passes, the deadline passes or cancel_fd fires.
 * *passed_at_us as for launcher_check_try; *attempts gets the number of attempts (both may be
 * NULL). */
enum launcher_check_result launcher_check_poll(const struct launcher_check *c,
                                               const struct launcher_check_target *t,
                                               const struct launcher_check_opts *o,
                                               uint64_t deadline_us, uint64_t *passed_at_us,
                                               char *why, size_t why_len, unsigned *attempts);

#endif
