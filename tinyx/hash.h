/* hash.h: SHA-256 of buffers and files (cache keys, manifest hashes), via OpenSSL. */
#ifndef TINYX_HASH_H
#define TINYX_HASH_H

#include <stddef.h>

#define TINYX_SHA256_HEX 65 /* 64 hex digits + NUL */

struct tinyx_hash;
struct tinyx_hash *tinyx_hash_new(void);
void tinyx_hash_update(struct tinyx_hash *h, const void *data, size_t len);
/* Add a string followed by a NUL, so ("ab","c") and ("a","bc") differ. */
void tinyx_hash_str(struct tinyx_hash *h, const char *s);
/* Finish into hex (TINYX_SHA256_HEX bytes) and free h. */
void tinyx_hash_final(struct tinyx_hash *h, char hex[TINYX_SHA256_HEX]);

void tinyx_sha256_buf(const void *data, size_t len, char hex[TINYX_SHA256_HEX]);
/* -1 with a message if the file cannot be read. */
int tinyx_sha256_file(const char *path, char hex[TINYX_SHA256_HEX]);

#endif
