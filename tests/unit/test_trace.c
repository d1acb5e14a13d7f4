/* test_trace.c: the file-access tracer on a tiny busybox root: paths, checks, isolation, kills. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tinyx/strvec.h"
#include "tinyx/trace.h"
#include "tinyx/util.h"

static char *skip_reason; /* non-NULL: this host cannot run these tests */
static char *root;        /* the tiny root */
static char *tmp_dir;     /* TMPDIR during the tests: must be empty after each trace */
static char *self_exe;    /* this binary, which is also the stand-in check program */
static bool have_probe;   /* the static probe program compiled into the root */

/* ---- a stand-in for `tinyx-launch check` (same contract): this binary run as
 *      test_trace check --check JSON --host H --timeout S ---------------------------------- */

static bool standin_try(const char *host, int port, const char *kind, const char *path, int status,
                        const char *expect)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    struct timeval tv = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    bool ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (ok && !strcmp(kind, "http")) {
        char req[512], resp[8192];
        int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host);
        ok = write(s, req, (size_t)n) == n;
        size_t got = 0;
        ssize_t r;
        while (ok && got < sizeof(resp) - 1 &&
               (r = read(s, resp + got, sizeof(resp) - 1 - got)) > 0)
            got += (size_t)r;
        resp[got] = '\0';
        char want[32];
        snprintf(want, sizeof(want), " %d", status);
        ok = ok && !strncmp(resp, "HTTP/1.", 7) && !strncmp(resp + 8, want, strlen(want)) &&
             (!expect || strstr(resp, expect));
    }
    close(s);
    return ok;
}

static int standin_check(int argc, char **argv)
{
    const char *check = NULL, *host = "127.0.0.1";
    unsigned timeout_s = 5;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--check"))
            check = argv[i + 1];
        else if (!strcmp(argv[i], "--host"))
            host = argv[i + 1];
        else if (!strcmp(argv[i], "--timeout"))
            timeout_s = (unsigned)atoi(argv[i + 1]);
    }
    json_t *j = check ? json_loads(check, 0, NULL) : NULL;
    if (!j) {
        fprintf(stderr, "stand-in check: bad --check\n");
        return 2;
    }
    const char *kind = json_string_value(json_object_get(j, "kind"));
    int port = (int)json_integer_value(json_object_get(j, "port"));
    const char *path = json_string_value(json_object_get(j, "path"));
    json_t *st = json_object_get(j, "status");
    const char *expect = json_string_value(json_object_get(j, "expect"));
    uint64_t deadline = tinyx_now_us() + timeout_s * 1000000ull;
    int rc = 5;
    do {
        if (standin_try(host, port, kind ? kind : "tcp", path ? path : "/",
                        st ? (int)json_integer_value(st) : 200, expect)) {
            rc = 0;
            break;
        }
        usleep(50000);
    } while (tinyx_now_us() < deadline);
    if (rc)
        fprintf(stderr, "stand-in check: %s port %d did not answer\n", kind, port);
    json_decref(j);
    return rc;
}

/* ---- the tiny root -------------------------------------------------------------------------- */

static bool is_static_elf(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    Elf64_Ehdr eh;
    bool ok = read(fd, &eh, sizeof(eh)) == (ssize_t)sizeof(eh) &&
              !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64;
    for (unsigned i = 0; ok && i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != sizeof(ph) ||
            ph.p_type == PT_INTERP)
            ok = false;
    }
    close(fd);
    return ok;
}

static void put(const char *rel, const char *text)
{
    char *p = tinyx_xasprintf("%s%s", root, rel);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    assert_int_equal(tinyx_mkdir_p(p, 0755), 0);
    *slash = '/';
    assert_int_equal(tinyx_write_file_atomic(p, text, strlen(text), 0644), 0);
    free(p);
}

