/* init_net.h: the guest's network setup: hostname, resolv.conf, addresses from page or cmdline. */
#ifndef INITRAMFS_INIT_NET_H
#define INITRAMFS_INIT_NET_H

#include "initramfs/init_cmdline.h"
#include "initramfs/init_devpage.h"
#include "initramfs/init_plan.h"

/* Set the hostname (command line over plan), write /etc/resolv.conf from tinyx.dns=, bring lo
 * up, then configure the addresses: from the device page when page is not NULL and one of its
 * net devices has an address (each such device on the interface with its MAC; the default
 * route via the first gateway), otherwise from tinyx.ip= / tinyx.gw= on tinyx.iface=.
 * Failures are reported and boot goes on (the app may not need the network). */
void initramfs_net_setup(const struct initramfs_plan *plan, const struct initramfs_cmdline *cmdline,
                         const struct initramfs_devpage *page);

#endif
