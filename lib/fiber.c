#include "fiber.h"

#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "timeutil.h"

/* AddressSanitizer must be told when the stack changes (else it takes a
 * fiber's frames for overflows); valgrind, where the stacks are. */
#if defined(__SANITIZE_ADDRESS__)
#define FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif
#ifdef FIBER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FIBER_VALGRIND 1
#endif
#endif

#include "banned.h"

enum fstate { F_READY, F_WAITING, F_DONE };

struct fiber {
	struct fiber *next;     /* the thread's fibers */
	ucontext_t ctx;
	fiber_fn fn;
	void *arg;
	char *map;              /* guard page, then the stack */
	size_t maplen, pagesz;
	enum fstate state;
	long long until;        /* F_WAITING: wake at this time (-1: only when woken) */
	void *slot;
	void *fake;             /* AddressSanitizer's fake stack while switched out */
	unsigned vg;            /* valgrind's id for the stack */
};

static _Thread_local struct fiber *all, *cur;
static _Thread_local ucontext_t main_ctx;
static _Thread_local int (*poll_fn)(void *, long, int, short);
static _Thread_local void *poll_ctx;
#ifdef FIBER_ASAN
static _Thread_local const void *main_bottom;
static _Thread_local size_t main_size;
#endif

/* Saves the running context in `from` and resumes `to`; returns when
 * `from` is resumed.  Under AddressSanitizer without swapcontext, which it
 * intercepts only to print a warning on stderr (the annotations around
 * every switch are what it needs). */
static __attribute__((noinline)) void swap(ucontext_t *from, const ucontext_t *to)
{
#ifdef FIBER_ASAN
	volatile int back = 0;
	getcontext(from);
	if (!back) {
		back = 1;
		setcontext(to);
	}
#else
	swapcontext(from, to);
#endif
}

static void entry(void)
{
	struct fiber *f = cur;

#ifdef FIBER_ASAN
	__sanitizer_finish_switch_fiber(NULL, &main_bottom, &main_size);
#endif
	f->fn(f->arg);
	f->state = F_DONE;
#ifdef FIBER_ASAN
	__sanitizer_start_switch_fiber(NULL, main_bottom, main_size); /* this stack is done */
#endif
	setcontext(&main_ctx);
}

/* getcontext "returns twice" (as setjmp): apart, so that no local of
 * fiber_new is taken for one a second return could clobber.  (The context
 * is only ever entered through makecontext's entry.) */
static __attribute__((noinline)) int ctx_get(ucontext_t *u)
{
	return getcontext(u);
}

struct fiber *fiber_new(fiber_fn fn, void *arg, size_t stack)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t page = pg > 0 ? (size_t)pg : 4096;
	struct fiber *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	stack = (stack + page - 1) / page * page;
	f->pagesz = page;
	f->maplen = stack + page;
	/* Pages are touched only as the stack grows into them. */
	f->map = mmap(NULL, f->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f->map == MAP_FAILED) {
		free(f);
		return NULL;
	}
	/* An overflow faults on the guard page instead of writing past it. */
	mprotect(f->map, page, PROT_NONE);
	if (ctx_get(&f->ctx) < 0) {
		munmap(f->map, f->maplen);
		free(f);
		return NULL;
	}
	f->ctx.uc_stack.ss_sp = f->map + page;
	f->ctx.uc_stack.ss_size = stack;
	f->ctx.uc_link = NULL;
	makecontext(&f->ctx, entry, 0);
#ifdef FIBER_VALGRIND
	f->vg = VALGRIND_STACK_REGISTER(f->map + page, f->map + f->maplen);
#endif
	f->fn = fn;
	f->arg = arg;
	f->state = F_READY;
	f->until = -1;
	f->next = all;
	all = f;
	return f;
}

void fiber_free(struct fiber *f)
{
	if (!f)
		return;
	for (struct fiber **pp = &all; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
#ifdef FIBER_VALGRIND
	VALGRIND_STACK_DEREGISTER(f->vg);
#endif
	munmap(f->map, f->maplen);
	free(f);
}

int fiber_done(const struct fiber *f) { return f->state == F_DONE; }
struct fiber *fiber_self(void) { return cur; }
void **fiber_slot(struct fiber *f) { return &f->slot; }

void fiber_wait(long long until_ms)
{
	struct fiber *f = cur;

	if (!f)
		return;
	f->state = F_WAITING;
	f->until = until_ms;
#ifdef FIBER_ASAN
	__sanitizer_start_switch_fiber(&f->fake, main_bottom, main_size);
#endif
	swap(&f->ctx, &main_ctx);
#ifdef FIBER_ASAN
	__sanitizer_finish_switch_fiber(f->fake, &main_bottom, &main_size);
#endif
}

void fiber_wake(struct fiber *f)
{
	if (f && f->state == F_WAITING)
		f->state = F_READY;
}

void fiber_set_poll(int (*poll)(void *ctx, long ms, int fd, short events), void *ctx)
{
	poll_fn = poll;
	poll_ctx = ctx;
}

static void run(struct fiber *f)
{
	cur = f;
#ifdef FIBER_ASAN
	void *fake = NULL;
	__sanitizer_start_switch_fiber(&fake, f->map + f->pagesz, f->maplen - f->pagesz);
#endif
	swap(&main_ctx, &f->ctx);
#ifdef FIBER_ASAN
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
	cur = NULL;
}

/* Marks the fibers whose deadline passed ready; returns whether any is
 * ready, and lowers *next to the nearest deadline still ahead. */
static int due(long long now, long long *next)
{
	int ready = 0;

	for (struct fiber *f = all; f; f = f->next) {
		if (f->state == F_WAITING && f->until >= 0 && f->until <= now)
			f->state = F_READY;
		if (f->state == F_READY)
			ready = 1;
		else if (f->state == F_WAITING && f->until >= 0 && f->until < *next)
			*next = f->until;
	}
	return ready;
}

int fiber_step_fd(long max_ms, int fd, short events)
{
	long long now = time_mono_ms(), next = now + (max_ms > 0 ? max_ms : 0);
	long wait;
	int ready = 0;

	if (cur)
		return 0; /* only the thread's own stack schedules */
	wait = due(now, &next) ? 0 : (long)(next - now);
	if (poll_fn) {
		ready = poll_fn(poll_ctx, wait, fd, events);
	} else if (fd >= 0) {
		struct pollfd p = { fd, events, 0 };
		ready = poll(&p, 1, (int)wait) > 0;
	} else if (wait > 0) {
		time_sleep_ms(wait);
	}
	now = time_mono_ms();
	due(now, &next);
	for (struct fiber *f = all; f; f = f->next)
		if (f->state == F_READY)
			run(f);
	return ready;
}

int fiber_step(long max_ms)
{
	return fiber_step_fd(max_ms, -1, 0);
}