/* Exercises what busybox cannot: dirfd-relative calls, a thread, a forked child that execs. */
static const char probe_src[] =
    "#include <fcntl.h>\n#include <pthread.h>\n#include <stdio.h>\n#include <sys/stat.h>\n"
    "#include <sys/wait.h>\n#include <unistd.h>\n"
    "static void *thread_main(void *a) { (void)a; access(\"/from-thread\", F_OK); return 0; }\n"
    "int main(void) {\n"
    "  int d = open(\"/data\", O_RDONLY | O_DIRECTORY);\n"
    "  struct stat st; fstatat(d, \"one\", &st, 0); fstat(d, &st);\n"
    "  faccessat(d, \"missing-at\", F_OK, 0);\n"
    "  pthread_t t; pthread_create(&t, 0, thread_main, 0); pthread_join(t, 0);\n"
    "  pid_t pid = fork();\n"
    "  if (pid == 0) { open(\"/from-child\", O_RDONLY);\n"
    "    char *argv[] = {\"busybox\", \"cat\", \"/etc/b\", 0}; char *env[] = {0};\n"
    "    execve(\"/bin/busybox\", argv, env); _exit(9); }\n"
    "  waitpid(pid, 0, 0);\n"
    "  char buf[64]; readlink(\"/etc/link-to-a\", buf, sizeof buf);\n"
    "  chdir(\"/srv\"); open(\"rel/../rel/file\", O_RDONLY);\n"
    "  printf(\"probe done\\n\"); return 0; }\n";

static void compile_probe(void)
{
    char *src = tinyx_xasprintf("%s/probe.c", tmp_dir);
    char *cmd =
        tinyx_xasprintf("cc -static -O1 -pthread -o %s/bin/probe %s 2>/dev/null", root, src);
    FILE *f = fopen(src, "w");
    if (f) {
        fputs(probe_src, f);
        fclose(f);
        have_probe = system(cmd) == 0;
    }
    unlink(src);
    free(src);
    free(cmd);
}

static int group_setup(void **state)
{
    (void)state;
    tinyx_verbosity = 0;
    if (tinyx_trace_available(&skip_reason) < 0)
        return 0;
    if (!is_static_elf("/bin/busybox")) {
        skip_reason = tinyx_xstrdup("needs a static /bin/busybox (apt-get install busybox-static)");
        return 0;
    }
    char templ[] = "/tmp/tinyx-test-trace-XXXXXX";
    assert_non_null(mkdtemp(templ));
    char *base = tinyx_xstrdup(templ);
    root = tinyx_xasprintf("%s/root", base);
    tmp_dir = tinyx_xasprintf("%s/tmp", base);
    free(base);
    assert_int_equal(tinyx_mkdir_p(tmp_dir, 0755), 0);
    setenv("TMPDIR", tmp_dir, 1);
    put("/etc/a", "alpha\n");
    put("/etc/b", "bravo\n");
    put("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n");
    put("/etc/group", "root:x:0:\nnogroup:x:65534:\n");
    put("/data/one", "1\n");
    put("/data/two", "2\n");
    put("/srv/rel/file", "relative\n");
    put("/www/index.html", "hello from busybox httpd\n");
    for (const char *d = "bin\0proc\0dev\0sys\0tmp\0"; *d; d += strlen(d) + 1) {
        char *p = tinyx_xasprintf("%s/%s", root, d);
        assert_int_equal(tinyx_mkdir_p(p, 0755), 0);
        free(p);
    }
    char *bb = tinyx_xasprintf("%s/bin/busybox", root);
    assert_int_equal(tinyx_copy_file("/bin/busybox", bb, 0755), 0);
    free(bb);
    char *link = tinyx_xasprintf("%s/etc/link-to-a", root);
    assert_int_equal(symlink("a", link), 0);
    free(link);
    self_exe = realpath("/proc/self/exe", NULL);
    compile_probe();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (root) {
        char *base = tinyx_xstrndup(root, strlen(root) - strlen("/root"));
        tinyx_rm_rf(base);
        free(base);
    }
    free(root);
    free(tmp_dir);
    free(self_exe);
    free(skip_reason);
    return 0;
}

