// SPDX-License-Identifier: Apache-2.0
/*
 * The queue between the fc_api and vmm threads: parsed requests wait in
 * arrival order for the vmm thread, which applies them one at a time and
 * puts each back, answered, on a second list for the api thread. A mutex
 * guards both lists; neither thread ever waits for the other's work.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <petrel/api.h>
#include <petrel/util.h>

struct list {
	struct api_request *head;
	struct api_request **tail;
	int efd;			/* readable while the list is not empty */
};

struct api_queue {
	pthread_mutex_t lock;
	struct list todo;		/* -> the vmm thread */
	struct list done;		/* -> the api thread */
	bool closed;
};

static int list_init(struct list *l)
{
	l->head = NULL;
	l->tail = &l->head;
	l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return l->efd < 0 ? -errno : 0;
}

/* Called with the lock held, like get(): the eventfd follows the list. */
static void put(struct list *l, struct api_request *req)
{
	uint64_t one = 1;

	req->next = NULL;
	if (!l->head && write(l->efd, &one, sizeof(one)) < 0) {
		/* The counter is 0 or 1: it cannot overflow. */
	}
	*l->tail = req;
	l->tail = &req->next;
}

static struct api_request *get(struct list *l)
{
	struct api_request *req = l->head;
	uint64_t v;

	if (!req)
		return NULL;
	l->head = req->next;
	if (!l->head) {
		l->tail = &l->head;
		if (read(l->efd, &v, sizeof(v)) < 0) {
			/* put() signalled it: it is readable. */
		}
	}
	req->next = NULL;
	return req;
}

int api_queue_create(struct api_queue **out)
{
	struct api_queue *q = calloc(1, sizeof(*q));
	int ret;

	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	q->todo.efd = q->done.efd = -1;
	ret = list_init(&q->todo) ?: list_init(&q->done);
	if (ret) {
		api_queue_destroy(q);
		return ret;
	}
	*out = q;
	return 0;
}

void api_queue_destroy(struct api_queue *q)
{
	if (!q)
		return;
	if (q->todo.efd >= 0)
		close(q->todo.efd);
	if (q->done.efd >= 0)
		close(q->done.efd);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

int api_queue_todo_fd(const struct api_queue *q)
{
	return q->todo.efd;
}

int api_queue_done_fd(const struct api_queue *q)
{
	return q->done.efd;
}

int api_queue_push(struct api_queue *q, struct api_request *req)
{
	int ret = -ESHUTDOWN;

	pthread_mutex_lock(&q->lock);
	if (!q->closed) {
		req->queued_us = util_now_us();
		put(&q->todo, req);
		ret = 0;
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

struct api_request *api_queue_take(struct api_queue *q)
{
	struct api_request *req;

	pthread_mutex_lock(&q->lock);
	req = get(&q->todo);
	pthread_mutex_unlock(&q->lock);
	return req;
}

void api_queue_complete(struct api_queue *q, struct api_request *req)
{
	pthread_mutex_lock(&q->lock);
	put(&q->done, req);
	pthread_mutex_unlock(&q->lock);
}

struct api_request *api_queue_answered(struct api_queue *q)
{
	struct api_request *req;

	pthread_mutex_lock(&q->lock);
	req = get(&q->done);
	pthread_mutex_unlock(&q->lock);
	return req;
}

struct api_request *api_queue_close(struct api_queue *q)
{
	struct api_request *left = NULL, **tail = &left, *req;

	pthread_mutex_lock(&q->lock);
	q->closed = true;
	while ((req = get(&q->todo))) {
		*tail = req;
		tail = &req->next;
	}
	pthread_mutex_unlock(&q->lock);
	return left;
}
