/* The supervisor's event loop and its phases. SIGCHLD, SIGINT and SIGTERM
 * are blocked and read from a signalfd; the loop sleeps in ppoll until a
 * signal comes or its next deadline (a restart due, a watchdog sample,
 * stats, the end of a phase), so a death is handled the moment it is known
 * and every state change happens on this one thread. Phases: starting
 * (workers attach, then the start gate opens), running, stopping sources
 * (the rest drains), stopping all, killing. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "supervisor_internal.h"

#define HARD_STOP_NS (2LL * 1000000000) /* from SIGTERM to everyone until SIGKILL */
#define ATTACH_POLL_NS (5LL * 1000000)  /* while starting: how often to look who attached */

/* Blocks running or waiting for a restart. */
static uint32_t alive(const supervisor *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->count; i++)
        n += s->children[i].state == CHILD_RUNNING || s->children[i].restart_at > 0;
    return n;
}

/* ---- stopping ---- */

/* Stopping: no more restarts, also none already due. */
static void signal_blocks(supervisor *s, int sig, bool sources_only)
{
    for (uint32_t i = 0; i < s->count; i++) {
        mqs_restart_cancel(s, i);
        if (!sources_only || s->blocks[i].is_source)
            mqs_child_signal(s, i, sig);
    }
}

static void advance_phase(supervisor *s, phase to, const char *why)
{
    if (to <= s->phase)
        return;
    s->phase = to;
    int64_t now = mqs_now_ns();
    switch (to) {
    case PHASE_STOP_SOURCES:
        mqs_say(s, 1, "%s: stopping sources, letting the graph drain", why);
        signal_blocks(s, SIGTERM, true);
        s->phase_deadline = now + s->opt->grace_ns;
        break;
    case PHASE_STOP_ALL:
        mqs_say(s, 1, "%s: stopping every block", why);
        mqs_domain_request_stop(s->domain);
        signal_blocks(s, SIGTERM, false);
        s->phase_deadline = now + HARD_STOP_NS;
        break;
    default:
        mqs_say(s, 0, "%s: killing blocks that did not stop", why);
        signal_blocks(s, SIGKILL, false);
        s->phase_deadline = INT64_MAX;
        break;
    }
}

static void on_stop_signal(supervisor *s, int sig)
{
    const char *why = sig == SIGINT ? "interrupted" : "terminated";
    if (s->phase == PHASE_STARTING) /* nothing ran yet: no draining */
        advance_phase(s, PHASE_STOP_ALL, why);
    else /* a second Ctrl-C means: now */
        advance_phase(s, s->phase == PHASE_RUNNING ? PHASE_STOP_SOURCES : s->phase + 1, why);
}

/* ---- starting ---- */

/* Every block that may still run has attached (restarting ones not yet). */
static bool all_attached(const supervisor *s)
{
    for (uint32_t i = 0; i < s->count; i++) {
        const child *c = &s->children[i];
        mqs_process_stats ps;
        mqs_process_stats_get(s->domain, i + 1, &ps);
        if (c->restart_at > 0 || (c->state == CHILD_RUNNING && ps.state != MQS_PROCESS_ATTACHED))
            return false;
    }
    return true;
}

static void open_gate(supervisor *s, int64_t now)
{
    s->first_stats = s->last_stats = mqs_stats_take(s->domain);
    mqs_domain_start(s->domain);
    s->phase = PHASE_RUNNING;
    s->stop_at = s->opt->duration_ns > 0 ? now + s->opt->duration_ns : 0;
    s->next_stats = now + s->opt->stats_interval_ns;
    mqs_say(s, 2, "graph started: %u blocks", s->count);
}

static void check_start(supervisor *s, int64_t now)
{
    if (s->setup_failed) {
        advance_phase(s, PHASE_STOP_ALL, "startup failed");
    } else if (all_attached(s)) {
        open_gate(s, now);
    } else if (now >= s->phase_deadline) {
        mqs_say(s, 0, "error: blocks did not attach within %lld s",
                (long long)(s->opt->start_timeout_ns / 1000000000));
        s->setup_failed = true;
        advance_phase(s, PHASE_STOP_ALL, "startup failed");
    }
}

static void check_deadlines(supervisor *s, int64_t now)
{
    if (s->phase == PHASE_STARTING)
        check_start(s, now);
    else if (s->phase == PHASE_RUNNING && s->stop_at > 0 && now >= s->stop_at)
        advance_phase(s, PHASE_STOP_SOURCES, "duration reached");
    else if (s->phase == PHASE_STOP_SOURCES && now >= s->phase_deadline)
        advance_phase(s, PHASE_STOP_ALL, "grace period over");
    else if (s->phase == PHASE_STOP_ALL && now >= s->phase_deadline)
        advance_phase(s, PHASE_KILL, "hard stop");
}

/* ---- stats ---- */

static void emit_stats(supervisor *s, bool final)
{
    if (!s->opt->stats_table && !s->opt->stats_json)
        return;
    mqs_stats_snapshot *now = mqs_stats_take(s->domain);
    if (!now)
        return;
    const mqs_stats_snapshot *before = final ? s->first_stats : s->last_stats;
    if (s->opt->stats_table)
        mqs_stats_print_table(stderr, before, now, final);
    if (s->opt->stats_json)
        mqs_stats_print_json(s->opt->stats_json, before, now, final);
    if (s->last_stats != s->first_stats)
        mqs_stats_free(s->last_stats);
    s->last_stats = now;
}

