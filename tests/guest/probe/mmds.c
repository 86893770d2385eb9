// SPDX-License-Identifier: MIT
/*
 * probe.action=mmds: a minimal ARP + IPv4 + TCP + HTTP/1.1 client for the
 * metadata service, over the virtio-net driver of net.c. probe.mmds= lists
 * the steps, comma-separated, run in order:
 *   token:TTL    PUT /latest/api/token; later GETs send the token
 *   get:PATH     GET (IMDS text); json:PATH the same with Accept: application/json
 *   notoken:PATH GET without the token
 *   badtoken:PATH GET with a made-up token
 *   sleep:MS     wait
 *   bench:PATH:N N GETs on one connection: rate and mean latency
 *   tap:N        N ARP requests for 10.0.2.1, which are not the MMDS's: they go to the tap
 *   hostile      broken Ethernet, ARP, IPv4, TCP and HTTP at the MMDS address
 * Each answer is printed as "probe: mmds <what> status=N body=<text>", a
 * newline in the body shown as '|'. probe.mmds_ip= sets the address
 * (default 169.254.169.254). One connection at a time; a segment that gets
 * no answer is sent again.
 */
#include <stddef.h>

#include "actions.h"
#include "cmdline.h"
#include "io.h"
#include "lib.h"
#include "mem.h"
#include "netdev.h"
#include "serial.h"
#include "time.h"

#define OUR_IP		0xa9fe0102u	/* 169.254.1.2 */
#define OTHER_IP	0x0a000201u	/* 10.0.2.1 */
#define RESP_MAX	65536
#define RESEND_MS	300
#define TRIES		10
#define F_FIN		1
#define F_SYN		2
#define F_RST		4
#define F_PSH		8
#define F_ACK		16

struct ip4 {
	uint8_t vihl, tos;
	uint16_t len, id, frag;
	uint8_t ttl, proto;
	uint16_t csum;
	uint32_t src, dst;
} __packed;

struct tcp {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t off, flags;
	uint16_t win, csum, urg;
} __packed;

struct arp {
	uint16_t htype, ptype;
	uint8_t hlen, plen;
	uint16_t op;
	uint8_t sha[6];
	uint32_t spa;
	uint8_t tha[6];
	uint32_t tpa;
} __packed;

static_assert(sizeof(struct ip4) == 20, "IPv4 header");
static_assert(sizeof(struct tcp) == 20, "TCP header");
static_assert(sizeof(struct arp) == 28, "ARP");

struct client {
	struct net n;
	uint32_t ip;			/* the MMDS's */
	uint8_t peer[ETH_ALEN];
	bool resolved;
	bool open;			/* a connection is up */
	bool peer_fin;
	uint16_t port;
	uint32_t snd_nxt, rcv_nxt;
	char token[80];
	char *resp;
	uint32_t resp_len;
	uint16_t ip_id;
};

static uint16_t be16(uint16_t x) { return __builtin_bswap16(x); }
static uint32_t be32(uint32_t x) { return __builtin_bswap32(x); }

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

/* ---- frames out ---- */

static void send_frame(struct client *c, const void *frame, uint32_t len)
{
	struct net *n = &c->n;
	uint8_t *buf;
	struct vbuf b;

	while (!n->nr_tx_free) {
		buf = virtq_wait(&n->tx, NULL);
		if (!buf)
			return;
		n->tx_free[n->nr_tx_free++] = (uint16_t)((buf - n->tx_bufs) / NET_BUF);
	}
	buf = n->tx_bufs + n->tx_free[--n->nr_tx_free] * NET_BUF;
	if (len > NET_BUF - NET_HDR)
		len = NET_BUF - NET_HDR;
	memset(buf, 0, NET_HDR);
	memcpy(buf + NET_HDR, frame, len);
	b = (struct vbuf){ mem_addr(buf), NET_HDR + len, false };
	virtq_add(&n->tx, &b, 1, buf);
	virtq_kick(&n->tx);
	while ((buf = virtq_get(&n->tx, NULL)))
		n->tx_free[n->nr_tx_free++] = (uint16_t)((buf - n->tx_bufs) / NET_BUF);
}

