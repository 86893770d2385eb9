// SPDX-License-Identifier: Apache-2.0
/*
 * Memory files: Full and Diff snapshots of guest RAM, restores from a file,
 * dirty pages (KVM's and devices'), and rebasing a Diff onto its base.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <petrel/memory.h>
#include <petrel/util.h>

#define PAGE		MEM_PAGE_SIZE
#define LOW_MIB		(MEM_HOLE_START >> 20)

static char dir[64], base_path[96], diff_path[96], sock_path[96], list_path[96];
static char err[512];

static void setup(void)
{
	strcpy(dir, "/tmp/petrel-test-memfile-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(base_path, sizeof(base_path), "%s/base.mem", dir);
	snprintf(diff_path, sizeof(diff_path), "%s/diff.mem", dir);
	snprintf(sock_path, sizeof(sock_path), "%s/uffd.sock", dir);
	snprintf(list_path, sizeof(list_path), "%s/pages.list", dir);
}

static void teardown(void)
{
	unlink(base_path);
	unlink(diff_path);
	unlink(sock_path);
	unlink(list_path);
	rmdir(dir);
}

/* A page of a pattern only that page and that round have. */
static void fill(uint8_t *page, uint64_t gpa, int round)
{
	for (size_t i = 0; i < PAGE; i += 8) {
		uint64_t v = gpa + i + ((uint64_t)round << 56) + 1;

		memcpy(page + i, &v, 8);
	}
}

static void put(struct guest_mem *mem, uint64_t gpa, int round)
{
	uint8_t page[PAGE];

	fill(page, gpa, round);
	ck_assert_int_eq(guest_mem_write(mem, gpa, page, PAGE), 0);
}

static void expect(const struct guest_mem *mem, uint64_t gpa, int round)
{
	uint8_t want[PAGE], got[PAGE];

	if (round < 0)
		memset(want, 0, PAGE);
	else
		fill(want, gpa, round);
	ck_assert_int_eq(guest_mem_read(mem, gpa, got, PAGE), 0);
	ck_assert_msg(!memcmp(want, got, PAGE), "page at gpa %#llx differs",
		      (unsigned long long)gpa);
}

static int open_rw(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	return fd;
}

static void save(const struct guest_mem *mem, const char *path, const uint64_t *dirty)
{
	int fd = open_rw(path);

	ck_assert_msg(!guest_mem_save(mem, fd, dirty, path, err, sizeof(err)), "%s", err);
	ck_assert_int_eq(fsync(fd), 0);
	close(fd);
}

/* Restore with the file's pages out of the page cache, as after a reboot of the host. */
static void restore(struct guest_mem *mem, uint64_t mib, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	ck_assert_msg(!guest_mem_create_from_file(mem, mib, fd, path, err, sizeof(err)), "%s",
		      err);
	close(fd);
}

