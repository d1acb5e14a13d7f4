/* irq.h: the IDT, CPU exceptions, and device interrupts through the IOAPIC and local APIC. */
#ifndef TG_IRQ_H
#define TG_IRQ_H

#include <stdbool.h>
#include <stdint.h>

/* What start.S's stubs push, lowest address first (tg_trap's argument). */
struct tg_trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rbx, rdx, rcx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* Install the IDT: exceptions print what happened and end the guest (TG_EXIT_CRASH). */
void tg_irq_init(void);

/* Deliver GSI gsi (a line of the IOAPIC: level-triggered, active high, as virtio-mmio raises
 * it) to fn(ctx), which runs with interrupts off; the local APIC's EOI follows it. The first
 * call masks the 8259 PICs and enables the local APIC. False (after a message) when the GSI
 * has no IOAPIC pin or every vector is taken. Interrupts stay off until tg_wait_interrupt(). */
bool tg_irq_attach(unsigned gsi, void (*fn)(void *ctx), void *ctx);

/* Called by start.S's stubs. */
void tg_trap(struct tg_trap_frame *frame);

#endif