static void eth_fill(struct client *c, uint8_t *f, const uint8_t *dst, uint16_t proto)
{
	memcpy(f, dst, ETH_ALEN);
	memcpy(f + ETH_ALEN, c->n.mac, ETH_ALEN);
	f[12] = proto >> 8;
	f[13] = proto & 0xff;
}

static void send_arp(struct client *c, uint32_t target)
{
	static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t f[ETH_HLEN + sizeof(struct arp)] = { 0 };
	struct arp *a = (struct arp *)(f + ETH_HLEN);

	eth_fill(c, f, bcast, ETH_P_ARP);
	a->htype = be16(1);
	a->ptype = be16(ETH_P_IP);
	a->hlen = 6;
	a->plen = 4;
	a->op = be16(1);
	memcpy(a->sha, c->n.mac, ETH_ALEN);
	a->spa = be32(OUR_IP);
	a->tpa = be32(target);
	send_frame(c, f, sizeof(f));
}

/* A TCP segment to the MMDS (port 80), checksums right. */
static void send_tcp(struct client *c, uint8_t flags, uint32_t seq, const void *data,
		     uint32_t len)
{
	static uint8_t f[NET_BUF];
	struct ip4 *ip = (struct ip4 *)(f + ETH_HLEN);
	struct tcp *t = (struct tcp *)(ip + 1);
	uint32_t sum, tlen = sizeof(*t) + len;

	memset(f, 0, ETH_HLEN + sizeof(*ip) + sizeof(*t));
	eth_fill(c, f, c->peer, ETH_P_IP);
	ip->vihl = 0x45;
	ip->len = be16((uint16_t)(sizeof(*ip) + tlen));
	ip->id = be16(c->ip_id++);
	ip->ttl = 64;
	ip->proto = 6;
	ip->src = be32(OUR_IP);
	ip->dst = be32(c->ip);
	ip->csum = be16(csum_fold(csum_add(0, ip, sizeof(*ip))));
	t->sport = be16(c->port);
	t->dport = be16(80);
	t->seq = be32(seq);
	t->ack = be32(c->rcv_nxt);
	t->off = 5 << 4;
	t->flags = flags;
	t->win = be16(65535);
	memcpy(t + 1, data, len);
	sum = csum_add(0, &ip->src, 8) + 6 + tlen;
	t->csum = be16(csum_fold(csum_add(sum, t, tlen)));
	send_frame(c, f, ETH_HLEN + sizeof(*ip) + tlen);
}

/* ---- frames in ---- */

static void tcp_in(struct client *c, const struct tcp *t, uint32_t len)
{
	uint32_t hl = (t->off >> 4) * 4u, seq = be32(t->seq);
	uint32_t dlen;

	if (be16(t->dport) != c->port || hl < sizeof(*t) || hl > len)
		return;
	dlen = len - hl;
	if (t->flags & F_RST) {
		c->open = false;
		c->peer_fin = true;
		return;
	}
	if ((t->flags & (F_SYN | F_ACK)) == (F_SYN | F_ACK)) {
		if (!c->open) {
			c->rcv_nxt = seq + 1;
			c->open = true;
		}
		send_tcp(c, F_ACK, c->snd_nxt, NULL, 0);
		return;
	}
	if (seq != c->rcv_nxt) {
		if (dlen || (t->flags & F_FIN))
			send_tcp(c, F_ACK, c->snd_nxt, NULL, 0);
		return;
	}
	if (dlen && c->resp_len + dlen <= RESP_MAX) {
		memcpy(c->resp + c->resp_len, (const uint8_t *)t + hl, dlen);
		c->resp_len += dlen;
	}
	c->rcv_nxt += dlen;
	if (t->flags & F_FIN) {
		c->rcv_nxt++;
		c->peer_fin = true;
	}
	if (dlen || (t->flags & F_FIN))
		send_tcp(c, F_ACK, c->snd_nxt, NULL, 0);
}

