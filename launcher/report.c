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
    json_object_set_new(o, "backend_reason",
                        r->backend_reason ? json_string(r->backend_reason) : json_null());
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
        const struct launcher_port_forward *f = &r->forwards[i];
        json_object_set_new(p, "guest", json_integer(f->guest_port));
        json_object_set_new(p, "addr", f->host_addr[0] ? json_string(f->host_addr) : json_null());
        json_object_set_new(p, "port", f->host_addr[0] ? json_integer(f->host_port) : json_null());
        /* "host": the forward's port of 127.0.0.1, as reports have always said. */
        if (!f->direct && f->host_addr[0])
            json_object_set_new(p, "host", json_integer(f->host_port));
        json_array_append_new(ports, p);
    }
    json_object_set_new(o, "ports", ports);
    json_object_set_new(o, "message", r->message ? json_string(r->message) : json_null());
    json_object_set_new(o, "kernel", json_string(r->kernel_path ? r->kernel_path : ""));
    json_object_set_new(o, "virtio_mmio", json_string(r->virtio_mmio ? r->virtio_mmio : "acpi"));
    json_object_set_new(o, "kernel_panic", json_boolean(r->kernel_panic));
    unsigned runs = r->runs ? r->runs : 1;
    json_object_set_new(o, "runs", json_integer(runs));
    json_t *boot_all = json_array(), *ready_all = json_array();
    for (unsigned i = 0; r->boot_us_all && r->ready_us_all && i < runs; i++) {
        json_array_append_new(boot_all, int_or_null(r->boot_us_all[i]));
        json_array_append_new(ready_all, int_or_null(r->ready_us_all[i]));
    }
    json_object_set_new(o, "boot_us_all", boot_all);
    json_object_set_new(o, "ready_us_all", ready_all);
    json_object_set_new(o, "boot_us_min", int_or_null(r->boot_stats.min));
    json_object_set_new(o, "boot_us_max", int_or_null(r->boot_stats.max));
    json_object_set_new(o, "ready_us_min", int_or_null(r->ready_stats.min));
    json_object_set_new(o, "ready_us_max", int_or_null(r->ready_stats.max));
    json_t *failed = json_array();
    for (size_t i = 0; i < r->n_failed; i++)
        json_array_append_new(failed, json_integer(r->failed_runs[i]));
    json_object_set_new(o, "failed_runs", failed);
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

/* "2869.3 ms (min 2800.1, max 2900.0)" */
static void ms_stats(const struct launcher_stats *st, char *buf, size_t len)
{
    char med[32], lo[32], hi[32];
    ms(st->median, med, sizeof(med));
    if (st->n < 2) {
        snprintf(buf, len, "%s", med);
        return;
    }
    snprintf(lo, sizeof(lo), "%.1f", st->min / 1000.0);
    snprintf(hi, sizeof(hi), "%.1f", st->max / 1000.0);
    snprintf(buf, len, "%s (min %s, max %s)", med, lo, hi);
}

void launcher_report_write_run_line(unsigned i, unsigned n, const char *outcome, int64_t boot_us,
                                    int64_t ready_us, int exit_status, bool failed)
{
    char boot[32], ready[32], status[32] = "";
    ms(boot_us, boot, sizeof(boot));
    ms(ready_us, ready, sizeof(ready));
    if (exit_status >= 0)
        snprintf(status, sizeof(status), ", exit status %d", exit_status);
    char line[512];
    snprintf(line, sizeof(line), "%s: run %u/%u: %s; boot %s, ready %s%s%s\n", tinyx_progname, i, n,
             outcome, boot, ready, status, failed ? " (FAILED)" : "");
    fputs(line, stderr);
    fflush(stderr);
}

