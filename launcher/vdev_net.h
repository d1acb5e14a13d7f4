/* vdev_net.h: the virtio-net device of tinyx-kvm (--net=TAP[,mac=..][,bridge=BR][,ip=..][,gw=..]
 * [,fd=N]) over a tap, and the device page a standalone tinyx-kvm writes for it. */
#ifndef LAUNCHER_VDEV_NET_H
#define LAUNCHER_VDEV_NET_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "launcher/virtio_mmio.h"
#include "launcher/vmm_devpage.h"

#define LAUNCHER_VDEV_NET_RXQ 0u
#define LAUNCHER_VDEV_NET_TXQ 1u
/* Largest frame moved either way: a 64 KiB MTU plus Ethernet and VLAN headers. Bigger reads
 * are truncated and dropped. */
#define LAUNCHER_VDEV_NET_FRAME_MAX (65535u + 18u)

struct launcher_vdev_net_config {
    char tap[IFNAMSIZ];    /* name, or a pattern such as "tap%d" the kernel completes */
    char bridge[IFNAMSIZ]; /* "" = none */
    uint8_t mac[6];
    bool have_mac;
    /* fd is a tap someone else opened and brought up (and bridged): fd=N of the command line
     * (inherited; the launcher's automatic host link), or the daemon's (vmm_shell.c) */
    bool have_fd;
    int fd;
    /* ip=A.B.C.D/P and gw=A.B.C.D: the guest's address, for the device page */
    bool have_ip, have_gw;
    uint8_t ip[4], gw[4]; /* network order */
    unsigned prefix;
};

/* Parse "TAP[,mac=XX:XX:XX:XX:XX:XX][,bridge=BR][,ip=A.B.C.D/P][,gw=A.B.C.D][,fd=N]" (the
 * syntax only: launcher_vdev_net_check_fd checks the descriptor). 0, or -1 with a message. */
int launcher_vdev_net_parse(const char *value, struct launcher_vdev_net_config *cfg);
/* fd=N of --net=NAME: an open tap (IFF_TAP | IFF_NO_PI, no IFF_VNET_HDR) whose name is NAME.
 * 0, or -1 with a message saying what is wrong with it. */
int launcher_vdev_net_check_fd(int fd, const char *name);
/* The device page entry of the device configured by cfg, plugged in virtio-mmio slot `slot`
 * with MAC mac (cfg's, or the default one). */
void launcher_vdev_net_page_entry(const struct launcher_vdev_net_config *cfg, unsigned slot,
                                  const uint8_t mac[6], struct launcher_devpage_net *out);
/* Build the page for n devices (launcher_devpage_build, instance 0) and write it at
 * LAYOUT_DEVPAGE in v's RAM: what a standalone tinyx-kvm does for its --net devices. 0, or -1
 * with a message. */
int launcher_vdev_net_write_devpage(struct launcher_vmm *v, const struct launcher_devpage_net *nets,
                                    unsigned n);
/* The MAC used without mac=: locally administered 02:74:78 ("tx") + a hash of the tap name. */
void launcher_vdev_net_default_mac(const char *ifname, uint8_t mac[6]);
/* Create (or attach to) tap `name` (IFF_TAP | IFF_NO_PI, non-blocking); ifname gets the real
 * name. Returns the fd, or -1 with a message. */
int launcher_vdev_net_open_tap(const char *name, char ifname[IFNAMSIZ]);

/* Add a device over a tap already opened, brought up and bridged by the caller (the daemon
 * hands it to a prepared shell); ifname is for messages. Takes ownership of fd. 0, or -1 with
 * a message when LAYOUT_VIRTIO_MAX_DEVICES are configured already. */
int launcher_vdev_net_add_open(int fd, const char *ifname, const uint8_t mac[6]);

struct launcher_vdev_net {
    struct launcher_virtio_mmio mmio;
    int fd; /* a tap, or any fd that reads and writes whole frames (tests: a socketpair) */
    /* One frame read from fd that waits for a guest receive buffer. */
    uint8_t frame[LAUNCHER_VDEV_NET_FRAME_MAX + 1];
    size_t frame_len;
    uint64_t rx_frames, tx_frames, rx_dropped, tx_dropped;
};

/* A net device over fd (not attached to a slot yet; takes ownership of fd). */
struct launcher_vdev_net *launcher_vdev_net_create(struct launcher_vmm *v, int fd,
                                                   const uint8_t mac[6]);
/* fd is readable (the I/O thread calls this): frames go to the guest, or are dropped when it
 * has no buffers, so a readable fd never makes the I/O thread spin. */
void launcher_vdev_net_readable(struct launcher_vdev_net *n);
void launcher_vdev_net_destroy(struct launcher_vdev_net *n);

#endif