static void frame_in(struct client *c, const uint8_t *f, uint32_t len)
{
	uint16_t proto;

	if (len < ETH_HLEN)
		return;
	proto = (uint16_t)(f[12] << 8 | f[13]);
	if (proto == ETH_P_ARP && len >= ETH_HLEN + sizeof(struct arp)) {
		const struct arp *a = (const void *)(f + ETH_HLEN);

		if (a->op == be16(2) && a->spa == be32(c->ip)) {
			memcpy(c->peer, a->sha, ETH_ALEN);
			c->resolved = true;
		}
	} else if (proto == ETH_P_IP && len >= ETH_HLEN + sizeof(struct ip4) + sizeof(struct tcp)) {
		const struct ip4 *ip = (const void *)(f + ETH_HLEN);
		uint32_t tot = be16(ip->len);

		if (ip->src != be32(c->ip) || ip->proto != 6 || tot > len - ETH_HLEN ||
		    tot < sizeof(*ip) + sizeof(struct tcp))
			return;
		tcp_in(c, (const struct tcp *)(ip + 1), tot - sizeof(*ip));
	}
}

/* Take what arrived, waiting until deadline for the first frame (0: no wait). */
static bool poll_rx(struct client *c, uint64_t deadline)
{
	struct net *n = &c->n;
	uint32_t len = 0;
	uint8_t *buf = deadline ? virtq_poll(&n->rx, &len, deadline) : virtq_get(&n->rx, &len);

	if (!buf)
		return false;
	do {
		if (len > NET_HDR)
			frame_in(c, buf + NET_HDR, len - NET_HDR);
		post_rx(n, buf);
	} while ((buf = virtq_get(&n->rx, &len)));
	virtq_kick(&n->rx);
	return true;
}

/* ---- the client ---- */

static bool resolve(struct client *c)
{
	for (int i = 0; i < TRIES && !c->resolved; i++) {
		uint64_t end = time_deadline(RESEND_MS);

		send_arp(c, c->ip);
		while (!c->resolved && poll_rx(c, end))
			;
	}
	return c->resolved;
}

static bool connect(struct client *c)
{
	static uint16_t next_port = 40000;
	uint32_t iss = 1000u * next_port;

	c->open = c->peer_fin = false;
	c->port = next_port++;
	c->rcv_nxt = 0;
	c->snd_nxt = iss + 1;
	for (int i = 0; i < TRIES && !c->open; i++) {
		uint64_t end = time_deadline(RESEND_MS);

		send_tcp(c, F_SYN, iss, NULL, 0);
		while (!c->open && poll_rx(c, end))
			;
	}
	if (c->open)
		send_tcp(c, F_ACK, c->snd_nxt, NULL, 0);
	return c->open;
}

static const char *find(const char *s, uint32_t len, const char *word)
{
	size_t w = strnlen(word, 64);

	for (uint32_t i = 0; i + w <= len; i++) {
		if (!memcmp(s + i, word, w))
			return s + i;
	}
	return NULL;
}

/* A whole response in c->resp: its head's length, 0 if not yet. */
static uint32_t complete(const struct client *c, uint32_t *body_len)
{
	const char *end = find(c->resp, c->resp_len, "\r\n\r\n"), *cl;
	const char *p;
	uint64_t n = 0;
	uint32_t head;

	if (!end)
		return 0;
	head = (uint32_t)(end + 4 - c->resp);
	cl = find(c->resp, head, "Content-Length: ");
	if (cl) {
		p = cl + 16;
		parse_num(&p, c->resp + head, &n);
	}
	*body_len = (uint32_t)n;
	return c->resp_len >= head + n ? head : 0;
}