#define SKIP_IF_UNAVAILABLE()                                                                      \
    do {                                                                                           \
        if (skip_reason) {                                                                         \
            printf("SKIP: %s\n", skip_reason);                                                     \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* A listing of the root (path, type, mode, size, mtime) to prove it was not modified. */
static struct strvec snapshot;
static int snap_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag;
    (void)ftw;
    tinyx_strvec_pushf(&snapshot, "%s %o %lld %lld.%09ld", path, (unsigned)st->st_mode,
                       (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
    return 0;
}

static char *root_listing(void)
{
    tinyx_strvec_free(&snapshot);
    assert_int_equal(nftw(root, snap_one, 16, FTW_PHYS), 0);
    tinyx_strvec_sort_unique(&snapshot);
    size_t len = 1;
    for (size_t i = 0; i < snapshot.n; i++)
        len += strlen(snapshot.v[i]) + 1;
    char *s = tinyx_xcalloc(1, len);
    for (size_t i = 0; i < snapshot.n; i++) {
        strcat(s, snapshot.v[i]);
        strcat(s, "\n");
    }
    tinyx_strvec_free(&snapshot);
    return s;
}

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    bool empty = true;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = false;
    closedir(d);
    return empty;
}

struct traced {
    int rc;
    struct strvec paths;
    char *output;
    uint64_t ms;
};

static char *default_env[] = {"PATH=/bin", "HOME=/", NULL};

static void run_spec(struct tinyx_trace_spec *spec, struct traced *t)
{
    memset(t, 0, sizeof(*t));
    spec->root = root;
    if (!spec->envp)
        spec->envp = default_env;
    if (!spec->timeout_ms)
        spec->timeout_ms = 10000;
    uint64_t t0 = tinyx_now_us();
    t->rc = tinyx_trace_run(spec, &t->paths, &t->output);
    t->ms = (tinyx_now_us() - t0) / 1000;
    assert_non_null(t->output);
    /* Every trace cleans up after itself. */
    assert_true(dir_is_empty(tmp_dir));
    /* Paths are absolute guest paths, sorted, unique, never host paths of the overlay. */
    for (size_t i = 0; i < t->paths.n; i++) {
        assert_true(t->paths.v[i][0] == '/');
        assert_null(strstr(t->paths.v[i], "tinyx-trace-"));
        if (i)
            assert_true(strcmp(t->paths.v[i - 1], t->paths.v[i]) < 0);
    }
}

static void traced_free(struct traced *t)
{
    tinyx_strvec_free(&t->paths);
    free(t->output);
}

static void assert_has_path(const struct traced *t, const char *path)
{
    if (!tinyx_strvec_contains(&t->paths, path)) {
        fprintf(stderr, "missing path %s; recorded:\n", path);
        for (size_t i = 0; i < t->paths.n; i++)
            fprintf(stderr, "  %s\n", t->paths.v[i]);
        fail();
    }
}

/* ---- the tests ------------------------------------------------------------------------------ */

static void test_cat_absolute_path(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    char *argv[] = {"/bin/busybox", "cat", "/etc/a", NULL};
    struct tinyx_trace_spec spec = {.argv = argv, .expect_output = "alpha"};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_OK);
    assert_string_equal(t.output, "alpha\n");
    assert_has_path(&t, "/bin/busybox");
    assert_has_path(&t, "/etc/a");
    for (size_t i = 0; i < t.paths.n; i++) /* nothing else but kernel interfaces */
        assert_true(!strcmp(t.paths.v[i], "/bin/busybox") || !strcmp(t.paths.v[i], "/etc/a") ||
                    tinyx_str_starts(t.paths.v[i], "/proc/") ||
                    tinyx_str_starts(t.paths.v[i], "/dev/"));
    traced_free(&t);
}

static void test_shell_relative_and_missing_paths(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    char *before = root_listing();
    char *argv[] = {"/bin/busybox", "sh", "-c",
                    "ls /data; stat /etc/b >/dev/null; cat rel/file; cat /no/such/file; "
                    "cd /etc && cat ./a ../data/two; echo x > /etc/new; mkdir /newdir; "
                    "rm /etc/b; touch /data/one; true",
                    NULL};
    struct tinyx_trace_spec spec = {.argv = argv, .cwd = "/srv"};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_OK);
    assert_non_null(strstr(t.output, "one\ntwo\n"));
    assert_non_null(strstr(t.output, "relative\n"));
    assert_non_null(strstr(t.output, "No such file"));
    assert_has_path(&t, "/data");         /* opendir */
    assert_has_path(&t, "/etc/b");        /* stat, rm */
    assert_has_path(&t, "/srv/rel/file"); /* relative to the cwd */
    assert_has_path(&t, "/no/such/file"); /* did not exist */
    assert_has_path(&t, "/etc");          /* chdir, and the folder "../" leaves */
    assert_has_path(&t, "/etc/a");        /* "./a" after cd */
    assert_has_path(&t, "/data/two");     /* "../data/two" from /etc */
    assert_has_path(&t, "/etc/new");      /* created (in the overlay only) */
    assert_has_path(&t, "/newdir");
    /* The staged root is untouched: no new, removed or changed files. */
    char *after = root_listing();
    assert_string_equal(before, after);
    free(before);
    free(after);
    traced_free(&t);
}

