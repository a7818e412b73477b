/* Taking a snapshot: the domain's counters, then /proc for each block. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot.h"

/* The whole of a small /proc file, NUL-ended; false when unreadable. */
static bool read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return true;
}

mqs_proc_usage mqs_proc_usage_of(uint32_t pid)
{
    mqs_proc_usage u = {0};
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%u/stat", pid);
    if (pid == 0 || !read_small(path, buf, sizeof buf))
        return u;
    /* The name may hold spaces and parentheses: fields count from the last ')'.
     * After it: state (3), ... utime (14), stime (15). */
    const char *p = strrchr(buf, ')');
    unsigned long long utime, stime;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return u;
    long tick = sysconf(_SC_CLK_TCK);
    u.cpu_ns = (utime + stime) * (uint64_t)(1000000000 / (tick > 0 ? tick : 100));
    snprintf(path, sizeof path, "/proc/%u/statm", pid);
    unsigned long long size, resident;
    if (read_small(path, buf, sizeof buf) && sscanf(buf, "%llu %llu", &size, &resident) == 2)
        u.rss_bytes = resident * (uint64_t)sysconf(_SC_PAGESIZE);
    u.known = true;
    return u;
}

static int take_align(mqs_stats_snapshot *s, const mqs_domain *d)
{
    for (uint32_t p = 0; p < s->processes; p++) {
        mqs_align_stats a;
        if (mqs_align_stats_get(d, p, &a) != 0)
            continue;
        if (!(s->align[p] = malloc(sizeof a)))
            return -ENOMEM;
        *s->align[p] = a;
    }
    for (uint32_t q = 0; q < s->queues; q++)
        mqs_input_stats_get(d, q, &s->input[q]);
    return 0;
}

static void take_processes(mqs_stats_snapshot *s, const mqs_domain *d)
{
    for (uint32_t i = 0; i < s->processes; i++) {
        mqs_process_stats_get(d, i, &s->proc[i]);
        mqs_process_counters_get(d, i, &s->counters[i]);
        if (s->proc[i].state == MQS_PROCESS_ATTACHED)
            s->usage[i] = mqs_proc_usage_of(s->proc[i].pid);
    }
}

mqs_stats_snapshot *mqs_stats_take(const mqs_domain *d)
{
    mqs_stats_snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->domain = d;
    /* The graph's blocks and connections; taps come after them (mqs/tap.h). */
    s->processes = mqs_domain_process_count(d) - mqs_domain_tap_count(d);
    s->queues = mqs_domain_queue_count(d) - mqs_domain_tap_count(d);
    s->pools = mqs_domain_pool_count(d);
    size_t q = s->queues ? s->queues : 1, pl = s->pools ? s->pools : 1;
    s->proc = calloc(s->processes, sizeof *s->proc);
    s->counters = calloc(s->processes, sizeof *s->counters);
    s->usage = calloc(s->processes, sizeof *s->usage);
    s->queue = calloc(q, sizeof *s->queue);
    s->pool = calloc(pl, sizeof *s->pool);
    s->align = calloc(s->processes, sizeof *s->align);
    s->input = calloc(q, sizeof *s->input);
    if (!s->proc || !s->counters || !s->usage || !s->queue || !s->pool || !s->align || !s->input ||
        take_align(s, d) != 0) {
        mqs_stats_free(s);
        return NULL;
    }
    s->t_ns = mqs_now_ns();
    s->start_ns = mqs_domain_start_time(d);
    take_processes(s, d);
    for (uint32_t i = 0; i < s->queues; i++)
        mqs_queue_stats_get(d, i, &s->queue[i]);
    for (uint32_t i = 0; i < s->pools; i++)
        mqs_pool_stats_get(d, i, &s->pool[i]);
    return s;
}

void mqs_stats_free(mqs_stats_snapshot *s)
{
    if (!s)
        return;
    free(s->proc);
    free(s->counters);
    free(s->usage);
    free(s->queue);
    free(s->pool);
    for (uint32_t p = 0; s->align && p < s->processes; p++)
        free(s->align[p]);
    free(s->align);
    free(s->input);
    free(s);
}
