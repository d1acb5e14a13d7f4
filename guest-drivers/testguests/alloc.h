/* alloc.h: a bump allocator over the guest's free RAM (nothing is ever freed). */
#ifndef TG_ALLOC_H
#define TG_ALLOC_H

#include <stddef.h>

/* size bytes aligned to align (a power of two), zeroed. Ends the guest with TG_EXIT_NOMEM
 * when RAM runs out, so callers need no check. Guest-physical == virtual (identity map). */
void *tg_alloc(size_t size, size_t align);

/* The same, not zeroed: for data buffers the device or the program fills. Zeroing costs a
 * microsecond per byte where KVM emulates the guest's kernel mode (kvm_pvm). */
void *tg_alloc_buffer(size_t size, size_t align);

#endif
