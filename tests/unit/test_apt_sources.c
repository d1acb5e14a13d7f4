/* test_apt_sources.c: picking the Debian entries out of apt source files (tinyx/apt_sources.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyx/apt.h"
#include "tinyx/strvec.h"
#include "tinyx/util.h"

/* Parse text and compare the entries with the NULL-terminated want list, in order. */
static void expect_entries(const char *text, bool deb822, const char *suite,
                           const char *const *want)
{
    struct strvec out = STRVEC_INIT;
    tinyx_apt_sources_parse(text, deb822, suite, &out);
    size_t n_want = 0;
    while (want[n_want])
        n_want++;
    char problem[1024] = "";
    for (size_t i = 0; !problem[0] && (i < out.n || i < n_want); i++) {
        const char *got = i < out.n ? out.v[i] : "(none)";
        const char *exp = i < n_want ? want[i] : "(none)";
        if (strcmp(got, exp) != 0)
            snprintf(
                problem, sizeof problem,
                "entry %zu: got '%s' (%zu bytes), want '%s' (%zu bytes); %zu entries, want %zu", i,
                got, strlen(got), exp, strlen(exp), out.n, n_want);
    }
    /* Free before failing so LeakSanitizer stays quiet about the test itself. */
    tinyx_strvec_free(&out);
    if (problem[0])
        fail_msg("%s", problem);
}

static const char *const no_entries[] = {NULL};

static void test_one_line_suites(void **state)
{
    (void)state;
    const char *text = "# deb http://commented.example bookworm main\n"
                       "deb http://deb.debian.org/debian bookworm main\n"
                       "deb http://deb.debian.org/debian bookworm-updates main contrib\n"
                       "deb http://security.debian.org/debian-security bookworm-security main "
                       "non-free-firmware\n"
                       "deb http://deb.debian.org/debian bookworm-backports main\n"
                       "deb http://deb.debian.org/debian bookworm-proposed-updates main\n"
                       "deb http://deb.debian.org/debian bookworm/updates main\n"
                       "deb http://deb.debian.org/debian bookwormish main\n"
                       "deb http://deb.debian.org/debian bullseye main\n"
                       "deb http://deb.debian.org/debian trixie main\n"
                       "deb-src http://deb.debian.org/debian bookworm main\n"
                       "\n"
                       "   \n"
                       "deb http://mirror.example/debian bookworm main # trailing comment\n"
                       "deb\thttp://tabs.example/debian\tbookworm\tmain\tcontrib\n"
                       "deb http://nocomp.example/debian bookworm\n"
                       "deb http://nosuite.example/debian\n"
                       "deb\n";
    const char *want[] = {
        "deb http://deb.debian.org/debian bookworm main",
        "deb http://deb.debian.org/debian bookworm-updates main contrib",
        "deb http://security.debian.org/debian-security bookworm-security main non-free-firmware",
        "deb http://mirror.example/debian bookworm main",
        "deb http://tabs.example/debian bookworm main contrib",
        "deb http://nocomp.example/debian bookworm main",
        NULL,
    };
    expect_entries(text, false, "bookworm", want);
    const char *want_trixie[] = {"deb http://deb.debian.org/debian trixie main", NULL};
    expect_entries(text, false, "trixie", want_trixie);
    expect_entries(text, false, "sid", no_entries);
}

static void test_one_line_options(void **state)
{
    (void)state;
    const char *text =
        "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://a.example/debian bookworm main\n"
        "deb [signed-by=/k.gpg] http://b.example/debian bookworm-security main\n"
        "deb [ signed-by=/spaced.gpg arch=amd64 ] http://c.example/debian bookworm main\n"
        "deb [arch=amd64] http://d.example/debian bookworm main\n"
        "deb [trusted=yes] http://e.example/debian bookworm-backports main\n"
        "deb [signed-by=/no-uri.gpg]\n";
    const char *want[] = {
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://a.example/debian "
        "bookworm main",
        "deb [signed-by=/k.gpg] http://b.example/debian bookworm-security main",
        "deb [signed-by=/spaced.gpg] http://c.example/debian bookworm main",
        "deb http://d.example/debian bookworm main",
        NULL,
    };
    expect_entries(text, false, "bookworm", want);
}

