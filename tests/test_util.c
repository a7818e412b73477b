/* Helpers shared by the Criterion tests: see test_util.h. */
#include "test_util.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TRACKED 32

/* What teardown undoes. Each Criterion test runs in its own process, so
 * these start empty for every test. */
typedef struct tracked_handle {
    mqs_domain *d;
    bool destroy; /* created here (unlink everything) or only attached */
} tracked_handle;

static tracked_handle handles[MAX_TRACKED];
static char prefixes[MAX_TRACKED][200];
static pid_t children[MAX_TRACKED];
static struct {
    void *addr;
    size_t size;
} shared_maps[MAX_TRACKED];
static int pipe_fds[2 * MAX_TRACKED];

/* ---- topology builder ---- */

void mqst_make_run_id(char *out, size_t size)
{
    static unsigned counter;
    snprintf(out, size, "r%dn%u", (int)getpid(), counter++);
}

void mqst_topo_init(mqst_topo *t, const char *suite, uint32_t processes)
{
    memset(t, 0, sizeof *t);
    snprintf(t->graph, sizeof t->graph, "mqstest_%s", suite);
    mqst_make_run_id(t->run_id, sizeof t->run_id);
    t->cfg.graph = t->graph;
    t->cfg.run_id = t->run_id;
    t->cfg.wait_mode = MQS_WAIT_HYBRID;
    t->cfg.process_count = processes;
}

uint32_t mqst_add_pool(mqst_topo *t, uint32_t owner, uint64_t slot_size, uint32_t slot_count)
{
    uint32_t i = t->cfg.pool_count++;
    cr_assert(lt(u32, i, MQST_MAX_POOLS));
    t->pools[i] = (mqs_pool_config){.slot_size = slot_size, .slot_count = slot_count, .owner = owner};
    return i;
}

uint32_t mqst_add_output(mqst_topo *t, uint32_t owner, uint32_t pool)
{
    uint32_t i = t->cfg.output_count++;
    cr_assert(lt(u32, i, MQST_MAX_OUTPUTS));
    t->outputs[i] = (mqs_output_config){.owner = owner, .pool = pool};
    return i;
}

uint32_t mqst_add_queue(mqst_topo *t, uint32_t output, uint32_t consumer, uint32_t depth, mqs_queue_policy policy)
{
    uint32_t i = t->cfg.queue_count++;
    cr_assert(lt(u32, i, MQST_MAX_QUEUES));
    t->queues[i] = (mqs_queue_config){.output = output, .consumer = consumer, .depth = depth, .policy = policy};
    return i;
}

mqs_domain_config *mqst_config(mqst_topo *t)
{
    /* Processes get names only if a test set some; otherwise NULL (defaults). */
    bool named = false;
    for (uint32_t i = 0; i < MQST_MAX_PROCS; i++)
        named |= t->procs[i].name != NULL;
    t->cfg.processes = named ? t->procs : NULL;
    t->cfg.pools = t->cfg.pool_count ? t->pools : NULL;
    t->cfg.outputs = t->cfg.output_count ? t->outputs : NULL;
    t->cfg.queues = t->cfg.queue_count ? t->queues : NULL;
    return &t->cfg;
}

/* ---- fixture ---- */

static void track_handle(mqs_domain *d, bool destroy)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (!handles[i].d) {
            handles[i] = (tracked_handle){d, destroy};
            return;
        }
    cr_fatal("test_util: too many domain handles");
}

void mqst_track_domain(mqs_domain *d)
{
    track_handle(d, true);
}

mqs_domain *mqst_create(mqst_topo *t)
{
    mqs_domain *d = NULL;
    int rc = mqs_domain_create(mqst_config(t), &d);
    cr_assert(eq(int, rc, 0), "mqs_domain_create: %s (%s)", mqs_strerror(rc), mqs_last_error());
    cr_assert(ne(ptr, d, NULL));
    mqst_track_domain(d);
    return d;
}

mqs_domain *mqst_attach(const char *name, uint32_t slot)
{
    mqs_domain *d = NULL;
    int rc = mqs_domain_attach(name, slot, &d);
    cr_assert(eq(int, rc, 0), "mqs_domain_attach(%s, %u): %s (%s)", name, slot, mqs_strerror(rc),
              mqs_last_error());
    track_handle(d, false);
    return d;
}

