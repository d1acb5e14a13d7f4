/* ready.c: the container peer's program (bench_scale.sh): the container counterpart of the
 * idle test guest's boot-timer byte: write one byte to descriptor 3 (passed in by
 * `runc run --preserve-fds 1`), then exit 0. Static, no libc start-up beyond musl's. */
#include <unistd.h>

int main(void)
{
    const char ready = 123; /* BOOT_ABI_TIMER_READY, as the guests write it */
    return write(3, &ready, 1) == 1 ? 0 : 1;
}
