/* Worker processes: one per block, each in its own process group, started
 * with mqrun's pid and starttime so it can tell when mqrun is gone. mqrun is
 * a child subreaper: what a block forks and leaves behind is reparented to
 * it and reaped here, and when a worker ends, whatever is left in its group
 * is killed. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor_internal.h"

int mqs_children_become_reaper(void)
{
    return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 ? 0 : -errno;
}

/* A worker's command line, made before fork: between fork and exec the
 * child may only make async-signal-safe calls (a plugin's library may have
 * started a thread in mqrun, holding stdio's lock at the fork). */
typedef struct worker_command {
    char slot[16], launcher[48];
    const char *argv[20];
    char failed[512]; /* what the child says if exec fails, before the reason */
} worker_command;

static void make_command(const supervisor *s, uint32_t i, pid_t parent, worker_command *w)
{
    snprintf(w->slot, sizeof w->slot, "%u", i + 1);
    snprintf(w->launcher, sizeof w->launcher, "%d:%llu", (int)parent, (unsigned long long)s->start_time);
    snprintf(w->failed, sizeof w->failed, "mqrun: error: cannot run worker %s (set MQS_WORKER to its path): ",
             s->opt->worker_path);
    const mqs_launch_block *b = &s->blocks[i];
    int n = 0;
    w->argv[n++] = "mqs-worker";
    w->argv[n++] = "--domain";
    w->argv[n++] = mqs_domain_name(s->domain);
    w->argv[n++] = "--process";
    w->argv[n++] = w->slot;
    w->argv[n++] = "--plugin";
    w->argv[n++] = b->plugin_path;
    w->argv[n++] = "--instance";
    w->argv[n++] = b->instance;
    w->argv[n++] = "--params";
    w->argv[n++] = b->params_json;
    w->argv[n++] = "--launcher";
    w->argv[n++] = w->launcher;
    for (int v = 1; v < s->opt->verbosity && n < 18; v++)
        w->argv[n++] = "-v";
    w->argv[n] = NULL;
}

static void say_raw(const char *text)
{
    ssize_t unused = write(STDERR_FILENO, text, strlen(text));
    (void)unused;
}

/* In the child: never returns. Async-signal-safe calls only. */
static void exec_worker(const supervisor *s, const worker_command *w, pid_t parent)
{
    setpgid(0, 0);
    /* Workers die with the launcher, even if it is killed with SIGKILL. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(MQS_RUN_SETUP_FAILED);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(s->opt->worker_path, (char *const *)w->argv);
    const char *why = strerrordesc_np(errno); /* a static string: no locale, no lock */
    say_raw(w->failed);
    say_raw(why ? why : "unknown error");
    say_raw("\n");
    _exit(MQS_RUN_SETUP_FAILED);
}

int mqs_child_start(supervisor *s, uint32_t i)
{
    pid_t parent = getpid();
    worker_command command;
    make_command(s, i, parent, &command);
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        mqs_say(s, 0, "error: cannot start block '%s': %s", s->blocks[i].instance, strerror(-err));
        return err;
    }
    if (pid == 0)
        exec_worker(s, &command, parent);
    /* Both sides set the group, so it exists before either goes on. */
    setpgid(pid, pid);
    child *c = &s->children[i];
    mqs_process_stats ps;
    mqs_process_stats_get(s->domain, i + 1, &ps);
    c->calls_at_start = ps.calls; /* the watchdog's baseline: its predecessor's count */
    c->pid = pid;
    c->state = CHILD_RUNNING;
    c->started_ns = mqs_now_ns();
    c->restart_at = 0;
    c->killed_for = MQS_WATCH_OK;
    s->next_watch = 0; /* watch the new process from the next turn of the loop */
    mqs_say(s, 2, "started block '%s' as pid %d", s->blocks[i].instance, (int)pid);
    return 0;
}

void mqs_child_signal(supervisor *s, uint32_t i, int sig)
{
    if (s->children[i].state == CHILD_RUNNING)
        kill(-s->children[i].pid, sig);
}

int mqs_children_reap(pid_t *pid, int *status)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0)
        return 0;
    /* Still a zombie: its pid (and so its group's id) cannot be reused yet. */
    kill(-info.si_pid, SIGKILL);
    while (waitpid(info.si_pid, status, 0) < 0 && errno == EINTR)
        ;
    *pid = info.si_pid;
    return 1;
}
