/* daemon_net.h: the daemon's taps, made with ioctls and rtnetlink (no scripts, no `ip`). */
#ifndef LAUNCHER_DAEMON_NET_H
#define LAUNCHER_DAEMON_NET_H

#include <net/if.h>

/* Names of taps the daemon picks start with this (and only those are swept at start). */
#define LAUNCHER_DAEMON_TAP_PREFIX "txd"

/* Create tap `name` (not persistent: it goes away with its last descriptor), attach it to
 * bridge (NULL or "" = none) and bring it up. Returns the non-blocking fd, or -1 with a
 * message in err. */
int launcher_daemon_tap(const char *name, const char *bridge, char ifname[IFNAMSIZ], char *err,
                        size_t errlen);

/* Remove every tap whose name starts with LAUNCHER_DAEMON_TAP_PREFIX (left by a daemon that
 * was killed while a shell held one open, or made persistent by someone). Returns how many. */
int launcher_daemon_sweep_taps(void);

#endif
