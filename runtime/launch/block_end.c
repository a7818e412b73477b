/* A block's process ended. Say how (a crash, a hang the watchdog ended),
 * give back what it held, then per its restart policy: start it again after
 * the backoff, leave it done, or give up on it. A block that will not come
 * back is disconnected: its input queues drop what is sent to them instead
 * of holding their producers back, and its outputs are closed so the blocks
 * downstream drain and finish; the rest of the graph goes on. */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "supervisor_internal.h"

#define RECLAIM_RETRY_NS (1000000LL)  /* a worker a wrapper forked dies a moment after the wrapper */
#define RECLAIM_PATIENCE 1000         /* retries: about a second */
#define SWEEP_NS (100000000LL)        /* how often the inputs of blocks that are gone are swept */

static void describe_failure(const supervisor *s, uint32_t i, int status)
{
    const child *c = &s->children[i];
    const char *name = s->blocks[i].instance;
    if (c->killed_for != MQS_WATCH_OK)
        return; /* the watchdog said why when it killed it */
    if (WIFSIGNALED(status))
        mqs_say(s, 0, "block '%s' (pid %d) was killed by signal %d (%s)", name, (int)c->pid, WTERMSIG(status),
                strsignal(WTERMSIG(status)));
    else
        mqs_say(s, 0, "block '%s' (pid %d) failed with exit status %d", name, (int)c->pid, WEXITSTATUS(status));
}

/* Give back what the block held, and say (-v) how long its death took to
 * handle, from the wake-up for SIGCHLD to the end of reclaim. Even after a
 * clean exit: a block whose library called exit(0) never detached, and
 * after a detach reclaim finds nothing and frees the slot. */
static void give_back(supervisor *s, uint32_t i)
{
    int released = 0;
    for (int tries = 0; tries < RECLAIM_PATIENCE; tries++) {
        released = mqs_reclaim(s->domain, i + 1);
        if (released != -EBUSY)
            break;
        mqs_sleep_ns(RECLAIM_RETRY_NS);
    }
    int64_t done = mqs_now_ns();
    if (released < 0)
        mqs_say(s, 0, "error: cannot reclaim what block '%s' held: %s", s->blocks[i].instance, mqs_last_error());
    else if (released > 0)
        mqs_say(s, 2, "reclaimed %d buffer references held by '%s'", released, s->blocks[i].instance);
    int64_t seen = s->sigchld_ns ? s->sigchld_ns : done;
    mqs_say(s, 2, "death of block '%s' (pid %d) handled in %lld us (SIGCHLD seen at %lld ns, reclaim done at %lld ns, "
            "CLOCK_MONOTONIC)", s->blocks[i].instance, (int)s->children[i].pid, (long long)((done - seen) / 1000),
            (long long)seen, (long long)done);
}

/* It will not come back: nothing may wait for it, downstream must end. */
static void disconnect(supervisor *s, uint32_t i)
{
    if (s->next_sweep == INT64_MAX)
        s->next_sweep = mqs_now_ns() + SWEEP_NS;
    int drained = mqs_process_disconnect(s->domain, i + 1);
    if (drained > 0)
        mqs_say(s, 2, "released %d queued buffers sent to '%s'", drained, s->blocks[i].instance);
    for (uint32_t o = 0; o < mqs_domain_output_count(s->domain); o++)
        if (mqs_output_owner(s->domain, o) == i + 1)
            mqs_output_close(s->domain, o);
}

static void schedule_restart(supervisor *s, uint32_t i, int64_t delay)
{
    child *c = &s->children[i];
    const mqs_graph_supervision *sv = &s->blocks[i].supervision;
    c->state = CHILD_IDLE;
    c->restart_at = mqs_now_ns() + delay;
    if (sv->max_restarts)
        mqs_say(s, 1, "restarting block '%s' in %lld ms (restart %u; %u in a row, at most %u)", s->blocks[i].instance,
                (long long)(delay / 1000000), c->restarts.total, c->restarts.in_row, sv->max_restarts);
    else
        mqs_say(s, 1, "restarting block '%s' in %lld ms (restart %u; %u in a row, no limit)", s->blocks[i].instance,
                (long long)(delay / 1000000), c->restarts.total, c->restarts.in_row);
}

/* Before the gate opened, a worker that could not set up (exit status 2 or
 * more: plugin, params, attach) fails the start rather than being restarted. */
static bool setup_failure(const supervisor *s, int status)
{
    return s->phase == PHASE_STARTING && WIFEXITED(status) && WEXITSTATUS(status) >= 2;
}

/* Every input of block i reached end of stream (closed, nothing queued):
 * restarted, it would only find that again. A source has no inputs. */
