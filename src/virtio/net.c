// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net over an existing TAP device: receive queue 0, transmit queue 1.
 * The tap carries the 12-byte virtio_net_hdr_v1 in front of every frame
 * (IFF_VNET_HDR), so headers pass through unchanged in both directions and
 * the guest's offloads become the tap's.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include <petrel/log.h>
#include <petrel/mmds.h>
#include <petrel/util.h>
#include <petrel/virtio.h>

#include "dev_util.h"

#define RXQ		0
#define TXQ		1
#define VNET_HDR_LEN	sizeof(struct virtio_net_hdr_v1)
#define NUM_BUFFERS_OFF	offsetof(struct virtio_net_hdr_v1, num_buffers)
#define VLAN_HLEN	4
/* The largest frame a tap hands out: a 64 KiB GSO packet, its Ethernet and VLAN headers. */
#define RX_FRAME_MAX	(VNET_HDR_LEN + 65536 + ETH_HLEN + VLAN_HLEN)
#define RX_BURST	64	/* frames per wakeup, so other devices get their turn */

static_assert(sizeof(struct virtio_net_hdr_v1) == 12, "virtio-net header");

struct net {
	struct virtio_dev dev;
	int tap;
	bool is_tap;			/* offloads can be set (not a test's socket) */
	bool has_mac;
	uint8_t mac[ETH_ALEN];
	uint16_t mtu;			/* offered with VIRTIO_NET_F_MTU; 0: not offered */
	struct dev_limiter rx_limit, tx_limit;
	bool active;			/* DRIVER_OK and not reset since */
	bool started;			/* offloads set for this activation (vmm thread) */
	bool rx_stalled;		/* the guest had no room: wait for its rx kick */
	bool tx_blocked;		/* the tap said EAGAIN: wait for EPOLLOUT */
	uint32_t watch;			/* events the loop watches on the tap, 0: none */
	struct mmds_net *mmds;		/* the metadata service on this link, or NULL */
	struct virtq_elem elem;
	size_t rx_len;			/* a frame read from the tap, not yet delivered */
	bool rx_paid;			/* ... and its tokens taken from rx_limit */
	uint8_t rx_buf[RX_FRAME_MAX];
};

struct used {
	uint16_t head;
	uint32_t len;
};

static struct net *to_net(struct virtio_dev *dev)
{
	return (struct net *)dev;
}

/* Attach to an existing tap; TUNSETIFF alone would create a missing one. */
static int open_tap(const char *iface, const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr_len = VNET_HDR_LEN;
	int fd, err;

	if (strlen(name) >= IFNAMSIZ || !if_nametoindex(name)) {
		pr_err("network interface %s: host_dev_name %s: no such device", iface, name);
		return -ENODEV;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("network interface %s: cannot open /dev/net/tun: %s", iface,
		       strerror(errno));
		return err;
	}
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		pr_err("network interface %s: cannot attach to tap %s (%s): %s", iface, name,
		       errno == EBUSY ? "in use by another process" : "not a tap device?",
		       strerror(errno));
		goto err_close;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0 || ioctl(fd, TUNSETOFFLOAD, 0) < 0) {
		err = -errno;
		pr_err("network interface %s: tap %s: cannot set the virtio header: %s", iface,
		       name, strerror(errno));
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return err;
}

/* The guest's receive offloads are what the tap may hand us. */
static unsigned int tun_offloads(const struct virtio_dev *dev)
{
	unsigned int f;

	if (!virtio_dev_has_feature(dev, VIRTIO_NET_F_GUEST_CSUM))
		return 0;	/* segmentation offloads need checksum offload */
	f = TUN_F_CSUM;
	if (virtio_dev_has_feature(dev, VIRTIO_NET_F_GUEST_TSO4))
		f |= TUN_F_TSO4;
	if (virtio_dev_has_feature(dev, VIRTIO_NET_F_GUEST_TSO6))
		f |= TUN_F_TSO6;
	if (virtio_dev_has_feature(dev, VIRTIO_NET_F_GUEST_UFO))
		f |= TUN_F_UFO;
	return f;
}

static void on_tap(void *opaque, uint32_t events);

