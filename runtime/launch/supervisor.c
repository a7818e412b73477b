/* The supervisor loop of mqrun. Signals (SIGCHLD, SIGINT, SIGTERM) are
 * blocked and taken synchronously with sigtimedwait, so all state changes
 * happen on one thread in one loop. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stats.h"
#include "supervisor.h"

#define RESTART_LIMIT 10
#define BACKOFF_MIN_NS (100LL * 1000000)
#define BACKOFF_MAX_NS (5LL * 1000000000)
#define HARD_STOP_NS (2LL * 1000000000) /* from SIGTERM to everyone until SIGKILL */
#define TICK_NS (50LL * 1000000)

typedef enum { CHILD_IDLE, CHILD_RUNNING, CHILD_DONE, CHILD_FAILED } child_state;

typedef struct child {
    pid_t pid;
    child_state state;
    uint32_t restarts;
    int64_t restart_at; /* > 0: respawn at this time */
} child;

typedef enum { PHASE_RUNNING, PHASE_STOP_SOURCES, PHASE_STOP_ALL, PHASE_KILL } phase;

typedef struct supervisor {
    mqs_domain *domain;
    const mqs_launch_block *blocks;
    uint32_t count;
    const mqs_supervisor_options *opt;
    child *children;
    phase phase;
    int64_t phase_deadline;
    int64_t stop_at;
    int64_t next_stats;
    bool failed, killed;
    mqs_stats_snapshot *first_stats; /* at start: the final line's rates cover the whole run */
    mqs_stats_snapshot *last_stats;
} supervisor;

