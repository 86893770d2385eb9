// SPDX-License-Identifier: Apache-2.0
/*
 * petrel-uffd-handler: serves the page faults of a VM restored with the Uffd
 * memory backend, from a memory file. Speaks the handshake petrel and
 * Firecracker share: accept one connection on SOCKET, receive a JSON array of
 * regions ({base_host_virt_addr, size, offset, page_size}) with the
 * userfaultfd attached, then answer each fault with UFFDIO_COPY of its page.
 *
 *   petrel-uffd-handler [--record LIST | --prefetch LIST] SOCKET MEMFILE
 *
 * --record LIST   write the file offset of every page faulted in, one per
 *                 line, in order, when the VM goes away or on SIGTERM/SIGINT.
 * --prefetch LIST install exactly the pages of LIST, in runs, right after the
 *                 handshake, before the guest asks for them.
 *
 * On exit it says on stderr how many faults it served and how many pages it
 * prefetched: what a working set saves is read there.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_REGIONS	16
#define MSG_MAX		4096

struct region {
	uint64_t host, size, offset;
};

struct handler {
	struct region regions[MAX_REGIONS];
	unsigned int nr;
	uint64_t page_size;
	int uffd;
	int vm_pidfd;		/* readable once the monitor has exited */
	const uint8_t *file;
	uint64_t file_size;
	uint8_t *removed;	/* one byte per page: zero it, it was given back */
	uint64_t pages;
	FILE *record;
	uint64_t faults;	/* faults served, from the file or as zero pages */
	uint64_t prefetched;	/* pages --prefetch installed itself */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void __attribute__((format(printf, 1, 2), noreturn)) die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "petrel-uffd-handler: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/*
 * Bound under a temporary name and renamed once listening, so the socket
 * appears only when a connect can succeed: a caller may wait for the file.
 */
static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), c;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.new", path) >= (int)sizeof(sa.sun_path))
		die("%s: socket path too long", path);
	unlink(sa.sun_path);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0 ||
	    rename(sa.sun_path, path) < 0)
		die("%s: %s", path, strerror(errno));
	c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		die("%s: accept: %s", path, strerror(errno));
	close(s);
	unlink(path);
	return c;
}

/*
 * The monitor's exit, seen through a pidfd of the connection's peer: the
 * userfaultfd stays open here and never reports it.
 */
static void watch_peer(struct handler *h, int conn)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		die("SO_PEERCRED: %s", strerror(errno));
	h->vm_pidfd = syscall(SYS_pidfd_open, cred.pid, 0);
	if (h->vm_pidfd < 0)
		die("pidfd_open of the monitor (pid %d): %s", (int)cred.pid, strerror(errno));
}

