/* devpage.c: read the device page (noxs): devices, MACs and addresses from the host. */
#include "devpage.h"

#include "mem.h"

static const struct devpage_abi *page(void)
{
    return (const struct devpage_abi *)(uintptr_t)DEVPAGE_ABI_GPA;
}

bool tg_devpage_valid(void)
{
    const struct devpage_abi *p = page();
    /* Every field is checked before it is trusted: the page is plain guest RAM. */
    if (p->magic != DEVPAGE_ABI_MAGIC || p->version != DEVPAGE_ABI_VERSION ||
        p->size != sizeof(struct devpage_abi) || p->count > DEVPAGE_ABI_MAX_DEVICES)
        return false;
    return p->checksum == devpage_abi_checksum(p, p->size);
}

bool tg_devpage_find(uint32_t type, unsigned nth, struct devpage_abi_device *out)
{
    if (!tg_devpage_valid())
        return false;
    const struct devpage_abi *p = page();
    for (uint32_t i = 0; i < p->count; i++) {
        if (p->dev[i].type != type)
            continue;
        if (nth-- == 0) {
            memcpy(out, &p->dev[i], sizeof(*out));
            return true;
        }
    }
    return false;
}
