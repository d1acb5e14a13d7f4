/* hash.c: SHA-256 helpers over OpenSSL's EVP interface. */
#include "tinyx/hash.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tinyx/util.h"

struct tinyx_hash {
    EVP_MD_CTX *ctx;
};

struct tinyx_hash *tinyx_hash_new(void)
{
    struct tinyx_hash *h = tinyx_xmalloc(sizeof(*h));
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        tinyx_err("OpenSSL cannot initialise SHA-256");
        abort();
    }
    return h;
}

void tinyx_hash_update(struct tinyx_hash *h, const void *data, size_t len)
{
    EVP_DigestUpdate(h->ctx, data, len);
}

void tinyx_hash_str(struct tinyx_hash *h, const char *s)
{
    EVP_DigestUpdate(h->ctx, s, strlen(s) + 1);
}

void tinyx_hash_final(struct tinyx_hash *h, char hex[TINYX_SHA256_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, md, &n);
    for (unsigned i = 0; i < n && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[64] = '\0';
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void tinyx_sha256_buf(const void *data, size_t len, char hex[TINYX_SHA256_HEX])
{
    struct tinyx_hash *h = tinyx_hash_new();
    tinyx_hash_update(h, data, len);
    tinyx_hash_final(h, hex);
}

int tinyx_sha256_file(const char *path, char hex[TINYX_SHA256_HEX])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tinyx_errno("cannot read %s", path);
    struct tinyx_hash *h = tinyx_hash_new();
    char buf[65536];
    ssize_t r;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        tinyx_hash_update(h, buf, (size_t)r);
    int e = r < 0 ? -1 : 0;
    close(fd);
    tinyx_hash_final(h, hex);
    if (e < 0)
        return tinyx_errno("cannot read %s", path);
    return 0;
}
