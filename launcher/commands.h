/* commands.h: the subcommands main.c dispatches to (argv[0] is the subcommand). */
#ifndef LAUNCHER_COMMANDS_H
#define LAUNCHER_COMMANDS_H

#include <stdio.h>

#include "tinyx/version.h"

/* Version of tinyx-launch (matches the tinyx release it ships with). */

int launcher_run_command(int argc, char **argv);
void launcher_run_usage(FILE *out);

int launcher_check_command(int argc, char **argv);
void launcher_check_usage(FILE *out);

#endif