static void test_dirfd_threads_and_children(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    if (!have_probe) {
        printf("SKIP: cannot build the static probe (cc -static with glibc's libc.a)\n");
        skip();
    }
    char *argv[] = {"/bin/probe", NULL};
    struct tinyx_trace_spec spec = {.argv = argv, .expect_output = "probe done"};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_OK);
    assert_non_null(strstr(t.output, "bravo\n")); /* the child's exec'd cat */
    assert_has_path(&t, "/bin/probe");
    assert_has_path(&t, "/data/one");        /* fstatat(dirfd, "one") */
    assert_has_path(&t, "/data/missing-at"); /* faccessat(dirfd, ...) of a missing file */
    assert_has_path(&t, "/from-thread");     /* a thread */
    assert_has_path(&t, "/from-child");      /* a forked child */
    assert_has_path(&t, "/etc/b");           /* ... which then exec'd busybox */
    assert_has_path(&t, "/bin/busybox");
    assert_has_path(&t, "/etc/link-to-a"); /* readlink: the link itself */
    assert_has_path(&t, "/srv/rel");       /* the folder "rel/../" steps out of */
    assert_has_path(&t, "/srv/rel/file");
    assert_false(tinyx_strvec_contains(&t.paths, "/data/")); /* fstat names nothing */
    traced_free(&t);
}

static void test_identity_environment_and_network(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    char *argv[] = {"/bin/busybox", "sh", "-c",
                    "id -u; id -g; env; pwd; cat /proc/net/dev | wc -l; ls /dev", NULL};
    char *env[] = {"PATH=/bin", "ONLY=this", NULL};
    gid_t groups[] = {65534};
    struct tinyx_trace_spec spec = {.argv = argv,
                                    .envp = env,
                                    .cwd = "/tmp",
                                    .uid = 65534,
                                    .gid = 65534,
                                    .groups = groups,
                                    .n_groups = 1};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_OK);
    /* busybox sh adds PWD, SHLVL and the like to env; ONLY must be there, nothing of ours */
    assert_non_null(strstr(t.output, "65534\n65534\n"));
    assert_non_null(strstr(t.output, "ONLY=this\n"));
    assert_null(strstr(t.output, "TMPDIR="));
    assert_non_null(strstr(t.output, "/tmp\n"));
    assert_non_null(strstr(t.output, "\n3\n")); /* /proc/net/dev: 2 header lines + lo only */
    assert_non_null(strstr(t.output, "urandom"));
    traced_free(&t);
}

