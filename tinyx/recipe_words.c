/* recipe_words.c: split a command line into argv words the way a shell would, minus expansion. */
#include "tinyx/recipe.h"

#include <stdlib.h>
#include <string.h>

#include "tinyx/util.h"

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Inside double quotes a backslash escapes only these (POSIX); elsewhere it stays literal. */
static bool escapable_in_double_quotes(char ch)
{
    return ch == '"' || ch == '\\' || ch == '$' || ch == '`';
}

/* Words go to a scratch vector first so out is untouched when the line is malformed. */
int tinyx_split_words(const char *cmdline, struct strvec *out)
{
    struct strvec words = STRVEC_INIT;
    char *word = tinyx_xmalloc(strlen(cmdline) + 1);
    size_t len = 0;
    bool in_word = false;
    const char *p = cmdline;
    int rc = 0;
    while (*p && rc == 0) {
        if (p[0] == '\\' && p[1] == '\n') { /* line continuation: nothing at all */
            p += 2;
        } else if (is_blank(*p)) {
            if (in_word)
                tinyx_strvec_push_owned(&words, tinyx_xstrndup(word, len));
            in_word = false;
            len = 0;
            p++;
        } else if (*p == '\'') {
            in_word = true;
            const char *end = strchr(p + 1, '\'');
            if (!end) {
                rc = -1;
                break;
            }
            memcpy(word + len, p + 1, (size_t)(end - p - 1));
            len += (size_t)(end - p - 1);
            p = end + 1;
        } else if (*p == '"') {
            in_word = true;
            for (p++; *p && *p != '"'; p++) {
                if (p[0] == '\\' && p[1] == '\n')
                    p++;
                else if (p[0] == '\\' && escapable_in_double_quotes(p[1]))
                    word[len++] = *++p;
                else
                    word[len++] = *p;
            }
            if (!*p)
                rc = -1;
            else
                p++;
        } else if (*p == '\\') {
            in_word = true;
            if (!p[1]) {
                rc = -1;
                break;
            }
            word[len++] = p[1];
            p += 2;
        } else {
            in_word = true;
            word[len++] = *p++;
        }
    }
    if (rc == 0 && in_word)
        tinyx_strvec_push_owned(&words, tinyx_xstrndup(word, len));
    if (rc == 0)
        for (size_t i = 0; i < words.n; i++)
            tinyx_strvec_push(out, words.v[i]);
    tinyx_strvec_free(&words);
    free(word);
    return rc;
}
