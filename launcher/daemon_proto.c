/* daemon_proto.c: parse and check the daemon's JSON requests (jansson); build reply lines. */
#include "launcher/daemon_proto.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/vmm_devpage.h"
#include "tinyx/util.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static bool valid_ifname(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
        return false;
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p == ':' || *p == '%' || isspace((unsigned char)*p) ||
            !isprint((unsigned char)*p))
            return false;
    return true;
}

/* Only these keys, so a misspelt one is an error, not silently ignored. */
static int check_keys(json_t *obj, const char *const *keys, const char *what, char *err,
                      size_t errlen)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        (void)value;
        bool known = false;
        for (size_t i = 0; keys[i] && !known; i++)
            known = !strcmp(keys[i], key);
        if (!known) {
            char list[256] = "";
            for (size_t i = 0; keys[i]; i++)
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                         keys[i]);
            return fail(err, errlen, "%s: unknown key \"%s\" (known: %s)", what, key, list);
        }
    }
    return 0;
}

/* An optional whole number in [min, max]; absent or null leaves *out. */
static int get_uint(json_t *obj, const char *key, unsigned min, unsigned max, unsigned *out,
                    char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min ||
        json_integer_value(v) > (json_int_t)max)
        return fail(err, errlen, "\"%s\" must be a whole number from %u to %u", key, min, max);
    *out = (unsigned)json_integer_value(v);
    return 0;
}

/* An optional string; absent or null gives "". */
static int get_str(json_t *obj, const char *key, const char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    *out = "";
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(err, errlen, "\"%s\" must be a string", key);
    *out = json_string_value(v);
    return 0;
}

static int parse_net(json_t *n, unsigned i, struct launcher_daemon_net *out, char *err,
                     size_t errlen)
{
    static const char *const keys[] = {"tap", "bridge", "mac", "ip", "gw", NULL};
    char what[32];
    snprintf(what, sizeof(what), "net[%u]", i);
    if (!json_is_object(n))
        return fail(err, errlen, "%s must be an object like {\"tap\":\"\",\"ip\":\"10.0.0.2/24\"}",
                    what);
    if (check_keys(n, keys, what, err, errlen) < 0)
        return -1;
    const char *tap, *bridge, *mac, *ip, *gw;
    if (get_str(n, "tap", &tap, err, errlen) < 0 ||
        get_str(n, "bridge", &bridge, err, errlen) < 0 ||
        get_str(n, "mac", &mac, err, errlen) < 0 || get_str(n, "ip", &ip, err, errlen) < 0 ||
        get_str(n, "gw", &gw, err, errlen) < 0)
        return -1;
    memset(out, 0, sizeof(*out));
    if (*tap && !valid_ifname(tap))
        return fail(err, errlen,
                    "%s: tap \"%s\" is not a usable interface name (1-%d characters, "
                    "no '/', ':', '%%' or spaces); or leave it empty for one the daemon picks",
                    what, tap, IFNAMSIZ - 1);
    if (*bridge && !valid_ifname(bridge))
        return fail(err, errlen, "%s: bridge \"%s\" is not a usable interface name", what, bridge);
    snprintf(out->tap, sizeof(out->tap), "%s", tap);
    snprintf(out->bridge, sizeof(out->bridge), "%s", bridge);
    if (*mac) {
        if (!launcher_devpage_parse_mac(mac, out->mac))
            return fail(err, errlen, "%s: mac \"%s\" is not a unicast MAC like 02:00:00:00:00:01",
                        what, mac);
        out->have_mac = true;
    }
    if (*ip) {
        if (!launcher_devpage_parse_ipv4(ip, out->ip, &out->prefix))
            return fail(err, errlen, "%s: ip \"%s\" is not an IPv4 address like 10.0.0.2/24", what,
                        ip);
        out->have_ip = true;
        snprintf(out->ip_text, sizeof(out->ip_text), "%s", ip);
    }
    if (*gw) {
        if (!launcher_devpage_parse_ipv4(gw, out->gw, NULL))
            return fail(err, errlen, "%s: gw \"%s\" is not an IPv4 address like 10.0.0.1", what,
                        gw);
        out->have_gw = true;
    }
    return 0;
}

