/* check.c: parse app checks; run tcp/http checks with a timeout on every socket operation. */
#include "launcher/check.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tinyx/proc.h"
#include "tinyx/util.h"

#define DEFAULT_OP_TIMEOUT_MS 2000u
#define DEFAULT_INTERVAL_MS   20u
#define DEFAULT_MAX_RESPONSE  (1024u * 1024u)

/* ---- parsing ---- */

const char *launcher_check_kind_name(enum launcher_check_kind kind)
{
    switch (kind) {
    case LAUNCHER_CHECK_NONE:
        return "none";
    case LAUNCHER_CHECK_OUTPUT:
        return "output";
    case LAUNCHER_CHECK_TCP:
        return "tcp";
    case LAUNCHER_CHECK_HTTP:
        return "http";
    }
    return "?";
}

void launcher_check_free(struct launcher_check *c)
{
    free(c->path);
    free(c->expect);
    free(c->send);
    memset(c, 0, sizeof(*c));
}

static int fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

/* Optional string member: absent or null leaves *out NULL. */
static int get_string(const json_t *obj, const char *field, const char *key, bool required,
                      char **out, char *err, size_t err_len)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return fail(err, err_len, "%s.%s: missing (a string is required)", field, key);
        return 0;
    }
    if (!json_is_string(v))
        return fail(err, err_len, "%s.%s: must be a string", field, key);
    *out = tinyx_xstrndup(json_string_value(v), json_string_length(v));
    if (strlen(*out) != json_string_length(v))
        return fail(err, err_len, "%s.%s: must not contain NUL bytes", field, key);
    return 0;
}

static int get_int(const json_t *obj, const char *field, const char *key, bool required, int min,
                   int max, int *out, char *err, size_t err_len)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return fail(err, err_len, "%s.%s: missing (a number %d-%d is required)", field, key,
                        min, max);
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return fail(err, err_len, "%s.%s: must be a whole number from %d to %d", field, key, min,
                    max);
    *out = (int)json_integer_value(v);
    return 0;
}

static int check_keys(const json_t *obj, const char *field, const char *kind,
                      const char *const *allowed, char *err, size_t err_len)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool known = false;
        for (size_t i = 0; allowed[i]; i++)
            known = known || !strcmp(key, allowed[i]);
        if (!known) {
            char list[256] = "";
            for (size_t i = 0; allowed[i]; i++)
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                         allowed[i]);
            return fail(err, err_len, "%s.%s: unknown key for a %s check (known: %s)", field, key,
                        kind, list);
        }
    }
    return 0;
}

