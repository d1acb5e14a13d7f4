/* test_launcher_check.c: app checks against real servers this test runs on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "launcher/check.h"
#include "launcher/commands.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

/* ---- a small threaded TCP server ---- */

enum serve_mode {
    SERVE_REPLY,  /* read the request (up to a blank line), write reply */
    SERVE_SILENT, /* accept and never answer (connection held open) */
    SERVE_CLOSE,  /* accept and close at once */
    SERVE_ECHO,   /* write back what arrives, keep the connection open */
};

struct server {
    enum serve_mode mode;
    const char *reply;
    bool keep_open;    /* SERVE_REPLY: do not close after the reply */
    unsigned delay_ms; /* wait this long before listening */
    int port;          /* 0: any; the chosen port once listening */
    int stop_fd;       /* eventfd: stop serving */
    int listening_fd;  /* eventfd: written once listening */
    int held[64];      /* connections kept open until stop */
    size_t n_held;
    unsigned accepted;
    pthread_t thread;
};

static int listen_on(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s, 16), 0);
    return s;
}

static int port_of(int s)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

/* A port nothing listens on (bound, then released). */
static int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    int port = port_of(s);
    close(s);
    return port;
}

static bool stopped(struct server *sv, int timeout_ms)
{
    struct pollfd p = {.fd = sv->stop_fd, .events = POLLIN};
    return poll(&p, 1, timeout_ms) > 0;
}

static void serve_one(struct server *sv, int c)
{
    char buf[4096];
    size_t len = 0;
    switch (sv->mode) {
    case SERVE_CLOSE:
        close(c);
        return;
    case SERVE_SILENT:
        break;
    case SERVE_ECHO: {
        struct pollfd p = {.fd = c, .events = POLLIN};
        if (poll(&p, 1, 2000) > 0) {
            ssize_t n = read(c, buf, sizeof(buf));
            if (n > 0 && write(c, buf, (size_t)n) != n)
                break;
        }
        break;
    }
    case SERVE_REPLY:
        /* Read up to the end of the request headers (or 2 s) so the reply follows it. */
        while (len < sizeof(buf) - 1 && !memmem(buf, len, "\r\n\r\n", 4)) {
            struct pollfd p = {.fd = c, .events = POLLIN};
            if (poll(&p, 1, 2000) <= 0)
                break;
            ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
            if (n <= 0)
                break;
            len += (size_t)n;
        }
        if (write(c, sv->reply, strlen(sv->reply)) < 0)
            break;
        if (!sv->keep_open) {
            close(c);
            return;
        }
        break;
    }
    if (sv->n_held < sizeof(sv->held) / sizeof(sv->held[0]))
        sv->held[sv->n_held++] = c;
    else
        close(c);
}

static void *server_main(void *arg)
{
    struct server *sv = arg;
    if (sv->delay_ms && stopped(sv, (int)sv->delay_ms))
        return NULL;
    int ls = listen_on(sv->port);
    sv->port = port_of(ls);
    uint64_t one = 1;
    assert_int_equal(write(sv->listening_fd, &one, sizeof(one)), sizeof(one));
    for (;;) {
        struct pollfd p[2] = {{.fd = ls, .events = POLLIN}, {.fd = sv->stop_fd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (p[0].revents) {
            int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0) {
                sv->accepted++;
                serve_one(sv, c);
            }
        }
    }
    for (size_t i = 0; i < sv->n_held; i++)
        close(sv->held[i]);
    close(ls);
    return NULL;
}

/* Start a server; with delay_ms == 0 it is listening when this returns. */
static void server_start(struct server *sv)
{
    sv->stop_fd = eventfd(0, EFD_CLOEXEC);
    sv->listening_fd = eventfd(0, EFD_CLOEXEC);
    assert_true(sv->stop_fd >= 0 && sv->listening_fd >= 0);
    assert_int_equal(pthread_create(&sv->thread, NULL, server_main, sv), 0);
    if (sv->delay_ms == 0) {
        uint64_t v;
        assert_int_equal(read(sv->listening_fd, &v, sizeof(v)), sizeof(v));
    }
}

static void server_stop(struct server *sv)
{
    uint64_t one = 1;
    assert_int_equal(write(sv->stop_fd, &one, sizeof(one)), sizeof(one));
    pthread_join(sv->thread, NULL);
    close(sv->stop_fd);
    close(sv->listening_fd);
}

/* ---- helpers ---- */

static void parse_ok(const char *text, struct launcher_check *c)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    assert_non_null(j);
    char err[512] = "";
    int rc = launcher_check_from_json(j, "app.check", c, err, sizeof(err));
    json_decref(j);
    if (rc != 0)
        fail_msg("parsing %s failed: %s", text, err);
}

