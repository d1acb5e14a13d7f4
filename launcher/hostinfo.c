/* hostinfo.c: read the host's TSC frequency and probe whether KVM can run Linux guests. */
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

enum launcher_kvm_state launcher_host_kvm(char *why, size_t why_len)
{
    const char *dev = "/dev/kvm";
    int fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s cannot be opened (%s)", dev, strerror(errno));
        say(why, why_len, msg);
        return LAUNCHER_KVM_MISSING;
    }
    close(fd);
    /* kvm_pvm answers every ioctl like real KVM, so only the module's presence tells. */
    if (tinyx_is_dir("/sys/module/kvm_pvm")) {
        say(why, why_len,
            "/dev/kvm is kvm_pvm (software nested virtualisation): a standard Linux kernel does "
            "not boot on it");
        return LAUNCHER_KVM_SOFTWARE;
    }
    say(why, why_len, "/dev/kvm is usable");
    return LAUNCHER_KVM_USABLE;
}