int launcher_check_from_json(const json_t *j, const char *field, struct launcher_check *out,
                             char *err, size_t err_len)
{
    memset(out, 0, sizeof(*out));
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_object(j))
        return fail(err, err_len, "%s: must be an object or null", field);
    char *kind = NULL;
    if (get_string(j, field, "kind", true, &kind, err, err_len) < 0) {
        free(kind);
        return -1;
    }
    static const char *const output_keys[] = {"kind", "expect", NULL};
    static const char *const tcp_keys[] = {"kind", "port", "send", "expect", NULL};
    static const char *const http_keys[] = {"kind", "port", "path", "status", "expect", NULL};
    int rc = 0;
    if (!strcmp(kind, "output")) {
        out->kind = LAUNCHER_CHECK_OUTPUT;
        rc = check_keys(j, field, kind, output_keys, err, err_len);
        if (rc == 0)
            rc = get_string(j, field, "expect", true, &out->expect, err, err_len);
    } else if (!strcmp(kind, "tcp")) {
        out->kind = LAUNCHER_CHECK_TCP;
        rc = check_keys(j, field, kind, tcp_keys, err, err_len);
        if (rc == 0)
            rc = get_int(j, field, "port", true, 1, 65535, &out->port, err, err_len);
        if (rc == 0)
            rc = get_string(j, field, "send", false, &out->send, err, err_len);
        if (rc == 0)
            rc = get_string(j, field, "expect", false, &out->expect, err, err_len);
    } else if (!strcmp(kind, "http")) {
        out->kind = LAUNCHER_CHECK_HTTP;
        out->status = 200;
        rc = check_keys(j, field, kind, http_keys, err, err_len);
        if (rc == 0)
            rc = get_int(j, field, "port", true, 1, 65535, &out->port, err, err_len);
        if (rc == 0)
            rc = get_string(j, field, "path", false, &out->path, err, err_len);
        if (rc == 0 && out->path && out->path[0] != '/')
            rc = fail(err, err_len, "%s.path: must start with '/' (got \"%s\")", field, out->path);
        if (rc == 0 && out->path && strpbrk(out->path, " \r\n"))
            rc = fail(err, err_len, "%s.path: must not contain spaces or line breaks", field);
        if (rc == 0 && !out->path)
            out->path = tinyx_xstrdup("/");
        if (rc == 0)
            rc = get_int(j, field, "status", false, 100, 599, &out->status, err, err_len);
        if (rc == 0)
            rc = get_string(j, field, "expect", false, &out->expect, err, err_len);
    } else {
        rc = fail(err, err_len, "%s.kind: unknown check kind \"%s\" (known: output, tcp, http)",
                  field, kind);
    }
    if (rc == 0 && out->expect && !out->expect[0]) {
        if (out->kind == LAUNCHER_CHECK_OUTPUT)
            rc = fail(err, err_len, "%s.expect: must not be empty", field);
        else {
            free(out->expect);
            out->expect = NULL;
        }
    }
    free(kind);
    if (rc < 0)
        launcher_check_free(out);
    return rc;
}

/* ---- targets ---- */

int launcher_check_target_init(struct launcher_check_target *t, const char *host, int port,
                               char *why, size_t why_len)
{
    memset(t, 0, sizeof(*t));
    if (strlen(host) >= sizeof(t->host))
        return fail(why, why_len, "host name too long: %.40s...", host);
    snprintf(t->host, sizeof(t->host), "%s", host);
    t->port = port;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc == EAI_NONAME) {
        /* A name: /etc/hosts or DNS. */
        hints.ai_flags = AI_NUMERICSERV;
        rc = getaddrinfo(host, service, &hints, &res);
    }
    if (rc != 0 || !res)
        return fail(why, why_len, "cannot resolve host \"%s\": %s", host, gai_strerror(rc));
    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    t->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* host:port with IPv6 literals in brackets. */
static void host_port(const struct launcher_check_target *t, char *buf, size_t len)
{
    if (strchr(t->host, ':'))
        snprintf(buf, len, "[%s]:%d", t->host, t->port);
    else
        snprintf(buf, len, "%s:%d", t->host, t->port);
}

void launcher_check_describe(const struct launcher_check *c, const struct launcher_check_target *t,
                             char *buf, size_t len)
{
    char hp[300];
    host_port(t, hp, sizeof(hp));
    switch (c->kind) {
    case LAUNCHER_CHECK_HTTP:
        snprintf(buf, len, "http://%s%s", hp, c->path ? c->path : "/");
        break;
    case LAUNCHER_CHECK_TCP:
        snprintf(buf, len, "tcp %s", hp);
        break;
    case LAUNCHER_CHECK_OUTPUT:
        snprintf(buf, len, "console output containing \"%s\"", c->expect ? c->expect : "");
        break;
    case LAUNCHER_CHECK_NONE:
        snprintf(buf, len, "no check");
        break;
    }
}

/* ---- one attempt ---- */

enum wait_result { WAIT_READY, WAIT_TIMEOUT, WAIT_CANCELLED };

/* Wait until fd has events, until_us passes, or the attempt is cancelled (cancel_fd or
 * SIGINT/SIGTERM). */