/* Parse text that must fail; the message goes to err. */
static void parse_fails(const char *text, char *err, size_t err_len)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    assert_non_null(j);
    struct launcher_check c;
    err[0] = '\0';
    assert_int_equal(launcher_check_from_json(j, "app.check", &c, err, err_len), -1);
    json_decref(j);
    assert_int_equal(c.kind, LAUNCHER_CHECK_NONE);
    assert_null(c.expect);
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("expected \"%s\" in \"%s\"", part, text);
}

static enum launcher_check_result try_once(const char *check_json, int port, unsigned op_ms,
                                           unsigned settle_ms, char *why, size_t why_len)
{
    struct launcher_check c;
    parse_ok(check_json, &c);
    struct launcher_check_target t;
    assert_int_equal(launcher_check_target_init(&t, "127.0.0.1", port, why, why_len), 0);
    struct launcher_check_opts o = LAUNCHER_CHECK_OPTS_INIT;
    o.op_timeout_ms = op_ms;
    o.settle_ms = settle_ms;
    why[0] = '\0';
    enum launcher_check_result r =
        launcher_check_try(&c, &t, &o, tinyx_now_us() + 5000000, NULL, why, why_len);
    launcher_check_free(&c);
    return r;
}

static const char http_ok[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello tinyx\n";

/* ---- parsing ---- */

static void test_parse_defaults_and_kinds(void **state)
{
    (void)state;
    struct launcher_check c;
    parse_ok("{\"kind\":\"http\",\"port\":80}", &c);
    assert_int_equal(c.kind, LAUNCHER_CHECK_HTTP);
    assert_int_equal(c.port, 80);
    assert_string_equal(c.path, "/");
    assert_int_equal(c.status, 200);
    assert_null(c.expect);
    launcher_check_free(&c);

    /* The shape tinyx writes into manifest.json, nulls included. */
    parse_ok("{\"kind\":\"http\",\"port\":8080,\"path\":\"/x\",\"expect\":\"ok\",\"status\":204}",
             &c);
    assert_string_equal(c.path, "/x");
    assert_string_equal(c.expect, "ok");
    assert_int_equal(c.status, 204);
    launcher_check_free(&c);

    parse_ok("{\"kind\":\"tcp\",\"port\":6379,\"send\":\"PING\\r\\n\",\"expect\":\"PONG\"}", &c);
    assert_int_equal(c.kind, LAUNCHER_CHECK_TCP);
    assert_string_equal(c.send, "PING\r\n");
    assert_string_equal(c.expect, "PONG");
    launcher_check_free(&c);

    parse_ok("{\"kind\":\"tcp\",\"port\":22,\"send\":null,\"expect\":null}", &c);
    assert_null(c.send);
    assert_null(c.expect);
    launcher_check_free(&c);

    parse_ok("{\"kind\":\"output\",\"expect\":\"hello\"}", &c);
    assert_int_equal(c.kind, LAUNCHER_CHECK_OUTPUT);
    assert_string_equal(c.expect, "hello");
    launcher_check_free(&c);

    parse_ok("null", &c);
    assert_int_equal(c.kind, LAUNCHER_CHECK_NONE);
}

static void test_parse_errors_name_the_field(void **state)
{
    (void)state;
    char err[512];
    parse_fails("{\"kind\":\"udp\",\"port\":53}", err, sizeof(err));
    assert_contains(err, "app.check.kind");
    assert_contains(err, "udp");
    parse_fails("{\"port\":80}", err, sizeof(err));
    assert_contains(err, "app.check.kind");
    parse_fails("{\"kind\":\"http\"}", err, sizeof(err));
    assert_contains(err, "app.check.port");
    parse_fails("{\"kind\":\"http\",\"port\":70000}", err, sizeof(err));
    assert_contains(err, "app.check.port");
    parse_fails("{\"kind\":\"http\",\"port\":\"80\"}", err, sizeof(err));
    assert_contains(err, "app.check.port");
    parse_fails("{\"kind\":\"http\",\"port\":80,\"path\":\"index.html\"}", err, sizeof(err));
    assert_contains(err, "app.check.path");
    parse_fails("{\"kind\":\"http\",\"port\":80,\"status\":99}", err, sizeof(err));
    assert_contains(err, "app.check.status");
    parse_fails("{\"kind\":\"http\",\"port\":80,\"send\":\"x\"}", err, sizeof(err));
    assert_contains(err, "app.check.send");
    parse_fails("{\"kind\":\"output\"}", err, sizeof(err));
    assert_contains(err, "app.check.expect");
    parse_fails("{\"kind\":\"output\",\"expect\":\"\"}", err, sizeof(err));
    assert_contains(err, "app.check.expect");
    parse_fails("[1]", err, sizeof(err));
    assert_contains(err, "app.check");
}

/* ---- http ---- */

static void test_http_passes(void **state)
{
    (void)state;
    struct server sv = {.mode = SERVE_REPLY, .reply = http_ok};
    server_start(&sv);
    char why[512];
    assert_int_equal(try_once("{\"kind\":\"http\",\"port\":1,\"expect\":\"hello\"}", sv.port, 2000,
                              0, why, sizeof(why)),
                     LAUNCHER_CHECK_PASSED);
    assert_int_equal(try_once("{\"kind\":\"http\",\"port\":1}", sv.port, 2000, 0, why, sizeof(why)),
                     LAUNCHER_CHECK_PASSED);
    server_stop(&sv);
    assert_int_equal(sv.accepted, 2);
}

static void test_http_wrong_status(void **state)
{
    (void)state;
    struct server sv = {.mode = SERVE_REPLY,
                        .reply = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here\n"};
    server_start(&sv);
    char why[512];
    assert_int_equal(try_once("{\"kind\":\"http\",\"port\":1,\"path\":\"/missing\"}", sv.port, 2000,
                              0, why, sizeof(why)),
                     LAUNCHER_CHECK_FAILED);
    assert_contains(why, "answered 404");
    assert_contains(why, "expected 200");
    assert_contains(why, "/missing");
    /* The same answer passes a check that expects 404. */
    assert_int_equal(try_once("{\"kind\":\"http\",\"port\":1,\"status\":404,\"expect\":\"not "
                              "here\"}",
                              sv.port, 2000, 0, why, sizeof(why)),
                     LAUNCHER_CHECK_PASSED);
    server_stop(&sv);
}

static void test_http_missing_expect(void **state)
{
    (void)state;
    struct server sv = {.mode = SERVE_REPLY, .reply = http_ok};
    server_start(&sv);
    char why[512];
    assert_int_equal(try_once("{\"kind\":\"http\",\"port\":1,\"expect\":\"Welcome to nginx\"}",
                              sv.port, 2000, 0, why, sizeof(why)),
                     LAUNCHER_CHECK_FAILED);
    assert_contains(why, "does not contain");
    assert_contains(why, "Welcome to nginx");
    server_stop(&sv);
}

static void test_http_not_http(void **state)
{
    (void)state;
    struct server sv = {.mode = SERVE_REPLY, .reply = "SSH-2.0-OpenSSH\r\n\r\n"};
    server_start(&sv);
    char why[512];
    assert_int_equal(try_once("{\"kind\":\"http\",\"port\":1}", sv.port, 2000, 0, why, sizeof(why)),
                     LAUNCHER_CHECK_FAILED);
    assert_contains(why, "not HTTP");
    server_stop(&sv);
}

/* A server that ignores HTTP/1.0 and keeps the connection open must not stall the check: the
 * body is complete by Content-Length. */
static void test_http_keep_alive_does_not_wait_for_close(void **state)
{
    (void)state;
    struct server sv = {
        .mode = SERVE_REPLY,
        .keep_open = true,
        .reply =
            "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\nhello tinyx\n"};
    server_start(&sv);
    char why[512];
    uint64_t t = tinyx_now_us();
    assert_int_equal(try_once("{\"kind\":\"http\",\"port\":1,\"expect\":\"tinyx\"}", sv.port, 3000,
                              0, why, sizeof(why)),
                     LAUNCHER_CHECK_PASSED);
    assert_true(tinyx_now_us() - t < 1000000);
    t = tinyx_now_us();
    assert_int_equal(try_once("{\"kind\":\"http\",\"port\":1,\"expect\":\"absent\"}", sv.port, 3000,
                              0, why, sizeof(why)),
                     LAUNCHER_CHECK_FAILED);
    assert_true(tinyx_now_us() - t < 1000000);
    assert_contains(why, "does not contain");
    server_stop(&sv);
}

/* ---- tcp ---- */

static void test_tcp_connect_and_send_expect(void **state)
{
    (void)state;
    struct server sv = {.mode = SERVE_ECHO};
    server_start(&sv);
    char why[512];
    assert_int_equal(try_once("{\"kind\":\"tcp\",\"port\":1}", sv.port, 2000, 0, why, sizeof(why)),
                     LAUNCHER_CHECK_PASSED);
    assert_int_equal(try_once("{\"kind\":\"tcp\",\"port\":1,\"send\":\"PING\\n\",\"expect\":"
                              "\"PING\"}",
                              sv.port, 2000, 0, why, sizeof(why)),
                     LAUNCHER_CHECK_PASSED);
    assert_int_equal(try_once("{\"kind\":\"tcp\",\"port\":1,\"send\":\"PING\\n\",\"expect\":"
                              "\"PONG\"}",
                              sv.port, 300, 0, why, sizeof(why)),
                     LAUNCHER_CHECK_FAILED);
    assert_contains(why, "PONG");
    server_stop(&sv);
}

/* Behind a user-mode NAT a connect always succeeds; a proxy that closes at once means the guest
 * refused, one that stays open means it accepted. */
static void test_tcp_settle_tells_closed_from_open(void **state)
{
    (void)state;
    struct server closing = {.mode = SERVE_CLOSE};
    server_start(&closing);
    char why[512];
    assert_int_equal(
        try_once("{\"kind\":\"tcp\",\"port\":81}", closing.port, 2000, 150, why, sizeof(why)),
        LAUNCHER_CHECK_FAILED);
    assert_contains(why, "closed at once");
    server_stop(&closing);

    struct server holding = {.mode = SERVE_SILENT};
    server_start(&holding);
    uint64_t t = tinyx_now_us();
    assert_int_equal(
        try_once("{\"kind\":\"tcp\",\"port\":80}", holding.port, 2000, 150, why, sizeof(why)),
        LAUNCHER_CHECK_PASSED);
    assert_true(tinyx_now_us() - t >= 150000);
    server_stop(&holding);
}

/* ---- polling ---- */

static void test_poll_refused_then_accepting(void **state)
{
    (void)state;
    int port = closed_port();
    struct server sv = {.mode = SERVE_REPLY, .reply = http_ok, .delay_ms = 300, .port = port};
    server_start(&sv);
    struct launcher_check c;
    parse_ok("{\"kind\":\"http\",\"port\":80,\"expect\":\"hello\"}", &c);
    struct launcher_check_target t;
    char why[512];
    assert_int_equal(launcher_check_target_init(&t, "127.0.0.1", port, why, sizeof(why)), 0);
    struct launcher_check_opts o = LAUNCHER_CHECK_OPTS_INIT;
    uint64_t start = tinyx_now_us(), passed_at = 0;
    unsigned attempts = 0;
    enum launcher_check_result r =
        launcher_check_poll(&c, &t, &o, start + 5000000, &passed_at, why, sizeof(why), &attempts);
    uint64_t elapsed = tinyx_now_us() - start;
    assert_int_equal(r, LAUNCHER_CHECK_PASSED);
    assert_true(elapsed >= 250000);
    assert_true(elapsed < 3000000);
    assert_true(passed_at >= start + 250000 && passed_at <= tinyx_now_us());
    /* Refused attempts every ~20 ms before the server came up. */
    assert_true(attempts >= 5);
    launcher_check_free(&c);
    server_stop(&sv);
}

static void test_poll_times_out_on_refused(void **state)
{
    (void)state;
    struct launcher_check c;
    parse_ok("{\"kind\":\"http\",\"port\":80}", &c);
    struct launcher_check_target t;
    char why[512];
    assert_int_equal(launcher_check_target_init(&t, "127.0.0.1", closed_port(), why, sizeof(why)),
                     0);
    struct launcher_check_opts o = LAUNCHER_CHECK_OPTS_INIT;
    uint64_t start = tinyx_now_us();
    unsigned attempts = 0;
    enum launcher_check_result r =
        launcher_check_poll(&c, &t, &o, start + 300000, NULL, why, sizeof(why), &attempts);
    uint64_t elapsed = tinyx_now_us() - start;
    assert_int_equal(r, LAUNCHER_CHECK_TIMED_OUT);
    assert_contains(why, "connection refused");
    assert_true(elapsed >= 300000);
    assert_true(elapsed < 1500000);
    assert_true(attempts >= 3);
    launcher_check_free(&c);
}

/* A server that accepts and never answers: each attempt ends at the op timeout, the poll at the
 * deadline. */
static void test_poll_times_out_on_silent_server(void **state)
{
    (void)state;
    struct server sv = {.mode = SERVE_SILENT};
    server_start(&sv);
    struct launcher_check c;
    parse_ok("{\"kind\":\"http\",\"port\":80}", &c);
    struct launcher_check_target t;
    char why[512];
    assert_int_equal(launcher_check_target_init(&t, "127.0.0.1", sv.port, why, sizeof(why)), 0);
    struct launcher_check_opts o = LAUNCHER_CHECK_OPTS_INIT;
    o.op_timeout_ms = 200;
    uint64_t start = tinyx_now_us();
    enum launcher_check_result r =
        launcher_check_poll(&c, &t, &o, start + 700000, NULL, why, sizeof(why), NULL);
    uint64_t elapsed = tinyx_now_us() - start;
    assert_int_equal(r, LAUNCHER_CHECK_TIMED_OUT);
    assert_contains(why, "no answer");
    assert_true(elapsed >= 700000 && elapsed < 2000000);
    launcher_check_free(&c);
    server_stop(&sv);
}

struct canceller {
    int fd;
    unsigned after_ms;
};

static void *cancel_later(void *arg)
{
    struct canceller *k = arg;
    usleep(k->after_ms * 1000);
    uint64_t one = 1;
    assert_int_equal(write(k->fd, &one, sizeof(one)), sizeof(one));
    return NULL;
}

static void test_poll_cancel_is_prompt(void **state)
{
    (void)state;
    struct server sv = {.mode = SERVE_SILENT};
    server_start(&sv);
    struct launcher_check c;
    parse_ok("{\"kind\":\"http\",\"port\":80}", &c);
    struct launcher_check_target t;
    char why[512];
    assert_int_equal(launcher_check_target_init(&t, "127.0.0.1", sv.port, why, sizeof(why)), 0);
    struct launcher_check_opts o = LAUNCHER_CHECK_OPTS_INIT;
    o.op_timeout_ms = 10000;
    o.cancel_fd = eventfd(0, EFD_CLOEXEC);
    struct canceller k = {.fd = o.cancel_fd, .after_ms = 100};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_later, &k), 0);
    uint64_t start = tinyx_now_us();
    enum launcher_check_result r =
        launcher_check_poll(&c, &t, &o, start + 20000000, NULL, why, sizeof(why), NULL);
    uint64_t elapsed = tinyx_now_us() - start;
    pthread_join(th, NULL);
    assert_int_equal(r, LAUNCHER_CHECK_CANCELLED);
    assert_true(elapsed < 1000000);
    close(o.cancel_fd);
    launcher_check_free(&c);
    server_stop(&sv);
}

