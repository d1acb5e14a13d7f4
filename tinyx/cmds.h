/* cmds.h: the tinyx subcommands, one file each (cmd_build.c, cmd_size.c, cmd_run.c). */
#ifndef TINYX_CMDS_H
#define TINYX_CMDS_H

int tinyx_main_build(int argc, char **argv);
int tinyx_main_size(int argc, char **argv);
int tinyx_main_run(int argc, char **argv);
/* cmd_daemon.c: exec `tinyx-launch COMMAND argv[1..]` (daemon, create, destroy, list, stats). */
int tinyx_main_launcher(const char *command, int argc, char **argv);

#endif