static enum wait_result wait_fd(int fd, short events, uint64_t until_us, int cancel_fd)
{
    for (;;) {
        if (tinyx_interrupted())
            return WAIT_CANCELLED;
        uint64_t now = tinyx_now_us();
        if (now >= until_us)
            return WAIT_TIMEOUT;
        struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = cancel_fd, .events = POLLIN}};
        int n = poll(p, cancel_fd >= 0 ? 2 : 1, (int)((until_us - now + 999) / 1000));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return WAIT_READY; /* let the socket call report the error */
        if (n == 0)
            continue;
        if (cancel_fd >= 0 && p[1].revents)
            return WAIT_CANCELLED;
        return WAIT_READY;
    }
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Printable copy of the first line of s, shortened to fit, for messages. */
static void printable(const char *s, size_t n, char *buf, size_t len)
{
    size_t o = 0, i = 0;
    for (; i < n && o + 4 < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\r' || ch == '\n')
            break;
        buf[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    if (i < n && s[i] != '\r' && s[i] != '\n' && len > 4) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    if (len)
        buf[o] = '\0';
}

/* Name the target in front of a failure so the message stands alone. */
static void prefix_why(char *why, size_t why_len, const char *what)
{
    char inner[512];
    snprintf(inner, sizeof(inner), "%s", why);
    snprintf(why, why_len, "%s: %s", what, inner);
}

struct attempt {
    const struct launcher_check *c;
    const struct launcher_check_target *t;
    const struct launcher_check_opts *o;
    uint64_t deadline_us;
    uint64_t passed_at_us; /* set where an attempt passes */
    int fd;
    char *why;
    size_t why_len;
    char *buf; /* the answer so far */
    size_t len, cap, max;
};

static uint64_t op_until(const struct attempt *a)
{
    unsigned ms = a->o->op_timeout_ms ? a->o->op_timeout_ms : DEFAULT_OP_TIMEOUT_MS;
    return min_u64(tinyx_now_us() + ms * 1000ull, a->deadline_us);
}

static double op_seconds(const struct attempt *a)
{
    return (a->o->op_timeout_ms ? a->o->op_timeout_ms : DEFAULT_OP_TIMEOUT_MS) / 1000.0;
}

static enum launcher_check_result do_connect(struct attempt *a)
{
    a->fd = socket(a->t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a->fd < 0) {
        fail(a->why, a->why_len, "socket: %s", strerror(errno));
        return LAUNCHER_CHECK_FAILED;
    }
    if (connect(a->fd, (const struct sockaddr *)&a->t->addr, a->t->addr_len) == 0)
        return LAUNCHER_CHECK_PASSED;
    if (errno != EINPROGRESS) {
        int e = errno;
        fail(a->why, a->why_len, "%s", e == ECONNREFUSED ? "connection refused" : strerror(e));
        return LAUNCHER_CHECK_FAILED;
    }
    enum wait_result w = wait_fd(a->fd, POLLOUT, op_until(a), a->o->cancel_fd);
    if (w == WAIT_CANCELLED)
        return LAUNCHER_CHECK_CANCELLED;
    if (w == WAIT_TIMEOUT) {
        fail(a->why, a->why_len, "no connection within %.1f s", op_seconds(a));
        return LAUNCHER_CHECK_FAILED;
    }
    int err = 0;
    socklen_t err_len = sizeof(err);
    if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0)
        err = errno;
    if (err) {
        fail(a->why, a->why_len, "%s", err == ECONNREFUSED ? "connection refused" : strerror(err));
        return LAUNCHER_CHECK_FAILED;
    }
    return LAUNCHER_CHECK_PASSED;
}

static enum launcher_check_result send_all(struct attempt *a, const char *data, size_t len)
{
    uint64_t until = op_until(a);
    while (len) {
        ssize_t w = send(a->fd, data, len, MSG_NOSIGNAL);
        if (w > 0) {
            data += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            fail(a->why, a->why_len, "sending failed: %s", strerror(errno));
            return LAUNCHER_CHECK_FAILED;
        }
        enum wait_result r = wait_fd(a->fd, POLLOUT, until, a->o->cancel_fd);
        if (r == WAIT_CANCELLED)
            return LAUNCHER_CHECK_CANCELLED;
        if (r == WAIT_TIMEOUT) {
            fail(a->why, a->why_len, "could not send within %.1f s", op_seconds(a));
            return LAUNCHER_CHECK_FAILED;
        }
    }
    return LAUNCHER_CHECK_PASSED;
}

enum recv_result { RECV_DATA, RECV_EOF, RECV_FULL, RECV_TIMEOUT, RECV_ERROR, RECV_CANCELLED };

/* Read what is available into a->buf (waiting up to one op timeout for something). */
static enum recv_result recv_some(struct attempt *a)
{
    if (a->len >= a->max)
        return RECV_FULL;
    uint64_t until = op_until(a);
    for (;;) {
        if (a->cap < a->len + 4096 + 1) {
            a->cap = a->cap ? a->cap * 2 : 8192;
            a->buf = tinyx_xrealloc(a->buf, a->cap);
        }
        size_t room = a->cap - a->len - 1;
        if (room > a->max - a->len)
            room = a->max - a->len;
        ssize_t r = recv(a->fd, a->buf + a->len, room, 0);
        if (r > 0) {
            a->len += (size_t)r;
            a->buf[a->len] = '\0';
            return RECV_DATA;
        }
        if (r == 0)
            return RECV_EOF;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            fail(a->why, a->why_len, "%s",
                 errno == ECONNRESET ? "connection reset by the server" : strerror(errno));
            return RECV_ERROR;
        }
        enum wait_result w = wait_fd(a->fd, POLLIN, until, a->o->cancel_fd);
        if (w == WAIT_CANCELLED)
            return RECV_CANCELLED;
        if (w == WAIT_TIMEOUT)
            return RECV_TIMEOUT;
    }
}

