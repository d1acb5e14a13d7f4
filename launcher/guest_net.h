/* guest_net.h: where the host reaches the guest's ports (a forward on 127.0.0.1, or the guest's
 * own address on a tap: what the app check connects to and the report shows), and the guest's
 * --net address as kernel command-line words for a VMM that writes no device page. */
#ifndef LAUNCHER_GUEST_NET_H
#define LAUNCHER_GUEST_NET_H

#include <stddef.h>
#include <stdint.h>

#include "launcher/backend.h"
#include "launcher/image.h"

/* The loopback address forwards listen on. */
#define LAUNCHER_GUEST_NET_LOOPBACK "127.0.0.1"

/* "A.B.C.D" of ip (network order) into out. */
void launcher_guest_net_ntoa(const uint8_t ip[4], char out[INET_ADDRSTRLEN]);

/* The first --net device with ip= among devs, or NULL; *net_index (may be NULL) gets its
 * position among the net devices (0 for the first one, whatever the disks around it). */
const struct launcher_vm_device *launcher_guest_net_addressed(const struct launcher_vm_device *devs,
                                                              size_t n, size_t *net_index);

/* The guest ports the launcher reaches: app.ports, then the tcp/http check's port, each once;
 * at most max of them into ports. Returns how many. */
size_t launcher_guest_net_ports(const struct launcher_image *img, int *ports, size_t max);

/* Make the n entries direct: the host connects to addr (the guest's own) at each guest port. */
void launcher_guest_net_direct(struct launcher_port_forward *f, size_t n, const char *addr);

/* The entry of guest_port among the n, or NULL. */
const struct launcher_port_forward *launcher_guest_net_find(const struct launcher_port_forward *f,
                                                            size_t n, int guest_port);

/* "tinyx.ip=A.B.C.D/P[ tinyx.gw=G][ tinyx.iface=ethK]" for the first --net device with ip= (K:
 * its position among the net devices, named only when not 0), malloc'd; NULL when no device
 * has an address. The guest's init reads these when it finds no device page. */
char *launcher_guest_net_cmdline(const struct launcher_vm_device *devs, size_t n);

#endif