static int parse_create(json_t *o, struct launcher_daemon_request *req, char *err, size_t errlen)
{
    static const char *const keys[] = {"op",      "image",      "mem_mib",         "vcpus",
                                       "cmdline", "timeout_ms", "boot_timeout_ms", "net",
                                       "attach",  NULL};
    if (check_keys(o, keys, "create", err, errlen) < 0)
        return -1;
    const char *image, *cmdline;
    if (get_str(o, "image", &image, err, errlen) < 0 ||
        get_str(o, "cmdline", &cmdline, err, errlen) < 0)
        return -1;
    if (image[0] != '/')
        return fail(err, errlen,
                    "create needs \"image\": the absolute path of an image folder "
                    "(e.g. \"/srv/tinyx/out/guests/noop\")");
    if (strlen(image) > 4000)
        return fail(err, errlen, "\"image\" is too long");
    if (strlen(cmdline) > LAUNCHER_DAEMON_MAX_CMDLINE || strpbrk(cmdline, "\n\r"))
        return fail(err, errlen, "\"cmdline\" must be one line of at most %u characters",
                    LAUNCHER_DAEMON_MAX_CMDLINE);
    req->vcpus = 1;
    req->boot_timeout_ms = LAUNCHER_DAEMON_BOOT_WAIT_MS;
    if (get_uint(o, "mem_mib", 2, LAUNCHER_DAEMON_MAX_MEM_MIB, &req->mem_mib, err, errlen) < 0 ||
        get_uint(o, "vcpus", 1, 1024, &req->vcpus, err, errlen) < 0 ||
        get_uint(o, "timeout_ms", 0, LAUNCHER_DAEMON_MAX_TIMEOUT_MS, &req->timeout_ms, err,
                 errlen) < 0 ||
        get_uint(o, "boot_timeout_ms", 1, LAUNCHER_DAEMON_MAX_TIMEOUT_MS, &req->boot_timeout_ms,
                 err, errlen) < 0)
        return -1;
    json_t *attach = json_object_get(o, "attach");
    if (attach && !json_is_boolean(attach))
        return fail(err, errlen, "\"attach\" must be true or false");
    req->attach = attach && json_is_true(attach);
    if (req->vcpus != 1)
        return fail(err, errlen, "a shell has 1 vCPU; %u were asked for (leave out \"vcpus\")",
                    req->vcpus);
    json_t *net = json_object_get(o, "net");
    if (net && !json_is_null(net)) {
        if (!json_is_array(net))
            return fail(err, errlen, "\"net\" must be an array of objects");
        if (json_array_size(net) > LAUNCHER_DAEMON_MAX_NET)
            return fail(err, errlen, "at most %u network devices", LAUNCHER_DAEMON_MAX_NET);
        for (size_t i = 0; i < json_array_size(net); i++)
            if (parse_net(json_array_get(net, i), (unsigned)i, &req->net[i], err, errlen) < 0)
                return -1;
        req->n_net = (unsigned)json_array_size(net);
        for (unsigned i = 0; i < req->n_net; i++)
            for (unsigned j = 0; j < i; j++)
                if (req->net[i].tap[0] && !strcmp(req->net[i].tap, req->net[j].tap))
                    return fail(err, errlen, "tap %s is given twice", req->net[i].tap);
    }
    req->image = tinyx_xstrdup(image);
    req->cmdline = *cmdline ? tinyx_xstrdup(cmdline) : NULL;
    return 0;
}

static int parse_destroy(json_t *o, struct launcher_daemon_request *req, char *err, size_t errlen)
{
    static const char *const keys[] = {"op", "id", "all", NULL};
    if (check_keys(o, keys, "destroy", err, errlen) < 0)
        return -1;
    json_t *id = json_object_get(o, "id"), *all = json_object_get(o, "all");
    if (all && !json_is_boolean(all))
        return fail(err, errlen, "\"all\" must be true or false");
    req->all = all && json_is_true(all);
    if (req->all && id)
        return fail(err, errlen, "give \"id\" or \"all\":true, not both");
    if (!req->all) {
        if (!id || !json_is_integer(id) || json_integer_value(id) < 1)
            return fail(err, errlen,
                        "destroy needs \"id\" (a VM id from create or list) or "
                        "\"all\":true");
        req->id = (uint64_t)json_integer_value(id);
    }
    return 0;
}

int launcher_daemon_parse(const char *line, size_t len, struct launcher_daemon_request *req,
                          char *err, size_t errlen)
{
    memset(req, 0, sizeof(*req));
    json_error_t jerr;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o)
        return fail(err, errlen,
                    "not JSON (%s at column %d): send one object per line, e.g. "
                    "{\"op\":\"stats\"}",
                    jerr.text, jerr.column);
    int rc = -1;
    json_t *op = json_object_get(o, "op");
    const char *name = json_is_string(op) ? json_string_value(op) : NULL;
    static const char *const plain_keys[] = {"op", NULL};
    if (!json_is_object(o))
        fail(err, errlen, "a request is a JSON object, e.g. {\"op\":\"stats\"}");
    else if (!name)
        fail(err, errlen, "no \"op\": use create, destroy, list or stats");
    else if (!strcmp(name, "create")) {
        req->op = LAUNCHER_DAEMON_CREATE;
        rc = parse_create(o, req, err, errlen);
    } else if (!strcmp(name, "destroy")) {
        req->op = LAUNCHER_DAEMON_DESTROY;
        rc = parse_destroy(o, req, err, errlen);
    } else if (!strcmp(name, "list") || !strcmp(name, "stats")) {
        req->op = !strcmp(name, "list") ? LAUNCHER_DAEMON_LIST : LAUNCHER_DAEMON_STATS;
        rc = check_keys(o, plain_keys, name, err, errlen);
    } else {
        fail(err, errlen, "unknown op \"%s\": use create, destroy, list or stats", name);
    }
    json_decref(o);
    if (rc < 0)
        launcher_daemon_request_free(req);
    return rc;
}

void launcher_daemon_request_free(struct launcher_daemon_request *req)
{
    free(req->image);
    free(req->cmdline);
    req->image = req->cmdline = NULL;
}

char *launcher_daemon_reply_line(json_t *reply)
{
    char *text = json_dumps(reply, JSON_COMPACT);
    json_decref(reply);
    if (!text)
        return tinyx_xstrdup(
            "{\"ok\":false,\"error\":\"the daemon could not encode its reply\"}\n");
    char *line = tinyx_xasprintf("%s\n", text);
    free(text);
    return line;
}

char *launcher_daemon_error_line(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return launcher_daemon_reply_line(json_pack("{s:b,s:s}", "ok", 0, "error", msg));
}