static bool contains(const struct attempt *a, size_t from, const char *needle)
{
    return memmem(a->buf + from, a->len - from, needle, strlen(needle)) != NULL;
}

static enum launcher_check_result run_tcp(struct attempt *a)
{
    if (a->c->send) {
        enum launcher_check_result r = send_all(a, a->c->send, strlen(a->c->send));
        if (r != LAUNCHER_CHECK_PASSED)
            return r;
    }
    if (!a->c->expect && a->o->settle_ms) {
        /* Behind a user-mode NAT the connect always succeeds; a closed guest port shows up as
         * the proxy closing the connection soon after. */
        uint64_t connected_at = tinyx_now_us();
        uint64_t settle_until = connected_at + a->o->settle_ms * 1000ull;
        enum wait_result w =
            wait_fd(a->fd, POLLIN, min_u64(settle_until, a->deadline_us), a->o->cancel_fd);
        if (w == WAIT_CANCELLED)
            return LAUNCHER_CHECK_CANCELLED;
        if (w == WAIT_TIMEOUT) {
            if (tinyx_now_us() >= settle_until) {
                a->passed_at_us = connected_at;
                return LAUNCHER_CHECK_PASSED;
            }
            fail(a->why, a->why_len,
                 "connected, but the deadline came before the connection "
                 "proved stable");
            return LAUNCHER_CHECK_FAILED;
        }
        char byte;
        ssize_t r = recv(a->fd, &byte, 1, MSG_PEEK);
        if (r > 0)
            return LAUNCHER_CHECK_PASSED;
        fail(a->why, a->why_len, "connection closed at once (nothing listening on guest port %d?)",
             a->c->port);
        return LAUNCHER_CHECK_FAILED;
    }
    if (!a->c->expect)
        return LAUNCHER_CHECK_PASSED;
    char shown[80];
    printable(a->c->expect, strlen(a->c->expect), shown, sizeof(shown));
    for (;;) {
        size_t before = a->len;
        enum recv_result r = recv_some(a);
        size_t from = before >= strlen(a->c->expect) ? before - strlen(a->c->expect) + 1 : 0;
        switch (r) {
        case RECV_DATA:
            if (contains(a, from, a->c->expect))
                return LAUNCHER_CHECK_PASSED;
            continue;
        case RECV_CANCELLED:
            return LAUNCHER_CHECK_CANCELLED;
        case RECV_ERROR:
            return LAUNCHER_CHECK_FAILED;
        case RECV_EOF:
            fail(a->why, a->why_len, "%s without \"%s\"",
                 a->len ? "the answer ended" : "connection closed without an answer", shown);
            return LAUNCHER_CHECK_FAILED;
        case RECV_FULL:
            fail(a->why, a->why_len, "no \"%s\" in the first %zu bytes of the answer", shown,
                 a->len);
            return LAUNCHER_CHECK_FAILED;
        case RECV_TIMEOUT:
            fail(a->why, a->why_len, "%s \"%s\" within %.1f s",
                 a->len ? "answered, but not with" : "no answer, expected", shown, op_seconds(a));
            return LAUNCHER_CHECK_FAILED;
        }
    }
}

