/* daemon_net.c: taps for the daemon's VMs: TUNSETIFF, bridge and link-up over rtnetlink. */
#include "launcher/daemon_net.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "launcher/vdev_net.h"
#include "launcher/vmm_netlink.h"
#include "tinyx/util.h"

int launcher_daemon_tap(const char *name, const char *bridge, char ifname[IFNAMSIZ], char *err,
                        size_t errlen)
{
    /* The helpers print their message (to the daemon's log); the client gets a short one. */
    int fd = launcher_vdev_net_open_tap(name, ifname);
    if (fd < 0) {
        snprintf(err, errlen,
                 "cannot create tap %s (in use by another VM? the daemon needs "
                 "CAP_NET_ADMIN); see the daemon's log",
                 name);
        return -1;
    }
    if (launcher_netlink_link_up(ifname, bridge && *bridge ? bridge : NULL) < 0) {
        if (bridge && *bridge)
            snprintf(err, errlen,
                     "cannot attach tap %s to bridge %s and bring it up: does the "
                     "bridge exist (in the daemon's network namespace)?",
                     ifname, bridge);
        else
            snprintf(err, errlen, "cannot bring tap %s up", ifname);
        close(fd);
        return -1;
    }
    return fd;
}

int launcher_daemon_sweep_taps(void)
{
    struct if_nameindex *all = if_nameindex();
    if (!all)
        return 0;
    int removed = 0;
    for (struct if_nameindex *i = all; i->if_index; i++) {
        if (!tinyx_str_starts(i->if_name, LAUNCHER_DAEMON_TAP_PREFIX))
            continue;
        /* Only tun/tap devices (/sys/class/net/NAME/tun_flags exists for them alone), and only
         * persistent ones: the daemon's own taps are not, so they vanish with their last
         * descriptor, and a non-persistent tap that exists is held by a live process (another
         * daemon's VM): not ours to remove. */
        char flags_path[IFNAMSIZ + 40];
        snprintf(flags_path, sizeof(flags_path), "/sys/class/net/%s/tun_flags", i->if_name);
        FILE *f = fopen(flags_path, "re");
        if (!f)
            continue;
        unsigned long flags = 0;
        int got = fscanf(f, "%lx", &flags);
        fclose(f);
        if (got != 1 || !(flags & IFF_PERSIST))
            continue;
        if (launcher_netlink_link_del(i->if_name) == 0) {
            tinyx_info("removed tap %s left by an earlier daemon", i->if_name);
            removed++;
        }
    }
    if_freenameindex(all);
    return removed;
}
