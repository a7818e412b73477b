/* The runs of this user: every domain is a control object
 * /dev/shm/mqs.UID.GRAPH.RUN.ctl plus its pools. Listing them (mqctl ls)
 * and removing those whose creator is gone (mqrun at start, mqctl clean)
 * share one scan. A run's objects are only read here, mapped read-only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

_Static_assert(sizeof(((mqs_run_info *)0)->domain) == MQS_DOMAIN_NAME_MAX, "run info holds a domain name");

/* "mqs.UID.GRAPH.RUN.ctl" of this user (and of `graph`, if given): true,
 * with graph and run copied out. Names hold no dots but the separators. */
static bool parse_control_file(const char *file, const char *graph, char *graph_out, char *run_out)
{
    char mine[32];
    snprintf(mine, sizeof mine, "mqs.%u.", (unsigned)getuid());
    size_t n = strlen(file);
    if (strncmp(file, mine, strlen(mine)) != 0 || n < 5 || strcmp(file + n - 4, ".ctl") != 0)
        return false;
    const char *g = file + strlen(mine), *dot = strchr(g, '.');
    if (!dot || (size_t)(dot - g) >= MQS_NAME_MAX || dot + 1 >= file + n - 4)
        return false;
    snprintf(graph_out, MQS_NAME_MAX, "%.*s", (int)(dot - g), g);
    snprintf(run_out, MQS_NAME_MAX, "%.*s", (int)(file + n - 4 - dot - 1), dot + 1);
    return !graph || strcmp(graph_out, graph) == 0;
}

/* A leftover object is stale when the process that created it is gone. */
static bool object_is_stale(const char *file)
{
    char name[NAME_MAX + 2];
    snprintf(name, sizeof name, "/%s", file);
    int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return false;
    mqs_segment_header h;
    ssize_t n = pread(fd, &h, sizeof h, 0);
    struct stat st;
    bool have_stat = fstat(fd, &st) == 0;
    close(fd);
    if (n != (ssize_t)sizeof h || h.magic != MQS_SEGMENT_MAGIC)
        /* Died between creating and writing the header: old enough means dead. */
        return have_stat && time(NULL) - st.st_mtime > 60;
    return !mqs_pid_alive(h.creator_pid, h.creator_start_time);
}

int mqs_domain_remove_stale(const char *graph)
{
    char prefix[MQS_NAME_MAX + 32];
    snprintf(prefix, sizeof prefix, "mqs.%u.%s%s", (unsigned)getuid(), graph ? graph : "", graph ? "." : "");
    DIR *dir = opendir("/dev/shm");
    if (!dir)
        return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || !object_is_stale(e->d_name))
            continue;
        char name[NAME_MAX + 2];
        snprintf(name, sizeof name, "/%s", e->d_name);
        if (shm_unlink(name) == 0 && strstr(e->d_name, ".ctl"))
            removed++;
    }
    closedir(dir);
    return removed;
}

/* What the control segment says: its creator, blocks, and the start gate. */
static void read_run(const char *ctl_name, mqs_run_info *r)
{
    mqs_control *c;
    size_t size;
    if (mqsi_shm_map(ctl_name, false, (void **)&c, &size) != 0)
        return; /* gone meanwhile, or not ours: listed without details */
    if (mqsi_segment_header_check(ctl_name, &c->header, MQS_SEGMENT_CONTROL, size) == 0 &&
        size >= sizeof *c && mqsi_control_bounds_check(ctl_name, c, size) == 0) {
        r->launcher_pid = c->header.creator_pid;
        r->alive = mqs_pid_alive(c->header.creator_pid, c->header.creator_start_time);
        uint32_t blocks_end = c->process_count - c->tap_count; /* taps come last */
        r->blocks = blocks_end > 0 ? blocks_end - 1 : 0;
        const mqs_process_shared *p = (const mqs_process_shared *)((const uint8_t *)c + c->processes_offset);
        for (uint32_t i = 1; i < blocks_end; i++)
            r->running += atomic_load_explicit(&p[i].state, memory_order_relaxed) == MQS_PROCESS_ATTACHED;
        int64_t start = atomic_load_explicit(&c->start_ns, memory_order_acquire);
        r->uptime_ns = start > 0 && atomic_load_explicit(&c->started, memory_order_acquire) ? mqs_now_ns() - start : -1;
    }
    mqsi_shm_unmap(c, size);
    mqsi_clear_error();
}

int mqs_runs_list(const char *graph, mqs_run_info *out, uint32_t cap)
{
    DIR *dir = opendir("/dev/shm");
    if (!dir)
        return -errno;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        mqs_run_info r = {.uptime_ns = -1};
        if (!parse_control_file(e->d_name, graph, r.graph, r.run_id))
            continue;
        if ((uint32_t)found < cap) {
            char ctl_name[NAME_MAX + 2];
            snprintf(ctl_name, sizeof ctl_name, "/%s", e->d_name);
            snprintf(r.domain, sizeof r.domain, "/mqs.%u.%s.%s", (unsigned)getuid(), r.graph, r.run_id);
            read_run(ctl_name, &r);
            out[found] = r;
        }
        found++;
    }
    closedir(dir);
    return found;
}
