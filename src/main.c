// SPDX-License-Identifier: Apache-2.0
/* petrel: command line and mode selection. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <petrel/api.h>
#include <petrel/config.h>
#include <petrel/jail.h>
#include <petrel/log.h>
#include <petrel/memory.h>
#include <petrel/metrics.h>
#include <petrel/timeline.h>
#include <petrel/mmds.h>
#include <petrel/util.h>
#include <petrel/vmm.h>

#include "git_commit.h"

struct options {
	const char *config_file;
	const char *id;
	const char *log_path;
	const char *module;		/* --module: the log's module filter */
	const char *metrics_path;
	const char *api_sock;
	const char *seccomp_filter;	/* NULL: the built-in filters */
	const char *seccomp_selftest;
	bool no_seccomp;
	bool print_seccomp;
	uint64_t max_payload;
	const char *metadata;		/* --metadata FILE */
	uint64_t mmds_size_limit;	/* 0: max_payload */
	uint64_t start_us;		/* when the process started (CLOCK_MONOTONIC) */
	bool no_api;
	bool boot_timer;
	bool level_set;
	enum log_level level;
	bool show_level;
	bool show_origin;
	bool jailed;			/* petrel jail started it, in its chroot */
	unsigned int nr_snapshot_dirs;
	const char *snapshot_dirs[JAIL_FS_MAX_CREATE];
};

/* One line here (and its case in parse_flag) adds a flag; --help lists it. */
enum flag {
	OPT_API_SOCK, OPT_CONFIG_FILE, OPT_NO_API, OPT_MAX_PAYLOAD, OPT_START_TIME, OPT_ID,
	OPT_BOOT_TIMER, OPT_LEVEL, OPT_LOG_PATH, OPT_SHOW_LEVEL, OPT_SHOW_ORIGIN, OPT_NO_SECCOMP,
	OPT_SECCOMP_FILTER, OPT_PRINT_SECCOMP, OPT_SECCOMP_SELFTEST, OPT_SNAPSHOT_DIR, OPT_JAILED,
	OPT_MODULE, OPT_METRICS_PATH, OPT_METADATA, OPT_MMDS_SIZE_LIMIT, OPT_VERSION, OPT_HELP,
	NR_FLAGS,
};

#define STR_(x) #x
#define STR(x) STR_(x)

static const struct util_flag flags[NR_FLAGS] = {
	[OPT_API_SOCK] = { "api-sock", "PATH",
		"serve the API on this Unix socket (default " API_DEFAULT_SOCKET ")" },
	[OPT_CONFIG_FILE] = { "config-file", "FILE", "boot the VM FILE describes (JSON)" },
	[OPT_NO_API] = { "no-api", NULL, "serve no API (needs --config-file)" },
	[OPT_MAX_PAYLOAD] = { "http-api-max-payload-size", "BYTES",
		"largest API request body (default " STR(API_DEFAULT_MAX_PAYLOAD) ")" },
	[OPT_START_TIME] = { "start-time-us", "US",
		"when the launcher started petrel (CLOCK_MONOTONIC)" },
	[OPT_ID] = { "id", "ID", "VM id in log lines (default anonymous-instance)" },
	[OPT_BOOT_TIMER] = { "boot-timer", NULL,
		"log the boot time and phases when the guest writes the boot timer" },
	[OPT_LEVEL] = { "level", "LEVEL",
		"Off, Error, Warning, Info, Debug or Trace (default Info)" },
	[OPT_LOG_PATH] = { "log-path", "PATH", "log to this file or FIFO, not stderr" },
	[OPT_MODULE] = { "module", "MODULE",
		"log only lines from source files beneath src/MODULE (virtio, virtio/blk)" },
	[OPT_METRICS_PATH] = { "metrics-path", "PATH", "write the metrics lines to this file or FIFO" },
	[OPT_SHOW_LEVEL] = { "show-level", NULL, "put the level in each log line" },
	[OPT_SHOW_ORIGIN] = { "show-log-origin", NULL,
		"put the source file and line in each log line" },
	[OPT_NO_SECCOMP] = { "no-seccomp", NULL, "run without the seccomp filters" },
	[OPT_SECCOMP_FILTER] = { "seccomp-filter", "FILE", "use the seccomp filters in FILE (JSON)" },
	[OPT_PRINT_SECCOMP] = { "print-seccomp", NULL, "print the seccomp filters and exit" },
	[OPT_SECCOMP_SELFTEST] = { "seccomp-selftest", "KIND[:CALL]",
		"make a forbidden call on a filtered thread; must die with 148" },
	[OPT_SNAPSHOT_DIR] = { "snapshot-dir", "DIR",
		"snapshots may be created beneath DIR too (repeatable)" },
	[OPT_JAILED] = { "jailed", NULL, "set by petrel jail: in its chroot" },
	[OPT_METADATA] = { "metadata", "FILE", "start with FILE's JSON object in the MMDS data store" },
	[OPT_MMDS_SIZE_LIMIT] = { "mmds-size-limit", "BYTES",
		"the MMDS data store's limit (default: the API's payload limit)" },
	[OPT_VERSION] = { "version", NULL, "print the version and commit, and exit" },
	[OPT_HELP] = { "help", NULL, "print this help and exit" },
};

