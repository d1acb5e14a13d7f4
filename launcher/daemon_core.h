/* daemon_core.h: the launcher daemon's state, shared by its loop (daemon.c) and its VM table
 * (daemon_vms.c). Single-threaded: everything runs on the event loop. */
#ifndef LAUNCHER_DAEMON_CORE_H
#define LAUNCHER_DAEMON_CORE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "launcher/daemon_proto.h"
#include "launcher/shell_pool.h"

/* What an epoll event's data.ptr points at: every such struct starts with its tag. */
enum daemon_tag { DAEMON_TAG_LISTEN = 1, DAEMON_TAG_SIGNAL, DAEMON_TAG_CLIENT, DAEMON_TAG_SHELL };

struct daemon_client {
    enum daemon_tag tag;
    uint64_t id;
    int fd;
    bool dead;     /* closed; freed after the current batch of events */
    bool busy;     /* a request waits for its (asynchronous) reply */
    bool pumping;  /* inside daemon_client_pump */
    bool want_out; /* EPOLLOUT armed */
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_cap;
    unsigned destroy_pending; /* shells killed for this client's destroy, not reaped yet */
    unsigned destroy_count;
    struct daemon_client *next;
};

enum daemon_shell_state {
    SHELL_PREPARING, /* spawned, not READY yet */
    SHELL_READY,     /* prepared, in the pool */
    SHELL_STARTING,  /* execute record sent, not STARTED yet */
    SHELL_BOOTING,   /* guest running, no boot-timer byte yet */
    SHELL_RUNNING,   /* boot-timer byte seen */
};

struct daemon_shell {
    enum daemon_tag tag;
    enum daemon_shell_state state;
    bool dead;       /* reaped; freed after the current batch of events */
    bool in_epoll;   /* sock is watched */
    bool claimed;    /* reserved for a request (pending_req) while PREPARING */
    bool fresh;      /* was not READY when its request came: "fresh" */
    bool destroying; /* SIGKILL sent by destroy */
    uint64_t id;     /* VM id, 0 while it is a pooled shell */
    pid_t pid;
    int sock;
    struct launcher_template *tpl;
    struct launcher_daemon_request *pending_req; /* claimed, waits for READY */
    uint64_t t_spawn, t_request, t_started, t_boot, t_vm_start, boot_deadline;
    uint64_t create_client;  /* client id waiting for the create reply, 0 none */
    uint64_t destroy_client; /* client id waiting for this shell's reaping, 0 none */
    uint64_t attach_client;  /* client that took its pipes ("attach"), told when it ends */
    int timer_w;             /* attach: boot-timer bytes are passed on here, else -1 */
    uint32_t fail_code;
    char fail_text[240];
    char *console;
    char taps[DEVPAGE_ABI_MAX_DEVICES][IFNAMSIZ];
    unsigned n_taps;
    char mac[18], ip[24];
};

struct daemon_options {
    const char *socket;
    unsigned pool;
    unsigned mem_mib;
    const char **images;
    size_t n_images;
    bool detach;
    const char *pidfile;
    const char *log;
    bool keep_logs; /* keep ended VMs' console logs (debugging) */
};

struct daemon {
    struct daemon_options opt;
    enum daemon_tag listen_tag, signal_tag;
    int listen_fd, epoll_fd, signal_fd;
    char *vm_dir; /* console logs */
    char kvm_path[4200];
    bool stopping;
    struct daemon_shell **shells;
    size_t n_shells, cap_shells;
    struct launcher_template **tpls;
    size_t n_tpls;
    struct daemon_client *clients;
    unsigned n_clients; /* connected (not closed) clients, at most DAEMON_MAX_CLIENTS */
    uint64_t next_vm_id, next_client_id;
    uint64_t created, destroyed, ended;
    unsigned pending_creates; /* shells with a create reply outstanding */
    unsigned n_preparing;     /* shells spawned, not READY yet (claimed or not) */
};

/* daemon.c */
struct daemon_client *daemon_client_find(struct daemon *d, uint64_t id);
/* Queue a reply line (takes it) for client id, if it is still connected, and go on with its
 * next request. */
void daemon_reply(struct daemon *d, uint64_t client_id, char *line);
void daemon_watch(struct daemon *d, int fd, void *tagged, uint32_t events);
/* Send a reply line (taken) with descriptors (SCM_RIGHTS) to client id; the client stays busy.
 * 0, or -1 when it is gone or cannot take them now. */
int daemon_send_fds(struct daemon *d, uint64_t client_id, char *line, const int *fds, unsigned n);

/* daemon_vms.c */
/* Client id went away: kill the VMs attached to it. */
void daemon_vms_client_gone(struct daemon *d, uint64_t client_id);
void daemon_vms_create(struct daemon *d, struct daemon_client *c,
                       struct launcher_daemon_request *req, uint64_t t_request);
void daemon_vms_destroy(struct daemon *d, struct daemon_client *c,
                        const struct launcher_daemon_request *req);
char *daemon_vms_list(struct daemon *d);
char *daemon_vms_stats(struct daemon *d);
/* Prepare the template (and its pool) of image at start (--image). 0 or -1 after a message. */
int daemon_vms_prepare_image(struct daemon *d, const char *image);
void daemon_vms_shell_readable(struct daemon *d, struct daemon_shell *sh);
void daemon_vms_reap(struct daemon *d);
/* Deadlines: reply to creates whose guest has not signalled in time, kill shells that are not
 * ready PREPARE_TIMEOUT after their spawn; returns the next deadline in ms from now (-1:
 * none). */
int daemon_vms_tick(struct daemon *d);
/* Refill every pool to its target, unless a guest is booting (the loop calls this after each
 * batch of events). */
void daemon_vms_refill(struct daemon *d);
/* A guest is booting: a create reply waits for its boot-timer byte, or an attached VM (its reply
 * went out at once) has not signalled yet and its boot deadline has not passed. */
bool daemon_vms_guest_booting(const struct daemon *d, uint64_t now);
/* Kill and reap every shell (shutdown). */
void daemon_vms_kill_all(struct daemon *d);
/* Free shells marked dead. */
void daemon_vms_collect(struct daemon *d);

#endif