static uint64_t disk_bytes(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

/* Pages written by the guest, at both ends of both regions, and one in the middle of a run. */
static const uint64_t touched[] = {
	0, PAGE, 2 * PAGE, 0x100000, MEM_HOLE_START - PAGE,
	MEM_HOLE_END, MEM_HOLE_END + MiB(1) + 5 * PAGE, MEM_HOLE_END + MiB(32) - PAGE,
};

START_TEST(full_writes_touched_pages_only)
{
	struct guest_mem mem, back;
	uint64_t mib = LOW_MIB + 32;

	ck_assert_int_eq(guest_mem_create(&mem, mib, HUGE_PAGES_NONE), 0);
	ck_assert_uint_eq(mem.nr_regions, 2);
	for (size_t i = 0; i < ARRAY_SIZE(touched); i++)
		put(&mem, touched[i], 1);
	/* Touched but zero: nothing to write. */
	memset(mem.regions[0].host + MiB(8), 0, MiB(1));
	save(&mem, base_path, NULL);
	ck_assert_uint_eq(file_size(base_path), MiB(mib));
	/* 8 pages of 3 GiB + 32 MiB on disk (ext4 may add an extent block or two). */
	ck_assert_uint_le(disk_bytes(base_path), ARRAY_SIZE(touched) * PAGE + KiB(16));
	ck_assert_uint_ge(disk_bytes(base_path), ARRAY_SIZE(touched) * PAGE);

	restore(&back, mib, base_path);
	for (size_t i = 0; i < ARRAY_SIZE(touched); i++)
		expect(&back, touched[i], 1);
	expect(&back, 3 * PAGE, -1);
	expect(&back, MEM_HOLE_END + PAGE, -1);
	guest_mem_destroy(&back);
	guest_mem_destroy(&mem);
}
END_TEST

/* A file mapped MAP_PRIVATE: the guest's writes never reach it, and nothing is read up front. */
START_TEST(file_restore_is_private_and_lazy)
{
	struct guest_mem mem, back;
	unsigned char vec[16];
	uint8_t page[PAGE], want[PAGE];
	int fd;

	ck_assert_int_eq(guest_mem_create(&mem, 64, HUGE_PAGES_NONE), 0);
	put(&mem, 0, 1);
	put(&mem, MiB(1), 1);
	save(&mem, base_path, NULL);
	guest_mem_destroy(&mem);

	restore(&back, 64, base_path);
	ck_assert_int_eq(mincore(back.regions[0].host + MiB(1), sizeof(vec) * PAGE, vec), 0);
	for (size_t i = 0; i < sizeof(vec); i++)
		ck_assert_msg(!(vec[i] & 1), "page %zu read in at restore", i);
	expect(&back, MiB(1), 1);
	put(&back, MiB(1), 2);
	expect(&back, MiB(1), 2);
	guest_mem_destroy(&back);

	fd = open(base_path, O_RDONLY);
	ck_assert_int_eq(pread(fd, page, PAGE, MiB(1)), PAGE);
	close(fd);
	fill(want, MiB(1), 1);
	ck_assert(!memcmp(page, want, PAGE));
}
END_TEST

START_TEST(short_file_refused)
{
	struct guest_mem mem;
	int fd = open_rw(base_path);

	ck_assert_int_eq(ftruncate(fd, MiB(64) - PAGE), 0);
	ck_assert_int_eq(guest_mem_create_from_file(&mem, 64, fd, base_path, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, base_path));
	ck_assert_ptr_nonnull(strstr(err, "shorter"));
	close(fd);
}
END_TEST

/*
 * A Full snapshot of a restored VM holds the pages it wrote since and the
 * pages still only in the file it was restored from (never read in).
 */
START_TEST(full_after_restore_keeps_file_pages)
{
	struct guest_mem mem, back, again;

	ck_assert_int_eq(guest_mem_create(&mem, 64, HUGE_PAGES_NONE), 0);
	put(&mem, 0, 1);
	put(&mem, MiB(2), 1);
	put(&mem, MiB(3), 1);
	save(&mem, base_path, NULL);
	guest_mem_destroy(&mem);

	restore(&back, 64, base_path);
	put(&back, MiB(3), 2);
	put(&back, MiB(5), 2);
	/* Written over with zeros: a hole in the new file, zeros when restored. */
	memset(back.regions[0].host + MiB(2), 0, PAGE);
	/* Memory pressure: the file's pages leave the page cache, so are not resident. */
	posix_fadvise(back.memfd, 0, 0, POSIX_FADV_DONTNEED);
	save(&back, diff_path, NULL);
	/* The file it maps is not overwritten. */
	{
		int fd = open_rw(base_path);

		ck_assert_int_eq(guest_mem_save(&back, fd, NULL, base_path, err, sizeof(err)),
				 -EINVAL);
		ck_assert_ptr_nonnull(strstr(err, base_path));
		close(fd);
	}
	guest_mem_destroy(&back);

	restore(&again, 64, diff_path);
	expect(&again, 0, 1);
	expect(&again, MiB(2), -1);
	expect(&again, MiB(3), 2);
	expect(&again, MiB(5), 2);
	guest_mem_destroy(&again);
	ck_assert_uint_le(disk_bytes(diff_path), 3 * PAGE + KiB(16));
}
END_TEST

static int kvm_vm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;

	ck_assert_msg(kvm >= 0, "/dev/kvm: %s", strerror(errno));
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ck_assert_int_ge(vm, 0);
	close(kvm);
	return vm;
}

