/* test_elfdeps.c: ELF facts and library resolution inside a staged root (tinyx/elfdeps.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tinyx/elfdeps.h"
#include "tinyx/proc.h"
#include "tinyx/rootpath.h"
#include "tinyx/strvec.h"
#include "tinyx/util.h"

#define HOST_PROGRAM "/usr/bin/true"
#define HOST_LIBC    "/lib/x86_64-linux-gnu/libc.so.6"
#define HOST_LDSO    "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"

static char base[64];           /* temp folder of this file's tests */
static const char *skip_reason; /* host files missing */

/* ---- stderr capture ---- */

struct capture {
    int saved, fd;
    char path[64];
};

static void capture_start(struct capture *c)
{
    strcpy(c->path, "/tmp/tinyx-ut-stderr-XXXXXX");
    c->fd = mkstemp(c->path);
    assert_true(c->fd >= 0);
    fflush(stderr);
    c->saved = dup(STDERR_FILENO);
    assert_true(dup2(c->fd, STDERR_FILENO) >= 0);
}

static char *capture_stop(struct capture *c)
{
    fflush(stderr);
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    char *text = tinyx_read_file(c->path, NULL);
    close(c->fd);
    unlink(c->path);
    return text ? text : tinyx_xstrdup("");
}

/* ---- files ---- */

static void mkparent(const char *path)
{
    char *dir = tinyx_xstrdup(path);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(tinyx_mkdir_p(dir, 0755), 0);
    free(dir);
}

static char *put_file(const char *dir, const char *rel, const void *data, size_t len)
{
    char *p = tinyx_xasprintf("%s/%s", dir, rel);
    mkparent(p);
    assert_int_equal(tinyx_write_file_atomic(p, data, len, 0644), 0);
    return p;
}

static void put_text(const char *dir, const char *rel, const char *text)
{
    free(put_file(dir, rel, text, strlen(text)));
}

static void put_copy(const char *dir, const char *rel, const char *host)
{
    char *p = tinyx_xasprintf("%s/%s", dir, rel);
    mkparent(p);
    assert_int_equal(tinyx_copy_file(host, p, 0755), 0);
    free(p);
}

static void put_link(const char *dir, const char *rel, const char *target)
{
    char *p = tinyx_xasprintf("%s/%s", dir, rel);
    mkparent(p);
    assert_int_equal(symlink(target, p), 0);
    free(p);
}

