/* cmdline.c: kernel command-line words: iterate, look up "key=value", parse numbers and IPs. */
#include "cmdline.h"

#include "mem.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool tg_cmdline_next(const char **cursor, struct tg_str *word)
{
    const char *p = *cursor;
    while (*p && is_space(*p))
        p++;
    if (!*p) {
        *cursor = p;
        return false;
    }
    word->s = p;
    while (*p && !is_space(*p))
        p++;
    word->len = (size_t)(p - word->s);
    *cursor = p;
    return true;
}

bool tg_str_prefix(struct tg_str word, const char *prefix, struct tg_str *rest)
{
    size_t n = strlen(prefix);
    if (word.len < n || memcmp(word.s, prefix, n) != 0)
        return false;
    if (rest) {
        rest->s = word.s + n;
        rest->len = word.len - n;
    }
    return true;
}

bool tg_cmdline_has(const char *cmdline, const char *want)
{
    size_t n = strlen(want);
    struct tg_str word;
    for (const char *cur = cmdline; tg_cmdline_next(&cur, &word);)
        if (word.len == n && !memcmp(word.s, want, n))
            return true;
    return false;
}

bool tg_cmdline_get(const char *cmdline, const char *key, struct tg_str *value)
{
    size_t key_len = strlen(key);
    if (key_len && key[key_len - 1] == '=')
        key_len--; /* "tinyx.ip=" as boot_abi.h spells it */
    bool found = false;
    struct tg_str word;
    for (const char *cur = cmdline; tg_cmdline_next(&cur, &word);) {
        if (word.len > key_len && word.s[key_len] == '=' && !memcmp(word.s, key, key_len)) {
            value->s = word.s + key_len + 1;
            value->len = word.len - key_len - 1;
            found = true;
        }
    }
    return found;
}

bool tg_parse_u64(struct tg_str s, bool allow_suffix, uint64_t *out)
{
    size_t i = 0;
    unsigned base = 10;
    if (s.len > 2 && s.s[0] == '0' && (s.s[1] == 'x' || s.s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    uint64_t v = 0;
    size_t digits = 0;
    for (; i < s.len; i++, digits++) {
        char c = s.s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            break;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    if (!digits)
        return false;
    if (i < s.len && allow_suffix && i + 1 == s.len) {
        unsigned shift = 0;
        switch (s.s[i]) {
        case 'k':
        case 'K':
            shift = 10;
            break;
        case 'm':
        case 'M':
            shift = 20;
            break;
        case 'g':
        case 'G':
            shift = 30;
            break;
        default:
            return false;
        }
        if (v > (UINT64_MAX >> shift))
            return false;
        v <<= shift;
        i++;
    }
    if (i != s.len)
        return false;
    *out = v;
    return true;
}

bool tg_parse_ipv4(struct tg_str s, uint8_t ip[4], unsigned *prefix)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        unsigned v = 0, digits = 0;
        while (i < s.len && s.s[i] >= '0' && s.s[i] <= '9' && digits < 3) {
            v = v * 10 + (unsigned)(s.s[i++] - '0');
            digits++;
        }
        if (!digits || v > 255)
            return false;
        ip[part] = (uint8_t)v;
        if (part < 3) {
            if (i >= s.len || s.s[i] != '.')
                return false;
            i++;
        }
    }
    *prefix = 32;
    if (i < s.len && s.s[i] == '/') {
        uint64_t p;
        struct tg_str rest = {s.s + i + 1, s.len - i - 1};
        if (!tg_parse_u64(rest, false, &p) || p > 32)
            return false;
        *prefix = (unsigned)p;
        i = s.len;
    }
    return i == s.len;
}
