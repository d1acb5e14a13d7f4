/* apt_sources.c: pick the Debian archive entries out of the host's apt sources. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyx/apt.h"
#include "tinyx/util.h"

char *tinyx_apt_host_suite(void)
{
    const char *e = getenv("TINYX_SUITE");
    if (e && *e)
        return tinyx_xstrdup(e);
    char *osr = tinyx_read_file("/etc/os-release", NULL);
    char *suite = NULL;
    if (osr) {
        for (char *line = strtok(osr, "\n"); line; line = strtok(NULL, "\n")) {
            if (tinyx_str_starts(line, "VERSION_CODENAME=")) {
                char *v = line + strlen("VERSION_CODENAME=");
                if (*v == '"')
                    v++;
                size_t n = strcspn(v, "\"");
                if (n)
                    suite = tinyx_xstrndup(v, n);
            }
        }
        free(osr);
    }
    return suite ? suite : tinyx_xstrdup("bookworm");
}

static bool suite_wanted(const char *s, const char *suite)
{
    size_t n = strlen(suite);
    if (strncmp(s, suite, n) != 0)
        return false;
    return s[n] == '\0' || !strcmp(s + n, "-updates") || !strcmp(s + n, "-security");
}

static void emit(struct strvec *out, const char *signed_by, const char *uri, const char *suite,
                 const char *components)
{
    if (signed_by && *signed_by)
        tinyx_strvec_pushf(out, "deb [signed-by=%s] %s %s %s", signed_by, uri, suite, components);
    else
        tinyx_strvec_pushf(out, "deb %s %s %s", uri, suite, components);
}

static void parse_one_line(char *line, const char *suite, struct strvec *out)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        line[--len] = '\0'; /* CRLF files */
    char *save = NULL;
    char *type = strtok_r(line, " \t", &save);
    if (!type || strcmp(type, "deb") != 0)
        return;
    char *signed_by = NULL;
    char *tok = strtok_r(NULL, " \t", &save);
    if (tok && tok[0] == '[') {
        /* Options: [arch=amd64 signed-by=/path] possibly spanning tokens. */
        for (;;) {
            char *opt = tok[0] == '[' ? tok + 1 : tok;
            bool last = strchr(opt, ']') != NULL;
            if (last)
                *strchr(opt, ']') = '\0';
            if (tinyx_str_starts(opt, "signed-by="))
                signed_by = opt + strlen("signed-by=");
            tok = strtok_r(NULL, " \t", &save);
            if (last || !tok)
                break;
        }
    }
    char *uri = tok;
    char *s = strtok_r(NULL, " \t", &save);
    if (!uri || !s || !suite_wanted(s, suite))
        return;
    char comps[1024] = "";
    for (char *c = strtok_r(NULL, " \t", &save); c; c = strtok_r(NULL, " \t", &save)) {
        if (comps[0])
            strncat(comps, " ", sizeof(comps) - strlen(comps) - 1);
        strncat(comps, c, sizeof(comps) - strlen(comps) - 1);
    }
    emit(out, signed_by, uri, s, comps[0] ? comps : "main");
}

/* One deb822 stanza: fields Types, URIs, Suites, Components, Signed-By, Enabled. */
struct stanza {
    char *types, *uris, *suites, *components, *signed_by, *enabled;
};

static void flush_stanza(struct stanza *st, const char *suite, struct strvec *out)
{
    bool is_deb = false;
    if (st->types) {
        char *save = NULL, *copy = tinyx_xstrdup(st->types);
        for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
            if (!strcmp(t, "deb"))
                is_deb = true;
        free(copy);
    }
    if (is_deb && st->uris && st->suites && !(st->enabled && !strcmp(st->enabled, "no"))) {
        char *s1 = NULL, *uris = tinyx_xstrdup(st->uris);
        for (char *u = strtok_r(uris, " \t", &s1); u; u = strtok_r(NULL, " \t", &s1)) {
            char *s2 = NULL, *suites = tinyx_xstrdup(st->suites);
            for (char *s = strtok_r(suites, " \t", &s2); s; s = strtok_r(NULL, " \t", &s2))
                if (suite_wanted(s, suite))
                    emit(out, st->signed_by, u, s, st->components ? st->components : "main");
            free(suites);
        }
        free(uris);
    }
    free(st->types);
    free(st->uris);
    free(st->suites);
    free(st->components);
    free(st->signed_by);
    free(st->enabled);
    memset(st, 0, sizeof(*st));
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

void tinyx_apt_sources_parse(const char *text, bool deb822, const char *suite, struct strvec *out)
{
    char *copy = tinyx_xstrdup(text);
    struct stanza st = {0};
    char *save = NULL;
    /* strtok_r skips empty lines, so stanza breaks are detected on the raw text instead. */
    for (char *line = copy; line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (!deb822) {
            parse_one_line(line, suite, out);
        } else if (*trim(line) == '\0') {
            flush_stanza(&st, suite, out);
        } else if (line[0] != '#' && line[0] != ' ' && line[0] != '\t') {
            char *colon = strchr(line, ':');
            if (colon) {
                *colon = '\0';
                char *key = trim(line), *val = trim(colon + 1);
                char **slot = !strcasecmp(key, "Types")        ? &st.types
                              : !strcasecmp(key, "URIs")       ? &st.uris
                              : !strcasecmp(key, "Suites")     ? &st.suites
                              : !strcasecmp(key, "Components") ? &st.components
                              : !strcasecmp(key, "Signed-By")  ? &st.signed_by
                              : !strcasecmp(key, "Enabled")    ? &st.enabled
                                                               : NULL;
                if (slot) {
                    free(*slot);
                    *slot = tinyx_xstrdup(val);
                }
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    (void)save;
    if (deb822)
        flush_stanza(&st, suite, out);
    free(copy);
}

char *tinyx_apt_sources_text(const char *suite)
{
    const char *override = getenv("TINYX_APT_SOURCES");
    if (override && *override) {
        char *t = tinyx_read_file(override, NULL);
        if (!t)
            tinyx_errno("cannot read TINYX_APT_SOURCES=%s", override);
        return t;
    }
    struct strvec entries = STRVEC_INIT;
    char *main_list = tinyx_read_file("/etc/apt/sources.list", NULL);
    if (main_list) {
        tinyx_apt_sources_parse(main_list, false, suite, &entries);
        free(main_list);
    }
    const char *partsdir = "/etc/apt/sources.list.d";
    struct dirent **names = NULL;
    int n = scandir(partsdir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        bool d822 = tinyx_str_ends(nm, ".sources");
        if (d822 || tinyx_str_ends(nm, ".list")) {
            char *p = tinyx_xasprintf("%s/%s", partsdir, nm);
            char *t = tinyx_read_file(p, NULL);
            if (t) {
                tinyx_apt_sources_parse(t, d822, suite, &entries);
                free(t);
            }
            free(p);
        }
        free(names[i]);
    }
    free(names);
    if (entries.n == 0) {
        tinyx_err("no Debian '%s' entry in /etc/apt/sources.list{,.d}: add one, or point "
                  "TINYX_APT_SOURCES at a sources.list to use",
                  suite);
        return NULL;
    }
    tinyx_strvec_sort_unique(&entries);
    size_t len = 1;
    for (size_t i = 0; i < entries.n; i++)
        len += strlen(entries.v[i]) + 1;
    char *text = tinyx_xmalloc(len);
    text[0] = '\0';
    for (size_t i = 0; i < entries.n; i++) {
        strcat(text, entries.v[i]);
        strcat(text, "\n");
    }
    tinyx_strvec_free(&entries);
    return text;
}
