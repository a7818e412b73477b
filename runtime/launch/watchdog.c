/* The watchdog: judging samples (pure), and sampling every running block
 * of a run, killing the hung ones (they then end like a crash). */
#include <signal.h>

#include "supervisor_internal.h"

/* ---- judging one block ---- */

void mqs_watch_start(mqs_watch *w, uint64_t calls)
{
    *w = (mqs_watch){.calls_at_start = calls};
}

mqs_watch_verdict mqs_watch_judge(mqs_watch *w, const mqs_process_stats *ps, const mqs_graph_supervision *s,
                                  int64_t now)
{
    if (w->since_ns == 0 || ps->activity != w->activity || ps->calls != w->calls) {
        w->activity = ps->activity;
        w->calls = ps->calls;
        w->since_ns = now;
        return MQS_WATCH_OK;
    }
    /* Seen first at since_ns: it has lasted at least this long, never less. */
    int64_t stuck = now - w->since_ns;
    if (w->activity == MQS_ACTIVITY_CALL && s->watchdog_ns > 0 && stuck >= s->watchdog_ns)
        return MQS_WATCH_HUNG_CALL;
    if (w->activity == MQS_ACTIVITY_INIT && s->init_timeout_ns > 0 && stuck >= s->init_timeout_ns)
        return MQS_WATCH_HUNG_INIT;
    return MQS_WATCH_OK;
}

int64_t mqs_watch_stuck_ns(const mqs_watch *w, int64_t now)
{
    return w->since_ns ? now - w->since_ns : 0;
}

int64_t mqs_watch_deadline(const mqs_watch *w, const mqs_graph_supervision *s)
{
    int64_t limit = 0;
    if (w->since_ns != 0 && w->activity == MQS_ACTIVITY_CALL)
        limit = s->watchdog_ns;
    else if (w->since_ns != 0 && w->activity == MQS_ACTIVITY_INIT)
        limit = s->init_timeout_ns;
    if (limit <= 0 || w->since_ns > INT64_MAX - limit)
        return INT64_MAX;
    return w->since_ns + limit;
}

static int64_t quarter(int64_t limit)
{
    int64_t p = limit / 4;
    return p < MQS_WATCH_PERIOD_MIN_NS ? MQS_WATCH_PERIOD_MIN_NS : p > MQS_WATCH_PERIOD_MAX_NS ? MQS_WATCH_PERIOD_MAX_NS : p;
}

int64_t mqs_watch_period(const mqs_watch *w, const mqs_graph_supervision *s)
{
    /* A block call after init moves the counter past what the slot had. */
    bool init_over = w->since_ns != 0 && w->calls > w->calls_at_start;
    int64_t period = 0;
    if (s->watchdog_ns > 0)
        period = quarter(s->watchdog_ns);
    if (!init_over && s->init_timeout_ns > 0 && (period == 0 || quarter(s->init_timeout_ns) < period))
        period = quarter(s->init_timeout_ns);
    return period;
}

/* ---- sampling a run ---- */

static void kill_hung(supervisor *s, uint32_t i, mqs_watch_verdict v, int64_t now)
{
    child *c = &s->children[i];
    const mqs_graph_supervision *sv = &s->blocks[i].supervision;
    long long stuck_ms = (long long)(mqs_watch_stuck_ns(&c->watch, now) / 1000000);
    if (v == MQS_WATCH_HUNG_CALL)
        mqs_say(s, 0, "block '%s' (pid %d) is hung: a call made no progress for %lld ms (watchdog %lld ms); killing it",
                s->blocks[i].instance, (int)c->pid, stuck_ms, (long long)(sv->watchdog_ns / 1000000));
    else
        mqs_say(s, 0, "block '%s' (pid %d) is hung in init(): still in it after %lld ms (init_timeout %lld ms); "
                "killing it", s->blocks[i].instance, (int)c->pid, stuck_ms, (long long)(sv->init_timeout_ns / 1000000));
    c->killed_for = v;
    mqs_child_signal(s, i, SIGKILL);
}

int64_t mqs_watchdog_sample(supervisor *s, int64_t now)
{
    int64_t next = INT64_MAX;
    for (uint32_t i = 0; i < s->count; i++) {
        child *c = &s->children[i];
        if (c->state != CHILD_RUNNING || c->killed_for != MQS_WATCH_OK)
            continue;
        if (c->watch.pid != c->pid) { /* a new process on the slot */
            mqs_watch_start(&c->watch, c->calls_at_start);
            c->watch.pid = c->pid;
        }
        const mqs_graph_supervision *sv = &s->blocks[i].supervision;
        int64_t period = mqs_watch_period(&c->watch, sv);
        if (period == 0)
            continue;
        mqs_process_stats ps;
        mqs_process_stats_get(s->domain, i + 1, &ps);
        if (ps.state != MQS_PROCESS_ATTACHED) {
            next = now + period < next ? now + period : next; /* not attached yet: nothing to judge */
            continue;
        }
        mqs_watch_verdict v = mqs_watch_judge(&c->watch, &ps, sv, now);
        if (v != MQS_WATCH_OK) {
            kill_hung(s, i, v, now);
            continue;
        }
        int64_t due = now + period, deadline = mqs_watch_deadline(&c->watch, sv);
        due = deadline > now && deadline < due ? deadline : due;
        next = due < next ? due : next;
    }
    return next;
}