void mqst_release(mqs_domain *d)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (handles[i].d == d) {
            if (handles[i].destroy)
                mqs_domain_destroy(d);
            else
                mqs_domain_detach(d);
            handles[i].d = NULL;
            return;
        }
    cr_fatal("test_util: releasing an untracked handle");
}

void mqst_track_prefix(const char *prefix)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (!prefixes[i][0]) {
            snprintf(prefixes[i], sizeof prefixes[i], "%s", prefix);
            return;
        }
}

static void teardown_children(void)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (children[i] > 0)
            mqst_kill(children[i]);
}

static void teardown_handles(void)
{
    /* Attached handles first: they live in segments the creator unlinks. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < MAX_TRACKED; i++)
            if (handles[i].d && handles[i].destroy == (pass == 1)) {
                if (handles[i].destroy)
                    mqs_domain_destroy(handles[i].d);
                else
                    mqs_domain_detach(handles[i].d);
                handles[i].d = NULL;
            }
}

void mqst_teardown(void)
{
    teardown_children();
    teardown_handles();
    for (int i = 0; i < MAX_TRACKED; i++)
        if (prefixes[i][0]) {
            mqst_shm_unlink_prefix(prefixes[i]);
            prefixes[i][0] = '\0';
        }
    for (int i = 0; i < MAX_TRACKED; i++)
        if (shared_maps[i].addr) {
            munmap(shared_maps[i].addr, shared_maps[i].size);
            shared_maps[i].addr = NULL;
        }
    for (int i = 0; i < 2 * MAX_TRACKED; i++)
        if (pipe_fds[i] > 0) {
            close(pipe_fds[i]);
            pipe_fds[i] = 0;
        }
}

/* ---- /dev/shm inspection ---- */

/* Calls fn for every /dev/shm entry whose name starts with prefix + '.'
 * (the prefix given with its leading '/', as domain names are). */
static int for_each_object(const char *prefix, void (*fn)(const char *entry))
{
    const char *want = prefix[0] == '/' ? prefix + 1 : prefix;
    size_t n = strlen(want);
    DIR *dir = opendir("/dev/shm");
    if (!dir)
        return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        if (strncmp(e->d_name, want, n) == 0 && e->d_name[n] == '.') {
            count++;
            if (fn)
                fn(e->d_name);
        }
    closedir(dir);
    return count;
}

int mqst_shm_count(const char *prefix)
{
    return for_each_object(prefix, NULL);
}

int mqst_shm_count_containing(const char *needle)
{
    char mine[32];
    snprintf(mine, sizeof mine, "mqs.%u.", (unsigned)getuid());
    DIR *dir = opendir("/dev/shm");
    if (!dir)
        return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        count += strncmp(e->d_name, mine, strlen(mine)) == 0 && strstr(e->d_name, needle) != NULL;
    closedir(dir);
    return count;
}

int mqst_shm_mode(const char *object)
{
    char path[300];
    snprintf(path, sizeof path, "/dev/shm/%s", object[0] == '/' ? object + 1 : object);
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    return (int)(st.st_mode & 07777);
}

static void unlink_entry(const char *entry)
{
    char name[300];
    snprintf(name, sizeof name, "/%s", entry);
    shm_unlink(name);
}

int mqst_shm_unlink_prefix(const char *prefix)
{
    return for_each_object(prefix, unlink_entry);
}

/* ---- child processes ---- */

static void track_child(pid_t pid, bool add)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (children[i] == (add ? 0 : pid)) {
            children[i] = add ? pid : 0;
            return;
        }
}

