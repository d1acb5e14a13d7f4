/* init_netif.h: one network interface with plain ioctls: address, link up, route, MAC lookup. */
#ifndef INITRAMFS_INIT_NETIF_H
#define INITRAMFS_INIT_NETIF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* sock is an AF_INET datagram socket (the ioctls' handle). Failures are reported on the
 * console; boot goes on. */

/* lo up with 127.0.0.1/8; a failure is only a debug line. */
void initramfs_netif_loopback(int sock);

/* Set ip/prefix on iface and bring it up. Returns false (reported) on a failure. */
bool initramfs_netif_configure(int sock, const char *iface, struct in_addr ip, unsigned prefix);

/* The default route via gw on iface. */
void initramfs_netif_default_route(int sock, const char *iface, struct in_addr gw);

/* Name (into name[size]) of the Ethernet interface whose hardware address is mac. Returns
 * false when none has it. */
bool initramfs_netif_by_mac(int sock, const uint8_t mac[6], char *name, size_t size);

/* "lo, eth0" (or why they cannot be listed), for messages; if_nameindex needs no /sys. */
void initramfs_netif_list(char *buf, size_t size);

#endif