/* Send a request and wait for the whole answer: its status, 0 for none. */
static int exchange(struct client *c, const char *req, uint32_t len, uint32_t *head,
		    uint32_t *body_len)
{
	uint32_t seq;

	if (!c->open && !connect(c))
		return 0;
	seq = c->snd_nxt;
	c->resp_len = 0;
	c->snd_nxt = seq + len;
	for (int i = 0; i < TRIES; i++) {
		uint64_t end = time_deadline(RESEND_MS);

		send_tcp(c, F_ACK | F_PSH, seq, req, len);
		while (poll_rx(c, end)) {
			*head = complete(c, body_len);
			if (*head) {
				const char *p = c->resp + 9;
				uint64_t status = 0;

				parse_num(&p, c->resp + c->resp_len, &status);
				if (c->peer_fin) {
					send_tcp(c, F_FIN | F_ACK, c->snd_nxt++, NULL, 0);
					c->open = false;
				}
				return (int)status;
			}
			if (c->peer_fin || !c->open)
				return 0;
		}
	}
	return 0;
}

static uint32_t append(char *buf, uint32_t off, const char *s, size_t len)
{
	if (off + len < 1024) {
		memcpy(buf + off, s, len);
		off += len;
	}
	return off;
}

static uint32_t build_get(const struct client *c, char *req, const char *path, size_t plen,
			  bool json, bool token)
{
	uint32_t n = append(req, 0, "GET ", 4);

	n = append(req, n, path, plen);
	n = append(req, n, " HTTP/1.1\r\nHost: mmds\r\n", 23);
	if (json)
		n = append(req, n, "Accept: application/json\r\n", 26);
	if (token) {
		n = append(req, n, "X-metadata-token: ", 18);
		n = append(req, n, c->token, strnlen(c->token, sizeof(c->token)));
		n = append(req, n, "\r\n", 2);
	}
	return append(req, n, "\r\n", 2);
}

static void print_answer(const struct client *c, const char *what, size_t wlen, int status,
			 uint32_t head, uint32_t body_len)
{
	serial_printf("probe: mmds %.*s status=%d body=", (int)wlen, what, status);
	for (uint32_t i = 0; status && i < body_len && i < 512; i++) {
		char ch = c->resp[head + i];

		serial_write(ch == '\n' ? "|" : &ch, 1);
	}
	serial_puts("\n");
}

static void do_get(struct client *c, const char *what, size_t wlen, const char *path,
		   size_t plen, bool json, bool token)
{
	char req[1024];
	uint32_t head = 0, body_len = 0;
	uint32_t n = build_get(c, req, path, plen, json, token);
	int status = exchange(c, req, n, &head, &body_len);

	print_answer(c, what, wlen, status, head, body_len);
}

static void do_token(struct client *c, const char *ttl, size_t tlen)
{
	char req[256];
	uint32_t n = append(req, 0, "PUT /latest/api/token HTTP/1.1\r\nHost: mmds\r\n"
			    "X-metadata-token-ttl-seconds: ", 74);
	uint32_t head = 0, body_len = 0;
	int status;

	n = append(req, n, ttl, tlen);
	n = append(req, n, "\r\n\r\n", 4);
	status = exchange(c, req, n, &head, &body_len);
	if (status == 200 && body_len < sizeof(c->token)) {
		memcpy(c->token, c->resp + head, body_len);
		c->token[body_len] = '\0';
	}
	serial_printf("probe: mmds token status=%d len=%u\n", status, body_len);
}

static void do_bench(struct client *c, const char *path, size_t plen, uint64_t count)
{
	char req[1024];
	uint32_t n = build_get(c, req, path, plen, false, c->token[0] != '\0');
	uint32_t head = 0, body_len = 0;
	uint64_t ok = 0, start = rdtsc(), cycles;

	for (uint64_t i = 0; i < count; i++)
		ok += exchange(c, req, n, &head, &body_len) == 200;
	cycles = rdtsc() - start;
	serial_printf("probe: mmds bench requests=%lu ok=%lu rps=%lu mean_us=%lu\n", count, ok,
		      time_rate(count, cycles, 1000000), count ? time_us(cycles) / count : 0);
}

/* ---- hostile ---- */