static bool inputs_ended(const supervisor *s, uint32_t i)
{
    uint32_t inputs = 0;
    for (uint32_t q = 0; q < mqs_domain_queue_count(s->domain); q++) {
        if (mqs_queue_consumer(s->domain, q) != i + 1)
            continue;
        if (!mqs_queue_is_closed(s->domain, q) || mqs_queue_length(s->domain, q) > 0)
            return false;
        inputs++;
    }
    return inputs > 0;
}

static void apply_policy(supervisor *s, uint32_t i, bool clean, int status)
{
    child *c = &s->children[i];
    const mqs_graph_supervision *sv = &s->blocks[i].supervision;
    int64_t delay = 0;
    mqs_restart_verdict v = MQS_RESTART_NOT;
    if (setup_failure(s, status)) {
        mqs_say(s, 0, "error: block '%s' could not start (see its message above)", s->blocks[i].instance);
        s->setup_failed = true;
    } else if (s->phase <= PHASE_RUNNING && !(clean && inputs_ended(s, i))) { /* never while stopping */
        v = mqs_restart_decide(sv, &c->restarts, clean, mqs_now_ns() - c->started_ns, &delay);
    }
    if (v == MQS_RESTART_AFTER) {
        schedule_restart(s, i, delay);
        return;
    }
    c->state = v == MQS_RESTART_GIVE_UP ? CHILD_GIVEN_UP : clean ? CHILD_DONE : CHILD_FAILED;
    if (v == MQS_RESTART_GIVE_UP) {
        s->gave_up = true;
        mqs_say(s, 0, "giving up on block '%s' after %u restart%s in a row (max_restarts): its inputs are "
                "disconnected and its outputs closed", s->blocks[i].instance, c->restarts.in_row,
                c->restarts.in_row == 1 ? "" : "s");
    } else if (!clean && s->phase <= PHASE_RUNNING && sv->restart == MQS_RESTART_NEVER) {
        mqs_say(s, 1, "block '%s' stays down (restart: never): its inputs are disconnected and its outputs closed",
                s->blocks[i].instance);
    }
    disconnect(s, i);
}

void mqs_block_ended(supervisor *s, uint32_t i, int status)
{
    child *c = &s->children[i];
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    /* Stopped by us with a signal: not a failure, unless the watchdog did it. */
    bool stopped = s->phase >= PHASE_STOP_ALL && WIFSIGNALED(status) && c->killed_for == MQS_WATCH_OK;
    if (!clean && !stopped) {
        describe_failure(s, i, status);
        s->failed = true;
    }
    if (stopped && WTERMSIG(status) == SIGKILL)
        s->killed = true;
    mqs_process_set_exit(s->domain, i + 1, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                         WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    give_back(s, i);
    apply_policy(s, i, clean, status);
    c->pid = 0;
}

void mqs_blocks_drain_all(supervisor *s)
{
    for (uint32_t i = 0; i < s->count; i++)
        mqs_process_disconnect(s->domain, i + 1);
}

void mqs_restart_cancel(supervisor *s, uint32_t i)
{
    child *c = &s->children[i];
    if (c->restart_at == 0)
        return;
    c->restart_at = 0;
    c->state = CHILD_FAILED;
    disconnect(s, i);
}

int64_t mqs_restarts_due(supervisor *s, int64_t now)
{
    int64_t next = INT64_MAX;
    for (uint32_t i = 0; i < s->count; i++) {
        child *c = &s->children[i];
        if (c->restart_at == 0)
            continue;
        if (now < c->restart_at) {
            next = c->restart_at < next ? c->restart_at : next;
            continue;
        }
        /* A block that ended cleanly closed its streams; `always` reopens them. */
        for (uint32_t o = 0; o < mqs_domain_output_count(s->domain); o++)
            if (mqs_output_owner(s->domain, o) == i + 1)
                mqs_output_reopen(s->domain, o);
        mqs_process_set_restarts(s->domain, i + 1, c->restarts.total);
        if (mqs_child_start(s, i) != 0) {
            c->restart_at = 0;
            c->state = CHILD_FAILED;
            disconnect(s, i);
        }
    }
    return next;
}

/* A producer that pushed just as its consumer was disconnected may have left
 * one entry behind (see mqsi_queue_push); releasing it is the launcher's. */
int64_t mqs_disconnected_sweep(supervisor *s, int64_t now)
{
    bool any = false;
    for (uint32_t i = 0; i < s->count; i++) {
        const child *c = &s->children[i];
        if (c->state == CHILD_RUNNING || c->state == CHILD_IDLE)
            continue;
        any = true;
        int drained = mqs_process_disconnect(s->domain, i + 1);
        if (drained > 0)
            mqs_say(s, 2, "released %d buffers sent to '%s' as it went", drained, s->blocks[i].instance);
    }
    return any ? now + SWEEP_NS : INT64_MAX;
}