static void stats_due(supervisor *s, int64_t now)
{
    if (s->phase == PHASE_STARTING || s->opt->stats_interval_ns <= 0 || now < s->next_stats)
        return;
    emit_stats(s, false);
    s->next_stats = mqs_now_ns() + s->opt->stats_interval_ns;
}

/* ---- the loop ---- */

#define POOL_SAMPLE_NS (100LL * 1000000) /* how often the pools' high water is sampled */

static int64_t earliest(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* When the loop must look again without a signal; INT64_MAX: never. */
static int64_t next_deadline(const supervisor *s, int64_t now, int64_t next_restart)
{
    int64_t t = earliest(next_restart, earliest(s->next_watch, earliest(s->next_sweep, s->next_sample)));
    if (s->phase == PHASE_STARTING)
        t = earliest(t, earliest(s->phase_deadline, now + ATTACH_POLL_NS));
    if (s->phase == PHASE_STOP_SOURCES || s->phase == PHASE_STOP_ALL)
        t = earliest(t, s->phase_deadline);
    if (s->phase == PHASE_RUNNING && s->stop_at > 0)
        t = earliest(t, s->stop_at);
    if (s->phase != PHASE_STARTING && s->opt->stats_interval_ns > 0)
        t = earliest(t, s->next_stats);
    return t;
}

/* Sleep until a signal or the deadline; take every pending signal. */
static void wait_for_events(supervisor *s, int sfd, int64_t deadline)
{
    struct pollfd p = {.fd = sfd, .events = POLLIN};
    int64_t wait = deadline - mqs_now_ns();
    struct timespec ts = {.tv_sec = wait > 0 ? wait / 1000000000 : 0, .tv_nsec = wait > 0 ? wait % 1000000000 : 0};
    int n = ppoll(&p, 1, deadline == INT64_MAX ? NULL : &ts, NULL);
    int64_t woke = mqs_now_ns();
    s->sigchld_ns = 0;
    struct signalfd_siginfo si;
    while (n > 0 && read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD)
            s->sigchld_ns = woke;
        else
            on_stop_signal(s, (int)si.ssi_signo);
    }
}

static void reap_all(supervisor *s)
{
    pid_t pid;
    int status;
    while (mqs_children_reap(&pid, &status)) {
        uint32_t i = 0;
        while (i < s->count && !(s->children[i].state == CHILD_RUNNING && s->children[i].pid == pid))
            i++;
        if (i < s->count)
            mqs_block_ended(s, i, status);
        else
            mqs_say(s, 2, "reaped pid %d, left behind by a block", (int)pid);
    }
}

static void run_loop(supervisor *s, int sfd)
{
    int64_t next_restart = INT64_MAX;
    while (alive(s) > 0) {
        wait_for_events(s, sfd, next_deadline(s, mqs_now_ns(), next_restart));
        reap_all(s);
        int64_t now = mqs_now_ns();
        next_restart = mqs_restarts_due(s, now);
        if (now >= s->next_watch)
            s->next_watch = mqs_watchdog_sample(s, now);
        if (now >= s->next_sweep)
            s->next_sweep = mqs_disconnected_sweep(s, now);
        if (now >= s->next_sample) {
            mqs_pools_sample(s->domain);
            mqs_taps_reclaim(s->domain); /* a tap whose process died: its references back, its slot free */
            s->next_sample = now + POOL_SAMPLE_NS;
        }
        check_deadlines(s, now);
        stats_due(s, now);
    }
}

/* ---- a run ---- */

static int open_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, old);
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

static void start_all(supervisor *s)
{
    s->phase = PHASE_STARTING;
    s->phase_deadline = mqs_now_ns() + s->opt->start_timeout_ns;
    for (uint32_t i = 0; i < s->count && !s->setup_failed; i++)
        if (mqs_child_start(s, i) != 0)
            s->setup_failed = true;
}

static int run_status(supervisor *s)
{
    if (s->setup_failed)
        return MQS_RUN_SETUP_FAILED;
    mqs_blocks_drain_all(s);
    if (s->first_stats)
        emit_stats(s, true);
    return s->gave_up ? MQS_RUN_GAVE_UP : s->killed ? MQS_RUN_KILLED : s->failed ? MQS_RUN_BLOCK_FAILED : MQS_RUN_CLEAN;
}

int mqs_supervise(mqs_domain *d, const mqs_launch_block *blocks, uint32_t count, const mqs_supervisor_options *opt)
{
    supervisor s = {.domain = d, .blocks = blocks, .count = count, .opt = opt, .next_watch = 0, .next_sweep = INT64_MAX};
    s.children = calloc(count, sizeof *s.children);
    if (!s.children)
        return MQS_RUN_SETUP_FAILED;
    s.start_time = mqs_pid_start_time(getpid());
    if (mqs_children_become_reaper() != 0)
        mqs_say(&s, 2, "cannot become the reaper of what blocks leave behind: %s", strerror(errno));
    sigset_t old;
    int sfd = open_signals(&old);
    if (sfd < 0) {
        mqs_say(&s, 0, "error: cannot read signals (signalfd): %s", strerror(-sfd));
        free(s.children);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return MQS_RUN_SETUP_FAILED;
    }
    start_all(&s);
    run_loop(&s, sfd);
    int status = run_status(&s);
    if (s.last_stats != s.first_stats)
        mqs_stats_free(s.last_stats);
    mqs_stats_free(s.first_stats);
    free(s.children);
    close(sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return status;
}
