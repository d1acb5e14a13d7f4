/* init_cmdline.c: parses the kernel command line: tinyx.* parameters and module options. */
#include "initramfs/init_cmdline.h"
#include "initramfs/boot_abi.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '\0';
}

/* The next word of buf from *pos into word (NUL-terminated). Whitespace separates words unless
 * inside double quotes; the quotes themselves are dropped (the kernel's next_arg does the
 * same). Returns 1 for a word, 0 at the end, -1 if the word does not fit. */
static int next_word(const char *buf, size_t len, size_t *pos, char *word, size_t size)
{
    size_t p = *pos, w = 0;
    bool quoted = false;
    while (p < len && is_blank(buf[p]))
        p++;
    if (p >= len)
        return 0;
    for (; p < len && (quoted || !is_blank(buf[p])); p++) {
        if (buf[p] == '"') {
            quoted = !quoted;
            continue;
        }
        if (w + 1 >= size)
            return -1;
        word[w++] = buf[p];
    }
    word[w] = '\0';
    *pos = p;
    return 1;
}

/* Does the word's key (key_len bytes) equal a boot_abi.h parameter ("tinyx.ip=")? */
static bool key_is(const char *word, size_t key_len, const char *param)
{
    size_t n = strlen(param);
    if (n && param[n - 1] == '=')
        n--;
    return n == key_len && memcmp(word, param, n) == 0;
}

static bool parse_ipv4(const char *s, size_t n, struct in_addr *out)
{
    char b[INET_ADDRSTRLEN];
    if (n == 0 || n >= sizeof b)
        return false;
    memcpy(b, s, n);
    b[n] = '\0';
    return inet_pton(AF_INET, b, out) == 1;
}

static int parse_ip(struct initramfs_cmdline *out, const char *v, char *err, size_t errlen)
{
    const char *slash = strchr(v, '/');
    const char *p = slash ? slash + 1 : NULL;
    unsigned prefix = 0;
    bool ok = slash && parse_ipv4(v, (size_t)(slash - v), &out->ip) && *p && strlen(p) <= 2;
    for (; ok && *p; p++) {
        ok = *p >= '0' && *p <= '9';
        prefix = prefix * 10 + (unsigned)(*p - '0');
    }
    if (!ok || prefix > 32)
        return fail(err, errlen,
                    BOOT_ABI_CMDLINE_IP "%s: expected an IPv4 address and prefix length, e.g. "
                                        "10.0.2.15/24",
                    v);
    out->prefix = prefix;
    out->has_ip = true;
    return 0;
}

