/* client.c: `tinyx create|destroy|list|stats`: talk to the launcher daemon over its socket. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "launcher/commands.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

#define MAX_NET 8

struct conn {
    int fd;
    char *buf;
    size_t len, cap;
};

static int conn_open(struct conn *c, const char *path)
{
    memset(c, 0, sizeof(*c));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        tinyx_err("socket path %s is too long", path);
        return TINYX_EXIT_USAGE;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        errno = e;
        if (e == ENOENT || e == ECONNREFUSED)
            tinyx_err("no daemon listens on %s: start one with `tinyx daemon` (or `tinyx daemon "
                      "--detach`), or point --socket / TINYX_DAEMON_SOCKET at it",
                      path);
        else
            tinyx_errno("cannot connect to the daemon at %s", path);
        return TINYX_EXIT_ENV;
    }
    return 0;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
}

/* Send one request (a JSON object, taken) and read its reply; NULL after a message. */
static json_t *conn_call(struct conn *c, json_t *request)
{
    char *text = json_dumps(request, JSON_COMPACT);
    json_decref(request);
    if (!text)
        return NULL;
    char *line = tinyx_xasprintf("%s\n", text);
    free(text);
    size_t len = strlen(line), off = 0;
    while (off < len) {
        ssize_t w = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            free(line);
            tinyx_errno("the daemon closed the connection");
            return NULL;
        }
        off += (size_t)w;
    }
    free(line);
    for (;;) {
        char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
        if (nl) {
            json_error_t err;
            json_t *reply = json_loadb(c->buf, (size_t)(nl - c->buf), 0, &err);
            size_t used = (size_t)(nl - c->buf) + 1;
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            if (!reply || !json_is_object(reply)) {
                json_decref(reply);
                tinyx_err("the daemon sent a malformed reply");
                return NULL;
            }
            return reply;
        }
        if (c->cap - c->len < 65536) {
            c->cap = c->cap ? 2 * c->cap : 131072;
            c->buf = tinyx_xrealloc(c->buf, c->cap);
        }
        ssize_t got = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            tinyx_err("the daemon closed the connection without a reply (did it stop?)");
            return NULL;
        }
        c->len += (size_t)got;
    }
}

static bool reply_ok(json_t *reply)
{
    if (json_is_true(json_object_get(reply, "ok")))
        return true;
    const char *e = json_string_value(json_object_get(reply, "error"));
    tinyx_err("%s", e ? e : "the daemon refused the request");
    return false;
}

static void print_json(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    if (text) {
        printf("%s\n", text);
        free(text);
    }
    fflush(stdout);
}

/* "TAP[,mac=..][,ip=..][,gw=..][,bridge=..]"; TAP may be "auto" or left out. */
static json_t *parse_net(const char *spec)
{
    json_t *n = json_object();
    char *copy = tinyx_xstrdup(spec), *save = NULL;
    bool first = true;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (first && !eq) {
            if (strcmp(tok, "auto"))
                json_object_set_new(n, "tap", json_string(tok));
        } else if (eq) {
            *eq = '\0';
            const char *key = tok, *value = eq + 1;
            if (strcmp(key, "mac") && strcmp(key, "ip") && strcmp(key, "gw") &&
                strcmp(key, "bridge")) {
                tinyx_err("--net: unknown setting '%s' (use TAP[,mac=..][,ip=..][,gw=..]"
                          "[,bridge=..])",
                          key);
                json_decref(n);
                n = NULL;
                break;
            }
            json_object_set_new(n, key, json_string(value));
        } else {
            tinyx_err("--net: '%s' is not KEY=VALUE", tok);
            json_decref(n);
            n = NULL;
            break;
        }
        first = false;
    }
    free(copy);
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double median_ms(uint64_t *v, size_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof(*v), cmp_u64);
    return (double)(n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) / 1000.0;
}

