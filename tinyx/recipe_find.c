/* recipe_find.c: find a recipe file by name in the recipe folders, or take a path as given. */
#include "tinyx/recipe.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tinyx/suggest.h"
#include "tinyx/util.h"

static bool is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The folders searched, in order: $TINYX_RECIPES (colon-separated), ./recipes, then the
 * recipes beside the binary (source tree: bin/../../recipes; install: bin/../share/...). */
static void recipe_dirs(struct strvec *dirs)
{
    const char *env = getenv("TINYX_RECIPES");
    if (env && *env) {
        char *copy = tinyx_xstrdup(env), *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
            tinyx_strvec_push(dirs, d);
        free(copy);
    }
    tinyx_strvec_push(dirs, "recipes");
    const char *beside[] = {"../../recipes", "../share/tinyx/recipes"};
    for (size_t i = 0; i < 2; i++) {
        char *dir = tinyx_xasprintf("%s/%s", tinyx_self_dir(), beside[i]);
        char resolved[PATH_MAX];
        /* Resolved so messages show a clean path; a missing folder is kept as written. */
        tinyx_strvec_push(dirs, realpath(dir, resolved) ? resolved : dir);
        free(dir);
    }
}

static void collect_names(const char *dir, struct strvec *names)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !tinyx_str_ends(e->d_name, ".yaml"))
            continue;
        tinyx_strvec_push_owned(names,
                                tinyx_xstrndup(e->d_name, strlen(e->d_name) - strlen(".yaml")));
    }
    closedir(d);
}

static char *joined(const struct strvec *sv, const char *sep)
{
    char *s = tinyx_xstrdup("");
    for (size_t i = 0; i < sv->n; i++) {
        char *next = tinyx_xasprintf("%s%s%s", s, i ? sep : "", sv->v[i]);
        free(s);
        s = next;
    }
    return s;
}

static void report_unknown(const char *name, const struct strvec *dirs)
{
    struct strvec names = STRVEC_INIT, close = STRVEC_INIT, shown = STRVEC_INIT;
    for (size_t i = 0; i < dirs->n; i++) {
        collect_names(dirs->v[i], &names);
        /* The same folder can be reached twice (./recipes and the one beside the binary). */
        char resolved[PATH_MAX];
        const char *real = realpath(dirs->v[i], resolved) ? resolved : dirs->v[i];
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++) {
            char other[PATH_MAX];
            seen = realpath(dirs->v[k], other) && !strcmp(other, real);
        }
        if (!seen)
            tinyx_strvec_push(&shown, dirs->v[i]);
    }
    tinyx_strvec_sort_unique(&names);
    tinyx_suggest(name, tinyx_strvec_argv(&names), names.n, 3, &close);
    char *phrase = tinyx_suggest_phrase(&close);
    char *known = names.n ? joined(&names, ", ") : tinyx_xstrdup("none found");
    char *searched = joined(&shown, ", ");
    tinyx_err("unknown recipe '%s'%s; known recipes: %s (searched %s; set TINYX_RECIPES or give "
              "the path of a .yaml file)",
              name, phrase, known, searched);
    free(searched);
    free(known);
    free(phrase);
    tinyx_strvec_free(&shown);
    tinyx_strvec_free(&close);
    tinyx_strvec_free(&names);
}

char *tinyx_recipe_find(const char *name_or_path)
{
    if (!name_or_path || !*name_or_path) {
        tinyx_err("no recipe given: name one (e.g. nginx) or give the path of a .yaml file");
        return NULL;
    }
    if (strchr(name_or_path, '/') || tinyx_str_ends(name_or_path, ".yaml") ||
        tinyx_str_ends(name_or_path, ".yml")) {
        if (is_regular_file(name_or_path))
            return tinyx_xstrdup(name_or_path);
        if (tinyx_is_dir(name_or_path))
            tinyx_err("recipe %s is a folder; give a .yaml file in it", name_or_path);
        else
            tinyx_errno("cannot open recipe %s", name_or_path);
        return NULL;
    }
    struct strvec dirs = STRVEC_INIT;
    recipe_dirs(&dirs);
    for (size_t i = 0; i < dirs.n; i++) {
        char *path = tinyx_xasprintf("%s/%s.yaml", dirs.v[i], name_or_path);
        if (is_regular_file(path)) {
            tinyx_strvec_free(&dirs);
            return path;
        }
        free(path);
    }
    report_unknown(name_or_path, &dirs);
    tinyx_strvec_free(&dirs);
    return NULL;
}
