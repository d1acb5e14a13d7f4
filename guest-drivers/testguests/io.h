/* io.h: x86 port I/O, MMIO accessors, barriers and interrupt-flag control for the test guests. */
#ifndef TG_IO_H
#define TG_IO_H

#include <stdint.h>

static inline void tg_outb(uint16_t port, uint8_t value)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t tg_inb(uint16_t port)
{
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

/* Device registers: volatile accesses of exactly the width asked for (a VMM may refuse other
 * widths), never merged or split by the compiler. */
static inline uint32_t tg_mmio_read32(uint64_t addr)
{
    return *(volatile uint32_t *)(uintptr_t)addr;
}

static inline void tg_mmio_write32(uint64_t addr, uint32_t value)
{
    *(volatile uint32_t *)(uintptr_t)addr = value;
}

static inline uint8_t tg_mmio_read8(uint64_t addr)
{
    return *(volatile uint8_t *)(uintptr_t)addr;
}

/* Order the guest's ring writes before the device can see the next ones (and reads likewise):
 * x86 keeps stores in order, so the compiler is what must be stopped. */
static inline void tg_compiler_barrier(void)
{
    __asm__ volatile("" : : : "memory");
}

/* Full fence, for a store that must be visible before a later load. */
static inline void tg_mb(void)
{
    __asm__ volatile("mfence" : : : "memory");
}

static inline void tg_cli(void)
{
    __asm__ volatile("cli" : : : "memory");
}

/* Wait for the next interrupt; call with interrupts off (tg_cli) after finding no work.
 * STI's one-instruction shadow means an interrupt that became pending before it is taken only
 * once HLT waits, so none is missed. Returns with interrupts off again. */
static inline void tg_wait_interrupt(void)
{
    __asm__ volatile("sti; hlt; cli" : : : "memory");
}

static inline void tg_pause(void)
{
    __asm__ volatile("pause");
}

#endif
