/* test_daemon_proto.c: the daemon's request parser (launcher/daemon_proto.c) and reply lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/daemon_proto.h"

static int parse(const char *line, struct launcher_daemon_request *req, char *err)
{
    return launcher_daemon_parse(line, strlen(line), req, err, 600);
}

static void test_create_full(void **state)
{
    (void)state;
    struct launcher_daemon_request r;
    char err[600];
    assert_int_equal(
        parse("{\"op\":\"create\",\"image\":\"/srv/img\",\"mem_mib\":32,\"cmdline\":\"a b\","
              "\"timeout_ms\":5000,\"boot_timeout_ms\":100,\"vcpus\":1,\"net\":[{\"tap\":\"t0\","
              "\"bridge\":\"br0\",\"mac\":\"02:00:00:00:00:0a\",\"ip\":\"10.0.0.2/24\","
              "\"gw\":\"10.0.0.1\"},{\"ip\":\"192.168.1.9\"}]}",
              &r, err),
        0);
    assert_int_equal(r.op, LAUNCHER_DAEMON_CREATE);
    assert_string_equal(r.image, "/srv/img");
    assert_int_equal(r.mem_mib, 32);
    assert_string_equal(r.cmdline, "a b");
    assert_int_equal(r.timeout_ms, 5000);
    assert_int_equal(r.boot_timeout_ms, 100);
    assert_int_equal(r.n_net, 2);
    assert_string_equal(r.net[0].tap, "t0");
    assert_string_equal(r.net[0].bridge, "br0");
    assert_true(r.net[0].have_mac && r.net[0].have_ip && r.net[0].have_gw);
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 0x0a}, ip[4] = {10, 0, 0, 2},
                         gw[4] = {10, 0, 0, 1};
    assert_memory_equal(r.net[0].mac, mac, 6);
    assert_memory_equal(r.net[0].ip, ip, 4);
    assert_memory_equal(r.net[0].gw, gw, 4);
    assert_int_equal(r.net[0].prefix, 24);
    assert_string_equal(r.net[0].ip_text, "10.0.0.2/24");
    assert_string_equal(r.net[1].tap, "");
    assert_false(r.net[1].have_mac);
    assert_int_equal(r.net[1].prefix, 32);
    launcher_daemon_request_free(&r);
}

static void test_create_defaults(void **state)
{
    (void)state;
    struct launcher_daemon_request r;
    char err[600];
    assert_int_equal(parse("{\"op\":\"create\",\"image\":\"/i\"}", &r, err), 0);
    assert_int_equal(r.mem_mib, 0);
    assert_int_equal(r.vcpus, 1);
    assert_null(r.cmdline);
    assert_int_equal(r.timeout_ms, 0);
    assert_int_equal(r.boot_timeout_ms, LAUNCHER_DAEMON_BOOT_WAIT_MS);
    assert_int_equal(r.n_net, 0);
    launcher_daemon_request_free(&r);
    /* null means "not given" */
    assert_int_equal(
        parse("{\"op\":\"create\",\"image\":\"/i\",\"net\":null,\"mem_mib\":null}", &r, err), 0);
    launcher_daemon_request_free(&r);
}