static int cmd_create(const char *sock, int argc, char **argv)
{
    const char *image = NULL, *cmdline = NULL;
    bool json = false, destroy = false;
    unsigned long mem = 0, timeout_ms = 0, boot_timeout_ms = 0, count = 1;
    json_t *nets = json_array();
    int rc = TINYX_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long *num = NULL;
        if (!strcmp(a, "--json"))
            json = true;
        else if (!strcmp(a, "--destroy"))
            destroy = true;
        else if (!strcmp(a, "--mem"))
            num = &mem;
        else if (!strcmp(a, "--timeout-ms"))
            num = &timeout_ms;
        else if (!strcmp(a, "--boot-timeout-ms"))
            num = &boot_timeout_ms;
        else if (!strcmp(a, "--count"))
            num = &count;
        else if (!strcmp(a, "--cmdline") && v)
            cmdline = argv[++i];
        else if (!strcmp(a, "--net") && v) {
            json_t *n = parse_net(argv[++i]);
            if (!n) {
                json_decref(nets);
                return TINYX_EXIT_USAGE;
            }
            json_array_append_new(nets, n);
        } else if (a[0] != '-' && !image)
            image = a;
        else {
            tinyx_err("create: unknown or incomplete option '%s' (see `tinyx create --help`)", a);
            json_decref(nets);
            return TINYX_EXIT_USAGE;
        }
        if (num) {
            char *end;
            errno = 0;
            *num = v ? strtoul(v, &end, 10) : 0;
            if (!v || errno || end == v || *end || v[0] == '-' ||
                (num == &count && (*num < 1 || *num > 10000000))) {
                tinyx_err("create: %s needs a whole number", a);
                json_decref(nets);
                return TINYX_EXIT_USAGE;
            }
            i++;
        }
    }
    if (!image) {
        tinyx_err("create: which image? `tinyx create IMAGE_DIR` (e.g. out/guests/noop)");
        json_decref(nets);
        return TINYX_EXIT_USAGE;
    }
    char real[PATH_MAX];
    if (!realpath(image, real)) {
        tinyx_errno("image folder %s", image);
        json_decref(nets);
        return TINYX_EXIT_USAGE;
    }
    struct conn c;
    if ((rc = conn_open(&c, sock)) != 0) {
        json_decref(nets);
        return rc;
    }
    uint64_t *create_us = tinyx_xcalloc(count, sizeof(uint64_t));
    uint64_t *boot_us = tinyx_xcalloc(count, sizeof(uint64_t));
    size_t n_ok = 0, n_boot = 0, n_failed = 0;
    for (unsigned long k = 0; k < count; k++) {
        json_t *req = json_pack("{s:s,s:s}", "op", "create", "image", real);
        if (mem)
            json_object_set_new(req, "mem_mib", json_integer((json_int_t)mem));
        if (cmdline)
            json_object_set_new(req, "cmdline", json_string(cmdline));
        if (timeout_ms)
            json_object_set_new(req, "timeout_ms", json_integer((json_int_t)timeout_ms));
        if (boot_timeout_ms)
            json_object_set_new(req, "boot_timeout_ms", json_integer((json_int_t)boot_timeout_ms));
        if (json_array_size(nets))
            json_object_set(req, "net", nets);
        json_t *reply = conn_call(&c, req);
        if (!reply) {
            rc = TINYX_EXIT_FAIL;
            break;
        }
        if (json) {
            print_json(reply);
        }
        if (!reply_ok(reply)) {
            n_failed++;
            rc = TINYX_EXIT_FAIL;
            json_decref(reply);
            if (count == 1)
                break;
            continue;
        }
        json_int_t id = json_integer_value(json_object_get(reply, "id"));
        json_t *boot = json_object_get(reply, "boot_us");
        create_us[n_ok++] = (uint64_t)json_integer_value(json_object_get(reply, "create_us"));
        if (json_is_integer(boot))
            boot_us[n_boot++] = (uint64_t)json_integer_value(boot);
        else if (rc == TINYX_EXIT_OK)
            rc = TINYX_EXIT_TIMEOUT;
        if (!json) {
            char boot_text[32] = "not signalled";
            if (json_is_integer(boot))
                snprintf(boot_text, sizeof(boot_text), "%.3f ms",
                         (double)json_integer_value(boot) / 1000.0);
            printf("vm %lld: pid %lld, %s shell, create %.3f ms, boot %s, console %s\n",
                   (long long)id, (long long)json_integer_value(json_object_get(reply, "pid")),
                   json_string_value(json_object_get(reply, "shell")),
                   (double)create_us[n_ok - 1] / 1000.0, boot_text,
                   json_string_value(json_object_get(reply, "console")));
            fflush(stdout);
        }
        json_decref(reply);
        if (destroy) {
            json_t *dr = conn_call(&c, json_pack("{s:s,s:I}", "op", "destroy", "id", id));
            if (!dr) {
                rc = TINYX_EXIT_FAIL;
                break;
            }
            if (!reply_ok(dr))
                rc = TINYX_EXIT_FAIL;
            json_decref(dr);
        }
    }
    if (count > 1) {
        fprintf(json ? stderr : stdout,
                "%zu created, %zu failed%s; median create %.3f ms, median boot %.3f ms (%zu "
                "signalled)\n",
                n_ok, n_failed, destroy ? " (each destroyed)" : "", median_ms(create_us, n_ok),
                median_ms(boot_us, n_boot), n_boot);
    }
    free(create_us);
    free(boot_us);
    json_decref(nets);
    conn_close(&c);
    return rc;
}

static int cmd_destroy(const char *sock, int argc, char **argv)
{
    json_t *req = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "--json")) {
            json = true;
            continue;
        }
        if (req) {
            json_decref(req);
            req = NULL;
            break;
        }
        if (!strcmp(argv[i], "--all")) {
            req = json_pack("{s:s,s:b}", "op", "destroy", "all", 1);
            continue;
        }
        unsigned long long id = strtoull(argv[i], &end, 10);
        if (end != argv[i] && !*end && id > 0)
            req = json_pack("{s:s,s:I}", "op", "destroy", "id", (json_int_t)id);
        else
            break;
    }
    if (!req) {
        tinyx_err("destroy: give one VM id (see `tinyx list`) or --all");
        return TINYX_EXIT_USAGE;
    }
    struct conn c;
    int rc = conn_open(&c, sock);
    if (rc != 0) {
        json_decref(req);
        return rc;
    }
    json_t *reply = conn_call(&c, req);
    rc = reply && reply_ok(reply) ? TINYX_EXIT_OK : TINYX_EXIT_FAIL;
    if (reply && json)
        print_json(reply);
    else if (rc == 0)
        printf("destroyed %lld VM(s)\n",
               (long long)json_integer_value(json_object_get(reply, "destroyed")));
    json_decref(reply);
    conn_close(&c);
    return rc;
}