/* getopt_long() answers '?' for an unknown flag: ours start above any character. */
#define FLAG_BASE	256

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: petrel [--api-sock PATH] [--config-file FILE] [flags]\n"
		"       petrel --no-api --config-file FILE [flags]\n"
		"       petrel jail --id ID --uid UID --gid GID [jail flags] -- [flags]\n"
		"       petrel snapshot info STATE_FILE\n"
		"       petrel snapshot rebase --base MEM_FILE --diff DIFF_MEM_FILE\n"
		"       petrel --describe-snapshot STATE_FILE\n"
		"\n");
	util_flags_usage(out, flags, NR_FLAGS);
	fprintf(out, "\nSee petrel(1); petrel jail --help for the jail's flags.\n");
}

static void version(void)
{
	printf("petrel v%s (%s)\n", PETREL_VERSION, PETREL_GIT_COMMIT);
}

static int parse_number(const char *opt, const char *arg, uint64_t min, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v < min) {
		fprintf(stderr, "petrel: --%s: expected a number >= %llu, got '%s'\n", opt,
			(unsigned long long)min, arg);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* An existing directory other than /, beneath which lies every host file. */
static int add_snapshot_dir(struct options *o, const char *dir)
{
	struct stat st, root;

	if (o->nr_snapshot_dirs == JAIL_FS_MAX_CREATE) {
		fprintf(stderr, "petrel: --snapshot-dir: at most %d directories\n",
			JAIL_FS_MAX_CREATE);
		return -EINVAL;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "petrel: --snapshot-dir %s: %s\n", dir,
			errno && !S_ISDIR(st.st_mode) ? strerror(errno) : "not a directory");
		return -EINVAL;
	}
	if (!stat("/", &root) && root.st_dev == st.st_dev && root.st_ino == st.st_ino) {
		fprintf(stderr, "petrel: --snapshot-dir %s: the root directory, beneath which "
			"lies every host file; name a directory of its own\n", dir);
		return -EINVAL;
	}
	o->snapshot_dirs[o->nr_snapshot_dirs++] = dir;
	return 0;
}

