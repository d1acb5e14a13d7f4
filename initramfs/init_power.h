/* init_power.h: the guest's two signals to the host: boot-timer byte and power-off with status. */
#ifndef INITRAMFS_INIT_POWER_H
#define INITRAMFS_INIT_POWER_H

/* Write BOOT_ABI_TIMER_READY to BOOT_ABI_TIMER_PORT (skipped if the port cannot be used). */
void initramfs_boot_timer_ready(void);

/* sync, print "tinyx-init: exit status N" on the console, write N to BOOT_ABI_EXIT_PORT, then
 * power off or reboot (both end the VM under reboot=t and -no-reboot). Never returns. */
_Noreturn void initramfs_power_off(int status);

#endif