/* The first line for several runs: how many passed, then medians with min and max. */
static void write_runs_line(const struct launcher_report *r)
{
    char verdict[256];
    if (!r->n_failed) {
        snprintf(verdict, sizeof(verdict), "all passed");
    } else {
        snprintf(verdict, sizeof(verdict), "%zu failed (run%s", r->n_failed,
                 r->n_failed > 1 ? "s" : "");
        for (size_t i = 0; i < r->n_failed; i++)
            snprintf(verdict + strlen(verdict), sizeof(verdict) - strlen(verdict), "%s %u",
                     i ? "," : "", r->failed_runs[i]);
        snprintf(verdict + strlen(verdict), sizeof(verdict) - strlen(verdict), ")");
    }
    char boot[128], ready[128];
    ms_stats(&r->boot_stats, boot, sizeof(boot));
    ms_stats(&r->ready_stats, ready, sizeof(ready));
    const char *ready_note = r->check && strcmp(r->check, "none") ? "" : " (no check)";
    char line[1024];
    snprintf(line, sizeof(line), "%s: %s on %s/%s: %u runs, %s; median boot %s, ready %s%s\n",
             tinyx_progname, r->image_name ? r->image_name : "image", r->backend,
             r->accel ? r->accel : "-", r->runs, verdict, boot, ready, ready_note);
    fputs(line, stderr);
}

void launcher_report_write_human(const struct launcher_report *r)
{
    bool several = r->runs > 1;
    char line[1024];
    if (several) {
        write_runs_line(r);
    } else {
        char boot[32], ready[32], status[32] = "-";
        ms(r->boot_us, boot, sizeof(boot));
        ms(r->ready_us, ready, sizeof(ready));
        if (r->exit_status >= 0)
            snprintf(status, sizeof(status), "%d", r->exit_status);
        const char *ready_note = r->check && strcmp(r->check, "none") ? "" : " (no check)";
        snprintf(line, sizeof(line), "%s: %s on %s/%s: %s; boot %s, ready %s%s, exit status %s\n",
                 tinyx_progname, r->image_name ? r->image_name : "image", r->backend,
                 r->accel ? r->accel : "-", r->outcome, boot, ready, ready_note, status);
        fputs(line, stderr);
    }

    char image[32], kernel[32], initrd[32], rss[32] = "-", pss[32] = "-";
    tinyx_human_size(r->kernel_bytes + r->initrd_bytes, image, sizeof(image));
    tinyx_human_size(r->kernel_bytes, kernel, sizeof(kernel));
    tinyx_human_size(r->initrd_bytes, initrd, sizeof(initrd));
    if (r->vmm_rss_kb >= 0)
        tinyx_human_size((uint64_t)r->vmm_rss_kb * 1024, rss, sizeof(rss));
    if (r->vmm_pss_kb >= 0)
        tinyx_human_size((uint64_t)r->vmm_pss_kb * 1024, pss, sizeof(pss));
    char from[512] = "";
    if (r->kernel_from_option && r->kernel_path)
        snprintf(from, sizeof(from), " %s", r->kernel_path);
    snprintf(line, sizeof(line),
             "%s: image %s (kernel%s %s + initrd %s); guest memory %u MiB; VMM RSS %s, PSS %s "
             "(at ready%s)\n",
             tinyx_progname, image, from, kernel, initrd, r->memory_mb, rss, pss,
             several ? ", median" : "");
    fputs(line, stderr);
    if (r->n_forwards) {
        size_t used = (size_t)snprintf(line, sizeof(line), "%s: guest ports:", tinyx_progname);
        for (size_t i = 0; i < r->n_forwards && used < sizeof(line); i++) {
            const struct launcher_port_forward *f = &r->forwards[i];
            if (!f->host_addr[0])
                used += (size_t)snprintf(line + used, sizeof(line) - used, "%s %d unreached",
                                         i ? "," : "", f->guest_port);
            else
                used += (size_t)snprintf(line + used, sizeof(line) - used, "%s %d at %s:%d%s",
                                         i ? "," : "", f->guest_port, f->host_addr, f->host_port,
                                         f->direct ? "" : " (forwarded)");
        }
        if (used < sizeof(line))
            snprintf(line + used, sizeof(line) - used, "\n");
        else
            line[sizeof(line) - 2] = '\n';
        fputs(line, stderr);
    }
    fflush(stderr);
}