static void say(const supervisor *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(const supervisor *s, int level, const char *fmt, ...)
{
    if (s->opt->verbosity < level)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("mqrun: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- spawning ---- */

static void exec_worker(const supervisor *s, uint32_t i, pid_t parent)
{
    /* Workers die with the launcher, even if it is killed with SIGKILL. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(MQS_RUN_SETUP_FAILED);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    char slot[16];
    snprintf(slot, sizeof slot, "%u", i + 1);
    const mqs_launch_block *b = &s->blocks[i];
    const char *argv[16];
    int n = 0;
    argv[n++] = "mqs-worker";
    argv[n++] = "--domain";
    argv[n++] = mqs_domain_name(s->domain);
    argv[n++] = "--process";
    argv[n++] = slot;
    argv[n++] = "--plugin";
    argv[n++] = b->plugin_path;
    argv[n++] = "--instance";
    argv[n++] = b->instance;
    argv[n++] = "--params";
    argv[n++] = b->params_json;
    for (int v = 1; v < s->opt->verbosity && n < 14; v++)
        argv[n++] = "-v";
    argv[n] = NULL;
    execv(s->opt->worker_path, (char *const *)argv);
    fprintf(stderr, "mqrun: error: cannot run worker %s: %s (set MQS_WORKER to its path)\n", s->opt->worker_path,
            strerror(errno));
    _exit(MQS_RUN_SETUP_FAILED);
}

static int spawn(supervisor *s, uint32_t i)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        say(s, 0, "error: cannot start block '%s': %s", s->blocks[i].instance, strerror(errno));
        return -errno;
    }
    if (pid == 0)
        exec_worker(s, i, parent);
    s->children[i].pid = pid;
    s->children[i].state = CHILD_RUNNING;
    s->children[i].restart_at = 0;
    say(s, 2, "started block '%s' as pid %d", s->blocks[i].instance, (int)pid);
    return 0;
}

static uint32_t running(const supervisor *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->count; i++)
        n += s->children[i].state == CHILD_RUNNING || s->children[i].restart_at > 0;
    return n;
}

static void signal_children(supervisor *s, int sig, bool sources_only)
{
    for (uint32_t i = 0; i < s->count; i++) {
        if (sources_only && !s->blocks[i].is_source)
            continue;
        s->children[i].restart_at = 0; /* stopping: no more restarts */
        if (s->children[i].state == CHILD_RUNNING)
            kill(s->children[i].pid, sig);
    }
}

/* ---- child exits ---- */

static void describe_exit(const supervisor *s, uint32_t i, int status)
{
    const char *name = s->blocks[i].instance;
    if (WIFSIGNALED(status))
        say(s, 0, "block '%s' (pid %d) was killed by signal %d (%s)", name, (int)s->children[i].pid,
            WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        say(s, 0, "block '%s' (pid %d) failed with exit status %d", name, (int)s->children[i].pid,
            WEXITSTATUS(status));
}

static bool should_restart(const supervisor *s, uint32_t i, bool clean)
{
    mqs_restart_policy p = s->blocks[i].restart;
    if (s->phase != PHASE_RUNNING || s->children[i].restarts >= RESTART_LIMIT)
        return false;
    return p == MQS_RESTART_ALWAYS || (p == MQS_RESTART_ON_FAILURE && !clean);
}

static void schedule_restart(supervisor *s, uint32_t i)
{
    child *c = &s->children[i];
    int64_t backoff = BACKOFF_MIN_NS << (c->restarts < 6 ? c->restarts : 6);
    if (backoff > BACKOFF_MAX_NS)
        backoff = BACKOFF_MAX_NS;
    c->restarts++;
    c->restart_at = mqs_now_ns() + backoff;
    c->state = CHILD_IDLE;
    say(s, 1, "restarting block '%s' in %lld ms (restart %u of at most %d)", s->blocks[i].instance,
        (long long)(backoff / 1000000), c->restarts, RESTART_LIMIT);
}

/* Give back what the block held and, if it will not come back, end its
 * streams so the blocks downstream drain and finish. */
static void settle_exit(supervisor *s, uint32_t i, bool clean)
{
    /* A clean exit detached and gave everything back itself. */
    int released = clean ? 0 : mqs_reclaim(s->domain, i + 1);
    if (released > 0)
        say(s, 2, "reclaimed %d buffer references held by '%s'", released, s->blocks[i].instance);
    if (should_restart(s, i, clean)) {
        schedule_restart(s, i);
        return;
    }
    s->children[i].state = clean ? CHILD_DONE : CHILD_FAILED;
    for (uint32_t o = 0; o < mqs_domain_output_count(s->domain); o++)
        if (mqs_output_owner(s->domain, o) == i + 1)
            mqs_output_close(s->domain, o);
}

static void reap(supervisor *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (uint32_t i = 0; i < s->count; i++) {
            if (s->children[i].pid != pid || s->children[i].state != CHILD_RUNNING)
                continue;
            bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            bool stopped = s->phase >= PHASE_STOP_ALL && WIFSIGNALED(status);
            if (!clean && !stopped) {
                describe_exit(s, i, status);
                s->failed = true;
            }
            if (stopped && WTERMSIG(status) == SIGKILL)
                s->killed = true;
            settle_exit(s, i, clean); /* no restarts while stopping: should_restart checks the phase */
        }
    }
}

static void restart_due(supervisor *s)
{
    int64_t now = mqs_now_ns();
    for (uint32_t i = 0; i < s->count; i++) {
        if (s->children[i].restart_at == 0 || now < s->children[i].restart_at)
            continue;
        /* A block that ended cleanly closed its streams; `always` reopens them. */
        for (uint32_t o = 0; o < mqs_domain_output_count(s->domain); o++)
            if (mqs_output_owner(s->domain, o) == i + 1)
                mqs_output_reopen(s->domain, o);
        if (spawn(s, i) != 0)
            s->children[i].state = CHILD_FAILED;
    }
}

/* ---- stopping ---- */

static void advance_phase(supervisor *s, phase to, const char *why)
{
    if (to <= s->phase)
        return;
    s->phase = to;
    int64_t now = mqs_now_ns();
    switch (to) {
    case PHASE_STOP_SOURCES:
        say(s, 1, "%s: stopping sources, letting the graph drain", why);
        signal_children(s, SIGTERM, true);
        s->phase_deadline = now + s->opt->grace_ns;
        break;
    case PHASE_STOP_ALL:
        say(s, 1, "%s: stopping every block", why);
        mqs_domain_request_stop(s->domain);
        signal_children(s, SIGTERM, false);
        s->phase_deadline = now + HARD_STOP_NS;
        break;
    default:
        say(s, 0, "%s: killing blocks that did not stop", why);
        signal_children(s, SIGKILL, false);
        s->phase_deadline = INT64_MAX;
        break;
    }
}

static void check_deadlines(supervisor *s)
{
    int64_t now = mqs_now_ns();
    if (s->stop_at > 0 && now >= s->stop_at && s->phase == PHASE_RUNNING)
        advance_phase(s, PHASE_STOP_SOURCES, "duration reached");
    if (s->phase == PHASE_STOP_SOURCES && now >= s->phase_deadline)
        advance_phase(s, PHASE_STOP_ALL, "grace period over");
    else if (s->phase == PHASE_STOP_ALL && now >= s->phase_deadline)
        advance_phase(s, PHASE_KILL, "hard stop");
}

static void on_signal(supervisor *s, int sig)
{
    if (sig == SIGCHLD)
        return;
    /* A second Ctrl-C means: now. */
    advance_phase(s, s->phase == PHASE_RUNNING ? PHASE_STOP_SOURCES : s->phase + 1,
                  sig == SIGINT ? "interrupted" : "terminated");
}

/* ---- startup ---- */

static int wait_attached(supervisor *s)
{
    int64_t deadline = mqs_now_ns() + s->opt->start_timeout_ns;
    for (;;) {
        uint32_t attached = 0;
        for (uint32_t i = 0; i < s->count; i++) {
            mqs_process_stats ps;
            mqs_process_stats_get(s->domain, i + 1, &ps);
            attached += ps.state == MQS_PROCESS_ATTACHED;
        }
        if (attached == s->count)
            return 0;
        reap(s);
        for (uint32_t i = 0; i < s->count; i++)
            if (s->children[i].state != CHILD_RUNNING) {
                say(s, 0, "error: block '%s' exited before the graph started (see its message above)",
                    s->blocks[i].instance);
                return -ECHILD;
            }
        if (mqs_now_ns() > deadline) {
            say(s, 0, "error: blocks did not attach within %lld s", (long long)(s->opt->start_timeout_ns / 1000000000));
            return -ETIMEDOUT;
        }
        mqs_sleep_ns(5000000);
    }
}

static void emit_stats(supervisor *s, bool final)
{
    if (!s->opt->stats_table && !s->opt->stats_json)
        return;
    mqs_stats_snapshot *now = mqs_stats_take(s->domain);
    if (!now)
        return;
    for (uint32_t i = 0; i < s->count; i++)
        mqs_stats_set_restarts(now, i + 1, s->children[i].restarts);
    const mqs_stats_snapshot *before = final ? s->first_stats : s->last_stats;
    if (s->opt->stats_table)
        mqs_stats_print_table(stderr, before, now, final);
    if (s->opt->stats_json)
        mqs_stats_print_json(s->opt->stats_json, before, now, final);
    if (s->last_stats != s->first_stats)
        mqs_stats_free(s->last_stats);
    s->last_stats = now;
}

static int64_t next_wakeup(const supervisor *s)
{
    int64_t t = mqs_now_ns() + TICK_NS;
    if (s->opt->stats_interval_ns > 0 && s->next_stats < t)
        t = s->next_stats;
    return t;
}

static void supervise_loop(supervisor *s, const sigset_t *set)
{
    while (running(s) > 0) {
        int64_t wait = next_wakeup(s) - mqs_now_ns();
        if (wait < 0)
            wait = 0;
        struct timespec ts = {.tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000};
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig > 0)
            on_signal(s, sig);
        reap(s);
        restart_due(s);
        check_deadlines(s);
        if (s->opt->stats_interval_ns > 0 && mqs_now_ns() >= s->next_stats) {
            emit_stats(s, false);
            s->next_stats = mqs_now_ns() + s->opt->stats_interval_ns;
        }
    }
}

int mqs_supervise(mqs_domain *d, const mqs_launch_block *blocks, uint32_t count, const mqs_supervisor_options *opt)
{
    supervisor s = {.domain = d, .blocks = blocks, .count = count, .opt = opt};
    s.children = calloc(count, sizeof *s.children);
    if (!s.children)
        return MQS_RUN_SETUP_FAILED;
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, &old);

    int status = MQS_RUN_CLEAN;
    for (uint32_t i = 0; i < count && status == MQS_RUN_CLEAN; i++)
        if (spawn(&s, i) != 0)
            status = MQS_RUN_SETUP_FAILED;
    if (status == MQS_RUN_CLEAN && wait_attached(&s) != 0)
        status = MQS_RUN_SETUP_FAILED;
    if (status != MQS_RUN_CLEAN) {
        s.phase = PHASE_STOP_SOURCES; /* no restarts while tearing down */
        advance_phase(&s, PHASE_STOP_ALL, "startup failed");
    } else {
        s.first_stats = s.last_stats = mqs_stats_take(d);
        mqs_domain_start(d);
        int64_t now = mqs_now_ns();
        s.stop_at = opt->duration_ns > 0 ? now + opt->duration_ns : 0;
        s.next_stats = now + opt->stats_interval_ns;
        say(&s, 2, "graph started: %u blocks", count);
    }
    supervise_loop(&s, &set);
    if (status == MQS_RUN_CLEAN) {
        emit_stats(&s, true);
        status = s.killed ? MQS_RUN_KILLED : s.failed ? MQS_RUN_BLOCK_FAILED : MQS_RUN_CLEAN;
    }
    if (s.last_stats != s.first_stats)
        mqs_stats_free(s.last_stats);
    mqs_stats_free(s.first_stats);
    free(s.children);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return status;
}
