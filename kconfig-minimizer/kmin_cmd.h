/* kmin_cmd.h: the `tinyx kconfig-min` command (kernel config minimization for an app). */
#ifndef KCONFIG_KMIN_CMD_H
#define KCONFIG_KMIN_CMD_H

/* argv[0] is "kconfig-min". Returns a TINYX_EXIT_* code. */
int kconfig_min_main(int argc, char **argv);

#endif
