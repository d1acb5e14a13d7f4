/* cmd_build.c: `tinyx build`: parse options, load the recipe, run the pipeline. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initramfs/cpio_writer.h"
#include "tinyx/build.h"
#include "tinyx/cmds.h"
#include "tinyx/exitcode.h"
#include "tinyx/proc.h"
#include "tinyx/recipe.h"
#include "tinyx/util.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: tinyx build [options] <recipe.yaml | name>\n"
                 "       tinyx build [options] --package P [--package P...] --cmd 'CMD ARGS'\n"
                 "                   [--port N] [--name NAME]\n"
                 "\n"
                 "Build a minimal VM image (kernel, initrd, cmdline, manifest.json) for an app.\n"
                 "A name is looked up as recipes/<name>.yaml. Needs root.\n"
                 "\n"
                 "options:\n"
                 "  -o, --output DIR        image folder (default out/<name>)\n"
                 "      --cache DIR         build cache (default $TINYX_CACHE or ~/.cache/tinyx)\n"
                 "      --compression C     initrd compression: zstd (default), xz, gzip, none\n"
                 "      --refresh           refresh the package lists (apt-get update)\n"
                 "      --no-trace          do not run the app at build time (interpreted apps\n"
                 "                          then miss the files only a run reveals)\n"
                 "      --trace-timeout S   limit for the build-time run and check (default 60)\n"
                 "      --keep-tree DIR     keep the image's root tree in DIR for inspection\n"
                 "  -q, --quiet             errors only\n"
                 "  -v, --verbose           more detail\n"
                 "  -h, --help              this text\n");
}

int tinyx_main_build(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"cache", required_argument, NULL, 'C'},
        {"compression", required_argument, NULL, 'z'},
        {"refresh", no_argument, NULL, 'R'},
        {"no-trace", no_argument, NULL, 'T'},
        {"trace-timeout", required_argument, NULL, 't'},
        {"keep-tree", required_argument, NULL, 'k'},
        {"package", required_argument, NULL, 'p'},
        {"cmd", required_argument, NULL, 'c'},
        {"port", required_argument, NULL, 'P'},
        {"name", required_argument, NULL, 'n'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct tinyx_build_opts o = {.trace_timeout_ms = 60000};
    struct strvec packages = STRVEC_INIT;
    const char *cmdline = NULL, *name = NULL;
    int ports[64];
    size_t n_ports = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qvh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o.out_dir = optarg;
            break;
        case 'C':
            o.cache_dir = optarg;
            break;
        case 'z':
            if (!initramfs_cpio_compression_ok(optarg)) {
                tinyx_err("--compression: '%s' is not one of zstd, xz, gzip, none", optarg);
                goto usage_error;
            }
            o.compression = optarg;
            break;
        case 'R':
            o.refresh = true;
            break;
        case 'T':
            o.no_trace = true;
            break;
        case 't': {
            char *end;
            long s = strtol(optarg, &end, 10);
            if (*end || s <= 0 || s > 3600) {
                tinyx_err("--trace-timeout: '%s' is not a number of seconds (1-3600)", optarg);
                goto usage_error;
            }
            o.trace_timeout_ms = (unsigned)s * 1000;
            break;
        }
        case 'k':
            o.keep_tree = optarg;
            break;
        case 'p':
            tinyx_strvec_push(&packages, optarg);
            break;
        case 'c':
            cmdline = optarg;
            break;
        case 'P': {
            char *end;
            long p = strtol(optarg, &end, 10);
            if (*end || p < 1 || p > 65535 || n_ports == 64) {
                tinyx_err("--port: '%s' is not a TCP port (1-65535)", optarg);
                goto usage_error;
            }
            ports[n_ports++] = (int)p;
            break;
        }
        case 'n':
            name = optarg;
            break;
        case 'q':
            tinyx_verbosity = 0;
            break;
        case 'v':
            tinyx_verbosity = 2;
            break;
        case 'h':
            usage(stdout);
            tinyx_strvec_free(&packages);
            return TINYX_EXIT_OK;
        default:
            goto usage_error;
        }
    }
    struct tinyx_recipe recipe;
    if (packages.n || cmdline) {
        if (optind < argc) {
            tinyx_err("give either a recipe or --package/--cmd, not both");
            goto usage_error;
        }
        if (!packages.n || !cmdline) {
            tinyx_err("an ad-hoc build needs both --package and --cmd");
            goto usage_error;
        }
        if (tinyx_recipe_adhoc(name, packages.v, packages.n, cmdline, ports, n_ports, &recipe) <
            0) {
            tinyx_strvec_free(&packages);
            return TINYX_EXIT_RECIPE;
        }
    } else {
        if (optind + 1 != argc) {
            tinyx_err(optind >= argc ? "which app? give a recipe file or name"
                                     : "give one recipe at a time");
            goto usage_error;
        }
        if (n_ports || name) {
            tinyx_err("--port and --name go with --package/--cmd; set them in the recipe");
            goto usage_error;
        }
        char *path = tinyx_recipe_find(argv[optind]);
        if (!path) {
            tinyx_strvec_free(&packages);
            return TINYX_EXIT_RECIPE;
        }
        int rc = tinyx_recipe_load(path, &recipe);
        free(path);
        if (rc < 0) {
            tinyx_strvec_free(&packages);
            return TINYX_EXIT_RECIPE;
        }
    }
    tinyx_strvec_free(&packages);
    tinyx_interrupt_install();
    int rc = tinyx_build(&recipe, &o);
    tinyx_recipe_free(&recipe);
    return rc;

usage_error:
    tinyx_strvec_free(&packages);
    fprintf(stderr, "try `tinyx build --help`\n");
    return TINYX_EXIT_USAGE;
}
