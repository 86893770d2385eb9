// SPDX-License-Identifier: Apache-2.0
/*
 * The MMDS on the guest's link: ARP for its address, and TCP port 80 on
 * IPv4, just enough for HTTP/1.1 requests and their answers. A guest's
 * frames are untrusted: every length is checked before use, a bad frame is
 * dropped, at most CONNS_MAX connections live (the least recently heard
 * from gives way), each buffers at most one request and one answer.
 *
 * Segments for the guest are made when the net device has room for them
 * (mmds_net_rx), from each connection's state, so nothing queues up beyond
 * a few control frames; a frame lost on the way is sent again from that
 * state after RTO_MS without progress (a timerfd on the vmm loop).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/virtio_net.h>

#include <petrel/log.h>
#include <petrel/mmds.h>
#include <petrel/util.h>
#include <petrel/vmm.h>

#include "mmds_priv.h"

#define VNET_HDR	sizeof(struct virtio_net_hdr_v1)
#define CONNS_MAX	16
#define CTRL_MAX	16		/* ARP answers and resets waiting for the guest */
#define CTRL_FRAME	80		/* a reset with its headers: 66 bytes */
#define OUR_MSS		1460
#define DEFAULT_MSS	536
#define RCV_WINDOW	MMDS_REQUEST_MAX
#define RTO_MS		200
#define HTTP_PORT	80
/* What a frame to the MMDS may be: headers with options and a whole request. */
#define TX_COPY_MAX	(VNET_HDR + ETH_HLEN + 60 + 60 + MMDS_REQUEST_MAX)

/* Locally administered, as the guest sees the MMDS's side of the link. */
static const uint8_t mmds_mac[ETH_ALEN] = { 0x06, 0x01, 0x23, 0x45, 0x67, 0x01 };

struct arp_ipv4 {
	struct arphdr h;
	uint8_t sha[ETH_ALEN];
	uint8_t spa[4];
	uint8_t tha[ETH_ALEN];
	uint8_t tpa[4];
} __attribute__((packed));
static_assert(sizeof(struct arp_ipv4) == 28, "ARP for IPv4 over Ethernet");

struct conn {
	bool used;
	bool established;
	bool fin_rcvd;			/* the guest is done sending */
	bool closing;			/* our FIN goes after the answer */
	bool need_ack;
	uint8_t mac[ETH_ALEN];
	uint32_t ip;			/* the guest's, host order */
	uint16_t port;
	uint16_t mss;
	uint32_t wnd;			/* the guest's receive window */
	uint32_t iss, rcv_nxt;
	uint32_t snd_una, snd_nxt;
	uint32_t snd_end;		/* after the last byte queued (our FIN's number) */
	uint32_t una_at_tick;
	uint64_t last_ms;
	char *out;			/* the answer being sent, from out_seq */
	size_t out_len;
	uint32_t out_seq;
	size_t req_len;
	char req[MMDS_REQUEST_MAX];
};

struct mmds_net {
	struct mmds *m;
	struct event_loop *loop;
	void (*kick)(void *opaque);
	void *opaque;
	int timer_fd;
	bool timer_armed;
	uint16_t ip_id;
	unsigned int next_conn;		/* round robin over connections with frames */
	unsigned int ctrl_head, ctrl_count;
	uint8_t ctrl[CTRL_MAX][CTRL_FRAME];
	size_t ctrl_len[CTRL_MAX];
	struct conn conns[CONNS_MAX];
	/*
	 * A frame from the guest, and one being made for it, each 2 bytes into
	 * its buffer: after the 12-byte virtio header and the 14-byte Ethernet
	 * header, the IPv4 header is 4-byte aligned.
	 */
	uint8_t in[TX_COPY_MAX + 2] __attribute__((aligned(8)));
	uint8_t out[VNET_HDR + CTRL_FRAME + OUR_MSS + 2] __attribute__((aligned(8)));
};

#define ALIGN_OFF	2

