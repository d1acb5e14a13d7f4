/* mem.h: the few C memory and string functions the guests use (and GCC may call on its own). */
#ifndef TG_MEM_H
#define TG_MEM_H

#include <stddef.h>

/* Standard names on purpose: GCC emits calls to memcpy, memset and memcmp even in
 * freestanding code (struct copies, zeroing), so these must exist under them. */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