static void add_slots(int vm, const struct guest_mem *mem, uint32_t flags)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = i, .flags = flags,
			.guest_phys_addr = mem->regions[i].gpa,
			.memory_size = mem->regions[i].size,
			.userspace_addr = (uintptr_t)mem->regions[i].host,
		};

		ck_assert_int_eq(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r), 0);
	}
}

static bool bit(const uint64_t *map, uint64_t page)
{
	return map[page / 64] >> (page % 64) & 1;
}

static uint64_t count_bits(const uint64_t *map, size_t words)
{
	uint64_t n = 0;

	for (size_t w = 0; w < words; w++)
		n += __builtin_popcountll(map[w]);
	return n;
}

/*
 * What a device writes through guest_mem_ptr() (a virtio buffer) never shows
 * in KVM's log, yet is in the dirty pages; each call starts the log again.
 */
START_TEST(dirty_pages_include_device_writes)
{
	struct guest_mem mem;
	uint64_t mib = LOW_MIB + 16, *dirty;
	uint64_t low_pages = MEM_HOLE_START / PAGE;
	int vm = kvm_vm();
	uint8_t *p;

	ck_assert_int_eq(guest_mem_create(&mem, mib, HUGE_PAGES_NONE), 0);
	ck_assert_int_eq(guest_mem_track_dirty(&mem), 0);
	add_slots(vm, &mem, KVM_MEM_LOG_DIRTY_PAGES);
	dirty = calloc(guest_mem_dirty_words(&mem), sizeof(*dirty));
	ck_assert_uint_eq(guest_mem_dirty_words(&mem), MiB(mib) / PAGE / 64);
	ck_assert_int_eq(guest_mem_get_dirty(&mem, vm, dirty), 0);

	/* A device fills a buffer spanning two pages, and one page above 4 GiB. */
	p = guest_mem_ptr(&mem, MiB(1) + PAGE - 8, 16);
	memset(p, 0xab, 16);
	p = guest_mem_ptr(&mem, MEM_HOLE_END + 7 * PAGE, 4);
	memset(p, 0xcd, 4);
	ck_assert_int_eq(guest_mem_get_dirty(&mem, vm, dirty), 0);
	ck_assert(bit(dirty, MiB(1) / PAGE));
	ck_assert(bit(dirty, MiB(1) / PAGE + 1));
	ck_assert(bit(dirty, low_pages + 7));
	ck_assert_uint_eq(count_bits(dirty, guest_mem_dirty_words(&mem)), 3);
	/* Reading for the guest's sake (guest_mem_read) dirties nothing. */
	{
		uint8_t b[4];

		ck_assert_int_eq(guest_mem_read(&mem, MiB(2), b, sizeof(b)), 0);
	}
	ck_assert_int_eq(guest_mem_get_dirty(&mem, vm, dirty), 0);
	ck_assert_uint_eq(count_bits(dirty, guest_mem_dirty_words(&mem)), 0);

	free(dirty);
	close(vm);
	guest_mem_destroy(&mem);
}
END_TEST

START_TEST(dirty_pages_need_tracking)
{
	struct guest_mem mem;
	uint64_t *dirty;
	int vm = kvm_vm();

	ck_assert_int_eq(guest_mem_create(&mem, 16, HUGE_PAGES_NONE), 0);
	add_slots(vm, &mem, 0);
	dirty = calloc(guest_mem_dirty_words(&mem), sizeof(*dirty));
	ck_assert_int_eq(guest_mem_get_dirty(&mem, vm, dirty), -ENOENT);
	free(dirty);
	close(vm);
	guest_mem_destroy(&mem);
}
END_TEST

/*
 * Full, then a Diff of what changed (device writes included), rebased onto
 * the Full: the result restores exactly the memory of the second snapshot.
 */
