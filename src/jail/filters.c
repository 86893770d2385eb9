// SPDX-License-Identifier: Apache-2.0
/*
 * The built-in seccomp allowlists, one per thread kind: every syscall (and,
 * where it matters, every argument value) a thread makes once its filter is
 * in place, and nothing else. Each list was found by tracing the whole test
 * suite (strace -f: block Sync and Async, net, entropy, API sessions,
 * pause/resume, shutdown) and reading the code paths; the comment says who
 * makes the call. Anything else traps: the SIGSYS handler logs the call and
 * petrel exits with 148. Review a change here like code.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <fcntl.h>

#include <petrel/jail.h>
#include <petrel/util.h>

/* A syscall allowed whatever its arguments; SCMP_SYS() makes a typo a build error. */
#define ALLOW(sys)	{ .nr = SCMP_SYS(sys), .name = #sys }
/* A syscall allowed when all the conditions hold. */
#define ALLOW_IF(sys, ...) { .nr = SCMP_SYS(sys), .name = #sys,			\
	.nr_conds = sizeof((struct jail_cond[]){ __VA_ARGS__ }) / sizeof(struct jail_cond), \
	.conds = { __VA_ARGS__ } }
/* arg[i] == v, on the low 32 bits (ints, ioctl requests, flags) */
#define EQ(i, v)	{ .index = (i), .op = JAIL_EQ, .val = (v) }
/* (arg[i] & m) == v, on the low 32 bits */
#define MASKED(i, m, v)	{ .index = (i), .op = JAIL_MASKED_EQ, .mask = (m), .val = (v) }

/* open(path, flags): relative to the cwd, exactly these flags. */
#define OPEN(flags)	ALLOW_IF(openat, EQ(0, AT_FDCWD), EQ(2, flags))

/* The kernel's O_LARGEFILE, which F_GETFL reports (glibc's is 0 on x86_64). */
#define KERNEL_O_LARGEFILE	0100000

/* ioctl(fd, request): one rule per request. */
#define IOCTL(req)	ALLOW_IF(ioctl, EQ(1, req))

/*
 * glibc's allocator: arenas of private anonymous memory (never executable),
 * trimmed with MADV_DONTNEED (a thread's stack too, when it ends); the main
 * arena grows with brk, and a thread falls back to it when it cannot map an
 * arena of its own.
 */
#define MALLOC_RULES							\
	ALLOW_IF(mmap, MASKED(2, PROT_EXEC, 0),				\
		 MASKED(3, ~(unsigned int)MAP_NORESERVE, MAP_PRIVATE | MAP_ANONYMOUS)), \
	ALLOW_IF(mprotect, MASKED(2, PROT_EXEC, 0)),			\
	ALLOW(munmap),							\
	ALLOW_IF(madvise, EQ(2, MADV_DONTNEED)),			\
	ALLOW(brk)

/*
 * Sanitizer builds (-DPETREL_SANITIZE=ON, for the tests only): AddressSanitizer
 * maps its shadow and allocator memory at fixed places and gives each thread
 * an alternate signal stack; at exit LeakSanitizer stops the world from a
 * cloned tracer task (ptrace, /proc/self/task). Never in a release build.
 */
#if JAIL_ASAN
#define SANITIZER_RULES	,						\
	ALLOW(mmap), ALLOW(mprotect), ALLOW(madvise), ALLOW(mremap),	\
	ALLOW(munmap), ALLOW(sigaltstack), ALLOW(rt_sigaction),		\
	ALLOW(sched_yield), ALLOW(nanosleep), ALLOW(clock_nanosleep),	\
	ALLOW(gettid), ALLOW(getpid), ALLOW(getppid), ALLOW(prctl),	\
	ALLOW(clone), ALLOW(ptrace), ALLOW(wait4), ALLOW(kill), ALLOW(tgkill), \
	ALLOW(open), ALLOW(openat), ALLOW(read), ALLOW(close), ALLOW(lseek), \
	ALLOW(getdents), ALLOW(getdents64), ALLOW(readlink), ALLOW(fstat),	\
	ALLOW(newfstatat), ALLOW(pipe2), ALLOW(getrlimit), ALLOW(prlimit64), \
	ALLOW(sched_getaffinity), ALLOW(rt_sigtimedwait), ALLOW(process_vm_readv), \
	ALLOW(exit)
