/* init_power.c: the guest's two signals to the host: boot-timer byte and power-off with status. */
#include "initramfs/init_power.h"
#include "initramfs/boot_abi.h"
#include "initramfs/init_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/reboot.h>
#include <termios.h>
#include <unistd.h>

/* One byte to an x86 I/O port; ioperm fails outside x86 PID 1 (or without the capability). */
static int port_write(unsigned short port, unsigned char value)
{
    if (ioperm(port, 1, 1) != 0)
        return -1;
    outb(value, port);
    ioperm(port, 1, 0);
    return 0;
}

void initramfs_boot_timer_ready(void)
{
    if (port_write(BOOT_ABI_TIMER_PORT, BOOT_ABI_TIMER_READY) != 0)
        initramfs_debug("boot timer: cannot use port 0x%x (%s); not signalled", BOOT_ABI_TIMER_PORT,
                        strerror(errno));
    else
        initramfs_debug("boot timer: wrote %d to port 0x%x", BOOT_ABI_TIMER_READY,
                        BOOT_ABI_TIMER_PORT);
}

static void write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

_Noreturn void initramfs_power_off(int status)
{
    char line[64];
    int n = snprintf(line, sizeof line, "%s%d\n", BOOT_ABI_EXIT_LINE, status);

    sync();
    write_all(STDOUT_FILENO, line, (size_t)n);
    /* The exit port ends QEMU at once: let the UART send what the app and we wrote first. */
    tcdrain(STDOUT_FILENO);
    tcdrain(STDERR_FILENO);
    if (port_write(BOOT_ABI_EXIT_PORT, (unsigned char)status) != 0)
        initramfs_debug("exit port 0x%x: %s; powering off", BOOT_ABI_EXIT_PORT, strerror(errno));
    reboot(RB_POWER_OFF);
    /* Without ACPI, power-off only halts; with reboot=t and -no-reboot a reboot ends the VM. */
    reboot(RB_AUTOBOOT);
    for (;;)
        pause();
}