/* Each bad request is refused with a message containing the given words. */
static void test_create_errors(void **state)
{
    (void)state;
    static const struct {
        const char *line, *words;
    } cases[] = {
        {"{\"op\":\"create\"}", "absolute path"},
        {"{\"op\":\"create\",\"image\":\"relative/dir\"}", "absolute path"},
        {"{\"op\":\"create\",\"image\":5}", "must be a string"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"mem_mib\":1}", "mem_mib"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"mem_mib\":99999}", "from 2 to 3072"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"mem_mib\":\"16\"}", "whole number"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"vcpus\":2}", "1 vCPU"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"timeout_ms\":-1}", "timeout_ms"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"colour\":1}", "unknown key \"colour\""},
        {"{\"op\":\"create\",\"image\":\"/i\",\"cmdline\":\"a\\nb\"}", "one line"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"net\":{}}", "array"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"net\":[1]}", "net[0] must be an object"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"net\":[{\"speed\":1}]}", "unknown key \"speed\""},
        {"{\"op\":\"create\",\"image\":\"/i\",\"net\":[{\"tap\":\"a/b\"}]}", "usable interface"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"net\":[{\"tap\":\"toolonginterfacename\"}]}",
         "usable interface"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"net\":[{\"tap\":\"t%d\"}]}", "usable interface"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"net\":[{\"mac\":\"01:00:00:00:00:01\"}]}",
         "unicast"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"net\":[{\"mac\":\"02:00:00:00:00\"}]}", "unicast"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"net\":[{\"ip\":\"10.0.0.256\"}]}", "IPv4"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"net\":[{\"ip\":\"10.0.0.1/33\"}]}", "IPv4"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"net\":[{\"ip\":\"10.0.0\"}]}", "IPv4"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"net\":[{\"gw\":\"10.0.0.1/24\"}]}", "gw"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"net\":[{\"tap\":\"a\"},{\"tap\":\"a\"}]}",
         "given twice"},
        {"{\"op\":\"create\",\"image\":\"/i\",\"net\":[{},{},{},{},{},{},{},{},{}]}", "at most 8"},
        {"{\"op\":\"destroy\"}", "needs \"id\""},
        {"{\"op\":\"destroy\",\"id\":0}", "needs \"id\""},
        {"{\"op\":\"destroy\",\"id\":\"3\"}", "needs \"id\""},
        {"{\"op\":\"destroy\",\"id\":3,\"all\":true}", "not both"},
        {"{\"op\":\"destroy\",\"all\":1}", "true or false"},
        {"{\"op\":\"list\",\"x\":1}", "unknown key"},
        {"{\"op\":\"reboot\"}", "unknown op \"reboot\""},
        {"{\"image\":\"/i\"}", "no \"op\""},
        {"[1,2]", "JSON object"},
        {"{\"op\":\"stats\"", "not JSON"},
        {"{\"op\":\"stats\",\"op\":\"list\"}", "not JSON"},
        {"", "not JSON"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct launcher_daemon_request r;
        char err[600] = "";
        int rc = parse(cases[i].line, &r, err);
        if (rc != -1 || !strstr(err, cases[i].words))
            fail_msg("case %zu: %s -> rc %d, err \"%s\" (want \"%s\")", i, cases[i].line, rc, err,
                     cases[i].words);
        assert_null(r.image);
    }
}

static void test_other_ops(void **state)
{
    (void)state;
    struct launcher_daemon_request r;
    char err[600];
    assert_int_equal(parse("{\"op\":\"destroy\",\"id\":123}", &r, err), 0);
    assert_int_equal(r.op, LAUNCHER_DAEMON_DESTROY);
    assert_int_equal(r.id, 123);
    assert_false(r.all);
    assert_int_equal(parse("{\"op\":\"destroy\",\"all\":true}", &r, err), 0);
    assert_true(r.all);
    assert_int_equal(parse("{\"op\":\"list\"}", &r, err), 0);
    assert_int_equal(r.op, LAUNCHER_DAEMON_LIST);
    assert_int_equal(parse(" {\"op\" : \"stats\"} ", &r, err), 0);
    assert_int_equal(r.op, LAUNCHER_DAEMON_STATS);
    /* Not NUL-terminated at len: only len bytes count. */
    const char *two = "{\"op\":\"list\"}{\"op\":\"stats\"}";
    assert_int_equal(launcher_daemon_parse(two, 13, &r, err, sizeof(err)), 0);
    assert_int_equal(r.op, LAUNCHER_DAEMON_LIST);
}

static void test_reply_lines(void **state)
{
    (void)state;
    char *line = launcher_daemon_error_line("bad \"thing\" %d\n", 7);
    assert_string_equal(line, "{\"ok\":false,\"error\":\"bad \\\"thing\\\" 7\\n\"}\n");
    free(line);
    line = launcher_daemon_reply_line(json_pack("{s:b,s:i}", "ok", 1, "vms", 3));
    assert_string_equal(line, "{\"ok\":true,\"vms\":3}\n");
    free(line);
    /* Exactly one newline, at the end: one reply per line. */
    line = launcher_daemon_error_line("a\nb");
    assert_non_null(strchr(line, '\n'));
    assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_full),   cmocka_unit_test(test_create_defaults),
        cmocka_unit_test(test_create_errors), cmocka_unit_test(test_other_ops),
        cmocka_unit_test(test_reply_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