/* Watch the tap for what we wait on: frames (unless stalled) and room to write. */
static void update_watch(struct net *n)
{
	uint32_t want = 0;
	int ret;

	if (n->active && !n->dev.broken)
		want = (n->rx_stalled || dev_limited(&n->rx_limit) ? 0 : EPOLLIN) |
		       (n->tx_blocked ? EPOLLOUT : 0);
	if (want == n->watch)
		return;
	if (n->watch)
		event_loop_del(n->dev.loop, n->tap);
	n->watch = 0;
	if (!want)
		return;
	ret = event_loop_add(n->dev.loop, n->tap, want, on_tap, n);
	if (ret)
		pr_err("network interface %s: cannot watch the tap: %s", n->dev.id, strerror(-ret));
	else
		n->watch = want;
}

static bool push(struct net *n, unsigned int q, const struct used *u, unsigned int count)
{
	struct virtq *vq = &n->dev.queues[q];
	int ret = 0;

	/* One publication for all the chains of a frame (MRG_RXBUF). */
	for (unsigned int i = 0; !ret && i < count; i++)
		ret = virtq_fill(vq, n->dev.mem, i, u[i].head, u[i].len);
	if (!ret)
		ret = virtq_flush(vq, n->dev.mem, count);
	if (ret)
		virtio_dev_fail(&n->dev, "queue %u: used ring not writable", q);
	return !ret;
}

static ssize_t tap_write(struct net *n)
{
	ssize_t w;

	do
		w = writev(n->tap, n->elem.iov, n->elem.nr_out);
	while (w < 0 && errno == EINTR);
	return w;
}

/* The metadata service takes what is addressed to it, before the tap. */
static bool to_mmds(struct net *n)
{
	return n->mmds && mmds_net_tx(n->mmds, n->elem.iov, n->elem.nr_out);
}

/* Send what the guest queued, a queue's worth per call; true when chains were returned. */
static bool process_tx(struct net *n)
{
	unsigned int budget = n->dev.queues[TXQ].size;
	struct used u = { 0 };
	bool pushed = false;
	ssize_t w;

	while (!n->dev.broken && !dev_limited(&n->tx_limit) &&
	       dev_pop(&n->dev, TXQ, &n->elem) > 0) {
		if (n->elem.nr_in || n->elem.out_len < VNET_HDR_LEN) {
			virtio_dev_fail(&n->dev, "queue 1: tx chain %s", n->elem.nr_in ?
					"has device-writable buffers" : "shorter than its header");
			break;
		}
		if (!dev_limit(&n->tx_limit, n->elem.out_len - VNET_HDR_LEN, 1)) {
			dev_unpop(&n->dev, TXQ, 1);	/* the limiter's timer brings us back */
			break;
		}
		w = to_mmds(n) ? (ssize_t)n->elem.out_len : tap_write(n);
		if (w < 0 && errno == EAGAIN) {
			dev_unpop(&n->dev, TXQ, 1);	/* kept; EPOLLOUT brings us back */
			n->tx_blocked = true;
			break;
		}
		if (w < 0) {
			n->dev.metrics.io_errors++;
		} else {
			n->dev.metrics.requests++;
			n->dev.metrics.bytes_written += n->elem.out_len - VNET_HDR_LEN;
		}
		u.head = n->elem.head;
		if (!push(n, TXQ, &u, 1))
			break;
		pushed = true;
		if (!--budget) {
			dev_requeue(&n->dev, TXQ);
			break;
		}
	}
	return pushed;
}

/* A chain fit to receive into: -EINVAL fails the device, 0 fine, 1 too small (drop). */
static int check_rx_chain(struct net *n, bool mrg)
{
	const struct virtq_elem *e = &n->elem;

	if (e->nr_out || (mrg && e->in_len < VNET_HDR_LEN)) {
		virtio_dev_fail(&n->dev, "queue 0: rx buffer %s",
				e->nr_out ? "not device-writable" : "shorter than the header");
		return -EINVAL;
	}
	return !mrg && e->in_len < n->rx_len;
}

/* The chains one frame goes into, until they are pushed. */
struct rx_batch {
	struct used u[VIRTQ_MAX_SIZE];
	unsigned int nbufs;
	struct iovec hdr[VNET_HDR_LEN];	/* the first chain's start: >= 1 byte an iovec */
	unsigned int nr_hdr;
};

