/* commands.h: the subcommands main.c dispatches to (argv[0] is the subcommand). */
#ifndef LAUNCHER_COMMANDS_H
#define LAUNCHER_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "tinyx/version.h"

/* Version of tinyx-launch (matches the tinyx release it ships with). */

int launcher_run_command(int argc, char **argv);
void launcher_run_usage(FILE *out);

int launcher_check_command(int argc, char **argv);
void launcher_check_usage(FILE *out);

/* daemon.c: the launcher daemon (docs/daemon.md). */
int launcher_daemon_command(int argc, char **argv);
void launcher_daemon_usage(FILE *out);
/* The daemon's socket: given (if not NULL or ""), else $TINYX_DAEMON_SOCKET, else the default. */
const char *launcher_daemon_socket_path(const char *given);
/* Whether a launcher daemon answers on its socket (*socket_out: the path tried). */
bool launcher_daemon_running(const char **socket_out);

/* client.c: the daemon's clients; argv[0] is the command (create, destroy, list, stats). */
int launcher_client_command(int argc, char **argv);
void launcher_client_usage(FILE *out, const char *command);

#endif
