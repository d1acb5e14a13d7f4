/* elfdeps.c: ELF dependency discovery with libelf, resolved the way ld.so searches. */
#include "tinyx/elfdeps.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tinyx/rootpath.h"
#include "tinyx/util.h"

static void split_path_list(const char *s, struct strvec *out)
{
    char *copy = tinyx_xstrdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save))
        if (*t)
            tinyx_strvec_push(out, t);
    free(copy);
}

int tinyx_elf_read(const char *host_path, struct tinyx_elf_info *info)
{
    memset(info, 0, sizeof(*info));
    int fd = open(host_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* unreadable: not ours to judge here */
    unsigned char magic[SELFMAG];
    if (read(fd, magic, SELFMAG) != SELFMAG || memcmp(magic, ELFMAG, SELFMAG) != 0) {
        close(fd);
        return 0;
    }
    info->is_elf = true;
    if (elf_version(EV_CURRENT) == EV_NONE) {
        close(fd);
        return tinyx_err("libelf is out of date");
    }
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    int rc = 0;
    GElf_Ehdr eh;
    size_t nph = 0;
    if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) || elf_getphdrnum(e, &nph) != 0) {
        rc = tinyx_err("broken ELF file %s: %s", host_path, elf_errmsg(-1));
        goto out;
    }
    info->elf_class = gelf_getclass(e);
    info->machine = eh.e_machine;
    /* What the loader reads: program headers and the PT_DYNAMIC segment, never sections
     * (a stripped file may have none). Every segment must lie inside the file, so a truncated
     * file is an error instead of a program that seems to need nothing. */
    size_t flen = 0;
    char *raw = elf_rawfile(e, &flen);
    if (!raw) {
        rc = tinyx_err("broken ELF file %s: %s", host_path, elf_errmsg(-1));
        goto out;
    }
    /* The section header table is the last thing in a linked file: if the header says it
     * ends past the end of the file, the file was cut short. */
    if (eh.e_shoff &&
        (eh.e_shoff > flen || (uint64_t)eh.e_shnum * eh.e_shentsize > flen - eh.e_shoff)) {
        rc = tinyx_err("broken ELF file %s: truncated (section headers end past the end of the "
                       "file, %zu bytes)",
                       host_path, flen);
        goto out;
    }
    GElf_Phdr dyn_ph = {0};
    bool have_dyn = false;
    GElf_Phdr *loads = tinyx_xcalloc(nph + 1, sizeof(GElf_Phdr));
    size_t nloads = 0;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph)) {
            rc = tinyx_err("broken ELF file %s: bad program header: %s", host_path, elf_errmsg(-1));
            goto out_loads;
        }
        if ((ph.p_type == PT_LOAD || ph.p_type == PT_DYNAMIC || ph.p_type == PT_INTERP) &&
            (ph.p_offset > flen || ph.p_filesz > flen - ph.p_offset)) {
            rc = tinyx_err("broken ELF file %s: truncated (a segment ends past the end of the "
                           "file, %zu bytes)",
                           host_path, flen);
            goto out_loads;
        }
        if (ph.p_type == PT_LOAD)
            loads[nloads++] = ph;
        if (ph.p_type == PT_DYNAMIC) {
            dyn_ph = ph;
            have_dyn = true;
        }
        if (ph.p_type == PT_INTERP) {
            if (ph.p_filesz == 0) {
                rc = tinyx_err("broken ELF file %s: empty PT_INTERP", host_path);
                goto out_loads;
            }
            info->interp = tinyx_xstrndup(raw + ph.p_offset, ph.p_filesz);
        }
    }
    if (have_dyn) {
        info->dynamic = true;
        Elf_Data *data =
            elf_getdata_rawchunk(e, (int64_t)dyn_ph.p_offset, dyn_ph.p_filesz, ELF_T_DYN);
        if (!data) {
            rc = tinyx_err("broken ELF file %s: unreadable PT_DYNAMIC: %s", host_path,
                           elf_errmsg(-1));
            goto out_loads;
        }
        size_t entsize = gelf_fsize(e, ELF_T_DYN, 1, EV_CURRENT);
        size_t count = entsize ? dyn_ph.p_filesz / entsize : 0;
        uint64_t strtab = 0, strsz = 0;
        bool have_strtab = false;
        GElf_Dyn *dyns = tinyx_xcalloc(count + 1, sizeof(GElf_Dyn));
        size_t nd = 0;
        for (size_t i = 0; i < count; i++) {
            GElf_Dyn d;
            if (!gelf_getdyn(data, (int)i, &d) || d.d_tag == DT_NULL)
                break;
            if (d.d_tag == DT_STRTAB) {
                strtab = d.d_un.d_ptr;
                have_strtab = true;
            } else if (d.d_tag == DT_STRSZ) {
                strsz = d.d_un.d_val;
            } else if (d.d_tag == DT_NEEDED || d.d_tag == DT_RPATH || d.d_tag == DT_RUNPATH) {
                dyns[nd++] = d;
            }
        }
        /* DT_STRTAB is an address: map it to a file offset through the PT_LOAD segments. */
        uint64_t stroff = 0;
        bool mapped = false;
        for (size_t i = 0; i < nloads && have_strtab; i++)
            if (strtab >= loads[i].p_vaddr && strtab < loads[i].p_vaddr + loads[i].p_filesz) {
                stroff = strtab - loads[i].p_vaddr + loads[i].p_offset;
                mapped = true;
            }
        if (nd && (!mapped || stroff > flen || strsz > flen - stroff)) {
            free(dyns);
            rc = tinyx_err("broken ELF file %s: the dynamic string table is outside the file",
                           host_path);
            goto out_loads;
        }
        for (size_t i = 0; i < nd; i++) {
            uint64_t off = dyns[i].d_un.d_val;
            const char *str = raw + stroff + off;
            if (off >= strsz || !memchr(str, '\0', strsz - off)) {
                free(dyns);
                rc = tinyx_err("broken ELF file %s: bad dynamic string", host_path);
                goto out_loads;
            }
            if (dyns[i].d_tag == DT_NEEDED)
                tinyx_strvec_push(&info->needed, str);
            else
                split_path_list(str, dyns[i].d_tag == DT_RPATH ? &info->rpath : &info->runpath);
        }
        free(dyns);
    }