/* 0: go on; >0: exit 0 now (help, version); <0: bad usage. */
static int parse_flag(struct options *o, enum flag f, const char *arg)
{
	switch (f) {
	case OPT_CONFIG_FILE: o->config_file = arg; break;
	case OPT_NO_API: o->no_api = true; break;
	case OPT_ID: o->id = arg; break;
	case OPT_BOOT_TIMER: o->boot_timer = true; break;
	case OPT_LOG_PATH: o->log_path = arg; break;
	case OPT_MODULE:
		if (strlen(arg) > LOG_MODULE_MAX) {
			fprintf(stderr, "petrel: --module: at most %d bytes\n", LOG_MODULE_MAX);
			return -EINVAL;
		}
		o->module = arg;
		break;
	case OPT_METRICS_PATH: o->metrics_path = arg; break;
	case OPT_SHOW_LEVEL: o->show_level = true; break;
	case OPT_SHOW_ORIGIN: o->show_origin = true; break;
	case OPT_API_SOCK: o->api_sock = arg; break;
	case OPT_NO_SECCOMP: o->no_seccomp = true; break;
	case OPT_SECCOMP_FILTER: o->seccomp_filter = arg; break;
	case OPT_PRINT_SECCOMP: o->print_seccomp = true; break;
	case OPT_SECCOMP_SELFTEST: o->seccomp_selftest = arg; break;
	case OPT_JAILED: o->jailed = true; break;
	case OPT_METADATA: o->metadata = arg; break;
	case OPT_MMDS_SIZE_LIMIT:
		return parse_number("mmds-size-limit", arg, 1, &o->mmds_size_limit);
	case OPT_SNAPSHOT_DIR:
		return add_snapshot_dir(o, arg);
	case OPT_MAX_PAYLOAD:
		return parse_number("http-api-max-payload-size", arg, 1, &o->max_payload);
	case OPT_START_TIME:
		return parse_number("start-time-us", arg, 0, &o->start_us);
	case OPT_LEVEL:
		if (log_level_parse(arg, &o->level)) {
			fprintf(stderr, "petrel: --level: unknown level '%s' (Off, Error, "
				"Warning, Info, Debug, Trace)\n", arg);
			return -EINVAL;
		}
		o->level_set = true;
		break;
	case OPT_VERSION:
		version();
		return 1;
	case OPT_HELP:
		usage(stdout);
		return 1;
	default:		/* getopt_long() said what */
		fprintf(stderr, "Try 'petrel --help'.\n");
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	struct option long_options[NR_FLAGS + 1];
	int c, ret;

	util_flags_options(flags, NR_FLAGS, FLAG_BASE, long_options);
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		ret = parse_flag(o, c - FLAG_BASE, optarg);
		if (ret)
			return ret;
	}
	if (optind < argc) {
		fprintf(stderr, "petrel: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (o->no_api && !o->config_file) {
		fprintf(stderr, "petrel: --no-api needs --config-file FILE\n");
		return -EINVAL;
	}
	if (o->id && !util_valid_id(o->id)) {
		fprintf(stderr, "petrel: --id: '%s' must be 1..%d letters, digits or '-'\n", o->id,
			UTIL_ID_MAX);
		return -EINVAL;
	}
	return 0;
}

/* The config file's "logger" section, then the command line, which wins. */
static int setup_logger(const struct options *o, const struct vm_config *cfg)
{
	const struct logger_config *lc = &cfg->logger;
	const char *path = o->log_path ? o->log_path : (lc->present ? lc->log_path : NULL);
	enum log_level level = o->level_set ? o->level : (lc->present ? lc->level : LOG_INFO);
	int ret;

	if (o->id)
		log_set_id(o->id);
	log_set_level(level);
	log_set_show(o->show_level || (lc->present && lc->show_level),
		     o->show_origin || (lc->present && lc->show_log_origin));
	log_set_module(o->module ? o->module : lc->module);
	if (path) {
		ret = log_set_path(path);
		if (ret) {
			char err[512];

			util_open_error(path, ret, LOG_PATH_KINDS, err, sizeof(err));
			fprintf(stderr, "petrel: log path %s\n", err);
			return ret;
		}
	}
	return 0;
}

/*
 * The config file's "metrics" section, its path replaced by --metrics-path;
 * vm_destroy() writes the last line.
 */
static int setup_metrics(const struct options *o, const struct vm_config *cfg)
{
	const struct metrics_config *m = &cfg->metrics;
	const char *path = o->metrics_path ? o->metrics_path : m->metrics_path;
	char err[512];
	int ret;

	if (!path)
		return 0;
	ret = metrics_set_path(path, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "petrel: %s\n", err);
		return ret;
	}
	ret = metrics_set_fields(m->emit_id ? (o->id ? o->id : LOG_DEFAULT_ID) : NULL,
				 m->properties);
	if (ret)
		fprintf(stderr, "petrel: metrics: %s\n", strerror(-ret));
	return ret;
}

