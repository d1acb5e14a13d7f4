/* main.c: tinyx-launch's entry point: dispatch to the run and check subcommands. */
#include <stdio.h>
#include <string.h>

#include "launcher/commands.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: tinyx-launch COMMAND [OPTIONS]\n"
                 "Boot Tinyx images, measure their boot, and check that their app works.\n"
                 "\n"
                 "Commands:\n"
                 "  run IMAGE_DIR   boot an image; report boot_us, ready_us, exit status, memory\n"
                 "  check           poll a tcp/http app check until it passes or times out\n"
                 "  daemon          the launcher daemon: prepared VM shells (docs/daemon.md)\n"
                 "  create IMAGE    create a VM through the daemon (also: destroy, list, stats)\n"
                 "  help [COMMAND]  show help for a command\n"
                 "\n"
                 "Options: -h, --help   this help;  --version   print the version\n"
                 "Run `tinyx-launch COMMAND --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
    tinyx_progname = "tinyx-launch";
    if (argc < 2) {
        usage(stderr);
        return TINYX_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        usage(stdout);
        return TINYX_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("tinyx-launch %s\n", TINYX_VERSION);
        return TINYX_EXIT_OK;
    }
    if (!strcmp(cmd, "run"))
        return launcher_run_command(argc - 1, argv + 1);
    if (!strcmp(cmd, "check"))
        return launcher_check_command(argc - 1, argv + 1);
    if (!strcmp(cmd, "daemon"))
        return launcher_daemon_command(argc - 1, argv + 1);
    if (!strcmp(cmd, "create") || !strcmp(cmd, "destroy") || !strcmp(cmd, "list") ||
        !strcmp(cmd, "stats"))
        return launcher_client_command(argc - 1, argv + 1);
    if (!strcmp(cmd, "help")) {
        if (argc < 3)
            usage(stdout);
        else if (!strcmp(argv[2], "run"))
            launcher_run_usage(stdout);
        else if (!strcmp(argv[2], "check"))
            launcher_check_usage(stdout);
        else if (!strcmp(argv[2], "daemon"))
            launcher_daemon_usage(stdout);
        else if (!strcmp(argv[2], "create") || !strcmp(argv[2], "destroy") ||
                 !strcmp(argv[2], "list") || !strcmp(argv[2], "stats"))
            launcher_client_usage(stdout, argv[2]);
        else {
            tinyx_err("no help for '%s': the commands are run and check", argv[2]);
            return TINYX_EXIT_USAGE;
        }
        return TINYX_EXIT_OK;
    }
    tinyx_err("unknown command '%s' (the commands are run, check, daemon, create, destroy, "
              "list, stats; see `tinyx-launch --help`)",
              cmd);
    return TINYX_EXIT_USAGE;
}