START_TEST(diff_rebased_onto_full)
{
	struct guest_mem mem, back;
	uint64_t mib = LOW_MIB + 16, *dirty;
	int vm = kvm_vm();

	ck_assert_int_eq(guest_mem_create(&mem, mib, HUGE_PAGES_NONE), 0);
	ck_assert_int_eq(guest_mem_track_dirty(&mem), 0);
	add_slots(vm, &mem, KVM_MEM_LOG_DIRTY_PAGES);
	dirty = calloc(guest_mem_dirty_words(&mem), sizeof(*dirty));
	put(&mem, 0, 1);
	put(&mem, MiB(4), 1);
	put(&mem, MiB(4) + PAGE, 1);
	put(&mem, MEM_HOLE_END, 1);
	ck_assert_int_eq(guest_mem_get_dirty(&mem, vm, dirty), 0);
	save(&mem, base_path, NULL);

	put(&mem, MiB(4) + PAGE, 2);
	put(&mem, MiB(6), 2);
	put(&mem, MEM_HOLE_END + MiB(15), 2);
	memset(guest_mem_ptr(&mem, MiB(4), PAGE), 0, PAGE);	/* zeroed: must reach the base */
	ck_assert_int_eq(guest_mem_get_dirty(&mem, vm, dirty), 0);
	save(&mem, diff_path, dirty);
	ck_assert_uint_eq(file_size(diff_path), MiB(mib));
	ck_assert_uint_le(disk_bytes(diff_path), 4 * PAGE + KiB(16));

	ck_assert_msg(!snapshot_rebase(base_path, diff_path, err, sizeof(err)), "%s", err);
	restore(&back, mib, base_path);
	expect(&back, 0, 1);
	expect(&back, MiB(4), -1);
	expect(&back, MiB(4) + PAGE, 2);
	expect(&back, MiB(6), 2);
	expect(&back, MEM_HOLE_END, 1);
	expect(&back, MEM_HOLE_END + MiB(15), 2);
	expect(&back, MiB(8), -1);
	guest_mem_destroy(&back);
	free(dirty);
	close(vm);
	guest_mem_destroy(&mem);
}
END_TEST

START_TEST(rebase_refuses_mismatched_files)
{
	int fd = open_rw(base_path);
	char missing[128];

	ck_assert_int_eq(ftruncate(fd, MiB(4)), 0);
	close(fd);
	fd = open_rw(diff_path);
	ck_assert_int_eq(ftruncate(fd, MiB(8)), 0);
	ck_assert_int_eq(pwrite(fd, "x", 1, MiB(5)), 1);
	close(fd);
	ck_assert_int_eq(snapshot_rebase(base_path, diff_path, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, diff_path));
	ck_assert_ptr_nonnull(strstr(err, base_path));
	ck_assert_uint_eq(file_size(base_path), MiB(4));
	ck_assert_uint_eq(disk_bytes(base_path), 0);

	snprintf(missing, sizeof(missing), "%s/none.mem", dir);
	ck_assert_int_eq(snapshot_rebase(base_path, missing, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, missing));
	ck_assert_int_eq(snapshot_rebase(base_path, base_path, err, sizeof(err)), -EINVAL);
}
END_TEST

/* The example handler serving base_path on sock_path, once it listens. */
static pid_t start_handler(const char *mode)
{
	pid_t pid = fork();
	struct timespec ms = { 0, 1000000 };

	ck_assert_int_ge(pid, 0);
	if (!pid) {
		if (mode)
			execl(PETREL_UFFD_HANDLER, "petrel-uffd-handler", mode, list_path,
			      sock_path, base_path, (char *)NULL);
		else
			execl(PETREL_UFFD_HANDLER, "petrel-uffd-handler", sock_path, base_path,
			      (char *)NULL);
		_exit(127);
	}
	/* Up to 10 s for it to listen: a bound that proves it does, not a speed. */
	for (int i = 0; i < 10000 && access(sock_path, F_OK); i++)
		nanosleep(&ms, NULL);
	ck_assert_int_eq(access(sock_path, F_OK), 0);
	return pid;
}

static void stop_handler(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && !WEXITSTATUS(status), "handler status %#x", status);
}

static void make_base(uint64_t mib)
{
	struct guest_mem mem;

	ck_assert_int_eq(guest_mem_create(&mem, mib, HUGE_PAGES_NONE), 0);
	for (size_t i = 0; i < ARRAY_SIZE(touched); i++)
		if (guest_mem_ptr(&mem, touched[i], PAGE))
			put(&mem, touched[i], 1);
	save(&mem, base_path, NULL);
	guest_mem_destroy(&mem);
}

