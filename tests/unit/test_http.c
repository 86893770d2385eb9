// SPDX-License-Identifier: Apache-2.0
/* The API's HTTP request heads and router: what is accepted, and how the rest is refused. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/api.h>

static struct http_request req;
static char err[256];

static int parse(const char *s)
{
	err[0] = '\0';
	return http_parse_head(s, strlen(s), &req, err, sizeof(err));
}

START_TEST(test_get)
{
	const char *s = "GET /machine-config?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n";

	ck_assert_int_eq(parse(s), strlen(s));
	ck_assert_int_eq(req.method, HTTP_GET);
	ck_assert_str_eq(req.method_name, "GET");
	ck_assert_str_eq(req.path, "/machine-config");
	ck_assert(req.keep_alive);
	ck_assert(!req.has_length);
	ck_assert_uint_eq(req.content_length, 0);
}
END_TEST

START_TEST(test_put_with_body)
{
	const char *s = "PUT /drives/rootfs HTTP/1.1\r\ncontent-length:  12 \r\n"
			"Expect: 100-continue\r\n\r\n{\"a\": true}";

	ck_assert_int_eq(parse(s), strlen(s) - 11);
	ck_assert_int_eq(req.method, HTTP_PUT);
	ck_assert(req.has_length);
	ck_assert_uint_eq(req.content_length, 12);
	ck_assert(req.expect_continue);
}
END_TEST

START_TEST(test_incomplete)
{
	ck_assert_int_eq(parse(""), 0);
	ck_assert_int_eq(parse("GET / HT"), 0);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\n"), 0);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: x\r\n"), 0);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: x\r\n\r"), 0);
	ck_assert_int_eq(parse("\r\n\r\n"), 0);
}
END_TEST

START_TEST(test_lenient_lines)
{
	const char *lf = "GET / HTTP/1.1\nConnection: close\n\n";
	const char *lead = "\r\n\r\nGET /version HTTP/1.1\r\n\r\n";

	ck_assert_int_eq(parse(lf), strlen(lf));
	ck_assert(!req.keep_alive);
	ck_assert_int_eq(parse(lead), strlen(lead));
	ck_assert_str_eq(req.path, "/version");
}
END_TEST

START_TEST(test_keep_alive)
{
	parse("GET / HTTP/1.0\r\n\r\n");
	ck_assert(!req.keep_alive);
	parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	ck_assert(req.keep_alive);
	parse("GET / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n");
	ck_assert(!req.keep_alive);
	parse("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n");
	ck_assert(req.keep_alive);
}
END_TEST

START_TEST(test_pipelined)
{
	const char *two = "GET / HTTP/1.1\r\n\r\nGET /version HTTP/1.1\r\n\r\n";

	ck_assert_int_eq(parse(two), 18);
	ck_assert_str_eq(req.path, "/");
}
END_TEST

START_TEST(test_other_method)
{
	ck_assert_int_gt(parse("DELETE /drives/a HTTP/1.1\r\n\r\n"), 0);
	ck_assert_int_eq(req.method, HTTP_OTHER);
	ck_assert_str_eq(req.method_name, "DELETE");
	ck_assert_int_gt(parse("get / HTTP/1.1\r\n\r\n"), 0);
	ck_assert_int_eq(req.method, HTTP_OTHER);
}
END_TEST

/* Each bad head, the status it gets and a word its message must hold. */
static const struct {
	const char *head;
	int status;
	const char *word;
} bad[] = {
	{ "PUT /boot-source HTTP/1.1\r\n\r\n", -411, "Content-Length" },
	{ "PATCH /vm HTTP/1.1\r\nHost: x\r\n\r\n", -411, "Content-Length" },
	{ "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", -501, "Transfer-Encoding" },
	{ "PUT /x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: gzip\r\n\r\n", -501,
	  "Transfer-Encoding" },
	{ "GET / HTTP/2.0\r\n\r\n", -505, "2.0" },
	{ "GET / HTTP/1.1x\r\n\r\n", -400, "version" },
	{ "GET / http/1.1\r\n\r\n", -400, "version" },
	{ "GET /\r\n\r\n", -400, "request line" },
	{ "GET  / HTTP/1.1\r\n\r\n", -400, "target" },
	{ "GET / HTTP/1.1 \r\n\r\n", -400, "version" },
	{ "G(T / HTTP/1.1\r\n\r\n", -400, "method" },
	{ "GETGETGETGETGETGETGET / HTTP/1.1\r\n\r\n", -400, "method" },
	{ "GET http://localhost/ HTTP/1.1\r\n\r\n", -400, "'/'" },
	{ "GET /a\tb HTTP/1.1\r\n\r\n", -400, "target" },
	{ "GET /\x80 HTTP/1.1\r\n\r\n", -400, "target" },
	{ "GET / HTTP/1.1\r\nHost localhost\r\n\r\n", -400, "header" },
	{ "GET / HTTP/1.1\r\nHost : localhost\r\n\r\n", -400, "header" },
	{ "GET / HTTP/1.1\r\n: x\r\n\r\n", -400, "header" },
	{ "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", -400, "folded" },
	{ "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", -400, "Host" },
	{ "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", -400, "X" },
	{ "PUT / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", -400, "Content-Length" },
	{ "PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", -400, "Content-Length" },
	{ "PUT / HTTP/1.1\r\nContent-Length:\r\n\r\n", -400, "Content-Length" },
	{ "PUT / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", -400, "Content-Length" },
	{ "PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", -400,
	  "Content-Length" },
	{ "PUT / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", -400,
	  "conflicting" },
};