static void test_one_line_crlf(void **state)
{
    (void)state;
    /* BUG (tinyx/apt_sources.c:56-80, parse_one_line): tokens are split on " \t" only, so a
     * sources.list with CRLF line ends yields "main\r" as the last component (apt itself treats
     * '\r' as white space; the deb822 parser trims it). */
    const char *text = "deb http://crlf.example/debian bookworm main\r\n";
    const char *want[] = {"deb http://crlf.example/debian bookworm main", NULL};
    expect_entries(text, false, "bookworm", want);
}

/* Debian bookworm's stock /etc/apt/sources.list.d/debian.sources, with the snapshot comments a
 * cloud image adds. */
static const char *const stock_sources =
    "Types: deb\n"
    "# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
    "URIs: http://deb.debian.org/debian\n"
    "Suites: bookworm bookworm-updates\n"
    "Components: main\n"
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    "\n"
    "Types: deb\n"
    "# http://snapshot.debian.org/archive/debian-security/20250520T000000Z\n"
    "URIs: http://deb.debian.org/debian-security\n"
    "Suites: bookworm-security\n"
    "Components: main\n"
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n";

static void test_deb822_stock(void **state)
{
    (void)state;
    const char *want[] = {
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://deb.debian.org/debian bookworm main",
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://deb.debian.org/debian bookworm-updates main",
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://deb.debian.org/debian-security bookworm-security main",
        NULL,
    };
    expect_entries(stock_sources, true, "bookworm", want);
    /* The same text read as one-line format has no "deb" lines. */
    expect_entries(stock_sources, false, "bookworm", no_entries);
}

static void test_deb822_many_uris_and_suites(void **state)
{
    (void)state;
    const char *text = "Types: deb deb-src\n"
                       "URIs: http://one.example/debian http://two.example/debian\n"
                       "Suites: bookworm bookworm-backports bookworm-updates\n"
                       "Components: main contrib non-free-firmware\n"
                       "Signed-By: /one.gpg\n"
                       "\n"
                       "\n"
                       "# a comment between stanzas\n"
                       "\n"
                       "types: deb\n"
                       "uris: http://lower.example/debian\n"
                       "suites: bookworm-security\n";
    const char *want[] = {
        "deb [signed-by=/one.gpg] http://one.example/debian bookworm main contrib "
        "non-free-firmware",
        "deb [signed-by=/one.gpg] http://one.example/debian bookworm-updates main contrib "
        "non-free-firmware",
        "deb [signed-by=/one.gpg] http://two.example/debian bookworm main contrib "
        "non-free-firmware",
        "deb [signed-by=/one.gpg] http://two.example/debian bookworm-updates main contrib "
        "non-free-firmware",
        /* Fields do not leak into the next stanza; no Components means main. */
        "deb http://lower.example/debian bookworm-security main",
        NULL,
    };
    expect_entries(text, true, "bookworm", want);
}

