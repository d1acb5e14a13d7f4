/* hostinfo.c: read the host's TSC frequency, probe whether KVM can run Linux guests and whether we
 * may make taps. */
#include "launcher/hostinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tinyx/util.h"

unsigned long launcher_host_tsc_khz(void)
{
    char *text = tinyx_read_file("/sys/devices/system/cpu/cpu0/tsc_freq_khz", NULL);
    if (text) {
        char *end;
        unsigned long khz = strtoul(text, &end, 10);
        free(text);
        if (end != text && khz > 0)
            return khz;
    }
    text = tinyx_read_file("/proc/cpuinfo", NULL);
    if (!text)
        return 0;
    unsigned long khz = 0;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        char *colon = strchr(line, ':');
        if (tinyx_str_starts(line, "cpu MHz") && colon && (!next || colon < next)) {
            char *end;
            double mhz = strtod(colon + 1, &end);
            if (end != colon + 1 && mhz > 0)
                khz = (unsigned long)(mhz * 1000.0 + 0.5);
            break;
        }
        line = next ? next + 1 : NULL;
    }
    free(text);
    return khz;
}

static void say(char *why, size_t why_len, const char *text)
{
    if (why && why_len)
        snprintf(why, why_len, "%s", text);
}

/* CAP_NET_ADMIN in the effective set (bit 12 of CapEff in /proc/self/status). */
static bool have_net_admin(void)
{
    char *text = tinyx_read_file("/proc/self/status", NULL);
    const char *line = text ? strstr(text, "\nCapEff:") : NULL;
    bool yes = false;
    if (line) {
        unsigned long long caps = strtoull(line + strlen("\nCapEff:"), NULL, 16);
        yes = caps & (1ull << 12);
    }
    free(text);
    return yes;
}

void launcher_host_probe(struct launcher_host *host)
{
    memset(host, 0, sizeof(*host));
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        host->kvm_errno = errno ? errno : ENODEV;
    else
        close(fd);
    /* kvm_pvm answers every ioctl like real KVM, so only the module's presence tells. */
    host->kvm_pvm = tinyx_is_dir("/sys/module/kvm_pvm");
    host->net_admin = have_net_admin();
    host->tun_errno = access("/dev/net/tun", R_OK | W_OK) < 0 ? (errno ? errno : ENODEV) : 0;
}

enum launcher_kvm_state launcher_host_kvm_state(const struct launcher_host *host, char *why,
                                                size_t why_len)
{
    if (host->kvm_errno) {
        char msg[256];
        snprintf(msg, sizeof(msg), "/dev/kvm cannot be opened (%s)", strerror(host->kvm_errno));
        say(why, why_len, msg);
        return LAUNCHER_KVM_MISSING;
    }
    if (host->kvm_pvm) {
        say(why, why_len,
            "/dev/kvm is kvm_pvm (software nested virtualisation): a standard Linux kernel does "
            "not boot on it");
        return LAUNCHER_KVM_SOFTWARE;
    }
    say(why, why_len, "/dev/kvm is usable");
    return LAUNCHER_KVM_USABLE;
}

enum launcher_kvm_state launcher_host_kvm(char *why, size_t why_len)
{
    struct launcher_host host;
    launcher_host_probe(&host);
    return launcher_host_kvm_state(&host, why, why_len);
}