/* A merged-/usr root with the host's libc and ld.so at their Debian paths. */
static char *make_root(const char *name)
{
    char *root = tinyx_xasprintf("%s/%s", base, name);
    put_copy(root, "usr/lib/x86_64-linux-gnu/libc.so.6", HOST_LIBC);
    put_copy(root, "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", HOST_LDSO);
    put_link(root, "lib", "usr/lib");
    put_link(root, "lib64", "usr/lib64");
    put_link(root, "usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    return root;
}

static int group_setup(void **state)
{
    (void)state;
    strcpy(base, "/tmp/tinyx-ut-elfdeps-XXXXXX");
    if (!mkdtemp(base))
        return -1;
    if (access(HOST_PROGRAM, R_OK) || access(HOST_LIBC, R_OK) || access(HOST_LDSO, R_OK))
        skip_reason = "the host lacks /usr/bin/true, libc.so.6 or ld.so at Debian's x86-64 paths";
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return tinyx_rm_rf(base);
}

#define SKIP_IF_HOST_UNFIT()                                                                       \
    do {                                                                                           \
        if (skip_reason) {                                                                         \
            printf("SKIP: %s\n", skip_reason);                                                     \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static void expect_list(const struct strvec *got, const char *const *want, const char *what)
{
    size_t n = 0;
    while (want[n])
        n++;
    if (got->n != n)
        fail_msg("%s: %zu entries, want %zu (first: %s)", what, got->n, n,
                 got->n ? got->v[0] : "-");
    for (size_t i = 0; i < n; i++)
        if (strcmp(got->v[i], want[i]) != 0)
            fail_msg("%s[%zu] = '%s', want '%s'", what, i, got->v[i], want[i]);
}

static const char *const none[] = {NULL};

/* ---- reading ELF facts ---- */

static void test_read_host_binaries(void **state)
{
    (void)state;
    SKIP_IF_HOST_UNFIT();
    struct tinyx_elf_info info;
    assert_int_equal(tinyx_elf_read(HOST_PROGRAM, &info), 0);
    assert_true(info.is_elf);
    assert_int_equal(info.elf_class, ELFCLASS64);
    assert_int_equal(info.machine, EM_X86_64);
    assert_true(info.dynamic);
    assert_string_equal(info.interp, "/lib64/ld-linux-x86-64.so.2");
    const char *libc[] = {"libc.so.6", NULL};
    expect_list(&info.needed, libc, "needed of true");
    expect_list(&info.rpath, none, "rpath of true");
    expect_list(&info.runpath, none, "runpath of true");
    tinyx_elf_info_free(&info);
    assert_null(info.interp);
    assert_int_equal(info.needed.n, 0);

    assert_int_equal(tinyx_elf_read(HOST_LIBC, &info), 0);
    assert_true(info.is_elf);
    const char *ld[] = {"ld-linux-x86-64.so.2", NULL};
    expect_list(&info.needed, ld, "needed of libc.so.6");
    tinyx_elf_info_free(&info);

    /* ld.so is static-pie: dynamic, but no interpreter and no needs. */
    assert_int_equal(tinyx_elf_read(HOST_LDSO, &info), 0);
    assert_true(info.is_elf);
    assert_true(info.dynamic);
    assert_null(info.interp);
    expect_list(&info.needed, none, "needed of ld.so");
    tinyx_elf_info_free(&info);
}

static void test_non_elf_files(void **state)
{
    (void)state;
    char *dir = tinyx_xasprintf("%s/nonelf", base);
    const char *cases[][2] = {
        {"script.sh", "#!/bin/sh\necho hi\n"},
        {"empty", ""},
        {"short", "\x7f"
                  "EL"},
        {"almost", "\x7f"
                   "ELG and more bytes after the bad magic"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = put_file(dir, cases[i][0], cases[i][1], strlen(cases[i][1]));
        struct tinyx_elf_info info;
        struct capture cap;
        capture_start(&cap);
        int rc = tinyx_elf_read(p, &info);
        char *err = capture_stop(&cap);
        if (rc != 0 || info.is_elf)
            fail_msg("%s: rc %d is_elf %d, want 0 and false", cases[i][0], rc, info.is_elf);
        assert_string_equal(err, "");
        assert_null(info.interp);
        assert_int_equal(info.needed.n, 0);
        tinyx_elf_info_free(&info);
        free(err);
        free(p);
    }
    /* A folder is not an ELF file either. */
    struct tinyx_elf_info info;
    assert_int_equal(tinyx_elf_read(dir, &info), 0);
    assert_false(info.is_elf);
    tinyx_elf_info_free(&info);
    free(dir);
}

/* Each truncated copy of the host program must be -1 with a one-line message naming it. */
static void expect_truncated_broken(const char *label, const size_t *sizes, size_t n_sizes)
{
    size_t len = 0;
    char *data = tinyx_read_file(HOST_PROGRAM, &len);
    assert_non_null(data);
    char *dir = tinyx_xasprintf("%s/%s", base, label);
    for (size_t i = 0; i < n_sizes; i++) {
        size_t size = sizes[i] ? sizes[i] : len / 2;
        if (size == (size_t)-1)
            size = len - 1;
        char name[32];
        snprintf(name, sizeof name, "true-%zu", size);
        char *p = put_file(dir, name, data, size);
        struct tinyx_elf_info info;
        struct capture cap;
        capture_start(&cap);
        int rc = tinyx_elf_read(p, &info);
        char *err = capture_stop(&cap);
        char *want = tinyx_xasprintf("tinyx: error: broken ELF file %s", p);
        char problem[1024] = "";
        if (rc != -1)
            snprintf(problem, sizeof problem,
                     "%s (%zu of %zu bytes): rc %d, want -1 (read: interp %s, %zu needed)", p, size,
                     len, rc, info.interp ? info.interp : "none", info.needed.n);
        else if (strncmp(err, want, strlen(want)) != 0 ||
                 strchr(err, '\n') != err + strlen(err) - 1)
            snprintf(problem, sizeof problem, "message '%s' is not one line starting with '%s'",
                     err, want);
        else if (!info.is_elf)
            snprintf(problem, sizeof problem, "%s: is_elf false", p);
        /* Free first: a failing check must not leave leaks for LeakSanitizer to report. */
        tinyx_elf_info_free(&info);
        free(want);
        free(err);
        free(p);
        if (problem[0]) {
            free(dir);
            free(data);
            fail_msg("%s", problem);
        }
    }
    free(dir);
    free(data);
}

static void test_truncated_elf_headers(void **state)
{
    (void)state;
    SKIP_IF_HOST_UNFIT();
    /* Magic only, ELF header only, inside the program headers. */
    const size_t sizes[] = {4, 64, 200};
    expect_truncated_broken("truncated-head", sizes, 3);
}

static void test_truncated_elf_tail(void **state)
{
    (void)state;
    SKIP_IF_HOST_UNFIT();
    /* BUG (tinyx/elfdeps.c:42-103, tinyx_elf_read): when the cut falls after the program
     * headers, libelf opens the file without its section header table (it sits at the end of
     * the file), elf_nextscn() finds no sections, and the function returns 0 with interp set
     * but no DT_NEEDED: half of /usr/bin/true, or all of it but its last byte, is read as a
     * valid program that needs no libc. Expected -1 "broken ELF file ..." (e.g. check
     * e_shoff + e_shnum * e_shentsize and every PT_LOAD/PT_DYNAMIC against the file size). */
    const size_t sizes[] = {0 /* half */, (size_t)-1 /* all but the last byte */};
    expect_truncated_broken("truncated-tail", sizes, 2);
}

static void test_needed_without_section_headers(void **state)
{
    (void)state;
    SKIP_IF_HOST_UNFIT();
    /* A program whose section header table was dropped (sstrip, some packers) still runs:
     * the kernel and ld.so only use program headers (PT_INTERP, PT_DYNAMIC). */
    size_t len = 0;
    char *data = tinyx_read_file(HOST_PROGRAM, &len);
    assert_non_null(data);
    assert_true(len > sizeof(Elf64_Ehdr));
    Elf64_Ehdr *eh = (Elf64_Ehdr *)data;
    eh->e_shoff = 0;
    eh->e_shnum = 0;
    eh->e_shentsize = 0;
    eh->e_shstrndx = 0;
    char *p = put_file(base, "no-sections/true", data, len);
    free(data);
    struct tinyx_elf_info info;
    int rc = tinyx_elf_read(p, &info);
    free(p);
    /* BUG (tinyx/elfdeps.c:70-103): DT_NEEDED is read from the SHT_DYNAMIC section, not from
     * the PT_DYNAMIC segment the loader uses, so this runnable program reads as needing
     * nothing and its libc would be left out of the image. Expected: dynamic, libc.so.6. */
    bool ok = rc == 0 && info.is_elf && info.interp &&
              !strcmp(info.interp, "/lib64/ld-linux-x86-64.so.2") && info.dynamic &&
              info.needed.n == 1 && !strcmp(info.needed.v[0], "libc.so.6");
    char problem[512];
    snprintf(problem, sizeof problem, "rc %d, is_elf %d, interp %s, dynamic %d, %zu needed (%s)",
             rc, info.is_elf, info.interp ? info.interp : "none", info.dynamic, info.needed.n,
             info.needed.n ? info.needed.v[0] : "-");
    tinyx_elf_info_free(&info);
    if (!ok)
        fail_msg("true without section headers: %s; want rc 0, interp "
                 "/lib64/ld-linux-x86-64.so.2, dynamic, needed libc.so.6",
                 problem);
}

/* ---- resolving needs in a root ---- */

static void test_needs_of_host_program(void **state)
{
    (void)state;
    SKIP_IF_HOST_UNFIT();
    char *root = make_root("needs");
    put_copy(root, "usr/bin/true", HOST_PROGRAM);
    put_text(root, "usr/bin/script", "#!/bin/sh\n");
    struct tinyx_elf_resolver r;
    tinyx_elf_resolver_init(&r, root, NULL);
    assert_int_equal(r.ld_library_path.n, 0);
    assert_int_equal(r.conf_dirs.n, 0);
    struct strvec needs = STRVEC_INIT, missing = STRVEC_INIT;
    assert_int_equal(tinyx_elf_needs(&r, "/usr/bin/true", &needs, &missing), 0);
    const char *want[] = {"/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6", NULL};
    expect_list(&needs, want, "needs of true");
    expect_list(&missing, none, "missing of true");
    tinyx_strvec_free(&needs);
    /* Not an ELF: nothing needed. */
    assert_int_equal(tinyx_elf_needs(&r, "/usr/bin/script", &needs, &missing), 0);
    expect_list(&needs, none, "needs of a script");
    tinyx_elf_resolver_free(&r);

    /* Without libc in the root it is reported missing (missing may also be NULL). */
    char *libc = tinyx_xasprintf("%s/usr/lib/x86_64-linux-gnu/libc.so.6", root);
    assert_int_equal(unlink(libc), 0);
    free(libc);
    tinyx_elf_resolver_init(&r, root, NULL);
    assert_int_equal(tinyx_elf_needs(&r, "/usr/bin/true", &needs, &missing), 0);
    const char *only_ld[] = {"/lib64/ld-linux-x86-64.so.2", NULL};
    expect_list(&needs, only_ld, "needs of true without libc");
    const char *miss[] = {"libc.so.6 (needed by /usr/bin/true)", NULL};
    expect_list(&missing, miss, "missing of true without libc");
    tinyx_strvec_free(&needs);
    assert_int_equal(tinyx_elf_needs(&r, "/usr/bin/true", &needs, NULL), 0);
    expect_list(&needs, only_ld, "needs of true, missing NULL");
    tinyx_strvec_free(&needs);
    tinyx_strvec_free(&missing);

    /* A broken ELF is -1. */
    size_t len = 0;
    char *data = tinyx_read_file(HOST_PROGRAM, &len);
    free(put_file(root, "usr/bin/broken", data, 200));
    free(data);
    struct capture cap;
    capture_start(&cap);
    int rc = tinyx_elf_needs(&r, "/usr/bin/broken", &needs, &missing);
    char *err = capture_stop(&cap);
    assert_int_equal(rc, -1);
    char *want_err = tinyx_xasprintf("tinyx: error: broken ELF file %s/usr/bin/broken", root);
    if (!strstr(err, want_err))
        fail_msg("stderr '%s' lacks '%s'", err, want_err);
    free(want_err);
    free(err);
    tinyx_strvec_free(&needs);
    tinyx_strvec_free(&missing);
    tinyx_elf_resolver_free(&r);
    free(root);
}

static void test_ld_so_conf_and_library_path(void **state)
{
    (void)state;
    char *root = tinyx_xasprintf("%s/conf", base);
    put_text(root, "etc/ld.so.conf",
             "include /etc/ld.so.conf.d/*.conf\n"
             "# a comment\n"
             "  /opt/conf1   # trailing comment\n"
             "relative/dirs/are/ignored\n"
             "\n");
    put_text(root, "etc/ld.so.conf.d/a.conf", "/opt/a\n");
    put_text(root, "etc/ld.so.conf.d/b.conf", "/opt/b\ninclude\t/etc/ld.so.conf.d/nested/*.conf\n");
    put_text(root, "etc/ld.so.conf.d/nested/c.conf", "/opt/c\n");
    put_text(root, "etc/ld.so.conf.d/ignored.txt", "/opt/not-a-conf\n");
    struct tinyx_elf_resolver r;
    tinyx_elf_resolver_init(&r, root, "/x::/y:");
    const char *conf[] = {"/opt/a", "/opt/b", "/opt/c", "/opt/conf1", NULL};
    expect_list(&r.conf_dirs, conf, "conf_dirs");
    const char *llp[] = {"/x", "/y", NULL};
    expect_list(&r.ld_library_path, llp, "ld_library_path");
    assert_string_equal(r.root, root);
    tinyx_elf_resolver_free(&r);
    assert_int_equal(r.conf_dirs.n, 0);
    free(root);
}

/* ---- RUNPATH, RPATH and $ORIGIN with programs compiled here ---- */

static bool have_gcc(void)
{
    if (tinyx_have_program("gcc"))
        return true;
    printf("SKIP: gcc is not installed (apt-get install gcc): RUNPATH/$ORIGIN tests skipped\n");
    return false;
}

/* Run gcc with args (NULL-terminated); fails the test with gcc's output on error. */
static void gcc(const char *const *args)
{
    struct strvec argv = STRVEC_INIT;
    tinyx_strvec_push(&argv, "gcc");
    for (size_t i = 0; args[i]; i++)
        tinyx_strvec_push(&argv, args[i]);
    char *log = tinyx_xasprintf("%s/gcc.log", base);
    unlink(log);
    struct tinyx_cmd cmd = {
        .argv = tinyx_strvec_argv(&argv), .log_path = log, .timeout_ms = 120000};
    int rc = tinyx_cmd_run(&cmd);
    if (rc != 0) {
        char *text = tinyx_read_file(log, NULL);
        fail_msg("gcc failed (%d): %s", rc, text ? text : "");
    }
    free(log);
    tinyx_strvec_free(&argv);
}

/* Compare a needed path after lexical normalisation ($ORIGIN/../lib stays unnormalised). */
static void expect_path(const char *got, const char *want)
{
    char *norm = tinyx_rootpath_normalize(got);
    if (strcmp(norm, want) != 0)
        fail_msg("path '%s' (normalised '%s'), want '%s'", got, norm, want);
    free(norm);
}

static void test_runpath_rpath_origin(void **state)
{
    (void)state;
    SKIP_IF_HOST_UNFIT();
    if (!have_gcc())
        skip();
    char *root = make_root("origin");
    char *src = tinyx_xasprintf("%s/src", base);
    put_text(src, "foo.c", "int foo(void) { return 42; }\n");
    put_text(src, "gone.c", "int gone(void) { return 1; }\n");
    put_text(src, "main.c", "int foo(void);\nint main(void) { return foo(); }\n");
    put_text(src, "main2.c", "int gone(void);\nint main(void) { return gone(); }\n");
    char *foo_c = tinyx_xasprintf("%s/foo.c", src), *gone_c = tinyx_xasprintf("%s/gone.c", src);
    char *main_c = tinyx_xasprintf("%s/main.c", src), *main2_c = tinyx_xasprintf("%s/main2.c", src);
    char *libfoo = tinyx_xasprintf("%s/opt/app/lib/libfoo.so.1", root);
    char *libgone = tinyx_xasprintf("%s/libgone.so", src);
    mkparent(libfoo);
    char *bin = tinyx_xasprintf("%s/opt/app/bin", root);
    assert_int_equal(tinyx_mkdir_p(bin, 0755), 0);
    char *app = tinyx_xasprintf("%s/app", bin), *app_braces = tinyx_xasprintf("%s/app-braces", bin);
    char *app_rpath = tinyx_xasprintf("%s/app-rpath", bin);
    char *app_plain = tinyx_xasprintf("%s/app-plain", bin);
    char *app_gone = tinyx_xasprintf("%s/app-gone", bin);

    const char *lib_args[] = {"-shared", "-fPIC", "-Wl,-soname,libfoo.so.1", "-o", libfoo,
                              foo_c,     NULL};
    gcc(lib_args);
    const char *gone_args[] = {"-shared", "-fPIC", "-Wl,-soname,libgone.so", "-o", libgone,
                               gone_c,    NULL};
    gcc(gone_args);
    const char *app_args[] = {
        "-o", app, main_c, libfoo, "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib", NULL};
    gcc(app_args);
    const char *braces_args[] = {
        "-o", app_braces, main_c, libfoo, "-Wl,--enable-new-dtags,-rpath,${ORIGIN}/../lib", NULL};
    gcc(braces_args);
    const char *rpath_args[] = {
        "-o", app_rpath, main_c, libfoo, "-Wl,--disable-new-dtags,-rpath,/opt/app/lib:/opt/second",
        NULL};
    gcc(rpath_args);
    const char *plain_args[] = {"-o", app_plain, main_c, libfoo, NULL};
    gcc(plain_args);
    const char *app_gone_args[] = {"-o", app_gone, main2_c, libgone, NULL};
    gcc(app_gone_args);

    /* What the linker wrote. */
    struct tinyx_elf_info info;
    assert_int_equal(tinyx_elf_read(app, &info), 0);
    const char *needed[] = {"libfoo.so.1", "libc.so.6", NULL};
    expect_list(&info.needed, needed, "needed of app");
    const char *origin[] = {"$ORIGIN/../lib", NULL};
    expect_list(&info.runpath, origin, "runpath of app");
    expect_list(&info.rpath, none, "rpath of app");
    tinyx_elf_info_free(&info);
    assert_int_equal(tinyx_elf_read(app_rpath, &info), 0);
    const char *rpath[] = {"/opt/app/lib", "/opt/second", NULL};
    expect_list(&info.rpath, rpath, "rpath of app-rpath");
    expect_list(&info.runpath, none, "runpath of app-rpath");
    tinyx_elf_info_free(&info);

    /* $ORIGIN and ${ORIGIN} resolve against the program's guest folder. */
    struct tinyx_elf_resolver r;
    tinyx_elf_resolver_init(&r, root, NULL);
    const char *progs[] = {"/opt/app/bin/app", "/opt/app/bin/app-braces", "/opt/app/bin/app-rpath"};
    for (size_t i = 0; i < 3; i++) {
        struct strvec needs = STRVEC_INIT, missing = STRVEC_INIT;
        assert_int_equal(tinyx_elf_needs(&r, progs[i], &needs, &missing), 0);
        if (needs.n != 3)
            fail_msg("%s: %zu needs, want 3", progs[i], needs.n);
        assert_string_equal(needs.v[0], "/lib64/ld-linux-x86-64.so.2");
        expect_path(needs.v[1], "/opt/app/lib/libfoo.so.1");
        assert_string_equal(needs.v[2], "/lib/x86_64-linux-gnu/libc.so.6");
        expect_list(&missing, none, progs[i]);
        tinyx_strvec_free(&needs);
        tinyx_strvec_free(&missing);
    }
    /* Without RUNPATH the library is not found where the program's folder has it. */
    struct strvec needs = STRVEC_INIT, missing = STRVEC_INIT;
    assert_int_equal(tinyx_elf_needs(&r, "/opt/app/bin/app-plain", &needs, &missing), 0);
    const char *plain_missing[] = {"libfoo.so.1 (needed by /opt/app/bin/app-plain)", NULL};
    expect_list(&missing, plain_missing, "missing of app-plain");
    tinyx_strvec_free(&needs);
    tinyx_strvec_free(&missing);
    assert_int_equal(tinyx_elf_needs(&r, "/opt/app/bin/app-gone", &needs, &missing), 0);
    const char *gone_missing[] = {"libgone.so (needed by /opt/app/bin/app-gone)", NULL};
    expect_list(&missing, gone_missing, "missing of app-gone");
    tinyx_strvec_free(&needs);
    tinyx_strvec_free(&missing);
    tinyx_elf_resolver_free(&r);

    /* LD_LIBRARY_PATH comes before RUNPATH but after RPATH; a non-ELF file of the right name
     * is passed over. */
    put_text(root, "opt/bogus/libfoo.so.1", "not a library\n");
    put_copy(root, "opt/override/libfoo.so.1", libfoo);
    tinyx_elf_resolver_init(&r, root, "/opt/bogus:/opt/override");
    assert_int_equal(tinyx_elf_needs(&r, "/opt/app/bin/app", &needs, NULL), 0);
    assert_int_equal(needs.n, 3);
    assert_string_equal(needs.v[1], "/opt/override/libfoo.so.1");
    tinyx_strvec_free(&needs);
    assert_int_equal(tinyx_elf_needs(&r, "/opt/app/bin/app-rpath", &needs, NULL), 0);
    assert_int_equal(needs.n, 3);
    assert_string_equal(needs.v[1], "/opt/app/lib/libfoo.so.1");
    tinyx_strvec_free(&needs);
    assert_int_equal(tinyx_elf_needs(&r, "/opt/app/bin/app-plain", &needs, NULL), 0);
    assert_int_equal(needs.n, 3);
    assert_string_equal(needs.v[1], "/opt/override/libfoo.so.1");
    tinyx_strvec_free(&needs);
    tinyx_elf_resolver_free(&r);

    /* ld.so.conf folders come before the default folders. */
    put_copy(root, "opt/conf/libfoo.so.1", libfoo);
    put_copy(root, "usr/lib/x86_64-linux-gnu/libfoo.so.1", libfoo);
    put_text(root, "etc/ld.so.conf", "/opt/conf\n");
    tinyx_elf_resolver_init(&r, root, NULL);
    assert_int_equal(tinyx_elf_needs(&r, "/opt/app/bin/app-plain", &needs, NULL), 0);
    assert_int_equal(needs.n, 3);
    assert_string_equal(needs.v[1], "/opt/conf/libfoo.so.1");
    tinyx_strvec_free(&needs);
    tinyx_elf_resolver_free(&r);

    free(app);
    free(app_braces);
    free(app_rpath);
    free(app_plain);
    free(app_gone);
    free(bin);
    free(libfoo);
    free(libgone);
    free(foo_c);
    free(gone_c);
    free(main_c);
    free(main2_c);
    free(src);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_host_binaries),
        cmocka_unit_test(test_non_elf_files),
        cmocka_unit_test(test_truncated_elf_headers),
        cmocka_unit_test(test_truncated_elf_tail),
        cmocka_unit_test(test_needed_without_section_headers),
        cmocka_unit_test(test_needs_of_host_program),
        cmocka_unit_test(test_ld_so_conf_and_library_path),
        cmocka_unit_test(test_runpath_rpath_origin),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
