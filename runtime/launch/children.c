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

/* In the child: never returns. */
static void exec_worker(const supervisor *s, uint32_t i, pid_t parent)
{
    setpgid(0, 0);
    /* Workers die with the launcher, even if it is killed with SIGKILL. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(MQS_RUN_SETUP_FAILED);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    char slot[16], launcher[48];
    snprintf(slot, sizeof slot, "%u", i + 1);
    snprintf(launcher, sizeof launcher, "%d:%llu", (int)parent, (unsigned long long)s->start_time);
    const mqs_launch_block *b = &s->blocks[i];
    const char *argv[20];
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
    argv[n++] = "--launcher";
    argv[n++] = launcher;
    for (int v = 1; v < s->opt->verbosity && n < 18; v++)
        argv[n++] = "-v";
    argv[n] = NULL;
    execv(s->opt->worker_path, (char *const *)argv);
    fprintf(stderr, "mqrun: error: cannot run worker %s: %s (set MQS_WORKER to its path)\n", s->opt->worker_path,
            strerror(errno));
    _exit(MQS_RUN_SETUP_FAILED);
}

int mqs_child_start(supervisor *s, uint32_t i)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        mqs_say(s, 0, "error: cannot start block '%s': %s", s->blocks[i].instance, strerror(-err));
        return err;
    }
    if (pid == 0)
        exec_worker(s, i, parent);
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