enum { RX_NO_ROOM, RX_TAKEN, RX_DROPPED };

/* Give back the chains taken and drop the frame: it can never fit. */
static int drop_frame(struct net *n, unsigned int taken)
{
	dev_unpop(&n->dev, RXQ, taken);
	n->dev.metrics.io_errors++;
	n->rx_len = 0;
	return RX_DROPPED;
}

/* One more receive chain for the pending frame into n->elem; <0: the device failed. */
static int take_chain(struct net *n, bool mrg, const struct rx_batch *b)
{
	int ret;

	if (b->nbufs == n->dev.queues[RXQ].size)
		return drop_frame(n, b->nbufs);		/* more than the whole ring */
	ret = dev_pop(&n->dev, RXQ, &n->elem);
	if (ret == 0)
		dev_unpop(&n->dev, RXQ, b->nbufs);	/* wait for room, keep the frame */
	if (ret <= 0)
		return ret < 0 ? ret : RX_NO_ROOM;
	ret = check_rx_chain(n, mrg);
	if (ret > 0)
		return drop_frame(n, 1);	/* no MRG_RXBUF; the buffer may suit the next */
	return ret ?: RX_TAKEN;
}

/*
 * Copy the pending frame into the guest's receive chains (several with
 * MRG_RXBUF). 1: delivered or dropped; 0: not enough room yet (the chains
 * taken are given back); <0: the device failed.
 */
static int deliver(struct net *n)
{
	bool mrg = virtio_dev_has_feature(&n->dev, VIRTIO_NET_F_MRG_RXBUF);
	struct rx_batch b = { .nbufs = 0 };
	uint16_t num_buffers;
	size_t off = 0;

	while (off < n->rx_len) {
		int ret = take_chain(n, mrg, &b);

		if (ret != RX_TAKEN)
			return ret == RX_DROPPED ? 1 : ret;
		if (!b.nbufs) {
			b.nr_hdr = MIN(n->elem.nr_in, VNET_HDR_LEN);
			memcpy(b.hdr, n->elem.iov, b.nr_hdr * sizeof(b.hdr[0]));
		}
		b.u[b.nbufs].head = n->elem.head;
		b.u[b.nbufs].len = (uint32_t)iov_from_buf(n->elem.iov, n->elem.nr_in, 0,
							  n->rx_buf + off, n->rx_len - off);
		off += b.u[b.nbufs++].len;
	}
	num_buffers = htole16((uint16_t)b.nbufs);
	iov_from_buf(b.hdr, b.nr_hdr, NUM_BUFFERS_OFF, &num_buffers, sizeof(num_buffers));
	n->dev.metrics.requests++;
	n->dev.metrics.bytes_read += n->rx_len - VNET_HDR_LEN;
	n->rx_len = 0;
	return push(n, RXQ, b.u, b.nbufs) ? 1 : -EINVAL;
}

/* 1: a frame in rx_buf; 0: the tap is empty; <0: the tap failed. */
static int read_frame(struct net *n)
{
	ssize_t r;

	do
		r = read(n->tap, n->rx_buf, sizeof(n->rx_buf));
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EAGAIN)
		return 0;
	if (r < 0) {
		pr_warn("network interface %s: tap read: %s", n->dev.id, strerror(errno));
		return -errno;
	}
	if ((size_t)r <= VNET_HDR_LEN) {
		n->dev.metrics.io_errors++;	/* nothing behind the header: nothing to deliver */
		return 1;
	}
	/* Without GUEST_CSUM the flags must be 0, though the tap may say DATA_VALID. */
	if (!virtio_dev_has_feature(&n->dev, VIRTIO_NET_F_GUEST_CSUM))
		n->rx_buf[offsetof(struct virtio_net_hdr_v1, flags)] = 0;
	n->rx_len = (size_t)r;
	return 1;
}

/* The metadata service's frames go first: 1 when one waits in rx_buf. */
static int from_mmds(struct net *n)
{
	if (n->mmds)
		n->rx_len = mmds_net_rx(n->mmds, n->rx_buf, sizeof(n->rx_buf));
	return n->rx_len ? 1 : 0;
}