/* The regions and the userfaultfd, in one message. */
static void receive(struct handler *h, int conn)
{
	char buf[MSG_MAX + 1];
	union {
		struct cmsghdr hdr;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { buf, MSG_MAX };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	json_error_t jerr;
	json_t *arr, *r;
	size_t i;

	if (n <= 0)
		die("receiving the regions: %s", n ? strerror(errno) : "connection closed");
	buf[n] = 0;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		die("no userfaultfd came with the regions");
	memcpy(&h->uffd, CMSG_DATA(c), sizeof(int));

	arr = json_loads(buf, 0, &jerr);
	if (!json_is_array(arr) || !json_array_size(arr) || json_array_size(arr) > MAX_REGIONS)
		die("the regions are not a JSON array of 1 to 16 objects: %s", buf);
	json_array_foreach(arr, i, r) {
		json_int_t host, size, off, page;

		if (json_unpack(r, "{s:I, s:I, s:I, s:I}", "base_host_virt_addr", &host,
				"size", &size, "offset", &off, "page_size", &page) ||
		    size <= 0 || off < 0 || page <= 0 || (page & (page - 1)))
			die("bad region: %s", buf);
		h->regions[i] = (struct region){ host, size, off };
		h->page_size = page;
	}
	h->nr = i;
	json_decref(arr);
}

static void map_file(struct handler *h, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		die("%s: %s", path, strerror(errno));
	h->file_size = st.st_size;
	for (unsigned int i = 0; i < h->nr; i++) {
		if (h->regions[i].offset + h->regions[i].size > h->file_size) {
			die("%s: shorter than the guest's memory", path);
		}
		h->pages = (h->regions[i].offset + h->regions[i].size) / h->page_size;
	}
	h->file = mmap(NULL, h->file_size, PROT_READ, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	if (h->file == MAP_FAILED)
		die("%s: mmap: %s", path, strerror(errno));
	close(fd);
	h->removed = calloc(h->pages, 1);
	if (!h->removed)
		die("out of memory");
}

static struct region *by_host(struct handler *h, uint64_t addr)
{
	for (unsigned int i = 0; i < h->nr; i++)
		if (addr - h->regions[i].host < h->regions[i].size)
			return &h->regions[i];
	return NULL;
}

/*
 * Install [off, off+len) of the file; the number of pages it installed. A page
 * there already (a fault raced a prefetch) is skipped, the rest still goes in.
 */
static uint64_t install(struct handler *h, const struct region *r, uint64_t off, uint64_t len)
{
	struct uffdio_copy cp = {
		.dst = r->host + (off - r->offset), .src = (uintptr_t)(h->file + off), .len = len,
	};
	uint64_t done = 0;

	while (ioctl(h->uffd, UFFDIO_COPY, &cp) < 0) {
		if (errno == ENOENT || errno == ESRCH)
			return done / h->page_size;	/* the VM is gone */
		if (errno != EAGAIN && errno != EEXIST)
			die("UFFDIO_COPY: %s", strerror(errno));
		if (cp.copy > 0)
			done += cp.copy;
		else
			cp.copy = 0;
		if (errno == EEXIST)	/* go on after the page that is there */
			cp.copy += h->page_size;
		if ((uint64_t)cp.copy >= cp.len)
			return done / h->page_size;
		cp.dst += cp.copy;
		cp.src += cp.copy;
		cp.len -= cp.copy;
		cp.copy = 0;
	}
	return (done + cp.copy) / h->page_size;
}

static void fault(struct handler *h, uint64_t addr)
{
	uint64_t page = addr & ~(h->page_size - 1);
	struct region *r = by_host(h, page);
	uint64_t off;

	if (!r)
		die("fault at %#llx outside every region", (unsigned long long)addr);
	off = r->offset + (page - r->host);
	if (h->removed[off / h->page_size]) {
		struct uffdio_zeropage z = { .range = { page, h->page_size } };

		if (ioctl(h->uffd, UFFDIO_ZEROPAGE, &z) < 0 && errno != EEXIST)
			die("UFFDIO_ZEROPAGE: %s", strerror(errno));
		h->faults++;
		return;
	}
	install(h, r, off, h->page_size);
	h->faults++;
	if (h->record)
		fprintf(h->record, "0x%llx\n", (unsigned long long)off);
}

/* The guest gave pages back (a balloon): they come back as zeros, not from the file. */
static void removed(struct handler *h, uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a < end; a += h->page_size) {
		struct region *r = by_host(h, a);

		if (r)
			h->removed[(r->offset + a - r->host) / h->page_size] = 1;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The region holding file offset off. */
static struct region *by_offset(struct handler *h, uint64_t off)
{
	for (unsigned int i = 0; i < h->nr; i++)
		if (off - h->regions[i].offset < h->regions[i].size)
			return &h->regions[i];
	return NULL;
}

static void prefetch(struct handler *h, const char *path)
{
	FILE *f = fopen(path, "re");
	uint64_t *offs = NULL, n = 0, cap = 0, off;

	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fscanf(f, "%lli", (long long *)&off) == 1) {
		if (n == cap && !(offs = realloc(offs, (cap = cap * 2 + 1024) * sizeof(*offs))))
			die("out of memory");
		offs[n++] = off & ~(h->page_size - 1);
	}
	fclose(f);
	qsort(offs, n, sizeof(*offs), cmp_u64);
	for (uint64_t i = 0, j; i < n; i = j) {
		struct region *r = by_offset(h, offs[i]);

		/* A run: consecutive pages in one region (repeats folded in). */
		for (j = i + 1; j < n && r && offs[j] - offs[j - 1] <= h->page_size &&
		     by_offset(h, offs[j]) == r; j++)
			;
		if (r)
			h->prefetched += install(h, r, offs[i],
						 offs[j - 1] + h->page_size - offs[i]);
	}
	free(offs);
}

static void serve(struct handler *h)
{
	struct pollfd p[2] = {
		{ .fd = h->uffd, .events = POLLIN }, { .fd = h->vm_pidfd, .events = POLLIN },
	};

	while (!stop) {
		struct uffd_msg m;
		int ready = poll(p, 2, 200);

		if (ready < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (ready <= 0)
			continue;
		if (p[1].revents || (p[0].revents & (POLLERR | POLLHUP)))
			return;		/* the VM is gone */
		if (!p[0].revents)
			continue;
		if (read(h->uffd, &m, sizeof(m)) != sizeof(m))
			continue;	/* another reader, or EAGAIN */
		if (m.event == UFFD_EVENT_PAGEFAULT)
			fault(h, m.arg.pagefault.address);
		else if (m.event == UFFD_EVENT_REMOVE)
			removed(h, m.arg.remove.start, m.arg.remove.end);
	}
}

int main(int argc, char **argv)
{
	struct handler h = { 0 };
	const char *record = NULL, *pre = NULL;
	int conn, i = 1;

	for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--record"))
			record = argv[i + 1];
		else if (!strcmp(argv[i], "--prefetch"))
			pre = argv[i + 1];
		else
			break;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: %s [--record LIST | --prefetch LIST] SOCKET MEMFILE\n",
			argv[0]);
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (record && !(h.record = fopen(record, "we")))
		die("%s: %s", record, strerror(errno));
	conn = listen_on(argv[i]);
	watch_peer(&h, conn);
	receive(&h, conn);
	close(conn);
	map_file(&h, argv[i + 1]);
	if (pre)
		prefetch(&h, pre);
	serve(&h);
	fprintf(stderr, "petrel-uffd-handler: served %llu faults, prefetched %llu pages\n",
		(unsigned long long)h.faults, (unsigned long long)h.prefetched);
	if (h.record && fclose(h.record))
		die("%s: %s", record, strerror(errno));
	free(h.removed);
	munmap((void *)h.file, h.file_size);
	return 0;
}
