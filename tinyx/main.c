/* main.c: the tinyx command: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "kconfig-minimizer/kmin_cmd.h"
#include "tinyx/cmds.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"
#include "tinyx/version.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tinyx <command> [options]\n"
            "\n"
            "Turn a Debian application into a minimal VM image and boot it.\n"
            "\n"
            "commands:\n"
            "  build <recipe|name>     build an image from a recipe (recipes/<name>.yaml)\n"
            "  build --package P --cmd '...' [--port N]\n"
            "                          build an image for an ad-hoc app\n"
            "  run <image>             boot an image, stream its console, check the app\n"
            "  size <image>            what takes the space in an image\n"
            "  daemon                  the launcher daemon: prepared VM shells (docs/daemon.md)\n"
            "  create <image>          create a VM through the daemon; destroy ID|--all,\n"
            "                          list, stats talk to it too\n"
            "  kconfig-min <recipe>    shrink the app's kernel config by trial builds and boots\n"
            "  help                    this text; `tinyx <command> --help` for a command\n"
            "  version                 print the version\n"
            "\n"
            "exit codes: 0 ok, 1 failed, 2 usage, 3 bad recipe, 4 package problem,\n"
            "            5 app problem (missing binary, failed check), 6 host lacks something,\n"
            "            7 timeout, 8 broken image, 130 interrupted; `tinyx run` exits with\n"
            "            the guest's status.\n");
}

int main(int argc, char **argv)
{
    tinyx_progname = "tinyx";
    if (argc < 2) {
        usage(stderr);
        return TINYX_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "build"))
        return tinyx_main_build(argc - 1, argv + 1);
    if (!strcmp(cmd, "size"))
        return tinyx_main_size(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return tinyx_main_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "daemon") || !strcmp(cmd, "create") || !strcmp(cmd, "destroy") ||
        !strcmp(cmd, "list") || !strcmp(cmd, "stats"))
        return tinyx_main_launcher(cmd, argc - 1, argv + 1);
    if (!strcmp(cmd, "kconfig-min"))
        return kconfig_min_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return TINYX_EXIT_OK;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("tinyx %s\n", TINYX_VERSION);
        return TINYX_EXIT_OK;
    }
    tinyx_err("unknown command '%s' (try `tinyx help`)", cmd);
    return TINYX_EXIT_USAGE;
}
