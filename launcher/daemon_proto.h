/* daemon_proto.h: the launcher daemon's wire protocol (docs/daemon.md): one JSON object per
 * line each way. Parsing and checking requests; building reply lines. */
#ifndef LAUNCHER_DAEMON_PROTO_H
#define LAUNCHER_DAEMON_PROTO_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-drivers/devpage_abi.h"

#define LAUNCHER_DAEMON_MAX_NET        DEVPAGE_ABI_MAX_DEVICES
#define LAUNCHER_DAEMON_MAX_MEM_MIB    3072u
#define LAUNCHER_DAEMON_MAX_CMDLINE    2048u
#define LAUNCHER_DAEMON_MAX_LINE       65536u /* longest request line accepted */
#define LAUNCHER_DAEMON_BOOT_WAIT_MS   10000u /* default boot_timeout_ms */
#define LAUNCHER_DAEMON_MAX_TIMEOUT_MS (7u * 24 * 3600 * 1000)

enum launcher_daemon_op {
    LAUNCHER_DAEMON_CREATE,
    LAUNCHER_DAEMON_DESTROY,
    LAUNCHER_DAEMON_LIST,
    LAUNCHER_DAEMON_STATS,
};

struct launcher_daemon_net {
    char tap[IFNAMSIZ];    /* "" = the daemon picks one */
    char bridge[IFNAMSIZ]; /* "" = none */
    bool have_mac, have_ip, have_gw;
    uint8_t mac[6], ip[4], gw[4];
    unsigned prefix;
    char ip_text[24]; /* as given, for `list` */
};

struct launcher_daemon_request {
    enum launcher_daemon_op op;
    /* create */
    char *image;              /* absolute path */
    unsigned mem_mib;         /* 0 = the daemon's default */
    unsigned vcpus;           /* 1 */
    char *cmdline;            /* extra words, or NULL */
    unsigned timeout_ms;      /* 0 = none */
    unsigned boot_timeout_ms; /* how long the reply waits for the boot-timer byte */
    unsigned n_net;
    struct launcher_daemon_net net[LAUNCHER_DAEMON_MAX_NET];
    bool attach; /* the client takes the console, log and boot-timer pipes (`tinyx run`) */
    /* destroy */
    uint64_t id;
    bool all;
};

/* Parse one request line (without its newline). 0, or -1 with a message for the client in
 * err (what is wrong and what to send instead). Free with launcher_daemon_request_free. */
int launcher_daemon_parse(const char *line, size_t len, struct launcher_daemon_request *req,
                          char *err, size_t errlen);
void launcher_daemon_request_free(struct launcher_daemon_request *req);

/* {"ok":false,"error":"..."} plus a newline (malloc'd). */
char *launcher_daemon_error_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A jansson object as one compact line plus a newline (malloc'd); takes the reference. */
struct json_t;
char *launcher_daemon_reply_line(struct json_t *reply);

#endif
