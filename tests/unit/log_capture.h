/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: send petrel's log to a temporary file and look for messages in it. */
#ifndef PETREL_TEST_LOG_CAPTURE_H
#define PETREL_TEST_LOG_CAPTURE_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <petrel/log.h>

static char log_capture_path[64];

static inline void log_capture_start(void)
{
	int fd;

	strcpy(log_capture_path, "/tmp/petrel-test-log-XXXXXX");
	fd = mkstemp(log_capture_path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(log_set_path(log_capture_path), 0);
}

static inline void log_capture_stop(void)
{
	log_set_path(NULL);
	unlink(log_capture_path);
}

/* Some line so far has both needles. */
static inline void expect_log(const char *a, const char *b)
{
	char buf[8192];
	FILE *f = fopen(log_capture_path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, a) && strstr(line, b))
			return;
	ck_abort_msg("no log line with '%s' and '%s'", a, b);
}

#endif
