/* vmm_netlink.c: rtnetlink helpers for taps: enslave to a bridge, bring up, add an address. */
#include "launcher/vmm_netlink.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "tinyx/util.h"

/* The kernel answers at once; a bound keeps a wedged socket from hanging the monitor. */
#define NETLINK_TIMEOUT_S 2

struct link_request {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
    uint8_t attrs[RTA_SPACE(sizeof(uint32_t))];
};

/* Send one request and wait for its acknowledgement. Returns 0 or a negative errno. */
static int netlink_transact(struct nlmsghdr *request)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    struct timeval timeout = {.tv_sec = NETLINK_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    int result = -EPROTO;
    if (sendto(fd, request, request->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) <
        0) {
        result = -errno;
        goto out;
    }
    /* Replies to other requests cannot arrive on a fresh socket, but skip any that do. */
    for (int tries = 0; tries < 8; tries++) {
        union {
            struct nlmsghdr nh;
            uint8_t bytes[8192];
        } reply;
        ssize_t got = recv(fd, &reply, sizeof(reply), 0);
        if (got < 0) {
            result = errno == EAGAIN ? -ETIMEDOUT : -errno;
            goto out;
        }
        size_t left = (size_t)got;
        for (struct nlmsghdr *nh = &reply.nh; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
            if (nh->nlmsg_seq != request->nlmsg_seq || nh->nlmsg_type != NLMSG_ERROR)
                continue;
            if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
                goto out;
            const struct nlmsgerr *err = NLMSG_DATA(nh);
            result = err->error; /* 0: acknowledged */
            goto out;
        }
    }
out:
    close(fd);
    return result;
}

int launcher_netlink_link_up(const char *ifname, const char *master)
{
    unsigned index = if_nametoindex(ifname);
    if (index == 0)
        return tinyx_err("network interface %s does not exist", ifname);
    unsigned master_index = 0;
    if (master) {
        master_index = if_nametoindex(master);
        if (master_index == 0)
            return tinyx_err("bridge %s does not exist: create it first (ip link add %s type "
                             "bridge && ip link set %s up), or leave out bridge=",
                             master, master, master);
    }

    struct link_request req;
    memset(&req, 0, sizeof(req));
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
    req.nh.nlmsg_type = RTM_NEWLINK;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    req.nh.nlmsg_seq = 1;
    req.ifi.ifi_family = AF_UNSPEC;
    req.ifi.ifi_index = (int)index;
    req.ifi.ifi_flags = IFF_UP;
    req.ifi.ifi_change = IFF_UP;
    if (master_index) {
        struct rtattr *rta = (struct rtattr *)((uint8_t *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
        rta->rta_type = IFLA_MASTER;
        rta->rta_len = RTA_LENGTH(sizeof(uint32_t));
        uint32_t value = master_index;
        memcpy(RTA_DATA(rta), &value, sizeof(value));
        req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
    }

    int rc = netlink_transact(&req.nh);
    if (rc == 0)
        return 0;
    errno = -rc;
    if (rc == -EPERM)
        return tinyx_errno("cannot configure %s: needs CAP_NET_ADMIN (run as root)", ifname);
    if (master)
        return tinyx_errno("cannot attach %s to %s and bring it up (is %s a bridge?)", ifname,
                           master, master);
    return tinyx_errno("cannot bring %s up", ifname);
}

int launcher_netlink_link_del(const char *ifname)
{
    unsigned index = if_nametoindex(ifname);
    if (index == 0)
        return 0; /* already gone */
    struct link_request req;
    memset(&req, 0, sizeof(req));
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
    req.nh.nlmsg_type = RTM_DELLINK;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    req.nh.nlmsg_seq = 1;
    req.ifi.ifi_family = AF_UNSPEC;
    req.ifi.ifi_index = (int)index;
    int rc = netlink_transact(&req.nh);
    if (rc == 0 || rc == -ENODEV)
        return 0;
    errno = -rc;
    return tinyx_errno("cannot remove interface %s", ifname);
}

struct addr_request {
    struct nlmsghdr nh;
    struct ifaddrmsg ifa;
    uint8_t attrs[2 * RTA_SPACE(4)];
};

/* Append attribute type with len bytes of data to the request in nh (room checked by the
 * caller's struct). */
static void add_attr(struct nlmsghdr *nh, unsigned short type, const void *data, size_t len)
{
    struct rtattr *rta = (struct rtattr *)((uint8_t *)nh + NLMSG_ALIGN(nh->nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(rta), data, len);
    nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

int launcher_netlink_addr_add(const char *ifname, const uint8_t addr[4], unsigned prefix)
{
    unsigned index = if_nametoindex(ifname);
    if (index == 0)
        return tinyx_err("network interface %s does not exist", ifname);
    if (prefix > 32)
        return tinyx_err("cannot give %s a /%u address (the prefix length is 0-32)", ifname,
                         prefix);
    struct addr_request req;
    memset(&req, 0, sizeof(req));
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
    req.nh.nlmsg_type = RTM_NEWADDR;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    req.nh.nlmsg_seq = 1;
    req.ifa.ifa_family = AF_INET;
    req.ifa.ifa_prefixlen = (unsigned char)prefix;
    req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
    req.ifa.ifa_index = index;
    add_attr(&req.nh, IFA_LOCAL, addr, 4);
    add_attr(&req.nh, IFA_ADDRESS, addr, 4);
    int rc = netlink_transact(&req.nh);
    if (rc == 0)
        return 0;
    errno = -rc;
    if (rc == -EPERM)
        return tinyx_errno("cannot give %s an address: needs CAP_NET_ADMIN (run as root)", ifname);
    if (rc == -EEXIST)
        return tinyx_errno("cannot give %s the address %u.%u.%u.%u/%u: it has it already", ifname,
                           addr[0], addr[1], addr[2], addr[3], prefix);
    return tinyx_errno("cannot give %s the address %u.%u.%u.%u/%u", ifname, addr[0], addr[1],
                       addr[2], addr[3], prefix);
}
