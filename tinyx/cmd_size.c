/* cmd_size.c: `tinyx size <image>`: where the bytes of an image go (from manifest.json). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "tinyx/cmds.h"
#include "tinyx/exitcode.h"
#include "tinyx/manifest.h"
#include "tinyx/util.h"

int tinyx_main_size(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"top", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long top = 10;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:jh", longopts, NULL)) != -1) {
        if (c == 'n') {
            top = strtol(optarg, NULL, 10);
            if (top <= 0)
                top = 10;
        } else if (c == 'j') {
            json = 1;
        } else if (c == 'h') {
            printf("usage: tinyx size [--top N] [--json] <image-dir>\n"
                   "Sizes of an image by package, by folder, and its largest files.\n");
            return TINYX_EXIT_OK;
        } else {
            fprintf(stderr, "try `tinyx size --help`\n");
            return TINYX_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        tinyx_err("give one image folder (e.g. out/nginx)");
        return TINYX_EXIT_USAGE;
    }
    char *path = tinyx_xasprintf("%s/manifest.json", argv[optind]);
    json_error_t err;
    json_t *m = json_load_file(path, 0, &err);
    if (!m) {
        tinyx_err("%s: %s (is %s an image built by `tinyx build`?)", path, err.text, argv[optind]);
        free(path);
        return TINYX_EXIT_FAIL;
    }
    free(path);
    if (!json_is_object(json_object_get(m, "sizes"))) {
        tinyx_err("%s/manifest.json has no sizes", argv[optind]);
        json_decref(m);
        return TINYX_EXIT_FAIL;
    }
    if (json)
        json_dumpf(json_object_get(m, "sizes"), stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    else
        tinyx_manifest_print_sizes(m, stdout, (size_t)top);
    if (json)
        printf("\n");
    json_decref(m);
    return TINYX_EXIT_OK;
}
