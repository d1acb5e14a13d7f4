/* power.c: boot-timer signal and power-off through the ports of initramfs/boot_abi.h. */
#include "power.h"

#include <stdbool.h>

#include "console.h"
#include "initramfs/boot_abi.h"
#include "io.h"

static bool boot_signalled;

void tg_boot_ready(void)
{
    if (boot_signalled)
        return;
    boot_signalled = true;
    tg_outb(BOOT_ABI_TIMER_PORT, BOOT_ABI_TIMER_READY);
}

/* An exception with an empty IDT cannot be delivered: a triple fault. UD2 rather than INT3:
 * KVM's instruction emulator (all of ring 0 under kvm_pvm) cannot do INT n in protected mode. */
void tg_power_reset(void)
{
    static const struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } no_idt = {0, 0};
    __asm__ volatile("cli; lidt %0; ud2" : : "m"(no_idt));
    for (;;)
        __asm__ volatile("hlt");
}

void tg_exit_quiet(int status)
{
    tg_outb(BOOT_ABI_EXIT_PORT, (uint8_t)status);
    /* No exit device (a bare QEMU, say): a triple fault resets the VM, and -no-reboot or the
     * monitor ends it there. */
    tg_power_reset();
}

void tg_exit(int status)
{
    tg_printf("%s%d\n", BOOT_ABI_EXIT_LINE, status);
    tg_exit_quiet(status);
}