/* ---- the check subcommand ---- */

static int run_check_command(const char *json, int host_port, const char *timeout)
{
    char port_map[32];
    snprintf(port_map, sizeof(port_map), "80=%d", host_port);
    char *argv[] = {"check",  "--check",   (char *)json,    "--host",  "127.0.0.1", "--port",
                    port_map, "--timeout", (char *)timeout, "--quiet", NULL};
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    dup2(devnull, STDERR_FILENO);
    int rc = launcher_check_command(10, argv);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(devnull);
    return rc;
}

static void test_check_command_exit_codes(void **state)
{
    (void)state;
    struct server sv = {.mode = SERVE_REPLY, .reply = http_ok};
    server_start(&sv);
    assert_int_equal(run_check_command("{\"kind\":\"http\",\"port\":80}", sv.port, "5"),
                     TINYX_EXIT_OK);
    assert_int_equal(
        run_check_command("{\"kind\":\"http\",\"port\":80,\"expect\":\"nope\"}", sv.port, "0.3"),
        TINYX_EXIT_TIMEOUT);
    server_stop(&sv);
    assert_int_equal(run_check_command("{\"kind\":\"tcp\",\"port\":80}", closed_port(), "0.2"),
                     TINYX_EXIT_TIMEOUT);
    assert_int_equal(run_check_command("{\"kind\":\"output\",\"expect\":\"x\"}", 1, "1"),
                     TINYX_EXIT_USAGE);
    assert_int_equal(run_check_command("{\"kind\":\"http\"", 1, "1"), TINYX_EXIT_USAGE);
    assert_int_equal(run_check_command("{\"kind\":\"http\",\"port\":80}", 1, "soon"),
                     TINYX_EXIT_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_defaults_and_kinds),
        cmocka_unit_test(test_parse_errors_name_the_field),
        cmocka_unit_test(test_http_passes),
        cmocka_unit_test(test_http_wrong_status),
        cmocka_unit_test(test_http_missing_expect),
        cmocka_unit_test(test_http_not_http),
        cmocka_unit_test(test_http_keep_alive_does_not_wait_for_close),
        cmocka_unit_test(test_tcp_connect_and_send_expect),
        cmocka_unit_test(test_tcp_settle_tells_closed_from_open),
        cmocka_unit_test(test_poll_refused_then_accepting),
        cmocka_unit_test(test_poll_times_out_on_refused),
        cmocka_unit_test(test_poll_times_out_on_silent_server),
        cmocka_unit_test(test_poll_cancel_is_prompt),
        cmocka_unit_test(test_check_command_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
