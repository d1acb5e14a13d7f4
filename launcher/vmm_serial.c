/* vmm_serial.c: a minimal 8250 UART (COM1, output only) for the guest console. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "launcher/layout.h"
#include "launcher/vmm.h"

/* Register offsets from the base port, and the bits we model. */
enum {
    REG_DATA = 0, /* THR (write) / RBR (read); DLL when LCR.DLAB */
    REG_IER = 1,  /* DLM when LCR.DLAB */
    REG_IIR = 2,  /* FCR on write */
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7,
    N_REGS = 8,
};
#define IER_THRI    0x02 /* interrupt when the transmitter is empty */
#define IER_MASK    0x0f
#define IIR_NONE    0x01
#define IIR_THRI    0x02
#define LCR_DLAB    0x80
#define LSR_THRE    0x20 /* transmit holding register empty */
#define LSR_TEMT    0x40 /* transmitter empty */
#define MCR_LOOP    0x10
#define MCR_MASK    0x1f
#define MSR_DEFAULT 0xb0 /* carrier detect, data set ready, clear to send */

/* Output is written per line (or when this fills), not per byte: one syscall per line keeps a
 * chatty boot fast. Whatever is left is written when the VM ends. */
#define OUT_BUFFER 512

static struct serial {
    uint8_t ier, lcr, mcr, scr, dll, dlm;
    bool thr_interrupt; /* the "transmitter empty" interrupt is pending */
    int irq_level;
    int fd; /* console_fd, or -1 once writing failed */
    size_t out_len;
    char out[OUT_BUFFER];
} com1;

static void flush_output(void)
{
    size_t done = 0;
    while (com1.fd >= 0 && done < com1.out_len) {
        ssize_t w = write(com1.fd, com1.out + done, com1.out_len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            com1.fd = -1; /* the reader went away: the guest keeps running, output is dropped */
            break;
        }
        done += (size_t)w;
    }
    com1.out_len = 0;
}

static void update_irq(struct launcher_vmm *v)
{
    int level = (com1.ier & IER_THRI) && com1.thr_interrupt;
    if (level == com1.irq_level || !v->irqchip)
        return;
    com1.irq_level = level;
    launcher_vmm_irq_line(v, LAYOUT_SERIAL_IRQ, level);
}

static void transmit(struct launcher_vmm *v, uint8_t byte)
{
    /* Lower, send, raise: every byte makes an edge, as a real UART's THRE interrupt does. */
    com1.thr_interrupt = false;
    update_irq(v);
    if (!(com1.mcr & MCR_LOOP)) {
        com1.out[com1.out_len++] = (char)byte;
        if (byte == '\n' || com1.out_len == sizeof(com1.out))
            flush_output();
    }
    com1.thr_interrupt = true;
    update_irq(v);
}

static void write_reg(struct launcher_vmm *v, unsigned reg, uint8_t value)
{
    bool dlab = com1.lcr & LCR_DLAB;
    switch (reg) {
    case REG_DATA:
        if (dlab)
            com1.dll = value;
        else
            transmit(v, value);
        break;
    case REG_IER:
        if (dlab) {
            com1.dlm = value;
            break;
        }
        /* Enabling THRI with an empty transmitter interrupts at once (Linux relies on it). */
        if ((value & IER_THRI) && !(com1.ier & IER_THRI))
            com1.thr_interrupt = true;
        com1.ier = value & IER_MASK;
        update_irq(v);
        break;
    case REG_LCR:
        com1.lcr = value;
        break;
    case REG_MCR:
        com1.mcr = value & MCR_MASK;
        break;
    case REG_SCR:
        com1.scr = value;
        break;
    default:
        break; /* FCR (no FIFO), LSR, MSR: ignored */
    }
}

static uint8_t read_reg(struct launcher_vmm *v, unsigned reg)
{
    bool dlab = com1.lcr & LCR_DLAB;
    switch (reg) {
    case REG_DATA:
        return dlab ? com1.dll : 0; /* no input */
    case REG_IER:
        return dlab ? com1.dlm : com1.ier;
    case REG_IIR:
        if ((com1.ier & IER_THRI) && com1.thr_interrupt) {
            com1.thr_interrupt = false; /* reading IIR acknowledges THRE */
            update_irq(v);
            return IIR_THRI;
        }
        return IIR_NONE;
    case REG_LCR:
        return com1.lcr;
    case REG_MCR:
        return com1.mcr;
    case REG_LSR:
        return LSR_THRE | LSR_TEMT; /* output never waits */
    case REG_MSR:
        if (com1.mcr & MCR_LOOP) /* loopback: the outputs come back as the status lines */
            return (uint8_t)(((com1.mcr & 0x0c) << 4) | ((com1.mcr & 0x01) << 5) |
                             ((com1.mcr & 0x02) << 3));
        return MSR_DEFAULT;
    case REG_SCR:
        return com1.scr;
    default:
        return 0xff;
    }
}

static int serial_setup(struct launcher_vmm *v, struct strvec *cmdline_words)
{
    (void)cmdline_words;
    memset(&com1, 0, sizeof(com1));
    com1.fd = v->cfg->console_fd;
    return 0;
}

static int serial_pio(struct launcher_vmm *v, uint16_t port, bool is_write, uint8_t *data,
                      unsigned size)
{
    if (port < LAYOUT_SERIAL_PORT || port >= LAYOUT_SERIAL_PORT + N_REGS)
        return 0;
    unsigned reg = port - LAYOUT_SERIAL_PORT;
    /* The UART has byte registers; wider accesses use their low byte. */
    if (is_write) {
        write_reg(v, reg, data[0]);
    } else {
        memset(data, 0, size);
        data[0] = read_reg(v, reg);
    }
    return 1;
}

static void serial_teardown(struct launcher_vmm *v)
{
    (void)v;
    flush_output();
}

static const struct launcher_vmm_module serial_module = {
    .name = "serial",
    .setup = serial_setup,
    .pio = serial_pio,
    .teardown = serial_teardown,
};
LAUNCHER_VMM_MODULE(serial_module);