/* An HTTP request that must be refused: print the status it got. */
static void refused(struct client *c, const char *name, const char *req, uint32_t len)
{
	uint32_t head = 0, body_len = 0;
	int status;

	c->open = false;
	status = exchange(c, req, len, &head, &body_len);
	serial_printf("probe: mmds hostile %s status=%d\n", name, status);
	c->open = false;
}

static void broken_ip(struct client *c, uint8_t *f, int kind)
{
	struct ip4 *ip = (struct ip4 *)(f + ETH_HLEN);
	struct tcp *t = (struct tcp *)(ip + 1);
	uint32_t len = ETH_HLEN + sizeof(*ip) + sizeof(*t);

	memset(f, 0, len);
	eth_fill(c, f, c->peer, ETH_P_IP);
	ip->vihl = kind == 0 ? 0x4f : kind == 1 ? 0x65 : 0x45;
	ip->len = be16(kind == 2 ? 9000 : kind == 3 ? 10 : sizeof(*ip) + sizeof(*t));
	ip->frag = kind == 4 ? be16(0x2000) : 0;
	ip->ttl = 64;
	ip->proto = kind == 5 ? 17 : 6;
	ip->src = be32(OUR_IP);
	ip->dst = be32(c->ip);
	ip->csum = be16(csum_fold(csum_add(0, ip, sizeof(*ip))));
	if (kind == 6)
		ip->csum ^= 0x1234;
	t->sport = be16(9);
	t->dport = be16(80);
	t->off = kind == 7 ? 0xf0 : kind == 8 ? 0x10 : 0x50;
	t->flags = F_SYN;
	t->csum = kind == 9 ? 0 : 0x5555;	/* wrong either way */
	send_frame(c, f, kind == 10 ? ETH_HLEN + 8 : len);
}

static void hostile(struct client *c)
{
	static const char garbage[] = "\x01\x02 garbage \xff\r\n\r\n";
	static const char big_len[] = "GET / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n";
	static const char http2[] = "GET / HTTP/2.0\r\n\r\n";
	static const char chunked[] = "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
	static const char nocolon[] = "GET / HTTP/1.1\r\nBroken header\r\n\r\n";
	static uint8_t f[NET_BUF];
	char *big = (char *)f;
	struct arp *a = (struct arp *)(f + ETH_HLEN);

	/* Ethernet and ARP: short, wrong sizes, a reply nobody asked for. */
	send_frame(c, f, 6);
	memset(f, 0, sizeof(f));
	eth_fill(c, f, c->peer, ETH_P_ARP);
	send_frame(c, f, ETH_HLEN + 10);
	a->htype = be16(1);
	a->ptype = be16(ETH_P_IP);
	a->hlen = 9;
	a->plen = 4;
	a->tpa = be32(c->ip);
	send_frame(c, f, ETH_HLEN + sizeof(*a));
	a->hlen = 6;
	a->op = be16(2);
	send_frame(c, f, ETH_HLEN + sizeof(*a));
	/* IPv4 and TCP headers that lie about their sizes, fragments, UDP, bad sums. */
	for (int kind = 0; kind <= 10; kind++)
		broken_ip(c, f, kind);
	/* Segments for no connection, and more connections than the MMDS keeps. */
	c->port = 7;
	send_tcp(c, F_ACK | F_PSH, 1, "GET / HTTP/1.1\r\n\r\n", 18);
	for (int i = 0; i < 64; i++) {
		c->port = (uint16_t)(20000 + i);
		send_tcp(c, F_SYN, 77, NULL, 0);
	}
	while (poll_rx(c, time_deadline(50)))
		;
	serial_puts("probe: mmds hostile frames sent\n");
	/* HTTP the MMDS must refuse. */
	refused(c, "garbage", garbage, sizeof(garbage) - 1);
	refused(c, "content-length", big_len, sizeof(big_len) - 1);
	refused(c, "version", http2, sizeof(http2) - 1);
	refused(c, "chunked", chunked, sizeof(chunked) - 1);
	refused(c, "header", nocolon, sizeof(nocolon) - 1);
	memset(big, 'A', 1400);
	c->open = false;
	if (connect(c)) {
		uint32_t head = 0, body_len = 0;
		int status = 0;

		/* Four full segments, no end of line: more than any request may be. */
		for (int i = 0; i < 3; i++) {
			send_tcp(c, F_ACK, c->snd_nxt, big, 1400);
			c->snd_nxt += 1400;
		}
		status = exchange(c, big, 1400, &head, &body_len);
		serial_printf("probe: mmds hostile oversized status=%d\n", status);
	}
	c->open = false;
}