/* Sequence numbers wrap: a before b. */
static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static bool seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The TCP checksum over the pseudo header and the segment (addresses in network order). */
static uint16_t tcp_csum(uint32_t saddr, uint32_t daddr, const void *seg, size_t len)
{
	uint32_t sum = csum_add(0, &saddr, 4);

	sum = csum_add(sum, &daddr, 4);
	sum += IPPROTO_TCP + (uint32_t)len;
	return csum_fold(csum_add(sum, seg, len));
}

static uint64_t now_ms(void)
{
	return util_now_us() / 1000;
}

/* ---- frames for the guest ---- */

static void ctrl_push(struct mmds_net *e, const void *frame, size_t len)
{
	unsigned int slot;

	if (e->ctrl_count == CTRL_MAX || len > CTRL_FRAME)
		return;		/* the guest asks again */
	slot = (e->ctrl_head + e->ctrl_count++) % CTRL_MAX;
	memcpy(e->ctrl[slot], frame, len);
	e->ctrl_len[slot] = len;
}

static void arp_reply(struct mmds_net *e, const struct ethhdr *eth, const struct arp_ipv4 *req)
{
	uint8_t f[VNET_HDR + ETH_HLEN + sizeof(struct arp_ipv4)] = { 0 };
	struct ethhdr *reth = (struct ethhdr *)(f + VNET_HDR);
	struct arp_ipv4 *a = (struct arp_ipv4 *)(reth + 1);

	memcpy(reth->h_dest, eth->h_source, ETH_ALEN);
	memcpy(reth->h_source, mmds_mac, ETH_ALEN);
	reth->h_proto = htobe16(ETH_P_ARP);
	a->h = req->h;
	a->h.ar_op = htobe16(ARPOP_REPLY);
	memcpy(a->sha, mmds_mac, ETH_ALEN);
	memcpy(a->spa, req->tpa, 4);
	memcpy(a->tha, req->sha, ETH_ALEN);
	memcpy(a->tpa, req->spa, 4);
	ctrl_push(e, f, sizeof(f));
}

struct seg {
	const uint8_t *mac;
	uint32_t ip;			/* the guest's, host order */
	uint16_t port;
	uint32_t seq, ack;
	uint8_t flags;			/* TCP_FLAG_* bits of the 13th header byte */
	const void *data;
	size_t len;
	bool mss_opt;
};

enum { F_FIN = 1, F_SYN = 2, F_RST = 4, F_PSH = 8, F_ACK = 16 };

/* A whole frame, virtio header first, into buf (room for CTRL_FRAME + OUR_MSS): its length. */
static size_t build_segment(struct mmds_net *e, const struct seg *s, uint8_t *dst)
{
	uint8_t *buf = e->out + ALIGN_OFF;
	struct ethhdr *eth = (struct ethhdr *)(buf + VNET_HDR);
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct tcphdr *tcp = (struct tcphdr *)(ip + 1);
	size_t thlen = sizeof(*tcp) + (s->mss_opt ? 4 : 0);
	uint8_t *opt = (uint8_t *)(tcp + 1);

	memset(buf, 0, VNET_HDR + ETH_HLEN + sizeof(*ip) + thlen);
	memcpy(eth->h_dest, s->mac, ETH_ALEN);
	memcpy(eth->h_source, mmds_mac, ETH_ALEN);
	eth->h_proto = htobe16(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htobe16((uint16_t)(sizeof(*ip) + thlen + s->len));
	ip->id = htobe16(e->ip_id++);
	ip->frag_off = htobe16(0x4000);		/* DF */
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = htobe32(e->m->ipv4);
	ip->daddr = htobe32(s->ip);
	ip->check = htobe16(csum_fold(csum_add(0, ip, sizeof(*ip))));
	tcp->source = htobe16(HTTP_PORT);
	tcp->dest = htobe16(s->port);
	tcp->seq = htobe32(s->seq);
	tcp->ack_seq = htobe32(s->ack);
	tcp->doff = thlen / 4;
	((uint8_t *)tcp)[13] = s->flags;
	tcp->window = htobe16(RCV_WINDOW);
	if (s->mss_opt) {
		opt[0] = 2;
		opt[1] = 4;
		opt[2] = OUR_MSS >> 8;
		opt[3] = OUR_MSS & 0xff;
	}
	if (s->len)
		memcpy((uint8_t *)tcp + thlen, s->data, s->len);
	tcp->check = htobe16(tcp_csum(ip->saddr, ip->daddr, tcp, thlen + s->len));
	memcpy(dst, buf, VNET_HDR + ETH_HLEN + sizeof(*ip) + thlen + s->len);
	return VNET_HDR + ETH_HLEN + sizeof(*ip) + thlen + s->len;
}

static void reset(struct mmds_net *e, const uint8_t *mac, uint32_t ip, uint16_t port,
		  uint32_t seq, uint32_t ack, bool with_ack)
{
	uint8_t f[CTRL_FRAME];
	struct seg s = { .mac = mac, .ip = ip, .port = port, .seq = seq, .ack = ack,
			 .flags = F_RST | (with_ack ? F_ACK : 0) };

	ctrl_push(e, f, build_segment(e, &s, f));
}

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
	free(c->out);
	c->out = NULL;
	c->used = false;
}