pid_t mqst_spawn(mqst_child_fn fn, void *arg)
{
    pid_t parent = getpid();
    fflush(NULL); /* nothing buffered twice */
    pid_t pid = fork();
    cr_assert(ge(int, pid, 0), "fork: %s", strerror(errno));
    if (pid == 0) {
        /* Die with the test process, even when Criterion kills it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(99);
        _exit(fn(arg));
    }
    track_child(pid, true);
    return pid;
}

static int decode_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return MQST_SIGNALED(WTERMSIG(status));
    return -2;
}

int mqst_join(pid_t pid, int64_t timeout_ns)
{
    int64_t deadline = mqs_now_ns() + timeout_ns;
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            track_child(pid, false);
            return decode_status(status);
        }
        if (r < 0 && errno != EINTR) {
            track_child(pid, false);
            return -3;
        }
        if (mqs_now_ns() >= deadline) {
            mqst_kill(pid);
            return MQST_TIMED_OUT;
        }
        mqs_sleep_ns(MQST_MS);
    }
}

int mqst_kill(pid_t pid)
{
    kill(pid, SIGKILL);
    int status;
    pid_t r;
    while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    track_child(pid, false);
    return r == pid ? decode_status(status) : -3;
}

mqs_domain *mqst_child_attach(const char *name, uint32_t slot)
{
    mqs_domain *d = NULL;
    int rc = mqs_domain_attach(name, slot, &d);
    if (rc != 0) {
        fprintf(stderr, "child %d: attach %s as %u: %s (%s)\n", (int)getpid(), name, slot, mqs_strerror(rc),
                mqs_last_error());
        return NULL;
    }
    return d;
}

int mqst_child_fail(int code, const char *file, int line, const char *what)
{
    fprintf(stderr, "child %d: %s:%d: check failed: %s (exit %d)\n", (int)getpid(), file, line, what, code);
    return code;
}

void *mqst_shared(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert(ne(ptr, p, MAP_FAILED), "mmap: %s", strerror(errno));
    for (int i = 0; i < MAX_TRACKED; i++)
        if (!shared_maps[i].addr) {
            shared_maps[i].addr = p;
            shared_maps[i].size = size;
            break;
        }
    return p;
}

void mqst_pipe_open(mqst_pipe *p)
{
    int fds[2];
    cr_assert(eq(int, pipe(fds), 0), "pipe: %s", strerror(errno));
    p->rd = fds[0];
    p->wr = fds[1];
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 2 * MAX_TRACKED; i++)
            if (pipe_fds[i] == 0) {
                pipe_fds[i] = fds[k];
                break;
            }
}

int mqst_pipe_put(const mqst_pipe *p, uint8_t byte)
{
    ssize_t n;
    while ((n = write(p->wr, &byte, 1)) < 0 && errno == EINTR) {
    }
    return n == 1 ? 0 : -errno;
}

int mqst_pipe_get(const mqst_pipe *p, int64_t timeout_ns)
{
    struct pollfd pfd = {.fd = p->rd, .events = POLLIN};
    int64_t deadline = mqs_now_ns() + timeout_ns;
    for (;;) {
        int64_t left = deadline - mqs_now_ns();
        if (left < 0)
            return -ETIMEDOUT;
        int r = poll(&pfd, 1, (int)(left / MQST_MS) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return -ETIMEDOUT;
        uint8_t byte;
        ssize_t n = read(p->rd, &byte, 1);
        if (n == 1)
            return byte;
        if (n == 0)
            return -EPIPE;
        if (errno != EINTR && errno != EAGAIN)
            return -errno;
    }
}

/* ---- library state ---- */

mqs_pool_stats mqst_pool_stats(const mqs_domain *d, uint32_t pool)
{
    mqs_pool_stats s;
    memset(&s, 0xff, sizeof s);
    int rc = mqs_pool_stats_get(d, pool, &s);
    cr_assert(eq(int, rc, 0), "mqs_pool_stats_get(%u): %s", pool, mqs_strerror(rc));
    return s;
}

mqs_queue_stats mqst_queue_stats(const mqs_domain *d, uint32_t queue)
{
    mqs_queue_stats s;
    memset(&s, 0xff, sizeof s);
    int rc = mqs_queue_stats_get(d, queue, &s);
    cr_assert(eq(int, rc, 0), "mqs_queue_stats_get(%u): %s", queue, mqs_strerror(rc));
    return s;
}

mqs_process_stats mqst_process_stats(const mqs_domain *d, uint32_t process)
{
    mqs_process_stats s;
    memset(&s, 0xff, sizeof s);
    int rc = mqs_process_stats_get(d, process, &s);
    cr_assert(eq(int, rc, 0), "mqs_process_stats_get(%u): %s", process, mqs_strerror(rc));
    return s;
}
