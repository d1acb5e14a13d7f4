/* init_cmdline.h: what the init reads from the kernel command line (tinyx.*, module options). */
#ifndef INITRAMFS_INIT_CMDLINE_H
#define INITRAMFS_INIT_CMDLINE_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#define INITRAMFS_CMDLINE_MAX_DNS 3    /* resolv.conf's MAXNS */
#define INITRAMFS_CMDLINE_MAX     4096 /* x86's COMMAND_LINE_SIZE is 2048 */

struct initramfs_cmdline {
    bool debug;  /* tinyx.debug */
    bool has_ip; /* tinyx.ip=ADDR/PREFIX */
    struct in_addr ip;
    unsigned prefix;
    bool has_gw; /* tinyx.gw=ADDR */
    struct in_addr gw;
    size_t n_dns; /* tinyx.dns=ADDR[,ADDR...] (IPv4 or IPv6), as given */
    char dns[INITRAMFS_CMDLINE_MAX_DNS][INET6_ADDRSTRLEN];
    char hostname[65];       /* tinyx.hostname=; "" when not given */
    char iface[IF_NAMESIZE]; /* tinyx.iface=; "eth0" when not given */
    size_t text_len;         /* the command line itself, for the MODNAME.param=value lookups */
    char text[INITRAMFS_CMDLINE_MAX];
};

/* Parse the kernel command line in buf[0..len) (the text of /proc/cmdline). Pure: no I/O.
 * Words split at whitespace; double quotes group and are dropped, as the kernel does; parsing
 * stops at "--". A bad or unknown tinyx.* parameter is an error: returns -1 with a message in
 * err. Other words are the kernel's, or module options (initramfs_cmdline_module_options). */
int initramfs_cmdline_parse(const char *buf, size_t len, struct initramfs_cmdline *out, char *err,
                            size_t errlen);

/* The options for a module given by name or path ("virtio-net", "/lib/.../virtio_net.ko"),
 * gathered from its MODNAME.param=value words in order, as finit_module wants them:
 * "param=value flag param2=\"a b\"". Writes "" when there are none. Returns the full length
 * (like snprintf: the result was cut if it is >= outsize). */
size_t initramfs_cmdline_module_options(const struct initramfs_cmdline *cmdline, const char *module,
                                        char *out, size_t outsize);

/* Module name from a path or name: the basename up to ".ko", '-' written as '_'. */
void initramfs_module_name(const char *module, char *out, size_t outsize);

#endif