out_loads:
    free(loads);
out:
    if (e)
        elf_end(e);
    close(fd);
    return rc;
}

void tinyx_elf_info_free(struct tinyx_elf_info *info)
{
    free(info->interp);
    tinyx_strvec_free(&info->needed);
    tinyx_strvec_free(&info->rpath);
    tinyx_strvec_free(&info->runpath);
    memset(info, 0, sizeof(*info));
}

/* Parse ROOT/FILE as ld.so.conf: folder lines and "include GLOB" lines (globbed in root). */
static void read_ld_conf(const char *root, const char *file, struct strvec *dirs, int depth)
{
    if (depth > 8)
        return;
    char *host = tinyx_xasprintf("%s%s", root, file);
    char *text = tinyx_read_file(host, NULL);
    free(host);
    if (!text)
        return;
    for (char *s = NULL, *l = strtok_r(text, "\n", &s); l; l = strtok_r(NULL, "\n", &s)) {
        char *hash = strchr(l, '#');
        if (hash)
            *hash = '\0';
        while (*l == ' ' || *l == '\t')
            l++;
        size_t n = strlen(l);
        while (n && (l[n - 1] == ' ' || l[n - 1] == '\t'))
            l[--n] = '\0';
        if (!*l)
            continue;
        if (tinyx_str_starts(l, "include") && (l[7] == ' ' || l[7] == '\t')) {
            char *pat = l + 8;
            while (*pat == ' ' || *pat == '\t')
                pat++;
            char *hostpat = tinyx_xasprintf("%s%s", root, pat);
            glob_t g;
            if (glob(hostpat, 0, NULL, &g) == 0) {
                for (size_t i = 0; i < g.gl_pathc; i++)
                    read_ld_conf(root, g.gl_pathv[i] + strlen(root), dirs, depth + 1);
                globfree(&g);
            }
            free(hostpat);
        } else if (l[0] == '/') {
            tinyx_strvec_push(dirs, l);
        }
    }
    free(text);
}

void tinyx_elf_resolver_init(struct tinyx_elf_resolver *r, const char *root,
                             const char *ld_library_path)
{
    memset(r, 0, sizeof(*r));
    r->root = root;
    if (ld_library_path)
        split_path_list(ld_library_path, &r->ld_library_path);
    read_ld_conf(root, "/etc/ld.so.conf", &r->conf_dirs, 0);
}

void tinyx_elf_resolver_free(struct tinyx_elf_resolver *r)
{
    tinyx_strvec_free(&r->ld_library_path);
    tinyx_strvec_free(&r->conf_dirs);
}