static struct conn *conn_find(struct mmds_net *e, const uint8_t *mac, uint32_t ip, uint16_t port)
{
	for (unsigned int i = 0; i < CONNS_MAX; i++) {
		struct conn *c = &e->conns[i];

		if (c->used && c->ip == ip && c->port == port && !memcmp(c->mac, mac, ETH_ALEN))
			return c;
	}
	return NULL;
}

/* A free slot, or the one heard from least recently. */
static struct conn *conn_slot(struct mmds_net *e)
{
	struct conn *old = &e->conns[0];

	for (unsigned int i = 0; i < CONNS_MAX; i++) {
		if (!e->conns[i].used)
			return &e->conns[i];
		if (e->conns[i].last_ms < old->last_ms)
			old = &e->conns[i];
	}
	conn_free(old);
	return old;
}

static uint16_t syn_mss(const struct tcphdr *tcp, size_t thlen)
{
	const uint8_t *o = (const uint8_t *)(tcp + 1), *end = (const uint8_t *)tcp + thlen;

	while (o < end && *o != 0) {
		if (*o == 1) {
			o++;
			continue;
		}
		if (end - o < 2 || o[1] < 2 || o[1] > end - o)
			break;
		if (o[0] == 2 && o[1] == 4) {
			uint16_t mss = (uint16_t)(o[2] << 8 | o[3]);

			return mss < 64 ? 64 : MIN(mss, (uint16_t)OUR_MSS);
		}
		o += o[1];
	}
	return DEFAULT_MSS;
}

static void conn_open(struct mmds_net *e, const struct ethhdr *eth, uint32_t ip,
		      const struct tcphdr *tcp, size_t thlen)
{
	struct conn *c = conn_slot(e);
	uint32_t iss;

#ifdef PETREL_FUZZ_BUILD
	iss = 0;	/* so that a fuzzer's segments can acknowledge it */
#else
	if (getrandom(&iss, sizeof(iss), GRND_NONBLOCK) != sizeof(iss))
		iss = (uint32_t)util_now_us() * 2654435761u;
#endif
	memset(c, 0, offsetof(struct conn, req));
	c->used = true;
	memcpy(c->mac, eth->h_source, ETH_ALEN);
	c->ip = ip;
	c->port = be16toh(tcp->source);
	c->mss = syn_mss(tcp, thlen);
	c->wnd = be16toh(tcp->window);
	c->iss = c->snd_una = c->snd_nxt = iss;
	c->snd_end = iss + 1;
	c->rcv_nxt = be32toh(tcp->seq) + 1;
	c->last_ms = now_ms();
}

/* The answer to the request waiting in c->req, if a whole one is there. */
static void serve(struct mmds_net *e, struct conn *c)
{
	struct mmds_request req;
	size_t len = 0;
	int n;

	if (c->out || c->closing)
		return;
	n = mmds_request_parse(c->req, c->req_len, &req);
	if (n == 0 && !c->fin_rcvd)
		return;
	if (n > 0)
		c->out = mmds_respond(e->m, &req, &len);
	else if (n < 0)
		c->out = mmds_respond_error(-n, &len);
	if (n <= 0 || req.close || !c->out)
		c->closing = true;
	if (n > 0) {
		memmove(c->req, c->req + n, c->req_len - n);
		c->req_len -= n;
	}
	if (c->out) {
		c->out_len = len;
		c->out_seq = c->snd_end;
		c->snd_end += len;
	}
}

