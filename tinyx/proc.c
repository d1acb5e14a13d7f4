/* proc.c: spawn and wait for helper programs; interruption flag and cleanup-on-failure list. */
#include "tinyx/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tinyx/strvec.h"
#include "tinyx/util.h"

extern char **environ;

static volatile sig_atomic_t interrupted;
static volatile pid_t current_child;
static struct strvec cleanup_paths;

static void on_signal(int sig)
{
    interrupted = sig;
    pid_t c = current_child;
    if (c > 0)
        kill(c, SIGTERM);
}

void tinyx_interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

bool tinyx_interrupted(void)
{
    return interrupted != 0;
}

void tinyx_cleanup_add(const char *path)
{
    tinyx_strvec_push(&cleanup_paths, path);
}

void tinyx_cleanup_remove(const char *path)
{
    for (size_t i = 0; i < cleanup_paths.n; i++) {
        if (!strcmp(cleanup_paths.v[i], path)) {
            free(cleanup_paths.v[i]);
            memmove(&cleanup_paths.v[i], &cleanup_paths.v[i + 1],
                    (cleanup_paths.n - i) * sizeof(char *));
            cleanup_paths.n--;
            return;
        }
    }
}

void tinyx_cleanup_run(void)
{
    /* Newest first: an inner temp folder goes before the folder holding it. */
    for (size_t i = cleanup_paths.n; i-- > 0;)
        tinyx_rm_rf(cleanup_paths.v[i]);
    tinyx_strvec_free(&cleanup_paths);
}

void tinyx_env_without(const char *const *prefixes, struct strvec *env)
{
    for (char **e = environ; *e; e++) {
        bool skip = false;
        for (size_t i = 0; prefixes[i] && !skip; i++)
            skip = tinyx_str_starts(*e, prefixes[i]);
        if (!skip)
            tinyx_strvec_push(env, *e);
    }
}

bool tinyx_have_program(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    char *copy = tinyx_xstrdup(path), *save = NULL;
    bool found = false;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *p = tinyx_xasprintf("%s/%s", d, name);
        found = access(p, X_OK) == 0;
        free(p);
    }
    free(copy);
    return found;
}

int tinyx_cmd_run(const struct tinyx_cmd *cmd)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int pipefd[2] = {-1, -1};
    int logfd = -1;
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (cmd->log_path) {
        logfd = open(cmd->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (logfd < 0) {
            posix_spawn_file_actions_destroy(&fa);
            tinyx_errno("cannot open log %s", cmd->log_path);
            return TINYX_CMD_SPAWN_FAILED;
        }
        posix_spawn_file_actions_adddup2(&fa, logfd, STDERR_FILENO);
        if (!cmd->out)
            posix_spawn_file_actions_adddup2(&fa, logfd, STDOUT_FILENO);
    }
    if (cmd->out) {
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
            posix_spawn_file_actions_destroy(&fa);
            if (logfd >= 0)
                close(logfd);
            tinyx_errno("pipe");
            return TINYX_CMD_SPAWN_FAILED;
        }
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
    }
    if (cmd->cwd)
        posix_spawn_file_actions_addchdir_np(&fa, cmd->cwd);

    /* The child gets default signal handling and an empty mask. */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGHUP);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    pid_t pid;
    sigset_t old;
    sigprocmask(SIG_BLOCK, &all, &old);
    int rc =
        posix_spawnp(&pid, cmd->argv[0], &fa, &attr, cmd->argv, cmd->envp ? cmd->envp : environ);
    if (rc == 0)
        current_child = pid;
    sigprocmask(SIG_SETMASK, &old, NULL);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (logfd >= 0)
        close(logfd);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (rc != 0) {
        if (pipefd[0] >= 0)
            close(pipefd[0]);
        errno = rc;
        tinyx_errno("cannot run %s", cmd->argv[0]);
        return TINYX_CMD_SPAWN_FAILED;
    }

    uint64_t deadline = cmd->timeout_ms ? tinyx_now_us() + cmd->timeout_ms * 1000ull : 0;
    bool timed_out = false;
    size_t cap = 0, len = 0;
    char *buf = NULL;
    if (cmd->out) {
        cap = 4096;
        buf = tinyx_xmalloc(cap);
        for (;;) {
            int wait_ms = -1;
            if (deadline) {
                uint64_t now = tinyx_now_us();
                if (now >= deadline) {
                    timed_out = true;
                    break;
                }
                wait_ms = (int)((deadline - now) / 1000) + 1;
            }
            struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
            int pr = poll(&p, 1, wait_ms);
            if (pr < 0 && errno == EINTR)
                continue;
            if (pr == 0)
                continue;
            if (len + 4096 > cap) {
                cap *= 2;
                buf = tinyx_xrealloc(buf, cap);
            }
            ssize_t r = read(pipefd[0], buf + len, cap - len - 1);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            len += (size_t)r;
        }
        close(pipefd[0]);
        buf[len] = '\0';
    }

    int status = 0;
    for (;;) {
        if (timed_out)
            kill(pid, SIGKILL);
        pid_t w = waitpid(pid, &status, deadline && !timed_out ? WNOHANG : 0);
        if (w == pid)
            break;
        if (w < 0 && errno == EINTR)
            continue;
        if (w == 0) {
            if (tinyx_now_us() >= deadline)
                timed_out = true;
            else
                usleep(2000);
            continue;
        }
        status = 0;
        break;
    }
    current_child = 0;
    if (cmd->out) {
        *cmd->out = buf;
        if (cmd->out_len)
            *cmd->out_len = len;
    }
    if (timed_out)
        return TINYX_CMD_TIMED_OUT;
    if (interrupted)
        return TINYX_CMD_INTERRUPTED;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return TINYX_CMD_SPAWN_FAILED;
}

int tinyx_run_argv(char *const *argv)
{
    struct tinyx_cmd c = {.argv = argv};
    return tinyx_cmd_run(&c);
}