static void test_deb822_disabled_and_skipped(void **state)
{
    (void)state;
    const char *text = "Types: deb\n"
                       "URIs: http://off.example/debian\n"
                       "Suites: bookworm\n"
                       "Enabled: no\n"
                       "\n"
                       "Types: deb\n"
                       "URIs: http://on.example/debian\n"
                       "Suites: bookworm\n"
                       "Enabled: yes\n"
                       "\n"
                       "Types: deb-src\n"
                       "URIs: http://src.example/debian\n"
                       "Suites: bookworm\n"
                       "\n"
                       "Types: deb\n"
                       "URIs: https://deb.nodesource.com/node_20.x\n"
                       "Suites: nodistro\n"
                       "Components: main\n"
                       "Architectures: amd64\n"
                       "Signed-By: /usr/share/keyrings/nodesource.gpg\n"
                       "\n"
                       "Types: deb\n"
                       "Suites: bookworm\n"
                       "\n"
                       "URIs: http://notypes.example/debian\n"
                       "Suites: bookworm\n"
                       "\n"
                       "Types: deb\n"
                       "URIs: http://after-disabled.example/debian\n"
                       "Suites: bookworm\n";
    const char *want[] = {
        "deb http://on.example/debian bookworm main",
        "deb http://after-disabled.example/debian bookworm main",
        NULL,
    };
    expect_entries(text, true, "bookworm", want);
}

static void test_deb822_whitespace_crlf_and_inline_key(void **state)
{
    (void)state;
    /* CRLF line ends, blank lines made of spaces, extra spaces around values, no final
     * newline. An inline key block (continuation lines) cannot go into one-line format: the
     * entry is kept without signed-by. */
    const char *text = "Types: deb\r\n"
                       "URIs:   http://crlf.example/debian   \r\n"
                       "Suites: bookworm\t\r\n"
                       "Components: main contrib\r\n"
                       "  \t \r\n"
                       "Types: deb\n"
                       "URIs: http://inline.example/debian\n"
                       "Suites: bookworm\n"
                       "Signed-By:\n"
                       " -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
                       " .\n"
                       " mQINBFxyzzy\n"
                       " -----END PGP PUBLIC KEY BLOCK-----\n"
                       "Components: main";
    const char *want[] = {
        "deb http://crlf.example/debian bookworm main contrib",
        "deb http://inline.example/debian bookworm main",
        NULL,
    };
    expect_entries(text, true, "bookworm", want);
    expect_entries("", true, "bookworm", no_entries);
    expect_entries("", false, "bookworm", no_entries);
    expect_entries("\n\n\n", true, "bookworm", no_entries);
}

/* VERSION_CODENAME of /etc/os-release, read here independently. */
static char *os_release_codename(void)
{
    FILE *f = fopen("/etc/os-release", "r");
    if (!f)
        return NULL;
    char line[512];
    char *found = NULL;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VERSION_CODENAME=", 17) != 0)
            continue;
        char *v = line + 17;
        v[strcspn(v, "\n")] = '\0';
        if (*v == '"') {
            v++;
            v[strcspn(v, "\"")] = '\0';
        }
        free(found);
        found = *v ? strdup(v) : NULL;
    }
    fclose(f);
    return found;
}

static void test_host_suite(void **state)
{
    (void)state;
    char *saved = getenv("TINYX_SUITE") ? strdup(getenv("TINYX_SUITE")) : NULL;
    setenv("TINYX_SUITE", "trixie", 1);
    char *s = tinyx_apt_host_suite();
    assert_string_equal(s, "trixie");
    free(s);

    char *want = os_release_codename();
    if (!want)
        want = strdup("bookworm"); /* the documented fallback */
    unsetenv("TINYX_SUITE");
    s = tinyx_apt_host_suite();
    assert_string_equal(s, want);
    free(s);
    /* An empty variable counts as unset. */
    setenv("TINYX_SUITE", "", 1);
    s = tinyx_apt_host_suite();
    assert_string_equal(s, want);
    free(s);
    free(want);

    if (saved)
        setenv("TINYX_SUITE", saved, 1);
    else
        unsetenv("TINYX_SUITE");
    free(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_line_suites),
        cmocka_unit_test(test_one_line_options),
        cmocka_unit_test(test_one_line_crlf),
        cmocka_unit_test(test_deb822_stock),
        cmocka_unit_test(test_deb822_many_uris_and_suites),
        cmocka_unit_test(test_deb822_disabled_and_skipped),
        cmocka_unit_test(test_deb822_whitespace_crlf_and_inline_key),
        cmocka_unit_test(test_host_suite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
