// SPDX-License-Identifier: Apache-2.0
/*
 * The terminal petrel changes (the console's), and putting it back with the
 * kernel's own calls: glibc's tcsetattr() reads the settings back around
 * TCSETS, which no filter needs to allow.
 */
#include <asm/termbits.h>
#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>

#include <petrel/util.h>

static struct {
	int fd;
	struct termios saved;		/* the kernel's layout, for TCGETS and TCSETS */
	volatile sig_atomic_t set;
} tty = { .fd = -1 };

int util_tty_save(int fd)
{
	if (tty.set)
		return tty.fd == fd ? 0 : -EBUSY;
	if (ioctl(fd, TCGETS, &tty.saved) < 0)
		return -errno;
	tty.fd = fd;
	tty.set = 1;
	return 0;
}

/*
 * Cleared only once done, so that a handler running meanwhile on another
 * thread restores too rather than skip it: twice does no harm.
 */
void util_tty_restore(void)
{
	int ret;

	if (!tty.set)
		return;
	do {
		ret = ioctl(tty.fd, TCSETS, &tty.saved);
	} while (ret < 0 && errno == EINTR);
	tty.set = 0;
}