/* Both ends have sent all and had it acknowledged; ours of the guest's FIN may still be due. */
static bool conn_done(const struct conn *c)
{
	return c->closing && c->fin_rcvd && !c->out && c->snd_una == c->snd_end + 1;
}

/* The guest acknowledged up to ack: drop what it has, serve the next request. */
static void acked(struct conn *c, uint32_t ack)
{
	if (seq_lt(c->snd_una, ack) && seq_le(ack, c->snd_nxt))
		c->snd_una = ack;
	if (!c->established && seq_lt(c->iss, c->snd_una))
		c->established = true;
	if (c->out && seq_le(c->out_seq + (uint32_t)c->out_len, c->snd_una)) {
		free(c->out);
		c->out = NULL;
	}
}

static void receive(struct conn *c, uint32_t seq, const uint8_t *data, size_t len, bool fin)
{
	if (!len && !fin)
		return;
	c->need_ack = true;
	if (seq != c->rcv_nxt || c->fin_rcvd || !c->established)
		return;		/* out of order or a repeat: our ACK says where we are */
	c->rcv_nxt += len + fin;
	c->fin_rcvd = fin;
	/* Kept up to a full buffer, which the parser refuses. */
	len = MIN(len, sizeof(c->req) - c->req_len);
	memcpy(c->req + c->req_len, data, len);
	c->req_len += len;
}

static void tcp_input(struct mmds_net *e, const struct ethhdr *eth, uint32_t src,
		      const struct tcphdr *tcp, size_t thlen, const uint8_t *data, size_t len)
{
	uint8_t flags = ((const uint8_t *)tcp)[13];
	uint32_t seq = be32toh(tcp->seq), ack = be32toh(tcp->ack_seq);
	uint16_t port = be16toh(tcp->source);
	struct conn *c = conn_find(e, eth->h_source, src, port);

	if (flags & F_RST) {
		if (c)
			conn_free(c);
		return;
	}
	if (!c && (flags & (F_SYN | F_ACK)) == F_SYN && be16toh(tcp->dest) == HTTP_PORT) {
		conn_open(e, eth, src, tcp, thlen);
		return;
	}
	if (!c) {
		reset(e, eth->h_source, src, port, flags & F_ACK ? ack : 0,
		      seq + (uint32_t)len + !!(flags & F_SYN) + !!(flags & F_FIN), !(flags & F_ACK));
		return;
	}
	c->last_ms = now_ms();
	if (flags & F_SYN) {
		if (!c->established && seq + 1 == c->rcv_nxt)
			c->snd_nxt = c->iss;	/* our SYN-ACK was lost: again */
		return;
	}
	if (!(flags & F_ACK))
		return;
	c->wnd = be16toh(tcp->window);
	acked(c, ack);
	receive(c, seq, data, len, flags & F_FIN);
	serve(e, c);
	if (conn_done(c) && !c->need_ack)
		conn_free(c);
}

/* ---- what the guest sends ---- */

static bool arp_input(struct mmds_net *e, const struct ethhdr *eth, const uint8_t *p, size_t len)
{
	const struct arp_ipv4 *a = (const void *)p;
	uint32_t tpa;

	if (len < sizeof(*a) || be16toh(a->h.ar_hrd) != ARPHRD_ETHER ||
	    be16toh(a->h.ar_pro) != ETH_P_IP || a->h.ar_hln != ETH_ALEN || a->h.ar_pln != 4)
		return false;
	memcpy(&tpa, a->tpa, 4);
	if (be32toh(tpa) != e->m->ipv4)
		return false;
	if (be16toh(a->h.ar_op) == ARPOP_REQUEST)
		arp_reply(e, eth, a);
	return true;
}

