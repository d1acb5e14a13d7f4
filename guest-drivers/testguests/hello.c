/* hello.c: print a greeting and the command line (or misbehave: hello.fault, hello.hang). */
#include "bootinfo.h"
#include "cmdline.h"
#include "console.h"
#include "io.h"
#include "power.h"
#include "program.h"

/* The two misbehaving guests a launcher must survive: hello.fault triple-faults, hello.hang
 * spins forever without signalling the boot timer. */
int tg_main(void)
{
    tg_runtime_init();
    const char *cmdline = tg_cmdline();
    if (tg_cmdline_has(cmdline, "hello.fault")) {
        tg_printf("hello: triple-faulting, as hello.fault asks\n");
        tg_power_reset();
    }
    if (tg_cmdline_has(cmdline, "hello.hang")) {
        tg_printf("hello: spinning without a boot-timer byte, as hello.hang asks\n");
        for (;;)
            tg_pause();
    }
    tg_boot_ready();
    tg_printf("Hello from the Tinyx test guest!\n");
    tg_printf("hello: cmdline: %s\n", cmdline);
    return TG_EXIT_OK;
}
