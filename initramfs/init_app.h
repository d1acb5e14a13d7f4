/* init_app.h: starts the app as the plan says (session, cwd, credentials, env, argv). */
#ifndef INITRAMFS_INIT_APP_H
#define INITRAMFS_INIT_APP_H

#include <sys/types.h>

#include "initramfs/init_plan.h"

/* Fork the app. In the child: new session (the console as its terminal when it is one), cwd,
 * groups, gid, uid, default signal handling, then execve with exactly the plan's environment;
 * on failure it prints why and exits 127. Returns the child's pid, or -1 if fork failed. */
pid_t initramfs_app_start(const struct initramfs_plan *plan);

#endif