/* IPv4 to the MMDS: consumed whatever it holds; TCP that checks out goes on. */
static bool ip_input(struct mmds_net *e, const struct ethhdr *eth, const uint8_t *p, size_t len,
		     bool csum_done)
{
	const struct iphdr *ip = (const void *)p;
	const struct tcphdr *tcp;
	size_t ihl, tot, thlen;

	if (len < sizeof(*ip) || be32toh(ip->daddr) != e->m->ipv4)
		return false;
	ihl = ip->ihl * 4u;
	tot = be16toh(ip->tot_len);
	if (ip->version != 4 || ihl < sizeof(*ip) || tot < ihl || tot > len ||
	    csum_fold(csum_add(0, ip, ihl)) != 0 || (be16toh(ip->frag_off) & 0x3fff) ||
	    ip->protocol != IPPROTO_TCP || tot - ihl < sizeof(*tcp))
		return true;
	tcp = (const void *)(p + ihl);
	thlen = tcp->doff * 4u;
	if (thlen < sizeof(*tcp) || thlen > tot - ihl)
		return true;
	if (!csum_done && tcp_csum(ip->saddr, ip->daddr, tcp, tot - ihl) != 0)
		return true;
	tcp_input(e, eth, be32toh(ip->saddr), tcp, thlen, p + ihl + thlen, tot - ihl - thlen);
	return true;
}

/* The first size bytes of the frame the guest's chain holds. */
static size_t gather(const struct iovec *iov, unsigned int niov, uint8_t *buf, size_t size)
{
	size_t off = 0;

	for (unsigned int i = 0; i < niov && off < size; i++) {
		size_t n = MIN(iov[i].iov_len, size - off);

		memcpy(buf + off, iov[i].iov_base, n);
		off += n;
	}
	return off;
}

static void timer_arm(struct mmds_net *e, bool on)
{
	struct itimerspec its = { 0 };

	if (on == e->timer_armed || e->timer_fd < 0)
		return;
	if (on)
		its.it_interval = its.it_value = (struct timespec){ 0, RTO_MS * 1000000L };
	if (!timerfd_settime(e->timer_fd, 0, &its, NULL))
		e->timer_armed = on;
}

