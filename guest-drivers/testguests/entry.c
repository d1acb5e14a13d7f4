/* entry.c: the C entry of every test guest: tg_start() runs tg_main(), then powers off. */
#include "bootinfo.h"
#include "console.h"
#include "irq.h"
#include "power.h"
#include "program.h"

void tg_start(const struct tg_hvm_start_info *si);

/* Nothing but a store before tg_main: under software-assisted KVM (kvm_pvm) every guest
 * instruction can cost a microsecond, and noop signals the boot timer first thing. */
void tg_start(const struct tg_hvm_start_info *si)
{
    tg_bootinfo_set(si);
    tg_exit(tg_main());
}

void tg_runtime_init(void)
{
    tg_irq_init();
    if (!tg_bootinfo_valid()) {
        tg_printf("tg: not entered through PVH (EBX holds no hvm_start_info); boot this guest "
                  "with a PVH loader (qemu -kernel, tinyx-kvm)\n");
        tg_exit(TG_EXIT_USAGE);
    }
}