static int load_config(const struct options *o, struct vm_config *cfg)
{
	char err[512];

	/* Parsing a whole document validates it too. */
	if (o->config_file && config_parse_file(o->config_file, cfg, err, sizeof(err))) {
		fprintf(stderr, "petrel: %s\n", err);
		return -EINVAL;
	}
	return setup_logger(o, cfg) ?: setup_metrics(o, cfg);
}

/*
 * The filters are compiled before any thread starts; each thread installs its
 * own. The API socket is made first: the vmm filter may unlink its path alone.
 */
static int setup_seccomp(const struct options *o, const struct api_server *api)
{
	char err[512];
	int ret = jail_seccomp_setup(o->seccomp_filter, o->no_seccomp,
				     api ? api_server_path(api) : NULL, err, sizeof(err));

	if (ret)
		fprintf(stderr, "petrel: %s\n", err);
	return ret;
}

/* --print-seccomp: the filters in force, per thread. */
static int print_seccomp(const struct options *o)
{
	struct jail_policy p;
	char err[512];
	int ret;

	if (o->no_seccomp) {
		printf("seccomp: off (--no-seccomp)\n");
		return 0;
	}
	ret = o->seccomp_filter ? jail_policy_load(o->seccomp_filter, &p, err, sizeof(err)) :
				  jail_policy_builtin(&p);
	/* The address is this process's: a server compares its own. */
	if (!ret && !o->seccomp_filter && !o->no_api)
		ret = jail_policy_allow_unlink(&p, o->api_sock);
	if (ret) {
		fprintf(stderr, "petrel: %s\n", ret == -ENOMEM ? strerror(ENOMEM) : err);
		return 1;
	}
	jail_policy_print(&p, stdout);
	jail_policy_free(&p);
	return 0;
}

static int open_api(const struct options *o, struct api_server **api)
{
	char err[512];
	int ret;

	ret = api_server_create(o->api_sock, o->max_payload, api, err, sizeof(err));
	if (ret)
		fprintf(stderr, "petrel: %s\n", err);
	return ret;
}

/* process_startup_time_us: from the process's start to the API accepting. */
static void record_startup(const struct options *o)
{
	struct rusage ru;
	uint64_t us = util_now_us() - o->start_us;

	metrics_set(M_API_PROCESS_STARTUP_TIME_US, us);
	timeline_mark_at(BOOT_API_SOCKET_READY, o->start_us + us);
	if (!getrusage(RUSAGE_SELF, &ru))
		metrics_set(M_API_PROCESS_STARTUP_TIME_CPU_US,
			    ru.ru_utime.tv_sec * 1000000ull + ru.ru_utime.tv_usec +
			    ru.ru_stime.tv_sec * 1000000ull + ru.ru_stime.tv_usec);
	pr_info("API server listening on %s (%llu us after start)", o->api_sock,
		(unsigned long long)us);
}

