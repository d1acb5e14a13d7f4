/* init_net.h: hostname, network interface, default route and resolv.conf, with plain ioctls. */
#ifndef INITRAMFS_INIT_NET_H
#define INITRAMFS_INIT_NET_H

#include "initramfs/init_cmdline.h"
#include "initramfs/init_plan.h"

/* Set the hostname (command line over plan), bring lo up, configure the interface and the
 * default route from tinyx.ip= / tinyx.gw=, write /etc/resolv.conf from tinyx.dns=.
 * Failures are reported and boot goes on (the app may not need the network). */
void initramfs_net_setup(const struct initramfs_plan *plan,
                         const struct initramfs_cmdline *cmdline);

#endif