static int parse_dns(struct initramfs_cmdline *out, const char *v, char *err, size_t errlen)
{
    out->n_dns = 0;
    for (const char *p = v;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        unsigned char probe[sizeof(struct in6_addr)];
        char *slot = out->dns[out->n_dns < INITRAMFS_CMDLINE_MAX_DNS ? out->n_dns : 0];
        if (out->n_dns == INITRAMFS_CMDLINE_MAX_DNS)
            return fail(err, errlen,
                        BOOT_ABI_CMDLINE_DNS "%s: at most %d name servers (resolv.conf uses no "
                                             "more)",
                        v, INITRAMFS_CMDLINE_MAX_DNS);
        if (n == 0 || n >= INET6_ADDRSTRLEN)
            return fail(err, errlen,
                        BOOT_ABI_CMDLINE_DNS "%s: expected IP addresses separated by commas", v);
        memcpy(slot, p, n);
        slot[n] = '\0';
        if (inet_pton(AF_INET, slot, probe) != 1 && inet_pton(AF_INET6, slot, probe) != 1)
            return fail(err, errlen, BOOT_ABI_CMDLINE_DNS "%s: '%s' is not an IP address", v, slot);
        out->n_dns++;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"1", "y", "yes", "on"}, *const no[] = {"0", "n", "no", "off"};
    if (!v) {
        *out = true;
        return 0;
    }
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (strcmp(v, yes[i]) == 0)
            return *out = true, 0;
        if (strcmp(v, no[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

#define KNOWN_PARAMS                                                                               \
    BOOT_ABI_CMDLINE_IP ", " BOOT_ABI_CMDLINE_GW ", " BOOT_ABI_CMDLINE_DNS                         \
                        ", " BOOT_ABI_CMDLINE_HOSTNAME ", " BOOT_ABI_CMDLINE_IFACE                 \
                        ", " BOOT_ABI_CMDLINE_DEBUG

static int tinyx_param(struct initramfs_cmdline *out, const char *word, size_t key_len,
                       const char *v, char *err, size_t errlen)
{
    if (key_is(word, key_len, BOOT_ABI_CMDLINE_DEBUG)) {
        if (parse_bool(v, &out->debug) != 0)
            return fail(err, errlen, "%s: expected no value, or 1/0, yes/no, on/off", word);
        return 0;
    }
    bool known = key_is(word, key_len, BOOT_ABI_CMDLINE_IP) ||
                 key_is(word, key_len, BOOT_ABI_CMDLINE_GW) ||
                 key_is(word, key_len, BOOT_ABI_CMDLINE_DNS) ||
                 key_is(word, key_len, BOOT_ABI_CMDLINE_HOSTNAME) ||
                 key_is(word, key_len, BOOT_ABI_CMDLINE_IFACE);
    if (!known)
        return fail(err, errlen, "unknown parameter %.*s (known: " KNOWN_PARAMS ")", (int)key_len,
                    word);
    if (!v || !*v)
        return fail(err, errlen, "%.*s needs a value, e.g. %.*s=...", (int)key_len, word,
                    (int)key_len, word);

    size_t n = strlen(v);
    if (key_is(word, key_len, BOOT_ABI_CMDLINE_IP))
        return parse_ip(out, v, err, errlen);
    if (key_is(word, key_len, BOOT_ABI_CMDLINE_GW)) {
        if (!parse_ipv4(v, n, &out->gw))
            return fail(err, errlen, BOOT_ABI_CMDLINE_GW "%s: expected an IPv4 address", v);
        out->has_gw = true;
        return 0;
    }
    if (key_is(word, key_len, BOOT_ABI_CMDLINE_DNS))
        return parse_dns(out, v, err, errlen);
    if (key_is(word, key_len, BOOT_ABI_CMDLINE_HOSTNAME)) {
        if (n >= sizeof out->hostname)
            return fail(err, errlen,
                        BOOT_ABI_CMDLINE_HOSTNAME "%s: %zu bytes long (the kernel allows 64)", v,
                        n);
        memcpy(out->hostname, v, n + 1);
        return 0;
    }
    if (n >= sizeof out->iface || strchr(v, '/') || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
        return fail(err, errlen,
                    BOOT_ABI_CMDLINE_IFACE "%s: not an interface name (at most %zu bytes, no "
                                           "'/')",
                    v, sizeof out->iface - 1);
    memcpy(out->iface, v, n + 1);
    return 0;
}

int initramfs_cmdline_parse(const char *buf, size_t len, struct initramfs_cmdline *out, char *err,
                            size_t errlen)
{
    memset(out, 0, sizeof *out);
    strcpy(out->iface, "eth0");
    if (len >= sizeof out->text)
        return fail(err, errlen, "the kernel command line is longer than %zu bytes",
                    sizeof out->text - 1);
    memcpy(out->text, buf, len);
    out->text[len] = '\0';
    out->text_len = len;

    char word[INITRAMFS_CMDLINE_MAX];
    size_t pos = 0;
    for (;;) {
        int rc = next_word(buf, len, &pos, word, sizeof word);
        if (rc < 0)
            return fail(err, errlen, "a word of the kernel command line is too long");
        if (rc == 0 || strcmp(word, "--") == 0)
            return 0;
        const char *eq = strchr(word, '=');
        size_t key_len = eq ? (size_t)(eq - word) : strlen(word);
        if (key_len >= 6 && memcmp(word, "tinyx.", 6) == 0 &&
            tinyx_param(out, word, key_len, eq ? eq + 1 : NULL, err, errlen) != 0)
            return -1;
    }
}

void initramfs_module_name(const char *module, char *out, size_t outsize)
{
    const char *base = strrchr(module, '/');
    base = base ? base + 1 : module;
    size_t n = strlen(base);
    /* "name.ko", "name.ko.xz", "name.ko.zst": the name ends at the last ".ko" suffix. */
    for (const char *p = base; (p = strstr(p, ".ko")) != NULL; p++)
        if (p[3] == '\0' || p[3] == '.')
            n = (size_t)(p - base);
    size_t o = 0;
    for (; o < n && o + 1 < outsize; o++)
        out[o] = base[o] == '-' ? '_' : base[o];
    if (outsize)
        out[o] = '\0';
}

/* Appends to out like snprintf would, tracking the full length in *total. */
static void put(char *out, size_t outsize, size_t *total, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, (*total)++)
        if (*total + 1 < outsize)
            out[*total] = s[i];
}

size_t initramfs_cmdline_module_options(const struct initramfs_cmdline *cmdline, const char *module,
                                        char *out, size_t outsize)
{
    char want[64], word[INITRAMFS_CMDLINE_MAX];
    size_t pos = 0, total = 0;
    initramfs_module_name(module, want, sizeof want);
    size_t want_len = strlen(want);

    while (next_word(cmdline->text, cmdline->text_len, &pos, word, sizeof word) > 0) {
        if (strcmp(word, "--") == 0)
            break;
        const char *eq = strchr(word, '=');
        const char *dot = memchr(word, '.', eq ? (size_t)(eq - word) : strlen(word));
        if (!dot || (size_t)(dot - word) != want_len || dot[1] == '\0' || dot + 1 == eq)
            continue;
        bool same = true;
        for (size_t i = 0; i < want_len && same; i++)
            same = (word[i] == '-' ? '_' : word[i]) == want[i];
        if (!same)
            continue;
        if (total)
            put(out, outsize, &total, " ", 1);
        const char *param = dot + 1;
        if (eq && eq[1] && strpbrk(eq + 1, " \t")) {
            /* A value with blanks came quoted; quote it again for the kernel's parse_args. */
            put(out, outsize, &total, param, (size_t)(eq - param) + 1);
            put(out, outsize, &total, "\"", 1);
            put(out, outsize, &total, eq + 1, strlen(eq + 1));
            put(out, outsize, &total, "\"", 1);
        } else {
            put(out, outsize, &total, param, strlen(param));
        }
    }
    if (outsize)
        out[total < outsize ? total : outsize - 1] = '\0';
    return total;
}