#else
#define SANITIZER_RULES
#endif

/*
 * What every thread may do: glibc's locks and allocator, signal masks and
 * return, a syscall restarted after a stop, the clock where the vDSO falls
 * back to the kernel, the thread's name for log lines (taken on its first
 * line), and what the SIGSYS handler needs: write, the console's terminal
 * put back as it was (util_tty_restore: one TCSETS) and exit_group. The vmm
 * thread puts the terminal back the same way on every other way out
 * (vm_console_detach).
 */
#define COMMON_RULES							\
	MALLOC_RULES,							\
	ALLOW(futex),							\
	ALLOW(rt_sigprocmask),						\
	ALLOW(rt_sigreturn),						\
	ALLOW(restart_syscall),						\
	ALLOW(clock_gettime),						\
	ALLOW_IF(prctl, EQ(0, PR_GET_NAME)),				\
	ALLOW(write),							\
	IOCTL(TCSETS),							\
	ALLOW(exit_group)						\
	SANITIZER_RULES

/*
 * fc_api: its epoll loop over the listening socket, every client and
 * two eventfds (stop, answers from the vmm thread), all non-blocking.
 */
static const struct jail_rule api_rules[] = {
	COMMON_RULES,
	ALLOW(epoll_wait),
	ALLOW(epoll_ctl),		/* a client's watch follows its state */
	ALLOW_IF(accept4, EQ(3, SOCK_CLOEXEC | SOCK_NONBLOCK)),
	ALLOW(recvfrom),		/* recv() */
	ALLOW(sendto),			/* send() */
	ALLOW(read),			/* the answers' eventfd */
	ALLOW(close),
	ALLOW(exit),			/* the thread ends at shutdown */
};

/*
 * The vmm thread, once the VM runs: the epoll loop, the device back ends
 * (block files and io_uring, the tap, getrandom), the console's stdin, the
 * API's post-boot requests (PATCH /drives opens an existing file, pause
 * kicks the vCPUs, metrics), and the way out (vCPU threads stopped and
 * joined, memory unmapped). Removing the API socket at exit is one more
 * rule, made at startup: jail_policy_allow_unlink(). Which files an O_RDWR
 * open may reach is Landlock's part (src/jail/landlock.c).
 */