void mmds_action(void)
{
	static struct client c;
	const char *steps, *end, *p;
	size_t len;
	uint64_t ip = 0;

	memset(&c, 0, sizeof(c));
	c.ip = 0xa9fea9feu;
	if (cmdline_value("probe.mmds_ip=", &p, &len)) {
		const char *e = p + len;

		for (int i = 0; i < 4 && p < e; i++) {
			uint64_t part = 0;

			parse_num(&p, e, &part);
			ip = ip << 8 | (part & 0xff);
			if (p < e && *p == '.')
				p++;
		}
		c.ip = (uint32_t)ip;
	}
	c.resp = mem_alloc(RESP_MAX, 4096);
	if (!cmdline_value("probe.mmds=", &steps, &len) || net_open(&c.n))
		return;
	if (!resolve(&c)) {
		serial_puts("probe: mmds no ARP answer\n");
		return;
	}
	serial_printf("probe: mmds at %02x:%02x:%02x:%02x:%02x:%02x\n", c.peer[0], c.peer[1],
		      c.peer[2], c.peer[3], c.peer[4], c.peer[5]);
	end = steps + len;
	while (steps < end) {
		const char *step = steps, *arg, *comma = steps;
		size_t slen, alen;

		while (comma < end && *comma != ',')
			comma++;
		slen = (size_t)(comma - step);
		steps = comma + (comma < end);
		for (arg = step; arg < comma && *arg != ':'; arg++)
			;
		alen = arg < comma ? (size_t)(comma - arg - 1) : 0;
		len = (size_t)(arg - step);
		arg += arg < comma;
		if (str_eq(step, len, "get"))
			do_get(&c, step, slen, arg, alen, false, c.token[0] != '\0');
		else if (str_eq(step, len, "json"))
			do_get(&c, step, slen, arg, alen, true, c.token[0] != '\0');
		else if (str_eq(step, len, "notoken"))
			do_get(&c, step, slen, arg, alen, false, false);
		else if (str_eq(step, len, "badtoken")) {
			memcpy(c.token, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 65);
			do_get(&c, step, slen, arg, alen, false, true);
		} else if (str_eq(step, len, "token"))
			do_token(&c, arg, alen);
		else if (str_eq(step, len, "sleep")) {
			uint64_t ms = 0, dl;

			parse_num(&arg, comma, &ms);
			dl = time_deadline(ms);
			while (!time_passed(dl))
				poll_rx(&c, 0);
		} else if (str_eq(step, len, "bench")) {
			const char *colon = arg;
			uint64_t count = 0;

			while (colon < comma && *colon != ':')
				colon++;
			p = colon + (colon < comma);
			parse_num(&p, comma, &count);
			do_bench(&c, arg, (size_t)(colon - arg), count);
		} else if (str_eq(step, len, "tap")) {
			uint64_t count = 0;

			parse_num(&arg, comma, &count);
			for (uint64_t i = 0; i < count; i++)
				send_arp(&c, OTHER_IP);
			serial_printf("probe: mmds tap arp sent=%lu\n", count);
		} else if (str_eq(step, len, "hostile"))
			hostile(&c);
		else
			serial_printf("probe: mmds unknown step %.*s\n", (int)slen, step);
	}
	serial_puts("probe: mmds done\n");
	virtio_reset(c.n.dev);
}
