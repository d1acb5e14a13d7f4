/* plan_abi.h: the boot plan tinyx writes into the image and the guest init reads.
 *
 * The plan is a text file at PLAN_ABI_PATH. Each line is "KEY VALUE\n" (one space). In VALUE,
 * bytes below 0x20, 0x7f and '%' are written as %XX (two upper-case hex digits), so a value can
 * hold any byte but NUL. Unknown keys are an error (the init refuses to guess). Order matters for
 * repeated keys. The first line is "version 1".
 *
 *   version 1
 *   hostname NAME            default hostname (kernel cmdline tinyx.hostname= overrides)
 *   mount TYPE TARGET        one mount, in order; TYPE is proc, sysfs, devtmpfs, tmpfs, devpts
 *   module PATH              a kernel module to load, in order (dependencies come first)
 *   env NAME=VALUE           the app's environment (nothing else is inherited)
 *   cwd PATH                 working directory of the app (default /)
 *   uid N / gid N            credentials of the app (default 0)
 *   groups N,N,...           supplementary groups (default none)
 *   arg STRING               argv, in order; the first is the absolute path of the program
 */
#ifndef INITRAMFS_PLAN_ABI_H
#define INITRAMFS_PLAN_ABI_H

#define PLAN_ABI_PATH     "/etc/tinyx/plan"
#define PLAN_ABI_VERSION  1
#define PLAN_ABI_MAX_LINE 65536

#endif
