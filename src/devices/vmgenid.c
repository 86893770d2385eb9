// SPDX-License-Identifier: Apache-2.0
/*
 * VMGenID (Microsoft's "Virtual Machine Generation ID"): 16 random bytes in
 * guest memory that change whenever the VM may have been duplicated (a
 * snapshot restored, a clone started), so the guest reseeds its RNG and
 * forgets what must be unique. The DSDT points the guest to the id (the
 * VGEN device's ADDR); the GSI given here reaches it as Notify (VGEN, 0x80)
 * through the Generic Event Device.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <petrel/devices.h>
#include <petrel/log.h>
#include <petrel/memory.h>

struct vmgenid {
	struct guest_mem *mem;
	uint64_t gpa;
	struct irq_line irq;
};

static int fresh_id(uint8_t id[VMGENID_SIZE])
{
	ssize_t n;

	do {
		n = getrandom(id, VMGENID_SIZE, 0);	/* up to 256 bytes: never short */
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == VMGENID_SIZE ? 0 : -EIO;
}

/*
 * A new id into the guest page, which holds nothing else (so a restored VM's
 * page is filled without waiting for its page fault handler); the guest is not
 * told (it has not read one yet, or will be).
 */
static int write_id(struct vmgenid *g)
{
	uint8_t id[VMGENID_SIZE];
	int ret = fresh_id(id);

	if (ret) {
		pr_err("vmgenid: getrandom: %s", strerror(-ret));
		return ret;
	}
	ret = guest_mem_write_own_page(g->mem, g->gpa, id, sizeof(id));
	if (ret)
		pr_err("vmgenid: the id at 0x%llx would not lie in guest RAM",
		       (unsigned long long)g->gpa);
	return ret;
}

struct vmgenid *vmgenid_create(struct guest_mem *mem, uint64_t gpa, struct irq_line irq)
{
	struct vmgenid *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->mem = mem;
	g->gpa = gpa;
	g->irq = irq;
	if (write_id(g)) {
		free(g);
		return NULL;
	}
	return g;
}

void vmgenid_destroy(struct vmgenid *g)
{
	free(g);
}

int vmgenid_regenerate(struct vmgenid *g)
{
	int ret = write_id(g);

	if (!ret)
		irq_line_pulse(&g->irq);
	return ret;
}
