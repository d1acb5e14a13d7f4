/* vmm_io.c: the monitor's I/O thread: one epoll over the fds that modules watch. */
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "launcher/vmm_core.h"
#include "tinyx/util.h"

struct watch {
    int fd;
    void (*fn)(struct launcher_vmm *v, void *ctx);
    void *ctx;
};

struct launcher_vmm_io {
    int epoll_fd;
    int wake_fd; /* written to stop the thread */
    bool running;
    pthread_t thread;
    sem_t started; /* posted by the thread once it is in its loop */
    size_t n_watches;
    /* Fixed, so an epoll event's pointer into it stays valid while more are added. */
    struct watch watches[LAUNCHER_VMM_MAX_WATCHES];
};

/* Tags the wake eventfd in epoll (watches carry pointers into the array). */
static char wake_tag;

static struct launcher_vmm_io *io_of(struct launcher_vmm *v)
{
    if (v->io)
        return v->io;
    struct launcher_vmm_io *io = tinyx_xcalloc(1, sizeof(*io));
    io->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    io->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &wake_tag};
    if (io->epoll_fd < 0 || io->wake_fd < 0 ||
        epoll_ctl(io->epoll_fd, EPOLL_CTL_ADD, io->wake_fd, &ev) < 0) {
        tinyx_errno("cannot set up the I/O thread's epoll");
        if (io->epoll_fd >= 0)
            close(io->epoll_fd);
        if (io->wake_fd >= 0)
            close(io->wake_fd);
        free(io);
        return NULL;
    }
    v->io = io;
    return io;
}

int launcher_vmm_watch(struct launcher_vmm *v, int fd,
                       void (*fn)(struct launcher_vmm *v, void *ctx), void *ctx)
{
    struct launcher_vmm_io *io = io_of(v);
    if (!io)
        return -1;
    if (io->n_watches == LAUNCHER_VMM_MAX_WATCHES)
        return tinyx_err("too many watched descriptors (at most %d)", LAUNCHER_VMM_MAX_WATCHES);
    struct watch *w = &io->watches[io->n_watches];
    *w = (struct watch){.fd = fd, .fn = fn, .ctx = ctx};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
    if (epoll_ctl(io->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return tinyx_errno("cannot watch descriptor %d", fd);
    io->n_watches++;
    return 0;
}

static void *io_thread(void *arg)
{
    struct launcher_vmm *v = arg;
    struct launcher_vmm_io *io = v->io;
    struct epoll_event events[16];
    sem_post(&io->started);
    for (;;) {
        int n = epoll_wait(io->epoll_fd, events, 16, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            launcher_vmm_stop(v, LAUNCHER_VMM_FAILED, 0, "the I/O thread failed: epoll_wait: %s",
                              strerror(errno));
            return NULL;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == &wake_tag)
                return NULL;
            struct watch *w = events[i].data.ptr;
            w->fn(v, w->ctx);
        }
    }
}

int launcher_vmm_io_start(struct launcher_vmm *v)
{
    struct launcher_vmm_io *io = v->io;
    if (!io || !io->n_watches)
        return 0; /* nothing to watch: no thread */
    /* Signals are the vCPU thread's business (they interrupt KVM_RUN); SIGSYS stays open so
     * a call the sandbox blocks here is reported, not a silent kill. */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSYS);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    sem_init(&io->started, 0, 0);
    int rc = pthread_create(&io->thread, NULL, io_thread, v);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        errno = rc;
        return tinyx_errno("cannot start the I/O thread");
    }
    io->running = true;
    /* The sandbox comes next: a thread still starting up (glibc registers rseq, with every
     * signal blocked) would be killed by it, so wait until it is in its loop. */
    while (sem_wait(&io->started) < 0 && errno == EINTR)
        ;
    return 0;
}

void launcher_vmm_io_stop(struct launcher_vmm *v)
{
    struct launcher_vmm_io *io = v->io;
    if (!io)
        return;
    if (io->running) {
        uint64_t one = 1;
        ssize_t w = write(io->wake_fd, &one, sizeof(one));
        (void)w;
        pthread_join(io->thread, NULL);
        sem_destroy(&io->started);
        io->running = false;
    }
    close(io->epoll_fd);
    close(io->wake_fd);
    free(io);
    v->io = NULL;
}