static void test_output_check_fails(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    char *argv[] = {"/bin/busybox", "echo", "hello", NULL};
    struct tinyx_trace_spec spec = {.argv = argv, .expect_output = "goodbye"};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_CHECK_FAILED);
    assert_string_equal(t.output, "hello\n");
    traced_free(&t);
}

static void test_output_check_from_json(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    char *argv[] = {"/bin/busybox", "echo", "ready now", NULL};
    struct tinyx_trace_spec spec = {.argv = argv,
                                    .check_json = "{\"kind\": \"output\", \"expect\": \"ready\"}"};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_OK);
    traced_free(&t);
}

static void server_check(const char *check_json, const char *launcher)
{
    char *argv[] = {"/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www", NULL};
    struct tinyx_trace_spec spec = {.argv = argv, .check_json = check_json, .launcher = launcher};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_OK);
    assert_true(t.ms < 5000);
    assert_has_path(&t, "/bin/busybox");
    traced_free(&t);
}

static void test_server_check_http(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    /* The request the check makes is served while traced: the page is recorded. */
    char *argv[] = {"/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www", NULL};
    struct tinyx_trace_spec spec = {
        .argv = argv,
        .check_json = "{\"kind\":\"http\",\"port\":8080,\"path\":\"/index.html\",\"status\":200,"
                      "\"expect\":\"hello from busybox\"}",
        .launcher = self_exe};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_OK);
    assert_true(t.ms < 5000);
    assert_has_path(&t, "/www/index.html");
    traced_free(&t);
}

static void test_server_check_tcp(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    server_check("{\"kind\":\"tcp\",\"port\":8080}", self_exe);
}

static void test_server_check_real_launcher(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    char *launcher = tinyx_xasprintf("%s/../bin/tinyx-launch", tinyx_self_dir());
    char *cmd = tinyx_xasprintf("%s check --help >/dev/null 2>&1", launcher);
    bool usable = access(launcher, X_OK) == 0 && system(cmd) == 0;
    free(cmd);
    if (!usable) {
        free(launcher);
        printf("SKIP: no usable tinyx-launch check beside this test\n");
        skip();
    }
    server_check("{\"kind\":\"http\",\"port\":8080,\"path\":\"/index.html\",\"status\":200}",
                 launcher);
    free(launcher);
}

static void test_exits_before_server_check(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    char *argv[] = {"/bin/busybox", "sh", "-c", "echo bye; exit 3", NULL};
    struct tinyx_trace_spec spec = {
        .argv = argv, .check_json = "{\"kind\":\"tcp\",\"port\":9}", .launcher = self_exe};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_EXITED_EARLY);
    assert_string_equal(t.output, "bye\n");
    traced_free(&t);
}

static void test_exit_status_without_check(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    char *argv[] = {"/bin/busybox", "false", NULL};
    struct tinyx_trace_spec spec = {.argv = argv};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_EXITED_EARLY);
    traced_free(&t);
}

static void test_timeout(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    char *argv[] = {"/bin/busybox", "sleep", "30", NULL};
    struct tinyx_trace_spec spec = {.argv = argv, .expect_output = "never", .timeout_ms = 500};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_TIMEOUT);
    assert_true(t.ms >= 500 && t.ms < 3000);
    traced_free(&t);
}

static void test_server_check_never_passes(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    char *argv[] = {"/bin/busybox", "sleep", "30", NULL};
    struct tinyx_trace_spec spec = {.argv = argv,
                                    .check_json = "{\"kind\":\"tcp\",\"port\":9999}",
                                    .launcher = self_exe,
                                    .timeout_ms = 1000};
    struct traced t;
    run_spec(&spec, &t);
    assert_true(t.rc == TINYX_TRACE_CHECK_FAILED || t.rc == TINYX_TRACE_TIMEOUT);
    assert_true(t.ms < 4000);
    traced_free(&t);
}

