/* cmd_daemon.c: `tinyx daemon|create|destroy|list|stats`: hand over to the launcher program,
 * which holds the daemon and its clients (the build side never links it). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tinyx/cmds.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

int tinyx_main_launcher(const char *command, int argc, char **argv)
{
    char *launcher = tinyx_xasprintf("%s/tinyx-launch", tinyx_self_dir());
    char **args = tinyx_xcalloc((size_t)argc + 2, sizeof(char *));
    args[0] = launcher;
    args[1] = (char *)command;
    for (int i = 1; i < argc; i++)
        args[i + 1] = argv[i];
    execv(launcher, args);
    tinyx_errno("cannot run the launcher %s (run `make`)", launcher);
    return errno == ENOENT ? TINYX_EXIT_ENV : TINYX_EXIT_FAIL;
}
