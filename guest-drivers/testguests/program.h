/* program.h: what each test guest (noop.c, hello.c, net.c, blk.c) defines. */
#ifndef TG_PROGRAM_H
#define TG_PROGRAM_H

/* Called by entry.c with nothing set up; returns the exit status (power.h). */
int tg_main(void);

/* Install the exception handlers and check the PVH start_info (ends the guest with a message
 * when there is none). Every program but noop calls it first. */
void tg_runtime_init(void);

#endif