/* True if some process runs busybox with this argument (a sleep we started). */
static bool sleeper_alive(const char *arg)
{
    DIR *d = opendir("/proc");
    assert_non_null(d);
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char *p = tinyx_xasprintf("/proc/%s/cmdline", e->d_name);
        size_t len = 0;
        char *cmd = tinyx_read_file(p, &len);
        free(p);
        if (!cmd)
            continue;
        bool is_sleep = false;
        for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
            if (!strcmp(cmd + i, "sleep"))
                is_sleep = true;
        for (size_t i = 0; is_sleep && i < len; i += strlen(cmd + i) + 1)
            if (!strcmp(cmd + i, arg))
                found = true;
        free(cmd);
    }
    closedir(d);
    return found;
}

static void test_descendants_are_killed(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    /* Background children, an orphaned grandchild, and a shell ignoring SIGTERM. The sleep
     * lengths are unique to this test process, so that another run does not confuse us. */
    char arg[3][16];
    for (int i = 0; i < 3; i++)
        snprintf(arg[i], sizeof(arg[i]), "%d", 100000 + (int)getpid() * 3 + i);
    char *script = tinyx_xasprintf("trap '' TERM; busybox sleep %s & (busybox sleep %s &); "
                                   "echo started; busybox sleep %s",
                                   arg[0], arg[1], arg[2]);
    char *argv[] = {"/bin/busybox", "sh", "-c", script, NULL};
    struct tinyx_trace_spec spec = {.argv = argv, .expect_output = "started"};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_OK);
    for (int i = 0; i < 3; i++)
        assert_false(sleeper_alive(arg[i]));
    free(script);
    traced_free(&t);
}

static void test_exec_failed(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    char *argv[] = {"/bin/no-such-program", NULL};
    struct tinyx_trace_spec spec = {.argv = argv};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_EXEC_FAILED);
    assert_has_path(&t, "/bin/no-such-program");
    traced_free(&t);
}

static void test_bad_specs(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    char *argv[] = {"/bin/busybox", "true", NULL};
    struct tinyx_trace_spec spec = {.argv = argv, .cwd = "/no/such/folder"};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_SETUP_FAILED);
    traced_free(&t);

    char *relative[] = {"busybox", "true", NULL};
    struct tinyx_trace_spec spec2 = {.argv = relative};
    run_spec(&spec2, &t);
    assert_int_equal(t.rc, TINYX_TRACE_SETUP_FAILED);
    traced_free(&t);

    struct tinyx_trace_spec spec3 = {
        .argv = argv, .check_json = "{\"kind\":\"http\",\"port\":80}", .launcher = "/nope"};
    run_spec(&spec3, &t);
    assert_int_equal(t.rc, TINYX_TRACE_SETUP_FAILED);
    traced_free(&t);

    struct tinyx_trace_spec spec4 = {.argv = argv, .check_json = "{\"kind\":\"smoke\"}"};
    run_spec(&spec4, &t);
    assert_int_equal(t.rc, TINYX_TRACE_SETUP_FAILED);
    traced_free(&t);
}