static void print_list(json_t *reply)
{
    json_t *vms = json_object_get(reply, "vms");
    printf("%-8s %-8s %-10s %10s  %-17s  %-18s %s\n", "ID", "PID", "STATE", "UPTIME", "MAC", "IP",
           "IMAGE");
    size_t i;
    json_t *vm;
    json_array_foreach(vms, i, vm)
    {
        const char *mac = json_string_value(json_object_get(vm, "mac"));
        const char *ip = json_string_value(json_object_get(vm, "ip"));
        printf("%-8lld %-8lld %-10s %9.1fs  %-17s  %-18s %s\n",
               (long long)json_integer_value(json_object_get(vm, "id")),
               (long long)json_integer_value(json_object_get(vm, "pid")),
               json_string_value(json_object_get(vm, "state")),
               (double)json_integer_value(json_object_get(vm, "uptime_ms")) / 1000.0,
               mac ? mac : "-", ip ? ip : "-", json_string_value(json_object_get(vm, "image")));
    }
}

static void print_stats(json_t *reply)
{
    const char *key;
    json_t *v;
    json_object_foreach(reply, key, v)
    {
        if (json_is_integer(v))
            printf("%-14s %lld\n", key, (long long)json_integer_value(v));
    }
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(reply, "pools"), i, p)
    {
        const char *broken = json_string_value(json_object_get(p, "broken"));
        printf("pool %s (%lld MiB): %lld ready, %lld preparing, target %lld%s%s\n",
               json_string_value(json_object_get(p, "image")),
               (long long)json_integer_value(json_object_get(p, "mem_mib")),
               (long long)json_integer_value(json_object_get(p, "ready")),
               (long long)json_integer_value(json_object_get(p, "preparing")),
               (long long)json_integer_value(json_object_get(p, "target")),
               broken ? ": broken: " : "", broken ? broken : "");
    }
}

static int cmd_query(const char *sock, const char *op, int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else {
            tinyx_err("%s: unknown option '%s' (only --json, --socket)", op, argv[i]);
            return TINYX_EXIT_USAGE;
        }
    }
    struct conn c;
    int rc = conn_open(&c, sock);
    if (rc != 0)
        return rc;
    json_t *reply = conn_call(&c, json_pack("{s:s}", "op", op));
    rc = reply && reply_ok(reply) ? TINYX_EXIT_OK : TINYX_EXIT_FAIL;
    if (rc == 0) {
        if (json)
            print_json(reply);
        else if (!strcmp(op, "list"))
            print_list(reply);
        else
            print_stats(reply);
    }
    json_decref(reply);
    conn_close(&c);
    return rc;
}

void launcher_client_usage(FILE *out, const char *command)
{
    (void)command;
    fprintf(out, "Usage (the launcher daemon's clients, see docs/daemon.md):\n"
                 "  create IMAGE [--json] [--mem MIB] [--cmdline WORDS] [--timeout-ms MS]\n"
                 "               [--boot-timeout-ms MS] [--net "
                 "TAP[,mac=..][,ip=..][,gw=..][,bridge=..]]...\n"
                 "               [--count N [--destroy]]\n"
                 "  destroy ID|--all [--json]\n"
                 "  list [--json]\n"
                 "  stats [--json]\n"
                 "Every command takes --socket PATH (default $TINYX_DAEMON_SOCKET or "
                 "/run/tinyx/daemon.sock).\n"
                 "Exit: 0 ok, 1 the daemon refused (its message is printed), 2 usage, 6 no daemon\n"
                 "listens, 7 the guest did not signal its boot timer in time.\n");
}

int launcher_client_command(int argc, char **argv)
{
    /* --socket PATH anywhere; the rest goes to the command. */
    const char *sock = NULL;
    char **args = tinyx_xcalloc((size_t)argc + 1, sizeof(char *));
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))) {
            launcher_client_usage(stdout, argv[0]);
            free(args);
            return TINYX_EXIT_OK;
        }
        if (i > 0 && !strcmp(argv[i], "--socket") && i + 1 < argc)
            sock = argv[++i];
        else
            args[n++] = argv[i];
    }
    sock = launcher_daemon_socket_path(sock);
    int rc;
    if (!strcmp(args[0], "create"))
        rc = cmd_create(sock, n, args);
    else if (!strcmp(args[0], "destroy"))
        rc = cmd_destroy(sock, n, args);
    else
        rc = cmd_query(sock, args[0], n, args);
    free(args);
    return rc;
}
