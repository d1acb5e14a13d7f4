/* oracle.h: the minimizer's real oracle: a candidate config is built, booted with the image's
 * initrd by the launcher, and passes if the app's check passes. Verdicts are cached on disk by
 * the hash of the resolved .config, so a config is never judged twice, even across runs. */
#ifndef KCONFIG_ORACLE_H
#define KCONFIG_ORACLE_H

#include <stdbool.h>
#include <stdint.h>

#include "kconfig-minimizer/minimize.h"
#include "tinyx/hash.h"
#include "tinyx/strmap.h"
#include "tinyx/strvec.h"

struct kconfig_trial {
    int verdict;  /* KMIN_PASS / KMIN_FAIL */
    char *reason; /* why it failed ("build failed", "timeout", ...), or NULL */
    uint64_t vmlinux_bytes, bzimage_bytes;
    double build_s, boot_s;
    bool cached; /* answered from the verdict cache */
};

struct kconfig_oracle {
    /* set by the caller */
    const char *srcdir;      /* linux source */
    const char *objdir;      /* build folder (incremental) */
    const char *cache_dir;   /* tinyx cache (kernels, ccache) */
    const char *workdir;     /* verdicts.jsonl, start.config, trial logs */
    const char *image_dir;   /* the app's image: initrd, cmdline, manifest.json */
    const char *launcher;    /* tinyx-launch */
    unsigned boot_timeout_s; /* per trial boot + check */
    unsigned build_timeout_s;
    const struct strvec *candidates; /* candidate names (effective_off is reported over them) */
    /* state */
    char start_config[4096];
    char current_hash[TINYX_SHA256_HEX]; /* the accepted (last passing) config */
    struct strmap verdicts;              /* config hash -> JSON record */
    struct strmap offsets;               /* hash of a sorted off-set -> config hash */
    struct kconfig_trial last;
    size_t builds, boots, cache_hits;
    void (*on_trial)(void *ud, const struct kconfig_oracle *o, char *const *off, size_t n_off);
    void *on_trial_ud;
};

/* Load the verdict cache from workdir and remember start_config (a resolved .config). */
int kconfig_oracle_open(struct kconfig_oracle *o, const char *start_config);
void kconfig_oracle_close(struct kconfig_oracle *o);
/* The kmin_oracle judge() callback (ud = struct kconfig_oracle *). */
int kconfig_oracle_judge(void *ud, char *const *off, size_t n_off, struct strvec *effective_off);
/* Resolve the config for off[] into objdir/.config (no build); hash it. */
int kconfig_oracle_resolve(struct kconfig_oracle *o, char *const *off, size_t n_off,
                           char hash[TINYX_SHA256_HEX]);

#endif
