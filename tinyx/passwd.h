/* passwd.h: look up users and groups in a staged root's /etc/passwd and /etc/group. */
#ifndef TINYX_PASSWD_H
#define TINYX_PASSWD_H

#include <sys/types.h>

struct tinyx_user {
    char *name;
    uid_t uid;
    gid_t gid;
    char *home;
    gid_t *groups; /* supplementary groups (from /etc/group member lists) */
    size_t n_groups;
};

/* Look up NAME (a user name or a numeric uid) in ROOT. Returns -1 with a message naming close
 * matches when the user does not exist. */
int tinyx_passwd_lookup(const char *root, const char *name, struct tinyx_user *out);
void tinyx_user_free(struct tinyx_user *u);

#endif