/* Every page comes from the handler: from the file, or zeros where it has holes. */
START_TEST(uffd_restore_served_by_handler)
{
	uint64_t mib = LOW_MIB + 32;
	struct guest_mem mem;
	pid_t pid;

	make_base(mib);
	pid = start_handler(NULL);
	ck_assert_msg(!guest_mem_create_uffd(&mem, mib, HUGE_PAGES_NONE, sock_path, err,
					     sizeof(err)), "%s", err);
	ck_assert_int_eq(mem.backing, GUEST_MEM_UFFD);
	for (size_t i = 0; i < ARRAY_SIZE(touched); i++)
		expect(&mem, touched[i], 1);
	expect(&mem, MiB(16), -1);
	put(&mem, MiB(16), 2);
	expect(&mem, MiB(16), 2);
	guest_mem_destroy(&mem);
	stop_handler(pid);
}
END_TEST

START_TEST(uffd_without_handler_refused)
{
	struct guest_mem mem;

	ck_assert_int_lt(guest_mem_create_uffd(&mem, 16, HUGE_PAGES_NONE, sock_path, err,
					       sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, sock_path));
	ck_assert_uint_eq(mem.nr_regions, 0);
	ck_assert_int_eq(mem.memfd, -1);
}
END_TEST

static bool resident(const struct guest_mem *mem, uint64_t gpa)
{
	unsigned char v = 0;

	ck_assert_int_eq(mincore(mem->regions[0].host + gpa, PAGE, &v), 0);
	return v & 1;
}

/* --record lists the pages a run faulted in; --prefetch installs those before they are asked for. */
START_TEST(uffd_record_then_prefetch)
{
	struct timespec ms = { 0, 1000000 };
	struct guest_mem mem;
	uint64_t off;
	pid_t pid;
	FILE *f;
	int n = 0;

	make_base(64);
	pid = start_handler("--record");
	ck_assert_msg(!guest_mem_create_uffd(&mem, 64, HUGE_PAGES_NONE, sock_path, err,
					     sizeof(err)), "%s", err);
	expect(&mem, PAGE, 1);
	expect(&mem, 0x100000, 1);
	guest_mem_destroy(&mem);
	stop_handler(pid);
	f = fopen(list_path, "r");
	ck_assert_ptr_nonnull(f);
	while (fscanf(f, "%lli", (long long *)&off) == 1) {
		ck_assert(off == PAGE || off == 0x100000);
		n++;
	}
	fclose(f);
	ck_assert_int_eq(n, 2);

	pid = start_handler("--prefetch");
	ck_assert_msg(!guest_mem_create_uffd(&mem, 64, HUGE_PAGES_NONE, sock_path, err,
					     sizeof(err)), "%s", err);
	/* Up to 10 s for the handler to install them: proves it does, not how fast. */
	for (int i = 0; i < 10000 && !(resident(&mem, PAGE) && resident(&mem, 0x100000)); i++)
		nanosleep(&ms, NULL);
	ck_assert(resident(&mem, PAGE));
	ck_assert(resident(&mem, 0x100000));
	ck_assert(!resident(&mem, 0));
	ck_assert(!resident(&mem, 2 * PAGE));
	expect(&mem, PAGE, 1);
	expect(&mem, 0x100000, 1);
	expect(&mem, 2 * PAGE, 1);
	guest_mem_destroy(&mem);
	stop_handler(pid);
}
END_TEST

static Suite *memfile_suite(void)
{
	Suite *s = suite_create("memfile");
	TCase *tc = tcase_create("memfile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, full_writes_touched_pages_only);
	tcase_add_test(tc, file_restore_is_private_and_lazy);
	tcase_add_test(tc, short_file_refused);
	tcase_add_test(tc, full_after_restore_keeps_file_pages);
	tcase_add_test(tc, dirty_pages_include_device_writes);
	tcase_add_test(tc, dirty_pages_need_tracking);
	tcase_add_test(tc, diff_rebased_onto_full);
	tcase_add_test(tc, rebase_refuses_mismatched_files);
	tcase_add_test(tc, uffd_restore_served_by_handler);
	tcase_add_test(tc, uffd_without_handler_refused);
	tcase_add_test(tc, uffd_record_then_prefetch);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(memfile_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
