/* idle.c: signal the boot timer, then stay alive doing nothing: interrupts on, HLT in a loop. */
#include "io.h"
#include "irq.h"
#include "power.h"
#include "program.h"

/* The 8259 PICs' mask registers. A PVH guest finds them unprogrammed (vector base 0), so a
 * timer tick through them would arrive as a CPU exception; masked, nothing is delivered. */
#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

/* The guest the scale benchmark starts by the thousand. The boot-timer byte comes first, as in
 * noop (every ring-0 instruction can cost a microsecond under kvm_pvm); then the exception
 * handlers, masked PICs (the local APIC stays software-disabled and the IOAPIC pins masked, as
 * the VMM hands them over), and HLT with interrupts enabled. With an in-kernel interrupt
 * controller the VMM's KVM halts the vCPU without a return to user space, so an idle instance
 * costs the host no CPU; QEMU's TCG likewise sleeps. No console output. */
int tg_main(void)
{
    tg_boot_ready();
    tg_irq_init();
    tg_outb(PIC1_DATA, 0xff);
    tg_outb(PIC2_DATA, 0xff);
    for (;;)
        tg_wait_interrupt();
}
