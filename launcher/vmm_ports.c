/* vmm_ports.c: the boot-timer and exit ports (initramfs/boot_abi.h) and the reset ports. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "initramfs/boot_abi.h"
#include "launcher/vmm.h"
#include "tinyx/util.h"

/* Legacy resets: the keyboard controller's pulse-reset command and the PCI reset register
 * (what Linux's reboot=k and reboot=p use). */
#define KBD_COMMAND_PORT 0x64
#define KBD_CMD_RESET    0xfe
#define RESET_CONTROL    0xcf9
#define RESET_CPU        0x04

static int timer_fd = -1;

static int ports_setup(struct launcher_vmm *v, struct strvec *cmdline_words)
{
    (void)cmdline_words;
    timer_fd = v->cfg->timer_fd;
    return 0;
}

static void timer_byte(struct launcher_vmm *v, uint8_t byte)
{
    /* Timestamp first: the write below is the reader's clock, this one is ours. */
    if (byte == BOOT_ABI_TIMER_READY && !v->t_boot_timer)
        v->t_boot_timer = tinyx_now_us();
    while (timer_fd >= 0) {
        ssize_t w = write(timer_fd, &byte, 1);
        if (w < 0 && errno == EINTR)
            continue;
        if (w != 1)
            timer_fd = -1; /* the reader went away; the guest need not know */
        break;
    }
}

static int ports_pio(struct launcher_vmm *v, uint16_t port, bool is_write, uint8_t *data,
                     unsigned size)
{
    (void)size;
    if (!is_write)
        return 0;
    switch (port) {
    case BOOT_ABI_TIMER_PORT:
        timer_byte(v, data[0]);
        return 1;
    case BOOT_ABI_EXIT_PORT:
        launcher_vmm_stop(v, LAUNCHER_VMM_EXIT_STATUS, data[0],
                          "the guest wrote status %u to the exit port", data[0]);
        return 1;
    case KBD_COMMAND_PORT:
        if (data[0] != KBD_CMD_RESET)
            return 0;
        launcher_vmm_stop(v, LAUNCHER_VMM_HALTED, 0,
                          "the guest reset the machine (keyboard controller, port 0x64)");
        return 1;
    case RESET_CONTROL:
        if (!(data[0] & RESET_CPU))
            return 0;
        launcher_vmm_stop(v, LAUNCHER_VMM_HALTED, 0, "the guest reset the machine (port 0xcf9)");
        return 1;
    default:
        return 0;
    }
}

static const struct launcher_vmm_module ports_module = {
    .name = "boot-ports",
    .setup = ports_setup,
    .pio = ports_pio,
};
LAUNCHER_VMM_MODULE(ports_module);
