/* check_cmd.c: the `check` subcommand: poll a tcp/http check until it passes or times out. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/check.h"
#include "launcher/commands.h"
#include "tinyx/exitcode.h"
#include "tinyx/proc.h"
#include "tinyx/util.h"

#define DEFAULT_TIMEOUT_S 60.0
#define MAX_PORT_MAPS     64

void launcher_check_usage(FILE *out)
{
    fprintf(out,
            "Usage: tinyx-launch check --check JSON [--host HOST] [--port GUEST=HOSTPORT]...\n"
            "                          [--timeout S] [--quiet]\n"
            "Poll an app check (kind tcp or http, see docs/image-format.md) every 20 ms until it\n"
            "passes or the timeout hits. Output checks read a guest console: use `run` for them.\n"
            "\n"
            "Options:\n"
            "  --check JSON        the check, e.g. "
            "'{\"kind\":\"http\",\"port\":80,\"path\":\"/\",\"status\":200}'\n"
            "  --host HOST         where the app listens (default 127.0.0.1)\n"
            "  --port G=H          the check's port G is reachable at HOST:H (default: G itself)\n"
            "  --timeout S         give up after S seconds (default %.0f)\n"
            "  -q, --quiet         print nothing when the check passes\n"
            "  -h, --help          show this help\n"
            "\n"
            "Exit status: 0 passed; 2 bad arguments; 7 did not pass in time (the last failure is\n"
            "printed); 130 interrupted.\n",
            DEFAULT_TIMEOUT_S);
}

static int usage_error(const char *fmt, const char *arg)
{
    char msg[1024];
    snprintf(msg, sizeof(msg), fmt, arg);
    tinyx_err("check: %s (see `tinyx-launch check --help`)", msg);
    return TINYX_EXIT_USAGE;
}

struct port_map {
    int guest;
    int host;
};

static int parse_port_map(const char *arg, struct port_map *m)
{
    char *end;
    long g = strtol(arg, &end, 10);
    if (end == arg || *end != '=' || g < 1 || g > 65535)
        return -1;
    const char *h_start = end + 1;
    long h = strtol(h_start, &end, 10);
    if (end == h_start || *end || h < 1 || h > 65535)
        return -1;
    m->guest = (int)g;
    m->host = (int)h;
    return 0;
}

int launcher_check_command(int argc, char **argv)
{
    static const struct option longopts[] = {{"check", required_argument, NULL, 'c'},
                                             {"host", required_argument, NULL, 'H'},
                                             {"port", required_argument, NULL, 'p'},
                                             {"timeout", required_argument, NULL, 't'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *check_json = NULL, *host = "127.0.0.1";
    double timeout_s = DEFAULT_TIMEOUT_S;
    struct port_map maps[MAX_PORT_MAPS];
    size_t n_maps = 0;
    bool quiet = false;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'c':
            check_json = optarg;
            break;
        case 'H':
            host = optarg;
            break;
        case 'p':
            if (n_maps == MAX_PORT_MAPS)
                return usage_error("--port: at most 64 mappings", "");
            if (parse_port_map(optarg, &maps[n_maps]) < 0)
                return usage_error("--port: expected GUEST=HOSTPORT (e.g. 80=8080), got '%s'",
                                   optarg);
            n_maps++;
            break;
        case 't':
            timeout_s = strtod(optarg, &end);
            if (end == optarg || *end || !isfinite(timeout_s) || timeout_s <= 0 ||
                timeout_s > 7 * 24 * 3600)
                return usage_error("--timeout: expected seconds > 0, got '%s'", optarg);
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            launcher_check_usage(stdout);
            return TINYX_EXIT_OK;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!check_json)
        return usage_error("%s", "--check JSON is required");

    json_error_t jerr;
    json_t *j = json_loads(check_json, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!j) {
        char msg[300];
        snprintf(msg, sizeof(msg), "--check: not valid JSON at column %d: %s", jerr.column,
                 jerr.text);
        return usage_error("%s", msg);
    }
    struct launcher_check check;
    char err[512];
    int rc = launcher_check_from_json(j, "check", &check, err, sizeof(err));
    json_decref(j);
    if (rc < 0)
        return usage_error("%s", err);
    if (check.kind == LAUNCHER_CHECK_NONE) {
        if (!quiet)
            tinyx_info("no check to run (null): nothing to wait for");
        return TINYX_EXIT_OK;
    }
    if (check.kind == LAUNCHER_CHECK_OUTPUT) {
        launcher_check_free(&check);
        return usage_error("%s", "an output check reads the guest console; only `tinyx-launch "
                                 "run` can run it");
    }
    int port = check.port;
    for (size_t i = 0; i < n_maps; i++)
        if (maps[i].guest == check.port)
            port = maps[i].host;

    struct launcher_check_target target;
    if (launcher_check_target_init(&target, host, port, err, sizeof(err)) < 0) {
        launcher_check_free(&check);
        return usage_error("%s", err);
    }
    tinyx_interrupt_install();
    struct launcher_check_opts opts = LAUNCHER_CHECK_OPTS_INIT;
    uint64_t start = tinyx_now_us();
    unsigned attempts = 0;
    char why[512];
    enum launcher_check_result res =
        launcher_check_poll(&check, &target, &opts, start + (uint64_t)(timeout_s * 1e6), NULL, why,
                            sizeof(why), &attempts);
    char what[400];
    launcher_check_describe(&check, &target, what, sizeof(what));
    launcher_check_free(&check);
    switch (res) {
    case LAUNCHER_CHECK_PASSED:
        if (!quiet)
            tinyx_info("check passed: %s after %.1f ms (%u attempt%s)", what,
                       (tinyx_now_us() - start) / 1000.0, attempts, attempts == 1 ? "" : "s");
        return TINYX_EXIT_OK;
    case LAUNCHER_CHECK_CANCELLED:
        tinyx_err("interrupted while checking %s", what);
        return TINYX_EXIT_INTERRUPTED;
    default:
        tinyx_err("check did not pass within %g s (%u attempts): %s", timeout_s, attempts, why);
        return TINYX_EXIT_TIMEOUT;
    }
}