bool mmds_net_tx(struct mmds_net *e, const struct iovec *iov, unsigned int niov)
{
	uint8_t *frame = e->in + ALIGN_OFF;
	const struct virtio_net_hdr_v1 *vh = (const void *)frame;
	const struct ethhdr *eth;
	size_t total = 0, len;
	uint8_t peek[VNET_HDR + ETH_HLEN + sizeof(struct arp_ipv4)];
	uint32_t dst;
	bool ours;

	for (unsigned int i = 0; i < niov; i++)
		total += iov[i].iov_len;
	/* A first look, cheap, for the frames that are not ours. */
	len = gather(iov, niov, peek, sizeof(peek));
	if (len < VNET_HDR + ETH_HLEN + sizeof(struct iphdr))
		return false;
	eth = (const void *)(peek + VNET_HDR);
	if (eth->h_proto == htobe16(ETH_P_ARP) && len == sizeof(peek))
		memcpy(&dst, peek + VNET_HDR + ETH_HLEN + offsetof(struct arp_ipv4, tpa), 4);
	else if (eth->h_proto == htobe16(ETH_P_IP))
		memcpy(&dst, peek + VNET_HDR + ETH_HLEN + offsetof(struct iphdr, daddr), 4);
	else
		return false;
	ours = be32toh(dst) == e->m->ipv4;
	if (!ours)
		return false;
	if (total > TX_COPY_MAX)
		return true;	/* larger than any request to the MMDS: dropped */
	len = gather(iov, niov, frame, TX_COPY_MAX);
	eth = (const void *)(frame + VNET_HDR);
	if (eth->h_proto == htobe16(ETH_P_ARP))
		arp_input(e, eth, (const uint8_t *)(eth + 1), len - VNET_HDR - ETH_HLEN);
	else
		ip_input(e, eth, (const uint8_t *)(eth + 1), len - VNET_HDR - ETH_HLEN,
			 vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	return true;
}

/* The next segment connection c has for the guest, if any. */
static size_t conn_output(struct mmds_net *e, struct conn *c, uint8_t *buf)
{
	struct seg s = { .mac = c->mac, .ip = c->ip, .port = c->port, .seq = c->snd_nxt,
			 .ack = c->rcv_nxt, .flags = F_ACK };
	uint32_t wnd_end = c->snd_una + c->wnd;

	if (c->snd_nxt == c->iss) {
		s.flags |= F_SYN;
		s.mss_opt = true;
		c->snd_nxt++;
	} else if (c->out && seq_lt(c->snd_nxt, c->out_seq + (uint32_t)c->out_len) &&
		   seq_lt(c->snd_nxt, wnd_end)) {
		uint32_t off = c->snd_nxt - c->out_seq;

		s.len = MIN(MIN((size_t)c->mss, c->out_len - off), (size_t)(wnd_end - c->snd_nxt));
		s.data = c->out + off;
		s.flags |= F_PSH;
		c->snd_nxt += s.len;
	} else if (c->closing && !c->out && c->snd_nxt == c->snd_end) {
		s.flags |= F_FIN;
		c->snd_nxt++;
	} else if (!c->need_ack) {
		return 0;
	}
	c->need_ack = false;
	return build_segment(e, &s, buf);
}

size_t mmds_net_rx(struct mmds_net *e, uint8_t *buf, size_t size)
{
	size_t len;

	if (size < VNET_HDR + CTRL_FRAME + OUR_MSS)
		return 0;
	if (e->ctrl_count) {
		len = e->ctrl_len[e->ctrl_head];
		memcpy(buf, e->ctrl[e->ctrl_head], len);
		e->ctrl_head = (e->ctrl_head + 1) % CTRL_MAX;
		e->ctrl_count--;
		return len;
	}
	for (unsigned int i = 0; i < CONNS_MAX; i++) {
		struct conn *c = &e->conns[(e->next_conn + i) % CONNS_MAX];

		if (!c->used || !(len = conn_output(e, c, buf)))
			continue;
		/* That was the ACK of the guest's FIN: nothing more to say. */
		if (conn_done(c))
			conn_free(c);
		e->next_conn = (e->next_conn + i + 1) % CONNS_MAX;
		timer_arm(e, true);
		return len;
	}
	return 0;
}

/* Every RTO_MS while segments are unacknowledged: no progress since the last tick, resend. */
static void on_timer(void *opaque, uint32_t events)
{
	struct mmds_net *e = opaque;
	bool waiting = false, resend = false;
	uint64_t ticks;

	if (read(e->timer_fd, &ticks, sizeof(ticks)) < 0)
		return;
	for (unsigned int i = 0; i < CONNS_MAX; i++) {
		struct conn *c = &e->conns[i];

		if (!c->used || c->snd_una == c->snd_nxt)
			continue;
		waiting = true;
		if (c->snd_una == c->una_at_tick) {
			c->snd_nxt = c->snd_una;
			resend = true;
		}
		c->una_at_tick = c->snd_una;
	}
	if (!waiting)
		timer_arm(e, false);
	if (resend)
		e->kick(e->opaque);
}

struct mmds_net *mmds_net_create(struct mmds *m, struct event_loop *loop,
				 void (*kick)(void *opaque), void *opaque)
{
	struct mmds_net *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->m = m;
	e->loop = loop;
	e->kick = kick;
	e->opaque = opaque;
	e->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (e->timer_fd < 0 || (loop && event_loop_add(loop, e->timer_fd, EPOLLIN, on_timer, e))) {
		pr_err("MMDS: cannot set up its resend timer: %s", strerror(errno));
		if (e->timer_fd >= 0)
			close(e->timer_fd);
		free(e);
		return NULL;
	}
	return e;
}

void mmds_net_destroy(struct mmds_net *e)
{
	if (!e)
		return;
	for (unsigned int i = 0; i < CONNS_MAX; i++)
		conn_free(&e->conns[i]);
	if (e->loop)
		event_loop_del(e->loop, e->timer_fd);
	close(e->timer_fd);
	free(e);
}
