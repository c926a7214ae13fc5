/* fiber.h: cooperative fibers on one thread, for push's batches in flight.
 *
 * Each batch in flight runs the same straight-line code as before (a
 * provider's write, lib/http's pacing, retries and waits) on a small stack
 * of its own.  Where that code would block -- a transfer, a wait -- it
 * hands the thread back instead, and the thread's scheduler runs whichever
 * fiber can go on, waiting for every transfer at once on the curl multi
 * interface (lib/http sets the poll hook).  One thread does it all: no
 * hand-offs between threads, no wake-ups across CPUs, no locks contended.
 *
 * The scheduler belongs to the thread that calls fiber_step; a fiber runs
 * only on that thread.  Code that may run in a fiber must not hand the
 * thread back while it holds a lock another fiber takes. */
#ifndef CRM_FIBER_H
#define CRM_FIBER_H

#include <stddef.h>

struct fiber;
typedef void (*fiber_fn)(void *arg);

/* A fiber that will run fn(arg) on a stack of `stack` bytes (a guard page
 * below it); NULL when out of memory.  It first runs at a fiber_step. */
struct fiber *fiber_new(fiber_fn fn, void *arg, size_t stack);
/* Frees a fiber whose function has returned (or that never ran). */
void fiber_free(struct fiber *f);
int fiber_done(const struct fiber *f);
/* The fiber running now, or NULL on the thread's own stack. */
struct fiber *fiber_self(void);
/* A pointer the fiber's code may keep there (lib/http: its curl handle). */
void **fiber_slot(struct fiber *f);

/* From a fiber: hands the thread back until fiber_wake() or until the
 * monotonic time until_ms (-1: no deadline).  Callers wait in a loop on
 * their own condition: a wake may come for another reason. */
void fiber_wait(long long until_ms);
/* Lets f run at the next fiber_step. */
void fiber_wake(struct fiber *f);

/* How the scheduler waits when no fiber can run: poll(ctx, ms, fd, events)
 * returns within ms milliseconds, having woken the fibers whose events
 * came; it watches fd (-1: none) for events too and returns 1 when they
 * came.  Without one the scheduler polls fd alone, or sleeps. */
void fiber_set_poll(int (*poll)(void *ctx, long ms, int fd, short events), void *ctx);
/* From the thread's own stack: waits for events (at most max_ms, and not
 * at all when a fiber is ready), then runs every ready fiber until it
 * waits or returns.  Returns how many ran. */
int fiber_step(long max_ms);
/* The same, also watching fd for events (POLLIN, POLLOUT): what the thread
 * does instead of blocking on fd while fibers have transfers in flight.
 * Returns 1 when fd is ready, else 0. */
int fiber_step_fd(long max_ms, int fd, short events);

#endif
