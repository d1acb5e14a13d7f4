/* report.c: print the run's measurements as JSON (jansson) or as a short human summary. */
#include "launcher/report.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "tinyx/util.h"

static json_t *int_or_null(int64_t v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

int launcher_report_write_json(const struct launcher_report *r, FILE *out)
{
    json_t *o = json_object();
    json_object_set_new(o, "image", json_string(r->image_dir ? r->image_dir : ""));
    json_object_set_new(o, "name", json_string(r->image_name ? r->image_name : ""));
    json_object_set_new(o, "backend", json_string(r->backend ? r->backend : ""));
    json_object_set_new(o, "accel", r->accel ? json_string(r->accel) : json_null());
    json_object_set_new(o, "outcome", json_string(r->outcome ? r->outcome : "failed"));
    json_object_set_new(o, "boot_us", int_or_null(r->boot_us));
    json_object_set_new(o, "ready_us", int_or_null(r->ready_us));
    json_object_set_new(o, "exit_status", int_or_null(r->exit_status));
    json_object_set_new(o, "exit_code", json_integer(r->exit_code));
    json_object_set_new(o, "image_bytes",
                        json_integer((json_int_t)(r->kernel_bytes + r->initrd_bytes)));
    json_object_set_new(o, "kernel_bytes", json_integer((json_int_t)r->kernel_bytes));
    json_object_set_new(o, "initrd_bytes", json_integer((json_int_t)r->initrd_bytes));
    json_object_set_new(o, "memory_mb", json_integer(r->memory_mb));
    json_object_set_new(o, "vmm_rss_kb", int_or_null(r->vmm_rss_kb));
    json_object_set_new(o, "vmm_pss_kb", int_or_null(r->vmm_pss_kb));
    json_object_set_new(o, "check", json_string(r->check ? r->check : "none"));
    json_t *ports = json_array();
    for (size_t i = 0; i < r->n_forwards; i++) {
        json_t *p = json_object();
        json_object_set_new(p, "guest", json_integer(r->forwards[i].guest_port));
        json_object_set_new(p, "host", json_integer(r->forwards[i].host_port));
        json_array_append_new(ports, p);
    }
    json_object_set_new(o, "ports", ports);
    json_object_set_new(o, "message", r->message ? json_string(r->message) : json_null());
    int rc = json_dumpf(o, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (rc == 0 && fputc('\n', out) == EOF)
        rc = -1;
    if (fflush(out) != 0)
        rc = -1;
    return rc;
}

static void ms(int64_t us, char *buf, size_t len)
{
    if (us < 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1f ms", us / 1000.0);
}

void launcher_report_write_human(const struct launcher_report *r)
{
    char boot[32], ready[32], status[32] = "-";
    ms(r->boot_us, boot, sizeof(boot));
    ms(r->ready_us, ready, sizeof(ready));
    if (r->exit_status >= 0)
        snprintf(status, sizeof(status), "%d", r->exit_status);
    const char *ready_note = r->check && strcmp(r->check, "none") ? "" : " (no check)";
    char line[1024];
    snprintf(line, sizeof(line), "%s: %s on %s/%s: %s; boot %s, ready %s%s, exit status %s\n",
             tinyx_progname, r->image_name ? r->image_name : "image", r->backend,
             r->accel ? r->accel : "-", r->outcome, boot, ready, ready_note, status);
    fputs(line, stderr);

    char image[32], kernel[32], initrd[32], rss[32] = "-", pss[32] = "-";
    tinyx_human_size(r->kernel_bytes + r->initrd_bytes, image, sizeof(image));
    tinyx_human_size(r->kernel_bytes, kernel, sizeof(kernel));
    tinyx_human_size(r->initrd_bytes, initrd, sizeof(initrd));
    if (r->vmm_rss_kb >= 0)
        tinyx_human_size((uint64_t)r->vmm_rss_kb * 1024, rss, sizeof(rss));
    if (r->vmm_pss_kb >= 0)
        tinyx_human_size((uint64_t)r->vmm_pss_kb * 1024, pss, sizeof(pss));
    snprintf(line, sizeof(line),
             "%s: image %s (kernel %s + initrd %s); guest memory %u MiB; VMM RSS %s, PSS %s "
             "(at ready)\n",
             tinyx_progname, image, kernel, initrd, r->memory_mb, rss, pss);
    fputs(line, stderr);
    fflush(stderr);
}