static const struct jail_rule vmm_rules[] = {
	COMMON_RULES,
	ALLOW(epoll_wait),
	ALLOW(epoll_ctl),		/* a tap's watch changes with its queues */
	ALLOW(read),			/* eventfds, signalfd, stdin, the tap */
	ALLOW(writev),			/* tap transmit */
	ALLOW(preadv),			/* block, Sync engine */
	ALLOW(pwritev),
	ALLOW(fdatasync),		/* block flush */
	ALLOW(io_uring_enter),		/* block, Async engine */
	/* PATCH /drives on an Async drive: the ring's file, its one registration left. */
	ALLOW_IF(io_uring_register, EQ(1, IORING_REGISTER_FILES_UPDATE)),
	ALLOW(getrandom),		/* entropy, MMDS tokens */
	ALLOW(timerfd_settime),		/* the MMDS's resend timer; rate limiters' (on, off) */
	ALLOW(close),
	/*
	 * PATCH /drives: open an existing image read-only or read-write, maybe
	 * O_NONBLOCK (a FIFO must not block the loop) then cleared; nothing that
	 * writes without reading (O_WRONLY, O_APPEND), creates, truncates, or
	 * opens a bare path.
	 */
	OPEN(O_RDONLY | O_CLOEXEC),
	OPEN(O_RDWR | O_CLOEXEC),
	OPEN(O_RDONLY | O_NONBLOCK | O_CLOEXEC),
	OPEN(O_RDWR | O_NONBLOCK | O_CLOEXEC),
	/* ... and back to blocking: F_SETFL may only clear the status flags. */
	ALLOW_IF(fcntl, EQ(1, F_SETFL),
		 MASKED(2, ~(unsigned int)(O_ACCMODE | O_CLOEXEC | KERNEL_O_LARGEFILE), 0)),
	ALLOW_IF(fcntl, EQ(1, F_GETFL)),
	ALLOW(newfstatat),		/* fstat() of the new image */
	ALLOW(lseek),			/* its size */
	ALLOW(getpid),			/* pthread_kill(): tgkill(getpid(), tid) */
	ALLOW(tgkill),			/* kick a vCPU out of KVM_RUN: pause, stop */
	ALLOW_IF(fcntl, EQ(1, F_GETPIPE_SZ)),	/* room in the metrics FIFO */
	/* Console output waiting at the end: one fd, a bounded wait (vm_console_flush). */
	ALLOW_IF(poll, EQ(1, 1)),
	/* Console output to a socket, never waiting (serial_flush_output). */
	ALLOW_IF(sendto, EQ(3, MSG_DONTWAIT | MSG_NOSIGNAL)),
	/* Log lines waiting for the console's newline: a relative timer (console.c). */
	ALLOW_IF(timerfd_settime, EQ(1, 0)),
	IOCTL(FIONREAD),
	IOCTL(TUNSETOFFLOAD),		/* the guest's receive offloads, once it is up */
	IOCTL(KVM_IOEVENTFD),		/* queue notifies unbound at teardown */
	/*
	 * PUT /snapshot/create, the VM paused: read the state of every vCPU
	 * and of the VM (reads only: nothing here changes a guest), then write
	 * two new files. The one open that creates is O_EXCL: no existing file
	 * can be truncated or written through it, and Landlock confines where
	 * it may be made (beneath the API socket's directory).
	 */
	IOCTL(KVM_GET_REGS), IOCTL(KVM_GET_SREGS), IOCTL(KVM_GET_XSAVE), IOCTL(KVM_GET_XCRS),
	IOCTL(KVM_GET_DEBUGREGS), IOCTL(KVM_GET_LAPIC), IOCTL(KVM_GET_MP_STATE),
	IOCTL(KVM_GET_VCPU_EVENTS), IOCTL(KVM_GET_MSR_INDEX_LIST), IOCTL(KVM_GET_MSRS),
	IOCTL(KVM_GET_CPUID2), IOCTL(KVM_GET_TSC_KHZ), IOCTL(KVM_GET_IRQCHIP),
	IOCTL(KVM_GET_PIT2), IOCTL(KVM_GET_CLOCK), IOCTL(KVM_GET_DIRTY_LOG),
	OPEN(O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC),
	ALLOW(pwrite64),		/* the memory file's pages */
	ALLOW(ftruncate),		/* ... sized to guest RAM, holes where it never wrote */
	ALLOW(mincore),			/* which pages the guest touched */
	ALLOW(sysinfo),			/* ... which residency tells only without swap */
	ALLOW(fsync),
	/*
	 * The balloon gives pages back with MADV_DONTNEED (the allocator's
	 * rule), or, over a memory file's private mapping, maps fresh anonymous
	 * memory in their place: read-write, never executable, only at a fixed
	 * address; and it re-arms its statistics timer.
	 */
	ALLOW_IF(mmap, EQ(2, PROT_READ | PROT_WRITE),
		 EQ(3, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE)),
	ALLOW(timerfd_settime),
	/*
	 * vsock: host connections accepted on uds_path, guest connections to
	 * "<uds_path>_<port>" made with non-blocking Unix stream sockets (the
	 * filter cannot read connect's address, the socket rule bounds it),
	 * host bytes read straight into the guest's buffers, a guest's
	 * SHUTDOWN passed on as the host's end of writing; the guest's bytes
	 * sent to the host never wait nor raise SIGPIPE.
	 */
	ALLOW_IF(accept4, EQ(3, SOCK_CLOEXEC | SOCK_NONBLOCK)),
	ALLOW_IF(socket, EQ(0, AF_UNIX), EQ(1, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC),
		 EQ(2, 0)),
	ALLOW(connect),
	ALLOW(readv),
	ALLOW_IF(shutdown, EQ(1, SHUT_WR)),
	ALLOW_IF(sendmsg, EQ(2, MSG_DONTWAIT | MSG_NOSIGNAL)),
};

