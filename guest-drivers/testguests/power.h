/* power.h: the guest's end of the boot ABI: the boot-timer byte and power-off with a status. */
#ifndef TG_POWER_H
#define TG_POWER_H

/* Exit statuses of the test guests (the byte written to BOOT_ABI_EXIT_PORT). Below 128, so
 * QEMU's isa-debug-exit ((status << 1) | 1) keeps them whole. */
enum tg_exit_status {
    TG_EXIT_OK = 0,
    TG_EXIT_DEVICE = 1, /* a device failed or answered wrongly */
    TG_EXIT_USAGE = 2,  /* a bad or missing command-line word */
    TG_EXIT_NODEV = 3,  /* the device the program needs is not on the command line */
    TG_EXIT_NOMEM = 4,  /* the bump allocator ran out of RAM */
    TG_EXIT_CRASH = 125 /* a CPU exception */
};

/* Write the boot-timer byte (once; later calls do nothing). */
void tg_boot_ready(void);

/* Print the boot ABI's exit line, then power off with status. */
__attribute__((noreturn)) void tg_exit(int status);

/* Power off with status without printing (noop: no console I/O at all). */
__attribute__((noreturn)) void tg_exit_quiet(int status);

/* Reset the VM by a triple fault: what ends it when the exit port does not. */
__attribute__((noreturn)) void tg_power_reset(void);

#endif
