/* SPDX-License-Identifier: MIT */
/* The virtio-net driver net.c brings up, shared with the MMDS client (mmds.c). */
#ifndef PROBE_NETDEV_H
#define PROBE_NETDEV_H

#include <linux/if_ether.h>
#include <linux/virtio_net.h>

#include "virtq.h"

#define NET_BUF		2048
#define NET_HDR		sizeof(struct virtio_net_hdr_v1)

struct net {
	struct virtio_dev *dev;
	struct virtq rx, tx;
	uint8_t mac[ETH_ALEN];
	uint8_t *rx_bufs;		/* rx.num buffers of NET_BUF, all posted */
	uint8_t *tx_bufs;
	uint16_t *tx_free;		/* a stack of free tx buffer indices */
	unsigned int nr_tx_free;
};

/* The first virtio-net device, up, every rx buffer posted; -1 when there is none. */
int net_open(struct net *n);
/* Give an rx buffer back to the device (kick after). */
void post_rx(struct net *n, uint8_t *buf);

#endif