static void test_script_and_elf_interpreters(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    /* The kernel opens "#!" programs and ELF interpreters itself: they are recorded too. */
    put("/srv/script", "#!/bin/busybox sh\necho from script\n");
    char *script = tinyx_xasprintf("%s/srv/script", root);
    assert_int_equal(chmod(script, 0755), 0);
    free(script);
    char *argv[] = {"/srv/script", NULL};
    struct tinyx_trace_spec spec = {.argv = argv, .expect_output = "from script"};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_OK);
    assert_has_path(&t, "/srv/script");
    assert_has_path(&t, "/bin/busybox");
    traced_free(&t);

    /* A dynamic ELF whose interpreter is missing: exec fails, the interpreter is recorded. */
    static const char interp[] = "/lib/ld-missing.so.2";
    unsigned char elf[256];
    memset(elf, 0, sizeof(elf));
    Elf64_Ehdr eh = {.e_type = ET_EXEC,
                     .e_machine = EM_X86_64,
                     .e_version = EV_CURRENT,
                     .e_entry = 0x400000,
                     .e_phoff = sizeof(Elf64_Ehdr),
                     .e_ehsize = sizeof(Elf64_Ehdr),
                     .e_phentsize = sizeof(Elf64_Phdr),
                     .e_phnum = 2};
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    size_t interp_off = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
    Elf64_Phdr ph[2] = {{.p_type = PT_INTERP,
                         .p_flags = PF_R,
                         .p_offset = interp_off,
                         .p_filesz = sizeof(interp),
                         .p_memsz = sizeof(interp),
                         .p_align = 1},
                        {.p_type = PT_LOAD,
                         .p_flags = PF_R | PF_X,
                         .p_vaddr = 0x400000,
                         .p_paddr = 0x400000,
                         .p_filesz = sizeof(elf),
                         .p_memsz = sizeof(elf),
                         .p_align = 0x1000}};
    memcpy(elf, &eh, sizeof(eh));
    memcpy(elf + sizeof(eh), ph, sizeof(ph));
    memcpy(elf + interp_off, interp, sizeof(interp));
    char *prog = tinyx_xasprintf("%s/bin/dynamic", root);
    assert_int_equal(tinyx_write_file_atomic(prog, elf, sizeof(elf), 0755), 0);
    free(prog);
    char *argv2[] = {"/bin/dynamic", NULL};
    struct tinyx_trace_spec spec2 = {.argv = argv2};
    run_spec(&spec2, &t);
    assert_int_equal(t.rc, TINYX_TRACE_EXEC_FAILED);
    assert_has_path(&t, "/bin/dynamic");
    assert_has_path(&t, interp);
    traced_free(&t);
}

static void test_idle_app_without_check(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    /* No check: a running app that stopped touching files counts as started. */
    char *argv[] = {"/bin/busybox", "sleep", "30", NULL};
    struct tinyx_trace_spec spec = {.argv = argv, .timeout_ms = 20000};
    struct traced t;
    run_spec(&spec, &t);
    assert_int_equal(t.rc, TINYX_TRACE_OK);
    assert_true(t.ms >= 2500 && t.ms < 6000);
    traced_free(&t);
}

static void test_messages_carry_output_when_not_taken(void **state)
{
    (void)state;
    SKIP_IF_UNAVAILABLE();
    char *argv[] = {"/bin/busybox", "sh", "-c", "echo oops-from-app; exit 4", NULL};
    struct tinyx_trace_spec spec = {.root = root, .argv = argv, .envp = default_env};
    fflush(stderr);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(tmp), STDERR_FILENO);
    int rc = tinyx_trace_run(&spec, NULL, NULL);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char text[4096] = "";
    rewind(tmp);
    size_t n = fread(text, 1, sizeof(text) - 1, tmp);
    text[n] = '\0';
    fclose(tmp);
    assert_int_equal(rc, TINYX_TRACE_EXITED_EARLY);
    assert_non_null(strstr(text, "exited with status 4"));
    assert_non_null(strstr(text, "oops-from-app"));
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "check"))
        return standin_check(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cat_absolute_path),
        cmocka_unit_test(test_shell_relative_and_missing_paths),
        cmocka_unit_test(test_dirfd_threads_and_children),
        cmocka_unit_test(test_identity_environment_and_network),
        cmocka_unit_test(test_output_check_fails),
        cmocka_unit_test(test_output_check_from_json),
        cmocka_unit_test(test_server_check_http),
        cmocka_unit_test(test_server_check_tcp),
        cmocka_unit_test(test_server_check_real_launcher),
        cmocka_unit_test(test_exits_before_server_check),
        cmocka_unit_test(test_exit_status_without_check),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_server_check_never_passes),
        cmocka_unit_test(test_descendants_are_killed),
        cmocka_unit_test(test_exec_failed),
        cmocka_unit_test(test_script_and_elf_interpreters),
        cmocka_unit_test(test_idle_app_without_check),
        cmocka_unit_test(test_messages_carry_output_when_not_taken),
        cmocka_unit_test(test_bad_specs),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