/* Move frames from the tap to the guest until either side runs dry. */
static bool process_rx(struct net *n)
{
	bool pushed = false;
	int ret;

	for (unsigned int i = 0; i < RX_BURST && !n->dev.broken; i++) {
		if (!n->rx_len) {
			ret = from_mmds(n) ?: read_frame(n);
			if (ret < 0)
				n->rx_stalled = true;	/* retry on the next rx kick, no spinning */
			if (ret <= 0)
				break;
			if (!n->rx_len)
				continue;
			n->rx_paid = false;	/* a new frame */
		}
		/* Held in rx_buf while the limiter refuses; its timer brings us back. */
		if (!n->rx_paid && !dev_limit(&n->rx_limit, n->rx_len - VNET_HDR_LEN, 1))
			break;
		n->rx_paid = true;
		ret = deliver(n);
		if (ret == 0)
			n->rx_stalled = true;	/* no room: the frame waits in rx_buf */
		if (ret <= 0)
			break;
		pushed = true;
	}
	return pushed;
}

/*
 * On the vmm thread, before any frame moves: is the device up? The first
 * time after DRIVER_OK, the guest's receive offloads become the tap's here
 * rather than in activate, which runs on a vCPU thread.
 */
static bool serving(struct net *n)
{
	unsigned int offloads = tun_offloads(&n->dev);

	if (!n->active || n->dev.broken)
		return false;
	if (n->started)
		return true;
	if (n->is_tap && ioctl(n->tap, TUNSETOFFLOAD, offloads) < 0) {
		virtio_dev_fail(&n->dev, "tap: TUNSETOFFLOAD 0x%x: %s", offloads, strerror(errno));
		return false;
	}
	n->started = true;
	return true;
}

static void on_tap(void *opaque, uint32_t events)
{
	struct net *n = opaque;

	pthread_mutex_lock(&n->dev.lock);
	if (serving(n) && (events & EPOLLOUT)) {
		n->tx_blocked = false;
		if (process_tx(n))
			virtio_dev_notify(&n->dev, &n->dev.queues[TXQ]);
	}
	if (serving(n) && (events & ~EPOLLOUT) && process_rx(n))
		virtio_dev_notify(&n->dev, &n->dev.queues[RXQ]);
	update_watch(n);
	pthread_mutex_unlock(&n->dev.lock);
}

static uint64_t net_features(struct virtio_dev *dev)
{
	static const unsigned int bits[] = {
		VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4,
		VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_HOST_TSO4,
		VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_HOST_UFO, VIRTIO_NET_F_MRG_RXBUF,
		VIRTIO_NET_F_STATUS,
	};
	uint64_t f = to_net(dev)->has_mac ? 1ULL << VIRTIO_NET_F_MAC : 0;

	if (to_net(dev)->mtu)
		f |= 1ULL << VIRTIO_NET_F_MTU;

	for (unsigned int i = 0; i < ARRAY_SIZE(bits); i++)
		f |= 1ULL << bits[i];
	return f;
}

static void net_config_read(struct virtio_dev *dev, uint32_t offset, uint8_t *data, uint32_t len)
{
	struct virtio_net_config cfg = {
		.status = htole16(VIRTIO_NET_S_LINK_UP),
		.mtu = htole16(to_net(dev)->mtu),
	};

	memcpy(cfg.mac, to_net(dev)->mac, ETH_ALEN);
	dev_config_read(&cfg, sizeof(cfg), offset, data, len);
}

static void net_config_write(struct virtio_dev *dev, uint32_t offset, const uint8_t *data,
			     uint32_t len)
{
	/* The MAC is read-only without CTRL_MAC_ADDR (legacy drivers wrote it): ignored. */
}

/* On a vCPU thread: the transport kicks the ready queues next, and serving() starts there. */
static int net_activate(struct virtio_dev *dev)
{
	struct net *n = to_net(dev);

	n->active = true;
	n->started = false;
	n->rx_stalled = false;
	n->tx_blocked = false;
	return 0;
}

