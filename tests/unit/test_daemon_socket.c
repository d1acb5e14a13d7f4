/* test_daemon_socket.c: the real `tinyx daemon` under hostile raw-socket clients: garbage,
 * NUL bytes, a request split into single bytes, a line over 64 KiB, a half line then a hang-up,
 * more connections than it serves at once; after each it still answers a well-formed request. */
/* needs: kvm (tests/run-unit runs it in a nested L1 where this host has no usable /dev/kvm) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tinyx/util.h"

#define CONNECTIONS 200 /* more than the daemon serves at once (MAX_CLIENTS, 128) */

static char dir[] = "/tmp/tinyx-daemon-sock.XXXXXX";
static char sock_path[108];
static pid_t daemon_pid = -1;

static int connect_daemon(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return; /* the daemon hung up: what it said before is read next */
        buf += w;
        len -= (size_t)w;
    }
}

/* One reply line within ms, into buf (NUL-terminated, newline dropped). Returns its length,
 * 0 when the daemon closed the connection first, -1 on timeout. */
static ssize_t read_line(int fd, char *buf, size_t cap, int ms)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, ms) <= 0)
            return -1;
        ssize_t r = recv(fd, buf + n, 1, 0);
        if (r <= 0)
            break;
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
    return (ssize_t)n;
}

/* The next reply line on fd is a success. */
static void assert_reply_ok(int fd)
{
    char line[4096];
    assert_true(read_line(fd, line, sizeof line, 5000) > 0);
    assert_non_null(strstr(line, "\"ok\":true"));
}

/* The daemon is alive and well: a fresh connection gets a stats reply. */
static void assert_daemon_answers(void)
{
    int fd = connect_daemon();
    assert_true(fd >= 0);
    send_all(fd, "{\"op\":\"stats\"}\n", 15);
    assert_reply_ok(fd);
    close(fd);
    int status;
    assert_int_equal(waitpid(daemon_pid, &status, WNOHANG), 0); /* still running */
}

/* After a failure: why, and the daemon's log (its last lines). */
static void show_daemon_log(const char *why, int status)
{
    fprintf(stderr, "the daemon %s (status 0x%x); the end of its log:\n", why, status);
    char *path = tinyx_xasprintf("%s/daemon.log", dir);
    size_t len = 0;
    char *text = tinyx_read_file(path, &len);
    if (text)
        fprintf(stderr, "%s\n", len > 4096 ? text + len - 4096 : text);
    free(text);
    free(path);
}

static int start_daemon(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(sock_path, sizeof sock_path, "%s/d.sock", dir);
    char *tinyx = tinyx_xasprintf("%s/../bin/tinyx", tinyx_self_dir());
    char *log = tinyx_xasprintf("%s/daemon.log", dir);
    daemon_pid = fork();
    if (daemon_pid == 0) {
        if (!freopen(log, "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(126);
        execl(tinyx, "tinyx", "daemon", "--socket", sock_path, "--pool", "0", (char *)NULL);
        _exit(127);
    }
    free(tinyx);
    free(log);
    for (int i = 0; i < 200; i++) {
        int fd = connect_daemon();
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        int status;
        if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
            show_daemon_log("ended before listening", status);
            daemon_pid = -1;
            return -1;
        }
        usleep(50 * 1000);
    }
    fprintf(stderr, "the daemon did not listen on %s within 10 s\n", sock_path);
    kill(daemon_pid, SIGKILL); /* cmocka runs no teardown after a failed setup */
    waitpid(daemon_pid, NULL, 0);
    return -1;
}

static int stop_daemon(void **state)
{
    (void)state;
    int rc = 0;
    if (daemon_pid > 0) {
        kill(daemon_pid, SIGTERM);
        int status = 0;
        waitpid(daemon_pid, &status, 0);
        /* A clean stop on SIGTERM: exit 0 (a sanitizer report would make it non-zero). */
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            show_daemon_log("did not exit 0 on SIGTERM", status);
            rc = -1;
        }
    }
    tinyx_rm_rf(dir);
    return rc;
}

