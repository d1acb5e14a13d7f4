/* cmds.h: the tinyx subcommands, one file each (cmd_build.c, cmd_size.c, cmd_run.c). */
#ifndef TINYX_CMDS_H
#define TINYX_CMDS_H

int tinyx_main_build(int argc, char **argv);
int tinyx_main_size(int argc, char **argv);
int tinyx_main_run(int argc, char **argv);

#endif
