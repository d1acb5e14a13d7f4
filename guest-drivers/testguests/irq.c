/* irq.c: the IDT, CPU exceptions, and device interrupts through the IOAPIC and local APIC. */
#include "irq.h"

#include "console.h"
#include "io.h"
#include "power.h"

/* The PC's interrupt hardware at its standard addresses; the guests never probe for it. QEMU's
 * microvm puts GSIs 24 and up on a second IOAPIC (its "ioapic2"), right after the first. */
#define IOAPIC0_BASE     0xfec00000ull
#define IOAPIC1_BASE     0xfec10000ull
#define IOAPIC_PINS      24u
#define IOAPIC_REGSEL    0x00
#define IOAPIC_WINDOW    0x10
#define IOAPIC_REG_VER   0x01
#define IOAPIC_REG_RTE   0x10 /* + 2 * pin: low word; + 1: high word */
#define RTE_LEVEL        (1u << 15)
#define RTE_MASKED       (1u << 16)
#define LAPIC_BASE       0xfee00000ull
#define LAPIC_ID         0x020
#define LAPIC_TPR        0x080
#define LAPIC_EOI        0x0b0
#define LAPIC_SVR        0x0f0
#define LAPIC_SVR_ENABLE 0x100u
#define PIC1_DATA        0x21
#define PIC2_DATA        0xa1

#define VECTOR_FIRST_IRQ  32u
#define VECTOR_COUNT_IRQ  8u /* start.S has stubs for vectors 32-39 */
#define VECTOR_EXCEPTIONS 32u
#define VECTOR_SPURIOUS   0xffu

#define SEL_CODE64     0x08
#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate */

struct idt_entry {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t zero;
} __attribute__((packed));

extern const uint64_t tg_isr_stubs[VECTOR_EXCEPTIONS + VECTOR_COUNT_IRQ];
extern const uint64_t tg_isr_spurious;

static struct idt_entry idt[256] __attribute__((aligned(16)));

static struct {
    void (*fn)(void *ctx);
    void *ctx;
} handlers[VECTOR_COUNT_IRQ];
static unsigned handlers_used;
static bool apic_ready;

static void set_gate(unsigned vector, uint64_t addr)
{
    idt[vector] = (struct idt_entry){
        .offset_low = (uint16_t)addr,
        .selector = SEL_CODE64,
        .type = GATE_INTERRUPT,
        .offset_mid = (uint16_t)(addr >> 16),
        .offset_high = (uint32_t)(addr >> 32),
    };
}

void tg_irq_init(void)
{
    for (unsigned v = 0; v < VECTOR_EXCEPTIONS + VECTOR_COUNT_IRQ; v++)
        set_gate(v, tg_isr_stubs[v]);
    set_gate(VECTOR_SPURIOUS, tg_isr_spurious);
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

static uint32_t lapic_read(unsigned reg)
{
    return tg_mmio_read32(LAPIC_BASE + reg);
}

static void lapic_write(unsigned reg, uint32_t value)
{
    tg_mmio_write32(LAPIC_BASE + reg, value);
}

static uint32_t ioapic_read(uint64_t base, unsigned reg)
{
    tg_mmio_write32(base + IOAPIC_REGSEL, reg);
    return tg_mmio_read32(base + IOAPIC_WINDOW);
}

static void ioapic_write(uint64_t base, unsigned reg, uint32_t value)
{
    tg_mmio_write32(base + IOAPIC_REGSEL, reg);
    tg_mmio_write32(base + IOAPIC_WINDOW, value);
}

/* The PICs' lines are also wired to the IOAPIC; an unprogrammed PIC (vector base 0, as a PVH
 * guest finds it) would turn a device's GSI into a CPU exception vector. */
static void apic_setup(void)
{
    tg_outb(PIC1_DATA, 0xff);
    tg_outb(PIC2_DATA, 0xff);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | VECTOR_SPURIOUS);
    apic_ready = true;
}

bool tg_irq_attach(unsigned gsi, void (*fn)(void *ctx), void *ctx)
{
    if (handlers_used == VECTOR_COUNT_IRQ) {
        tg_printf("tg: no interrupt vector left for GSI %u (at most %u devices)\n", gsi,
                  VECTOR_COUNT_IRQ);
        return false;
    }
    uint64_t base = gsi < IOAPIC_PINS ? IOAPIC0_BASE : IOAPIC1_BASE;
    unsigned pin = gsi % IOAPIC_PINS;
    if (gsi >= 2 * IOAPIC_PINS) {
        tg_printf("tg: GSI %u is on no IOAPIC (0-%u)\n", gsi, 2 * IOAPIC_PINS - 1);
        return false;
    }
    if (!apic_ready)
        apic_setup();
    unsigned max_pin = (ioapic_read(base, IOAPIC_REG_VER) >> 16) & 0xff;
    if (pin > max_pin) {
        tg_printf("tg: GSI %u: the IOAPIC at %#llx has pins 0-%u only\n", gsi,
                  (unsigned long long)base, max_pin);
        return false;
    }
    unsigned slot = handlers_used++;
    handlers[slot].fn = fn;
    handlers[slot].ctx = ctx;
    uint32_t apic_id = lapic_read(LAPIC_ID) >> 24;
    ioapic_write(base, IOAPIC_REG_RTE + 2 * pin + 1, apic_id << 24);
    ioapic_write(base, IOAPIC_REG_RTE + 2 * pin, (VECTOR_FIRST_IRQ + slot) | RTE_LEVEL);
    return true;
}

static const char *const exception_names[VECTOR_EXCEPTIONS] = {"divide error",
                                                               "debug",
                                                               "NMI",
                                                               "breakpoint",
                                                               "overflow",
                                                               "bound range",
                                                               "invalid opcode",
                                                               "device not available",
                                                               "double fault",
                                                               "coprocessor overrun",
                                                               "invalid TSS",
                                                               "segment not present",
                                                               "stack fault",
                                                               "general protection",
                                                               "page fault",
                                                               "reserved",
                                                               "x87 error",
                                                               "alignment check",
                                                               "machine check",
                                                               "SIMD error",
                                                               "virtualization",
                                                               "control protection",
                                                               "reserved",
                                                               "reserved",
                                                               "reserved",
                                                               "reserved",
                                                               "reserved",
                                                               "reserved",
                                                               "hypervisor injection",
                                                               "VMM communication",
                                                               "security",
                                                               "reserved"};

void tg_trap(struct tg_trap_frame *f)
{
    if (f->vector >= VECTOR_FIRST_IRQ && f->vector < VECTOR_FIRST_IRQ + handlers_used) {
        unsigned slot = (unsigned)(f->vector - VECTOR_FIRST_IRQ);
        handlers[slot].fn(handlers[slot].ctx);
        lapic_write(LAPIC_EOI, 0);
        return;
    }
    if (f->vector == VECTOR_SPURIOUS)
        return; /* no EOI for the spurious vector */
    if (f->vector >= VECTOR_EXCEPTIONS) {
        tg_printf("tg: unexpected interrupt vector %llu\n", (unsigned long long)f->vector);
        lapic_write(LAPIC_EOI, 0);
        return;
    }
    uint64_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    tg_printf("tg: CPU exception %llu (%s) at rip=%#llx error=%#llx cr2=%#llx rsp=%#llx\n",
              (unsigned long long)f->vector, exception_names[f->vector], (unsigned long long)f->rip,
              (unsigned long long)f->error, (unsigned long long)cr2, (unsigned long long)f->rsp);
    tg_exit(TG_EXIT_CRASH);
}