static void test_garbage_gets_an_error_and_the_connection_stays(void **state)
{
    (void)state;
    int fd = connect_daemon();
    assert_true(fd >= 0);
    char line[4096];
    const char *bad[] = {"this is not json\n",
                         "{\"op\":\"launch-missiles\"}\n",
                         "[1,2,3]\n",
                         "{\"op\":\"create\"}\n",
                         "{\"op\":\"destroy\",\"id\":-1}\n",
                         "{\"op\":\"create\",\"image\":\"../../etc\"}\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        send_all(fd, bad[i], strlen(bad[i]));
        assert_true(read_line(fd, line, sizeof line, 5000) > 0);
        assert_non_null(strstr(line, "\"ok\":false"));
        assert_non_null(strstr(line, "\"error\":"));
    }
    /* The same connection then serves a good request. */
    send_all(fd, "{\"op\":\"list\"}\n", 14);
    assert_reply_ok(fd);
    close(fd);
    assert_daemon_answers();
}

static void test_nul_bytes_in_a_line(void **state)
{
    (void)state;
    int fd = connect_daemon();
    assert_true(fd >= 0);
    static const char req[] = "{\"op\":\"list\"}\0{\"op\":\"destroy\",\"all\":true}\n";
    send_all(fd, req, sizeof req - 1);
    char line[4096];
    assert_true(read_line(fd, line, sizeof line, 5000) >= 0);
    close(fd);
    assert_daemon_answers();
}

static void test_request_one_byte_at_a_time(void **state)
{
    (void)state;
    int fd = connect_daemon();
    assert_true(fd >= 0);
    const char *req = "{\"op\":\"stats\"}\n";
    for (const char *p = req; *p; p++) {
        send_all(fd, p, 1);
        usleep(2000);
    }
    assert_reply_ok(fd);
    close(fd);
}

static void test_line_over_64k_is_refused_and_closed(void **state)
{
    (void)state;
    int fd = connect_daemon();
    assert_true(fd >= 0);
    size_t len = 70 * 1024;
    char *big = malloc(len);
    assert_non_null(big);
    memset(big, 'x', len);
    send_all(fd, big, len);
    free(big);
    char line[4096];
    assert_true(read_line(fd, line, sizeof line, 5000) > 0);
    assert_non_null(strstr(line, "longer than 65536 bytes"));
    assert_int_equal(read_line(fd, line, sizeof line, 5000), 0); /* then closed */
    close(fd);
    assert_daemon_answers();
}

static void test_half_a_line_then_hang_up(void **state)
{
    (void)state;
    for (int i = 0; i < 20; i++) {
        int fd = connect_daemon();
        assert_true(fd >= 0);
        send_all(fd, "{\"op\":\"create\",\"image\":\"/", 25);
        close(fd);
    }
    assert_daemon_answers();
}

static void test_more_connections_than_it_serves(void **state)
{
    (void)state;
    int fds[CONNECTIONS];
    int refused = 0, served = 0;
    for (int i = 0; i < CONNECTIONS; i++)
        fds[i] = connect_daemon();
    char line[4096];
    for (int i = 0; i < CONNECTIONS; i++) {
        if (fds[i] < 0) {
            refused++;
            continue;
        }
        send_all(fds[i], "{\"op\":\"stats\"}\n", 15);
        ssize_t n = read_line(fds[i], line, sizeof line, 5000);
        if (n > 0 && strstr(line, "\"ok\":true")) {
            served++;
        } else {
            /* Refused with its reason, then closed. */
            assert_true(n > 0);
            assert_non_null(strstr(line, "connections at once"));
            refused++;
        }
    }
    print_message("%d connections: %d served, %d refused\n", CONNECTIONS, served, refused);
    assert_int_equal(served + refused, CONNECTIONS);
    assert_true(served >= 100 && served <= 128);
    assert_true(refused >= CONNECTIONS - 128);
    for (int i = 0; i < CONNECTIONS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    /* Once they are gone, new clients are served again. */
    for (int i = 0; i < 50; i++) {
        int fd = connect_daemon();
        if (fd >= 0) {
            send_all(fd, "{\"op\":\"stats\"}\n", 15);
            ssize_t n = read_line(fd, line, sizeof line, 5000);
            close(fd);
            if (n > 0 && strstr(line, "\"ok\":true"))
                return;
        }
        usleep(100 * 1000);
    }
    fail_msg("the daemon refused new clients after the others closed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage_gets_an_error_and_the_connection_stays),
        cmocka_unit_test(test_nul_bytes_in_a_line),
        cmocka_unit_test(test_request_one_byte_at_a_time),
        cmocka_unit_test(test_line_over_64k_is_refused_and_closed),
        cmocka_unit_test(test_half_a_line_then_hang_up),
        cmocka_unit_test(test_more_connections_than_it_serves),
    };
    return cmocka_run_group_tests(tests, start_daemon, stop_daemon);
}
