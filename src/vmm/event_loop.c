// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <petrel/vmm.h>

#define MAX_WATCHES 256
#define EVENTS_PER_WAIT 16

struct watch {
	int fd;
	event_cb cb;
	void *opaque;
};

struct event_loop {
	int epfd;
	struct watch watches[MAX_WATCHES];
};

struct event_loop *event_loop_create(void)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	for (int i = 0; i < MAX_WATCHES; i++)
		loop->watches[i].fd = -1;
	return loop;
}

void event_loop_destroy(struct event_loop *loop)
{
	if (!loop)
		return;
	close(loop->epfd);
	free(loop);
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_cb cb, void *opaque)
{
	struct epoll_event ev = { .events = events };

	for (int i = 0; i < MAX_WATCHES; i++) {
		struct watch *w = &loop->watches[i];

		if (w->fd >= 0)
			continue;
		ev.data.ptr = w;
		if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
		*w = (struct watch){ fd, cb, opaque };
		return 0;
	}
	return -ENOSPC;
}

int event_loop_del(struct event_loop *loop, int fd)
{
	for (int i = 0; i < MAX_WATCHES; i++) {
		if (loop->watches[i].fd != fd)
			continue;
		loop->watches[i].fd = -1;
		if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
			return -errno;
		return 0;
	}
	return -ENOENT;
}

int event_loop_run_once(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[EVENTS_PER_WAIT];
	int n = epoll_wait(loop->epfd, evs, EVENTS_PER_WAIT, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct watch *w = evs[i].data.ptr;

		/* A callback earlier in this batch may have removed this watch. */
		if (w->fd >= 0)
			w->cb(w->opaque, evs[i].events);
	}
	return 0;
}