static void net_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct net *n = to_net(dev);

	if (!serving(n)) {
		update_watch(n);
		return;
	}
	if (q == RXQ) {
		n->rx_stalled = false;
		if (process_rx(n))
			virtio_dev_notify(dev, &dev->queues[RXQ]);
	} else if (q == TXQ && !n->tx_blocked && process_tx(n)) {
		virtio_dev_notify(dev, &dev->queues[TXQ]);
	}
	/* The metadata service's answers to what was just sent. */
	if (q == TXQ && n->mmds && !n->rx_stalled && process_rx(n))
		virtio_dev_notify(dev, &dev->queues[RXQ]);
	update_watch(n);
}

/* On a vCPU thread: the loop drops the tap at its next wakeup (on_tap sees !active). */
static void net_reset(struct virtio_dev *dev)
{
	struct net *n = to_net(dev);

	n->active = false;
	n->rx_len = 0;		/* the guest's buffers are gone with the reset */
}

static void net_destroy(struct virtio_dev *dev)
{
	struct net *n = to_net(dev);

	net_reset(dev);
	update_watch(n);
	mmds_net_destroy(n->mmds);
	dev_limiter_destroy(&n->rx_limit);
	dev_limiter_destroy(&n->tx_limit);
	close(n->tap);
	free(n);
}

static struct ratelimit *net_limiter(struct virtio_dev *dev, unsigned int q)
{
	return q == RXQ ? &to_net(dev)->rx_limit.rl : &to_net(dev)->tx_limit.rl;
}

static const struct virtio_dev_ops net_ops = {
	.device_id = VIRTIO_ID_NET,
	.features = net_features,
	.config_size = sizeof(struct virtio_net_config),
	.config_read = net_config_read,
	.config_write = net_config_write,
	.activate = net_activate,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
	.destroy = net_destroy,
	.save = dev_limiters_save,	/* beyond its rings, only its limiters' buckets */
	.restore = dev_limiters_restore,
	.limiter = net_limiter,
};

static struct virtio_dev *create(const struct net_config *cfg, int fd, bool is_tap)
{
	struct net *n = calloc(1, sizeof(*n));

	if (!n) {
		close(fd);
		return NULL;
	}
	n->dev.ops = &net_ops;
	n->dev.nr_queues = 2;
	snprintf(n->dev.id, sizeof(n->dev.id), "%s", cfg->iface_id);
	n->has_mac = cfg->has_guest_mac;
	if (n->has_mac)
		memcpy(n->mac, cfg->guest_mac, ETH_ALEN);
	n->tap = fd;
	n->is_tap = is_tap;
	n->mtu = (uint16_t)cfg->mtu;
	if (dev_limiter_init(&n->rx_limit, &n->dev, RXQ, &cfg->rx_rate_limiter,
			     &n->dev.metrics.rx_rl_throttled))
		goto err;
	if (dev_limiter_init(&n->tx_limit, &n->dev, TXQ, &cfg->tx_rate_limiter,
			     &n->dev.metrics.rl_throttled)) {
		dev_limiter_destroy(&n->rx_limit);
		goto err;
	}
	return &n->dev;

err:
	close(fd);
	free(n);
	return NULL;
}

struct virtio_dev *virtio_net_create(const struct net_config *cfg)
{
	int fd = open_tap(cfg->iface_id, cfg->host_dev_name);

	return fd < 0 ? NULL : create(cfg, fd, true);
}

struct virtio_dev *virtio_net_create_on_fd(const struct net_config *cfg, int fd)
{
	return create(cfg, fd, false);
}

/* On the vmm thread: the metadata service has frames outside a transmit (a resend). */
static void mmds_kick(void *opaque)
{
	struct net *n = opaque;

	pthread_mutex_lock(&n->dev.lock);
	if (serving(n) && !n->rx_stalled && process_rx(n))
		virtio_dev_notify(&n->dev, &n->dev.queues[RXQ]);
	update_watch(n);
	pthread_mutex_unlock(&n->dev.lock);
}

int virtio_net_attach_mmds(struct virtio_dev *dev, struct mmds *m)
{
	struct net *n = to_net(dev);

	n->mmds = mmds_net_create(m, dev->loop, mmds_kick, n);
	return n->mmds ? 0 : -ENOMEM;
}
