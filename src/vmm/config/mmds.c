// SPDX-License-Identifier: Apache-2.0
/*
 * The mmds-config section: {"network_interfaces": [ids], "version": "V1"|"V2",
 * "ipv4_address": "169.254.x.y", "imds_compat": bool}. The shape is checked
 * here; that the interfaces exist needs the whole config (config_validate).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/config.h>
#include <petrel/util.h>

#define WHERE		"mmds-config"
#define DEFAULT_IPV4	0xa9fea9feu	/* 169.254.169.254 */

static const char *const keys[] = {
	"network_interfaces", "version", "ipv4_address", "imds_compat",
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, WHERE ".");

	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int check_keys(json_t *obj, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(obj)) {
		snprintf(err, errlen, WHERE ": expected an object");
		return -EINVAL;
	}
	json_object_foreach(obj, key, v) {
		for (i = 0; i < ARRAY_SIZE(keys) && strcmp(key, keys[i]); i++)
			;
		if (i == ARRAY_SIZE(keys)) {
			snprintf(err, errlen, WHERE ": unknown field \"%s\"", key);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_ifaces(json_t *arr, struct mmds_config *m, char *err, size_t errlen)
{
	json_t *v;
	size_t i;

	if (!arr || json_is_null(arr)) {
		snprintf(err, errlen, WHERE ": missing required field \"network_interfaces\"");
		return -EINVAL;
	}
	if (!json_is_array(arr))
		return fail(err, errlen, "network_interfaces: expected an array of interface ids");
	if (!json_array_size(arr))
		return fail(err, errlen, "network_interfaces: at least one interface is needed");
	if (json_array_size(arr) > CONFIG_MAX_NETS)
		return fail(err, errlen, "network_interfaces: at most %d interfaces",
			    CONFIG_MAX_NETS);
	json_array_foreach(arr, i, v) {
		const char *id = json_string_value(v);

		if (!id || !*id || strlen(id) > 64)
			return fail(err, errlen, "network_interfaces[%zu]: expected an interface id",
				    i);
		m->ifaces[m->nr_ifaces] = strdup(id);
		if (!m->ifaces[m->nr_ifaces])
			return -ENOMEM;
		m->nr_ifaces++;
	}
	return 0;
}

static int parse_version(json_t *v, struct mmds_config *m, char *err, size_t errlen)
{
	const char *s = json_string_value(v);

	if (!v || json_is_null(v))
		return 0;
	if (s && !strcmp(s, "V1"))
		m->version = MMDS_V1;
	else if (s && !strcmp(s, "V2"))
		m->version = MMDS_V2;
	else
		return fail(err, errlen, "version: expected one of \"V1\", \"V2\"%s%s%s",
			    s ? ", got \"" : "", s ? s : "", s ? "\"" : "");
	return 0;
}

/* A link-local address, neither 169.254.0.x nor 169.254.255.x (RFC 3927 reserves them). */
static int parse_ipv4(json_t *v, struct mmds_config *m, char *err, size_t errlen)
{
	const char *s = json_string_value(v);
	struct in_addr a;
	uint32_t ip;

	if (!v || json_is_null(v))
		return 0;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return fail(err, errlen, "ipv4_address: expected a dotted IPv4 address%s%s%s",
			    s ? ", got \"" : "", s ? s : "", s ? "\"" : "");
	ip = ntohl(a.s_addr);
	if ((ip >> 16) != 0xa9fe || ((ip >> 8) & 0xff) == 0 || ((ip >> 8) & 0xff) == 255)
		return fail(err, errlen, "ipv4_address: %s is not a link-local address in "
			    "169.254.1.0 - 169.254.254.255", s);
	m->ipv4 = ip;
	return 0;
}

static int parse_compat(json_t *v, struct mmds_config *m, char *err, size_t errlen)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return fail(err, errlen, "imds_compat: expected a boolean");
	m->imds_compat = json_is_true(v);
	return 0;
}

void config_mmds_free(struct mmds_config *m)
{
	for (unsigned int i = 0; i < m->nr_ifaces; i++)
		free(m->ifaces[i]);
	memset(m, 0, sizeof(*m));
}

int config_mmds_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	struct mmds_config m = { .present = true, .version = MMDS_V1, .ipv4 = DEFAULT_IPV4 };
	int ret;

	ret = check_keys(obj, err, errlen) ?:
	      parse_ifaces(json_object_get(obj, "network_interfaces"), &m, err, errlen) ?:
	      parse_version(json_object_get(obj, "version"), &m, err, errlen) ?:
	      parse_ipv4(json_object_get(obj, "ipv4_address"), &m, err, errlen) ?:
	      parse_compat(json_object_get(obj, "imds_compat"), &m, err, errlen);
	if (ret == -ENOMEM)
		snprintf(err, errlen, WHERE ": out of memory");
	if (ret) {
		config_mmds_free(&m);
		return ret;
	}
	config_mmds_free(&cfg->mmds);
	cfg->mmds = m;
	return 0;
}

int config_mmds_check_ifaces(const struct vm_config *cfg, char *err, size_t errlen)
{
	const struct mmds_config *m = &cfg->mmds;

	for (unsigned int i = 0; m->present && i < m->nr_ifaces; i++) {
		unsigned int j;

		for (j = 0; j < cfg->nr_nets && strcmp(cfg->nets[j].iface_id, m->ifaces[i]); j++)
			;
		if (j == cfg->nr_nets)
			return fail(err, errlen, "network_interfaces[%u]: no network interface "
				    "\"%s\"", i, m->ifaces[i]);
	}
	return 0;
}

json_t *config_mmds_to_json(const struct mmds_config *m)
{
	json_t *ifaces = json_array();
	struct in_addr a = { htonl(m->ipv4) };
	char ip[INET_ADDRSTRLEN];

	for (unsigned int i = 0; ifaces && i < m->nr_ifaces; i++) {
		if (json_array_append_new(ifaces, json_string(m->ifaces[i]))) {
			json_decref(ifaces);
			return NULL;
		}
	}
	if (!ifaces || !inet_ntop(AF_INET, &a, ip, sizeof(ip))) {
		json_decref(ifaces);
		return NULL;
	}
	return json_pack("{s:o, s:s, s:s, s:b}", "network_interfaces", ifaces,
			 "version", m->version == MMDS_V2 ? "V2" : "V1",
			 "ipv4_address", ip, "imds_compat", m->imds_compat);
}
