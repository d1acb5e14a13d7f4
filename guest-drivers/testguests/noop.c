/* noop.c: the smallest guest: signal the boot timer, power off with status 0. No console. */
#include "power.h"
#include "program.h"

int tg_main(void)
{
    tg_boot_ready();
    tg_exit_quiet(TG_EXIT_OK);
}
