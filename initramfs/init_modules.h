/* init_modules.h: loads the plan's kernel modules in order with finit_module(2). */
#ifndef INITRAMFS_INIT_MODULES_H
#define INITRAMFS_INIT_MODULES_H

#include "initramfs/init_cmdline.h"
#include "initramfs/init_plan.h"

/* Load every module of the plan in order, each with its options from the command line.
 * Failures are reported and loading goes on (the app may not need that module). */
void initramfs_modules_load(const struct initramfs_plan *plan,
                            const struct initramfs_cmdline *cmdline);

#endif
