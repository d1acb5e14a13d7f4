/* devpage.h: the device page the launcher daemon writes (guest-drivers/devpage_abi.h). */
#ifndef TG_DEVPAGE_H
#define TG_DEVPAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "guest-drivers/devpage_abi.h"

/* Whether a well-formed device page is at DEVPAGE_ABI_GPA (magic, version, size, count,
 * checksum). Standalone tinyx-kvm and QEMU do not write one: then guests use their command
 * line. */
bool tg_devpage_valid(void);

/* The nth device (0-based) of the given type, copied to *out. False when there is no valid
 * page or no such device. */
bool tg_devpage_find(uint32_t type, unsigned nth, struct devpage_abi_device *out);

#endif