/* End of the HTTP header block, or NULL while incomplete; *body gets where the body starts. */
static const char *header_end(const struct attempt *a, const char **body)
{
    const char *crlf = memmem(a->buf, a->len, "\r\n\r\n", 4);
    const char *lf = memmem(a->buf, a->len, "\n\n", 2);
    if (crlf && (!lf || crlf < lf)) {
        *body = crlf + 4;
        return crlf;
    }
    if (lf) {
        *body = lf + 2;
        return lf;
    }
    return NULL;
}

/* Content-Length from the headers, or -1. */
static long content_length(const char *headers, size_t len)
{
    static const char key[] = "\ncontent-length:";
    for (size_t i = 0; i + sizeof(key) - 1 < len; i++) {
        if (strncasecmp(headers + i, key, sizeof(key) - 1))
            continue;
        char *end;
        long v = strtol(headers + i + sizeof(key) - 1, &end, 10);
        return end != headers + i + sizeof(key) - 1 && v >= 0 ? v : -1;
    }
    return -1;
}

static enum launcher_check_result run_http(struct attempt *a, const char *url)
{
    char hp[300];
    host_port(a->t, hp, sizeof(hp));
    char *request = tinyx_xasprintf("GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: tinyx-launch\r\n"
                                    "Accept: */*\r\nConnection: close\r\n\r\n",
                                    a->c->path ? a->c->path : "/", hp);
    enum launcher_check_result sr = send_all(a, request, strlen(request));
    free(request);
    if (sr == LAUNCHER_CHECK_FAILED)
        prefix_why(a->why, a->why_len, url);
    if (sr != LAUNCHER_CHECK_PASSED)
        return sr;
    char shown[80] = "";
    if (a->c->expect)
        printable(a->c->expect, strlen(a->c->expect), shown, sizeof(shown));
    int status = -1;
    for (;;) {
        enum recv_result r = recv_some(a);
        if (r == RECV_CANCELLED)
            return LAUNCHER_CHECK_CANCELLED;
        if (r == RECV_ERROR) {
            prefix_why(a->why, a->why_len, url);
            return LAUNCHER_CHECK_FAILED;
        }
        const char *body = NULL;
        const char *hdr_end = header_end(a, &body);
        if (hdr_end && status < 0) {
            int major, minor, code;
            char first[100];
            printable(a->buf, a->len, first, sizeof(first));
            if (sscanf(a->buf, "HTTP/%d.%d %d", &major, &minor, &code) != 3) {
                fail(a->why, a->why_len, "%s answered something that is not HTTP: \"%s\"", url,
                     first);
                return LAUNCHER_CHECK_FAILED;
            }
            status = code;
            if (status != a->c->status) {
                fail(a->why, a->why_len, "%s answered %d (expected %d)", url, status, a->c->status);
                return LAUNCHER_CHECK_FAILED;
            }
        }
        if (status >= 0) {
            size_t body_off = (size_t)(body - a->buf);
            if (!a->c->expect || contains(a, body_off, a->c->expect))
                return LAUNCHER_CHECK_PASSED;
            long want = content_length(a->buf, (size_t)(hdr_end - a->buf) + 1);
            if ((want >= 0 && a->len - body_off >= (size_t)want) || r == RECV_EOF ||
                r == RECV_FULL) {
                fail(a->why, a->why_len, "%s answered %d but the body does not contain \"%s\"", url,
                     status, shown);
                return LAUNCHER_CHECK_FAILED;
            }
        }
        switch (r) {
        case RECV_DATA:
            continue;
        case RECV_EOF:
            if (a->len == 0)
                fail(a->why, a->why_len, "%s: connection closed without an answer", url);
            else
                fail(a->why, a->why_len, "%s: the answer ended inside the headers", url);
            return LAUNCHER_CHECK_FAILED;
        case RECV_FULL:
            fail(a->why, a->why_len, "%s: headers longer than %zu bytes", url, a->len);
            return LAUNCHER_CHECK_FAILED;
        case RECV_TIMEOUT:
            fail(a->why, a->why_len, "%s: %s within %.1f s", url,
                 a->len ? "answer incomplete" : "no answer", op_seconds(a));
            return LAUNCHER_CHECK_FAILED;
        default:
            return LAUNCHER_CHECK_FAILED;
        }
    }
}