START_TEST(test_bad_head)
{
	ck_assert_int_eq(parse(bad[_i].head), bad[_i].status);
	ck_assert_msg(strstr(err, bad[_i].word), "'%s' lacks '%s'", err, bad[_i].word);
}
END_TEST

START_TEST(test_same_length_twice)
{
	ck_assert_int_gt(parse("PUT / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n"),
			 0);
	ck_assert_uint_eq(req.content_length, 2);
}
END_TEST

START_TEST(test_nul_in_head)
{
	static const char s[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";

	ck_assert_int_eq(http_parse_head(s, sizeof(s) - 1, &req, err, sizeof(err)), -400);
}
END_TEST

START_TEST(test_head_too_large)
{
	char *s = malloc(HTTP_HEAD_MAX + 64);
	int n;

	n = sprintf(s, "GET / HTTP/1.1\r\nX: ");
	memset(s + n, 'a', HTTP_HEAD_MAX - n);
	/* Full and unfinished: no more bytes can help. */
	ck_assert_int_eq(http_parse_head(s, HTTP_HEAD_MAX, &req, err, sizeof(err)), -400);
	ck_assert_ptr_nonnull(strstr(err, "8192"));
	/* Finished, but past the limit. */
	memcpy(s + HTTP_HEAD_MAX, "\r\n\r\n", 4);
	ck_assert_int_eq(http_parse_head(s, HTTP_HEAD_MAX + 4, &req, err, sizeof(err)), -400);
	/* One byte short of the limit and unfinished: read more. */
	ck_assert_int_eq(http_parse_head(s, HTTP_HEAD_MAX - 1, &req, err, sizeof(err)), 0);
	free(s);
}
END_TEST

START_TEST(test_long_path)
{
	char s[HTTP_PATH_MAX + 64];
	int n = sprintf(s, "GET /");

	memset(s + n, 'a', HTTP_PATH_MAX);
	strcpy(s + n + HTTP_PATH_MAX, " HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(parse(s), -400);
	ck_assert_ptr_nonnull(strstr(err, "longer"));
}
END_TEST

/* ---- the router ---- */

static struct api_request areq;

static int route(const char *method, const char *path, const char *body)
{
	char head[512];

	api_request_free(&areq);
	snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", method,
		 path, body ? strlen(body) : 0);
	ck_assert_int_gt(parse(head), 0);
	return api_route(&req, body, body ? strlen(body) : 0, &areq);
}

static void expect_fault(const char *word)
{
	ck_assert_int_eq(areq.status, 400);
	ck_assert_msg(strstr(areq.fault, word), "'%s' lacks '%s'", areq.fault, word);
}

START_TEST(test_route_ops)
{
	ck_assert_int_eq(route("GET", "/", NULL), 1);
	ck_assert_int_eq(areq.op, API_GET_INFO);
	ck_assert_int_eq(route("GET", "/vm/config", NULL), 1);
	ck_assert_int_eq(areq.op, API_GET_VM_CONFIG);
	ck_assert_int_eq(route("GET", "/machine-config/", NULL), 1);
	ck_assert_int_eq(areq.op, API_GET_MACHINE);
	ck_assert_int_eq(route("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"), 1);
	ck_assert_int_eq(areq.op, API_SEND_CTRL_ALT_DEL);
	ck_assert_int_eq(route("PATCH", "/vm", "{\"state\": \"Resumed\"}"), 1);
	ck_assert_int_eq(areq.op, API_RESUME);
	ck_assert_int_eq(route("PUT", "/drives/root_1",
			       "{\"drive_id\": \"root_1\", \"path_on_host\": \"/i\", "
			       "\"is_root_device\": true}"), 1);
	ck_assert_int_eq(areq.op, API_PUT_DRIVE);
	ck_assert_str_eq(areq.id, "root_1");
	ck_assert_int_eq(route("PATCH", "/drives/d",
			       "{\"drive_id\": \"d\", \"path_on_host\": \"/new\"}"), 1);
	ck_assert_str_eq(areq.path_on_host, "/new");
	ck_assert_int_eq(route("PUT", "/entropy", "{}"), 1);
	ck_assert_int_eq(areq.op, API_PUT_ENTROPY);
	ck_assert_int_eq(route("PATCH", "/network-interfaces/eth0",
			       "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": {\"bandwidth\": "
			       "{\"size\": 1024, \"refill_time\": 100}}}"), 1);
	ck_assert_int_eq(areq.op, API_PATCH_NET);
	ck_assert_str_eq(areq.id, "eth0");
	ck_assert_int_eq(route("PUT", "/serial", "{\"serial_out_path\": \"/tmp/console\", "
			       "\"rate_limiter\": {\"size\": 1, \"refill_time\": 1}}"), 1);
	ck_assert_int_eq(areq.op, API_PUT_SERIAL);
}
END_TEST

START_TEST(test_route_version)
{
	ck_assert_int_eq(route("GET", "/version", NULL), 0);
	ck_assert_int_eq(areq.status, 200);
	ck_assert_ptr_nonnull(strstr(areq.reply, "\"firecracker_version\""));
}
END_TEST

/* Each bad request and a word its fault_message must hold. */
static const struct {
	const char *method, *path, *body, *word;
} bad_requests[] = {
	{ "GET", "/foo", NULL, "Invalid request method and/or path: GET /foo." },
	{ "DELETE", "/drives/a", NULL, "Invalid request method and/or path: DELETE /drives/a." },
	{ "GET", "/vm", NULL, "Invalid request method and/or path" },
	{ "PUT", "/drives/a/b", "{}", "Invalid request method and/or path" },
	{ "GET", "/", "{}", "GET request cannot have a body." },
	{ "PUT", "/boot-source", NULL, "Empty PUT request." },
	{ "PATCH", "/vm", NULL, "Empty PATCH request." },
	{ "PUT", "/boot-source", "{\"kernel_image_path\": ", "deserializing the json body" },
	{ "PUT", "/boot-source", "{\"kernel_image_path\": \"/k\", \"foo\": 1}",
	  "unknown field \"foo\"" },
	{ "PUT", "/boot-source", "{\"kernel_image_path\": 7}", "kernel_image_path: expected a string" },
	{ "PUT", "/boot-source", "{\"boot_args\": \"x\"}", "missing required field \"kernel_image_path\"" },
	{ "PUT", "/boot-source", "[]", "expected an object" },
	{ "PUT", "/boot-source", "{\"kernel_image_path\": \"/a\", \"kernel_image_path\": \"/b\"}",
	  "duplicate" },
	{ "PUT", "/machine-config", "{\"vcpu_count\": 33, \"mem_size_mib\": 128}", "vcpu_count" },
	{ "PATCH", "/machine-config", "{}", "nothing to update" },
	{ "PUT", "/drives/", "{}", "The ID cannot be empty." },
	{ "PUT", "/drives/a-b", "{}", "alphanumeric" },
	{ "PUT", "/drives/a", "{\"drive_id\": \"b\", \"path_on_host\": \"/i\", \"is_root_device\": false}",
	  "drive_id \"b\"" },
	{ "PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap0\"}",
	  "iface_id \"eth1\"" },
	{ "PATCH", "/drives/a", "{\"drive_id\": \"a\", \"is_read_only\": true}",
	  "unknown field \"is_read_only\"" },
	{ "PATCH", "/drives/a", "{\"path_on_host\": \"/x\"}", "missing required field \"drive_id\"" },
	{ "PUT", "/actions", "{\"action_type\": \"Reboot\"}", "got \"Reboot\"" },
	{ "PUT", "/actions", "{\"action_type\": 1}", "action_type: expected a string" },
	{ "PUT", "/actions", "{\"action_type\": \"InstanceStart\", \"payload\": 1}",
	  "unknown field \"payload\"" },
	{ "PUT", "/actions", "{}", "missing required field \"action_type\"" },
	{ "PATCH", "/vm", "{\"state\": \"Stopped\"}", "\"Paused\", \"Resumed\"" },
	{ "PUT", "/entropy", "{\"rate_limiter\": {\"ops\": {\"size\": -1, \"refill_time\": 1}}}",
	  "entropy.rate_limiter.ops.size: expected an integer" },
	{ "PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"mtu\": 1500}",
	  "network-interface: unknown field \"mtu\"" },
	{ "PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth1\"}", "iface_id \"eth1\"" },
	{ "PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"tx_rate_limiter\": "
	  "{\"bandwidth\": {\"size\": 1}}}",
	  "network-interface.tx_rate_limiter.bandwidth: missing required field \"refill_time\"" },
	{ "PATCH", "/drives/a", "{\"drive_id\": \"a\", \"rate_limiter\": {\"ops\": []}}",
	  "drive.rate_limiter.ops: expected an object" },
	{ "PUT", "/serial", "{\"serial_out_path\": \"\"}", "serial.serial_out_path" },
	{ "PUT", "/serial", "{\"rate_limiter\": {\"size\": 1, \"refill_time\": 1, \"x\": 0}}",
	  "serial.rate_limiter: unknown field \"x\"" },
	{ "PUT", "/logger", "{\"level\": \"Loud\"}", "level" },
	{ "PUT", "/metrics", "{}", "metrics_path" },
};

START_TEST(test_route_bad)
{
	ck_assert_int_eq(route(bad_requests[_i].method, bad_requests[_i].path,
			       bad_requests[_i].body), 0);
	expect_fault(bad_requests[_i].word);
}
END_TEST

static char *response(int status, const char *type, const char *body, bool keep_alive)
{
	size_t len = 0;
	char *out = http_response(status, type, body, keep_alive, &len), *text;

	ck_assert_ptr_nonnull(out);
	text = strndup(out, len);
	free(out);
	return text;
}

START_TEST(test_response_body)
{
	char *r = response(200, "application/json", "{\"a\":1}", true);

	ck_assert_str_eq(r, "HTTP/1.1 200 OK\r\nServer: petrel\r\nConnection: keep-alive\r\n"
			 "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
	free(r);
}
END_TEST

START_TEST(test_response_empty)
{
	char *r = response(204, NULL, NULL, false);

	ck_assert_str_eq(r, "HTTP/1.1 204 No Content\r\nServer: petrel\r\nConnection: close\r\n\r\n");
	free(r);
	r = response(400, NULL, NULL, true);
	ck_assert_ptr_nonnull(strstr(r, "\r\nContent-Length: 0\r\n\r\n"));
	free(r);
	/* An interim answer is its status line alone: no headers a client could take as final. */
	r = response(100, NULL, NULL, true);
	ck_assert_str_eq(r, "HTTP/1.1 100 Continue\r\n\r\n");
	free(r);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("head");

	tcase_add_test(tc, test_get);
	tcase_add_test(tc, test_put_with_body);
	tcase_add_test(tc, test_incomplete);
	tcase_add_test(tc, test_lenient_lines);
	tcase_add_test(tc, test_keep_alive);
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_other_method);
	tcase_add_loop_test(tc, test_bad_head, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_same_length_twice);
	tcase_add_test(tc, test_nul_in_head);
	tcase_add_test(tc, test_head_too_large);
	tcase_add_test(tc, test_long_path);
	tcase_add_test(tc, test_response_body);
	tcase_add_test(tc, test_response_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("router");
	tcase_add_test(tc, test_route_ops);
	tcase_add_test(tc, test_route_version);
	tcase_add_loop_test(tc, test_route_bad, 0, sizeof(bad_requests) / sizeof(bad_requests[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
