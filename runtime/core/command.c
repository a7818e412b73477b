/* Commands to a running process (mqs/command.h): one slot per process,
 * passed from hand to hand through its state word.
 *
 *   FREE -> WRITING (a writer claimed it) -> POSTED -> TAKEN (the process
 *   works on it) -> DONE (result and reply written) -> FREE (the writer read
 *   them, or the next writer found its writer dead).
 *
 * Every change is a compare-and-swap that also bumps the serial in the
 * upper bits, so of two writers taking over a dead writer's slot only one
 * wins, and a writer withdrawing a command it posted cannot race the
 * process taking it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

enum { FREE = 0, WRITING = 1, POSTED = 2, TAKEN = 3, DONE = 4 };

#define PHASE(s) ((s) & 0xFFu)
#define NEXT(s, phase) ((((s) >> 8) + 1) << 8 | (phase))
#define POLL_NS (1000 * 1000)

static bool move(mqs_command_shared *c, uint32_t *seen, uint32_t phase)
{
    return atomic_compare_exchange_strong_explicit(&c->state, seen, NEXT(*seen, phase), memory_order_acq_rel,
                                                   memory_order_acquire);
}

static bool writer_alive(const mqs_command_shared *c)
{
    mqs_command_shared *w = (mqs_command_shared *)c;
    return mqs_pid_alive(atomic_load_explicit(&w->writer_pid, memory_order_relaxed),
                         atomic_load_explicit(&w->writer_start_time, memory_order_relaxed));
}

/* FREE, or left by a dead writer (in any phase but TAKEN, where the process
 * itself will finish it): make it ours. */
static int claim(mqs_command_shared *c)
{
    for (;;) {
        uint32_t s = atomic_load_explicit(&c->state, memory_order_acquire);
        if (PHASE(s) != FREE && (PHASE(s) == TAKEN || writer_alive(c)))
            return -EBUSY;
        if (move(c, &s, WRITING))
            break;
    }
    atomic_store_explicit(&c->writer_pid, (uint32_t)getpid(), memory_order_relaxed);
    atomic_store_explicit(&c->writer_start_time, mqs_pid_start_time(getpid()), memory_order_relaxed);
    return 0;
}

/* Wait for the process's answer: DONE gives its result; a command still
 * POSTED at the deadline is withdrawn (nothing changed). */
static int await(mqs_command_shared *c, int64_t timeout_ns, char *reply, size_t reply_size)
{
    int64_t deadline = mqs_now_ns() + timeout_ns;
    for (;;) {
        uint32_t s = atomic_load_explicit(&c->state, memory_order_acquire);
        if (PHASE(s) == DONE) {
            int rc = c->result;
            if (reply && reply_size)
                snprintf(reply, reply_size, "%.*s", MQS_COMMAND_REPLY_MAX - 1, c->reply);
            move(c, &s, FREE);
            return rc;
        }
        if (mqs_now_ns() >= deadline) {
            if (PHASE(s) == POSTED && move(c, &s, FREE))
                return -ETIMEDOUT;
            if (PHASE(s) == TAKEN)
                return -EINPROGRESS; /* the process finishes it; the next writer then takes over */
            continue;
        }
        mqs_sleep_ns(POLL_NS);
    }
}

/* A process takes its slot (state ATTACHED) a moment before it publishes
 * its pid: a slot in that moment is waited for, within the command's
 * timeout, rather than taken for dead. */
static bool process_running(mqs_process_shared *p, int64_t timeout_ns)
{
    int64_t deadline = mqs_now_ns() + timeout_ns;
    for (;;) {
        if (atomic_load_explicit(&p->state, memory_order_acquire) != MQS_PROCESS_ATTACHED)
            return false;
        uint32_t pid = atomic_load_explicit(&p->pid, memory_order_acquire);
        if (pid)
            return mqs_pid_alive(pid, atomic_load_explicit(&p->start_time, memory_order_relaxed));
        if (mqs_now_ns() >= deadline)
            return false;
        mqs_sleep_ns(POLL_NS);
    }
}

int mqs_command_set_param(mqs_domain *d, uint32_t process, const char *key, const char *value, int64_t timeout_ns,
                          char *reply, size_t reply_size)
{
    if (reply && reply_size)
        reply[0] = '\0';
    if (process >= d->ctl->process_count || !key || !value)
        return -ERANGE;
    if (strlen(key) >= MQS_COMMAND_KEY_MAX || strlen(value) >= MQS_COMMAND_VALUE_MAX)
        return -ENAMETOOLONG;
    if (!process_running(&d->procs[process], timeout_ns))
        return -ESRCH;
    mqs_command_shared *c = &d->commands[process];
    int rc = claim(c);
    if (rc)
        return rc;
    c->kind = MQS_COMMAND_SET_PARAM;
    snprintf(c->key, sizeof c->key, "%s", key);
    snprintf(c->value, sizeof c->value, "%s", value);
    c->result = 0;
    c->reply[0] = '\0';
    uint32_t s = atomic_load_explicit(&c->state, memory_order_relaxed);
    move(c, &s, POSTED); /* ours since claim: nobody else moves a live writer's slot */
    return await(c, timeout_ns, reply, reply_size);
}

int mqs_command_take(mqs_domain *d, mqs_command *out)
{
    if (!d->own)
        return 0;
    mqs_command_shared *c = &d->commands[d->process];
    uint32_t s = atomic_load_explicit(&c->state, memory_order_relaxed);
    if (PHASE(s) == TAKEN) { /* this slot's last process died on it */
        mqs_command_finish(d, -ECANCELED, "the block ended while applying it; it was restarted without the change");
        return 0;
    }
    if (PHASE(s) != POSTED)
        return 0;
    atomic_thread_fence(memory_order_acquire);
    if (!move(c, &s, TAKEN))
        return 0; /* withdrawn meanwhile */
    out->kind = (mqs_command_kind)c->kind;
    snprintf(out->key, sizeof out->key, "%.*s", MQS_COMMAND_KEY_MAX - 1, c->key);
    snprintf(out->value, sizeof out->value, "%.*s", MQS_COMMAND_VALUE_MAX - 1, c->value);
    return 1;
}

void mqs_command_finish(mqs_domain *d, int result, const char *reply)
{
    if (!d->own)
        return;
    mqs_command_shared *c = &d->commands[d->process];
    uint32_t s = atomic_load_explicit(&c->state, memory_order_acquire);
    if (PHASE(s) != TAKEN)
        return;
    c->result = result;
    snprintf(c->reply, sizeof c->reply, "%s", reply ? reply : "");
    move(c, &s, DONE);
}