enum launcher_check_result launcher_check_try(const struct launcher_check *c,
                                              const struct launcher_check_target *t,
                                              const struct launcher_check_opts *o,
                                              uint64_t deadline_us, uint64_t *passed_at_us,
                                              char *why, size_t why_len)
{
    if (c->kind != LAUNCHER_CHECK_TCP && c->kind != LAUNCHER_CHECK_HTTP) {
        fail(why, why_len, "a %s check cannot be run over the network",
             launcher_check_kind_name(c->kind));
        return LAUNCHER_CHECK_FAILED;
    }
    struct attempt a = {.c = c,
                        .t = t,
                        .o = o,
                        .deadline_us = deadline_us,
                        .fd = -1,
                        .why = why,
                        .why_len = why_len,
                        .max = o->max_response ? o->max_response : DEFAULT_MAX_RESPONSE};
    char what[400];
    launcher_check_describe(c, t, what, sizeof(what));
    enum launcher_check_result r = do_connect(&a);
    if (r == LAUNCHER_CHECK_FAILED) {
        prefix_why(why, why_len, what);
    } else if (r == LAUNCHER_CHECK_PASSED && c->kind == LAUNCHER_CHECK_HTTP) {
        r = run_http(&a, what); /* its messages name the URL themselves */
    } else if (r == LAUNCHER_CHECK_PASSED) {
        r = run_tcp(&a);
        if (r == LAUNCHER_CHECK_FAILED)
            prefix_why(why, why_len, what);
    }
    if (r == LAUNCHER_CHECK_PASSED && passed_at_us)
        *passed_at_us = a.passed_at_us ? a.passed_at_us : tinyx_now_us();
    if (a.fd >= 0)
        close(a.fd);
    free(a.buf);
    return r;
}

enum launcher_check_result launcher_check_poll(const struct launcher_check *c,
                                               const struct launcher_check_target *t,
                                               const struct launcher_check_opts *o,
                                               uint64_t deadline_us, uint64_t *passed_at_us,
                                               char *why, size_t why_len, unsigned *attempts)
{
    unsigned n = 0;
    unsigned interval_ms = o->interval_ms ? o->interval_ms : DEFAULT_INTERVAL_MS;
    enum launcher_check_result r = LAUNCHER_CHECK_TIMED_OUT;
    if (why_len)
        snprintf(why, why_len, "no attempt was made before the deadline");
    for (;;) {
        if (tinyx_now_us() >= deadline_us) {
            r = LAUNCHER_CHECK_TIMED_OUT;
            break;
        }
        r = launcher_check_try(c, t, o, deadline_us, passed_at_us, why, why_len);
        n++;
        if (r == LAUNCHER_CHECK_PASSED || r == LAUNCHER_CHECK_CANCELLED)
            break;
        uint64_t next = min_u64(tinyx_now_us() + interval_ms * 1000ull, deadline_us);
        if (wait_fd(-1, 0, next, o->cancel_fd) == WAIT_CANCELLED) {
            r = LAUNCHER_CHECK_CANCELLED;
            break;
        }
    }
    if (attempts)
        *attempts = n;
    return r;
}