/*
 * fc_vcpu N: KVM_RUN and what its exits do: serial output, eventfd
 * writes (queue kicks without an ioeventfd, interrupts, exit requests), a
 * register dump when the guest fails. A block reset never waits for I/O
 * here: the vmm thread finishes it.
 */
static const struct jail_rule vcpu_rules[] = {
	COMMON_RULES,
	IOCTL(KVM_RUN),
	IOCTL(KVM_GET_REGS),		/* the dump on a fatal exit */
	IOCTL(KVM_GET_SREGS),
	/* Serial output to a socket, never waiting (serial.c's out_write). */
	ALLOW_IF(sendto, EQ(3, MSG_DONTWAIT | MSG_NOSIGNAL)),
	ALLOW(exit),			/* the thread ends when the VM stops */
};

static const struct {
	const struct jail_rule *rules;
	unsigned int nr;
} builtin[JAIL_NR_THREADS] = {
	[JAIL_API] = { api_rules, ARRAY_SIZE(api_rules) },
	[JAIL_VMM] = { vmm_rules, ARRAY_SIZE(vmm_rules) },
	[JAIL_VCPU] = { vcpu_rules, ARRAY_SIZE(vcpu_rules) },
};

/* The dword conditions take the low 32 bits: mask the values the macros gave. */
static void normalize(struct jail_rule *r)
{
	for (unsigned int i = 0; i < r->nr_conds; i++) {
		r->conds[i].val &= 0xffffffffu;
		r->conds[i].mask &= 0xffffffffu;
	}
}

int jail_policy_allow_unlink(struct jail_policy *p, const char *path)
{
	struct jail_filter *f = &p->thread[JAIL_VMM];
	struct jail_rule *rules = realloc(f->rules, (f->nr_rules + 1) * sizeof(*rules));

	if (!rules)
		return -ENOMEM;
	rules[f->nr_rules++] = (struct jail_rule){
		.nr = SCMP_SYS(unlink), .name = "unlink", .nr_conds = 1,
		.conds = { { .index = 0, .qword = true, .op = JAIL_EQ, .val = (uintptr_t)path } },
	};
	f->rules = rules;
	return 0;
}

int jail_policy_builtin(struct jail_policy *p)
{
	memset(p, 0, sizeof(*p));
	for (int t = 0; t < JAIL_NR_THREADS; t++) {
		struct jail_filter *f = &p->thread[t];

		f->rules = calloc(builtin[t].nr, sizeof(*f->rules));
		if (!f->rules) {
			jail_policy_free(p);
			return -ENOMEM;
		}
		memcpy(f->rules, builtin[t].rules, builtin[t].nr * sizeof(*f->rules));
		for (unsigned int i = 0; i < builtin[t].nr; i++)
			normalize(&f->rules[i]);
		f->nr_rules = builtin[t].nr;
		f->present = true;
		f->default_action = SCMP_ACT_TRAP;
		f->filter_action = SCMP_ACT_ALLOW;
	}
	return 0;
}