/* Expand $ORIGIN / ${ORIGIN}, $LIB, $PLATFORM in an rpath entry. */
static char *expand_dst(const char *entry, const char *origin)
{
    struct {
        const char *name;
        const char *value;
    } vars[] = {{"ORIGIN", origin}, {"LIB", "lib/x86_64-linux-gnu"}, {"PLATFORM", "x86_64"}};
    size_t cap = strlen(entry) * 4 + strlen(origin) * 4 + 64;
    char *out = tinyx_xmalloc(cap);
    size_t o = 0;
    for (const char *p = entry; *p && o + 1 < cap;) {
        bool done = false;
        if (*p == '$') {
            for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]) && !done; i++) {
                size_t nl = strlen(vars[i].name);
                const char *q = p + 1;
                bool brace = *q == '{';
                if (brace)
                    q++;
                if (strncmp(q, vars[i].name, nl) == 0 && (!brace || q[nl] == '}')) {
                    size_t vl = strlen(vars[i].value);
                    if (o + vl + 1 < cap) {
                        memcpy(out + o, vars[i].value, vl);
                        o += vl;
                    }
                    p = q + nl + (brace ? 1 : 0);
                    done = true;
                }
            }
        }
        if (!done)
            out[o++] = *p++;
    }
    out[o] = '\0';
    return out;
}

/* True if GUEST (resolved through symlinks) is an ELF library of the wanted class/machine. */
static bool usable_lib(const char *root, const char *guest, int cls, int machine)
{
    char *canon = NULL;
    int r = tinyx_rootpath_resolve(root, guest, true, NULL, &canon, NULL);
    bool ok = false;
    if (r == TINYX_ROOTPATH_FOUND) {
        char *host = tinyx_xasprintf("%s%s", root, canon);
        struct tinyx_elf_info info;
        if (tinyx_elf_read(host, &info) == 0 && info.is_elf && info.elf_class == cls &&
            info.machine == machine)
            ok = true;
        tinyx_elf_info_free(&info);
        free(host);
    }
    free(canon);
    return ok;
}

static const char *const default_dirs[] = {"/lib/x86_64-linux-gnu",
                                           "/usr/lib/x86_64-linux-gnu",
                                           "/lib",
                                           "/usr/lib",
                                           "/lib64",
                                           "/usr/lib64"};

static char *find_lib(struct tinyx_elf_resolver *r, const struct tinyx_elf_info *info,
                      const char *origin, const char *name)
{
    struct strvec dirs = STRVEC_INIT;
    /* ld.so order: DT_RPATH (only without DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH, the
     * ld.so.cache (built from ld.so.conf), then the default folders. */
    if (info->runpath.n == 0)
        for (size_t i = 0; i < info->rpath.n; i++)
            tinyx_strvec_push_owned(&dirs, expand_dst(info->rpath.v[i], origin));
    for (size_t i = 0; i < r->ld_library_path.n; i++)
        tinyx_strvec_push(&dirs, r->ld_library_path.v[i]);
    for (size_t i = 0; i < info->runpath.n; i++)
        tinyx_strvec_push_owned(&dirs, expand_dst(info->runpath.v[i], origin));
    for (size_t i = 0; i < r->conf_dirs.n; i++)
        tinyx_strvec_push(&dirs, r->conf_dirs.v[i]);
    for (size_t i = 0; i < sizeof(default_dirs) / sizeof(default_dirs[0]); i++)
        tinyx_strvec_push(&dirs, default_dirs[i]);
    char *found = NULL;
    for (size_t i = 0; i < dirs.n && !found; i++) {
        char *cand = tinyx_xasprintf("%s/%s", dirs.v[i], name);
        if (usable_lib(r->root, cand, info->elf_class, info->machine))
            found = cand;
        else
            free(cand);
    }
    tinyx_strvec_free(&dirs);
    return found;
}

int tinyx_elf_needs(struct tinyx_elf_resolver *r, const char *guest_path, struct strvec *needs,
                    struct strvec *missing)
{
    char *host = tinyx_xasprintf("%s%s", r->root, guest_path);
    struct tinyx_elf_info info;
    int rc = tinyx_elf_read(host, &info);
    free(host);
    if (rc < 0 || !info.is_elf) {
        tinyx_elf_info_free(&info);
        return rc;
    }
    if (info.interp)
        tinyx_strvec_push(needs, info.interp);
    char *origin = tinyx_xstrdup(guest_path);
    char *slash = strrchr(origin, '/');
    if (slash)
        *(slash == origin ? slash + 1 : slash) = '\0';
    for (size_t i = 0; i < info.needed.n; i++) {
        const char *name = info.needed.v[i];
        if (strchr(name, '/')) {
            tinyx_strvec_push_owned(needs, name[0] == '/' ? tinyx_xstrdup(name)
                                                          : tinyx_xasprintf("%s/%s", origin, name));
            continue;
        }
        char *lib = find_lib(r, &info, origin, name);
        if (lib)
            tinyx_strvec_push_owned(needs, lib);
        else if (missing)
            tinyx_strvec_pushf(missing, "%s (needed by %s)", name, guest_path);
    }
    free(origin);
    tinyx_elf_info_free(&info);
    return 0;
}
