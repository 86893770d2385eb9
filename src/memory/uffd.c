// SPDX-License-Identifier: Apache-2.0
/*
 * Guest RAM for a Uffd restore: anonymous memory registered with a
 * userfaultfd, whose faults a separate handler serves. The handshake is
 * Firecracker's, so handlers written for it work unchanged: connect to the
 * handler's Unix socket, send one message holding a JSON array of the regions
 * with the userfaultfd attached (SCM_RIGHTS), and say nothing more.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <petrel/memory.h>
#include <petrel/util.h>

#include "memory_priv.h"

/* How long a handler may take to accept the connection and the message. */
#define HANDSHAKE_TIMEOUT_SEC	5
#define HANDSHAKE_MAX		1024

/*
 * KVM touches guest RAM from the kernel too, so the descriptor may not be
 * UFFD_USER_MODE_ONLY. The syscall needs CAP_SYS_PTRACE when
 * vm.unprivileged_userfaultfd is 0; /dev/userfaultfd is governed by its mode.
 */
static int open_uffd(char *err, size_t errlen)
{
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK), dev;

	if (fd >= 0)
		return fd;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
		if (fd >= 0)
			return fd;
	}
	snprintf(err, errlen, "mem_backend Uffd: cannot create a userfaultfd (%s); allow "
		 "vm.unprivileged_userfaultfd or give petrel read-write access to "
		 "/dev/userfaultfd", strerror(errno));
	return -errno;
}

static int register_regions(const struct guest_mem *mem, int uffd, char *err, size_t errlen)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_EVENT_REMOVE };

	if (ioctl(uffd, UFFDIO_API, &api) < 0) {
		snprintf(err, errlen, "mem_backend Uffd: UFFDIO_API: %s", strerror(errno));
		return -errno;
	}
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		struct uffdio_register reg = {
			.range = { (uintptr_t)mem->regions[i].host, mem->regions[i].size },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) {
			snprintf(err, errlen, "mem_backend Uffd: UFFDIO_REGISTER: %s",
				 strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* Firecracker's GuestRegionUffdMapping array; page_size_kib is, despite its name, bytes. */
static int regions_json(const struct guest_mem *mem, char *buf, size_t len)
{
	uint64_t page = mem->huge_pages == HUGE_PAGES_2M ? MiB(2) : MEM_PAGE_SIZE, off = 0;
	size_t used = 0;

	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		used += snprintf(buf + used, len - used,
				 "%s{\"base_host_virt_addr\":%llu,\"size\":%llu,\"offset\":%llu,"
				 "\"page_size\":%llu,\"page_size_kib\":%llu}", i ? "," : "[",
				 (unsigned long long)(uintptr_t)r->host,
				 (unsigned long long)r->size, (unsigned long long)off,
				 (unsigned long long)page, (unsigned long long)page);
		if (used >= len)
			return -ENOSPC;
		off += r->size;
	}
	used += snprintf(buf + used, len - used, "]");
	return used < len ? (int)used : -ENOSPC;
}

static int connect_handler(const char *sock_path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = HANDSHAKE_TIMEOUT_SEC };
	int s, ret;

	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "mem_backend.backend_path: %s: longer than %zu bytes",
			 sock_path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, sock_path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		goto fail;
	/* A Unix connect waits on a full backlog, and a send on a full buffer, this long. */
	if (setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	return s;
fail:
	ret = -errno;
	snprintf(err, errlen, "mem_backend.backend_path: %s: %s%s", sock_path, strerror(errno),
		 errno == EAGAIN || errno == EWOULDBLOCK ?
		 " (the page fault handler does not accept)" : "");
	if (s >= 0)
		close(s);
	return ret;
}

static int send_handshake(const struct guest_mem *mem, int uffd, const char *sock_path,
			  char *err, size_t errlen)
{
	char json[HANDSHAKE_MAX];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl = { 0 };
	struct iovec iov = { json, 0 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	int len = regions_json(mem, json, sizeof(json)), s;
	ssize_t n;

	if (len < 0)
		return len;
	iov.iov_len = len;
	ctl.h.cmsg_level = SOL_SOCKET;
	ctl.h.cmsg_type = SCM_RIGHTS;
	ctl.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&ctl.h), &uffd, sizeof(int));
	s = connect_handler(sock_path, err, errlen);
	if (s < 0)
		return s;
	do
		n = sendmsg(s, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != len) {
		snprintf(err, errlen, "mem_backend.backend_path: %s: sending the memory regions: %s",
			 sock_path, n < 0 ? strerror(errno) : "short write");
		close(s);
		return n < 0 ? -errno : -EIO;
	}
	close(s);
	return 0;
}

int mem_uffd_fill(const struct guest_mem *mem, void *host, uint64_t off, const void *src,
		  uint64_t len)
{
	uint8_t page[MEM_PAGE_SIZE] __attribute__((aligned(MEM_PAGE_SIZE))) = { 0 };
	struct uffdio_copy copy = {
		.dst = (uintptr_t)host, .src = (uintptr_t)page, .len = MEM_PAGE_SIZE,
	};

	memcpy(page + off, src, len);
	return ioctl(mem->memfd, UFFDIO_COPY, &copy) < 0 ? -errno : 0;
}

int guest_mem_create_uffd(struct guest_mem *mem, uint64_t mem_mib, enum huge_pages hp,
			  const char *sock_path, char *err, size_t errlen)
{
	int ret = mem_layout(mem, mem_mib, hp);

	ret = ret ?: mem_map_anon(mem);
	if (ret) {
		snprintf(err, errlen, "mem_backend Uffd: cannot set up %llu MiB of guest memory "
			 "(see the log)", (unsigned long long)mem_mib);
		goto out;
	}
	mem->backing = GUEST_MEM_UFFD;
	/* Kept open for the VM's life: closing it would turn unserved pages into zeros. */
	mem->memfd = open_uffd(err, errlen);
	if (mem->memfd < 0) {
		ret = mem->memfd;
		goto out;
	}
	ret = register_regions(mem, mem->memfd, err, errlen);
	ret = ret ?: send_handshake(mem, mem->memfd, sock_path, err, errlen);
out:
	if (ret)
		guest_mem_destroy(mem);
	return ret;
}