/* The metadata store, filled from --metadata FILE if given. */
static int open_mmds(const struct options *o, struct mmds **out)
{
	char err[1024];

	*out = mmds_create(o->mmds_size_limit ?: o->max_payload);
	if (!*out) {
		fprintf(stderr, "petrel: MMDS: %s\n", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (o->metadata && mmds_load_file(*out, o->metadata, err, sizeof(err))) {
		fprintf(stderr, "petrel: --metadata: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

/* With the API and a config file, the VM boots from the file and the API stays up. */
static int run(const struct options *o)
{
	struct vm_options vo = { .boot_timer = o->boot_timer, .console_in_fd = STDIN_FILENO,
				 .console_out_fd = STDOUT_FILENO, .jailed = o->jailed,
				 .snapshot_dirs = o->snapshot_dirs,
				 .nr_snapshot_dirs = o->nr_snapshot_dirs };
	struct api_server *api = NULL;
	struct vmm *vmm = NULL;
	struct vm_config cfg;
	int ret = 1;

	timeline_mark_at(BOOT_PROCESS_START, o->start_us);
	config_init(&cfg);
	if (load_config(o, &cfg) || open_mmds(o, &vo.mmds) || (!o->no_api && open_api(o, &api)) ||
	    setup_seccomp(o, api))
		goto out;
	vmm = vmm_create(&vo, o->id, api);
	if (!vmm || (api && api_server_start(api)))
		goto out;
	if (api)
		record_startup(o);
	if (o->config_file && vmm_boot(vmm, &cfg))
		goto out;
	ret = vmm_run(vmm);
out:
	api_server_destroy(api);
	vmm_destroy(vmm);
	mmds_destroy(vo.mmds);
	config_free(&cfg);
	metrics_close();
	log_close();
	return ret;
}

static int snapshot_info(const char *path, bool version_only)
{
	char err[1024];

	if (!vm_snapshot_info(path, version_only, stdout, err, sizeof(err)))
		return 0;
	fprintf(stderr, "petrel: %s\n", err);
	return 1;
}

/* petrel snapshot info FILE | rebase --base MEM --diff MEM */
static int snapshot_main(int argc, char **argv)
{
	char err[1024];

	if (argc == 3 && !strcmp(argv[1], "info"))
		return snapshot_info(argv[2], false);
	if (argc == 6 && !strcmp(argv[1], "rebase") && !strcmp(argv[2], "--base") &&
	    !strcmp(argv[4], "--diff")) {
		if (!snapshot_rebase(argv[3], argv[5], err, sizeof(err)))
			return 0;
		fprintf(stderr, "petrel: snapshot rebase: %s\n", err);
		return 1;
	}
	fprintf(stderr, "Usage: petrel snapshot info STATE_FILE\n"
		"       petrel snapshot rebase --base MEM_FILE --diff DIFF_MEM_FILE\n"
		"       petrel --describe-snapshot STATE_FILE\n");
	return 2;
}

/*
 * Before any thread starts, so that every thread has it: a closed pipe,
 * FIFO or socket is an EPIPE where the write is made (counted there), not
 * the end of petrel; SIGBUS and SIGSEGV end it with Firecracker's codes.
 */
static void prepare_process(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (jail_fatal_signals_install())
		fprintf(stderr, "petrel: cannot handle SIGBUS and SIGSEGV: %s\n", strerror(errno));
}

int main(int argc, char **argv)
{
	struct options o = {
		.level = LOG_INFO, .api_sock = API_DEFAULT_SOCKET,
		.max_payload = API_DEFAULT_MAX_PAYLOAD, .start_us = util_now_us(),
	};
	int ret;

	if (argc > 1 && !strcmp(argv[1], "jail"))
		return jailer_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "snapshot"))
		return snapshot_main(argc - 1, argv + 1);
	if (argc == 3 && !strcmp(argv[1], "--describe-snapshot"))
		return snapshot_info(argv[2], true);
	prepare_process();
	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret > 0 ? 0 : 1;
	if (o.print_seccomp)
		return print_seccomp(&o);
	if (o.seccomp_selftest)
		return setup_seccomp(&o, NULL) ? 1 : jail_seccomp_selftest(o.seccomp_selftest);
	return run(&o);
}
