/* mqctl dot: a graph as a Graphviz picture, from its graph file (blocks,
 * types, ports, connections, sync settings) or from a running graph (the
 * same, with BUSY %, calls/s, rates, fill and drops over an interval, and
 * the bottleneck marked). Writes dot text, or SVG/PNG made by Graphviz's
 * own `dot` program. This file is the command: its options, where the
 * picture comes from (dot_picture.c) and where its text (dot_render.c) goes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "dot_picture.h"
#include "graph/graph_load.h"

#define CMD "mqctl dot"
#define USAGE "usage: mqctl dot GRAPH|FILE.yaml [--svg|--png] [-o FILE] [--interval DURATION]"
#define DEFAULT_INTERVAL_NS (500LL * 1000000)

typedef struct dot_options {
    const char *which;    /* a graph file or a running graph */
    const char *output;   /* -o FILE; NULL: stdout */
    const char *format;   /* "svg", "png"; NULL: dot text */
    int64_t interval_ns;
    bool interval_given;
} dot_options;

/* ---- options ---- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A graph file rather than a running graph's name. */
static bool names_file(const char *arg)
{
    struct stat st;
    return ends_with(arg, ".yaml") || ends_with(arg, ".yml") || (stat(arg, &st) == 0 && S_ISREG(st.st_mode));
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, CMD ": %s%s%s (" USAGE ")\n", what, arg ? " " : "", arg ? arg : "");
    return MQCTL_USAGE;
}

static int parse_options(int argc, char **argv, dot_options *o)
{
    *o = (dot_options){.interval_ns = DEFAULT_INTERVAL_NS};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--svg") == 0 || strcmp(a, "--png") == 0) {
            if (o->format)
                return usage_error("give one of --svg and --png, once:", a);
            o->format = a + 2;
        } else if (strcmp(a, "-o") == 0) {
            if (i + 1 >= argc)
                return usage_error("-o needs a file name", NULL);
            o->output = argv[++i];
        } else if (strcmp(a, "--interval") == 0) {
            if (!mqctl_parse_duration(CMD, "--interval", i + 1 < argc ? argv[++i] : NULL, &o->interval_ns))
                return MQCTL_USAGE;
            o->interval_given = true;
        } else if (a[0] == '-' || o->which)
            return usage_error("unexpected argument", a);
        else
            o->which = a;
    }
    if (!o->which)
        return usage_error("which graph? a graph file or a running graph (mqctl ls lists them)", NULL);
    if (o->interval_given && names_file(o->which))
        return usage_error("--interval is for a running graph, not a graph file:", o->which);
    if (o->format && strcmp(o->format, "png") == 0 && !o->output && isatty(STDOUT_FILENO))
        return usage_error("--png writes binary data: give -o FILE or redirect stdout", NULL);
    return MQCTL_OK;
}

/* "run RUN, over 500ms; bottleneck: gray" under the graph's name. */
static void caption_of_run(const mqs_run_info *run, int64_t interval_ns, const mqctl_dot_graph *m, char *out,
                           size_t size)
{
    const char *block = NULL, *queue = NULL;
    for (uint32_t i = 0; i < m->block_count; i++)
        block = m->blocks[i].bottleneck ? m->blocks[i].name : block;
    for (uint32_t i = 0; i < m->edge_count; i++)
        queue = m->edges[i].bottleneck ? m->blocks[m->edges[i].to].name : queue;
    int n = snprintf(out, size, "run %s, over %.3gs; ", run->run_id, interval_ns / 1e9);
    if (n < 0 || (size_t)n >= size)
        return;
    if (block)
        snprintf(out + n, size - (size_t)n, "bottleneck: %s", block);
    else if (queue)
        snprintf(out + n, size - (size_t)n, "fullest queue: into %s", queue);
    else
        snprintf(out + n, size - (size_t)n, "no bottleneck (no block above 50 %% busy, no queue half full)");
}

/* ---- writing it out ---- */

/* The dot text of the picture (free it), or NULL when out of memory. */
static char *dot_text(const mqctl_dot_graph *m, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        return NULL;
    mqctl_dot_write(f, m);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* Graphviz's `dot` program on PATH, into path. */
static bool find_graphviz(char *path, size_t size)
{
    const char *env = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s", env && env[0] ? env : "/usr/local/bin:/usr/bin:/bin");
    for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        snprintf(path, size, "%s/dot", dir[0] ? dir : ".");
        if (access(path, X_OK) == 0)
            return true;
    }
    return false;
}

static bool write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        text += n, len -= (size_t)n;
    }
    return true;
}

/* Feed the text to `dot -T<format>` writing to out_fd: 0, or -1 after a message. */
static int run_graphviz(const char *program, const char *format, const char *text, size_t len, int out_fd)
{
    char type[16];
    snprintf(type, sizeof type, "-T%s", format);
    int fds[2];
    if (pipe(fds) != 0) {
        fprintf(stderr, CMD ": cannot make a pipe to Graphviz: %s\n", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[0], STDIN_FILENO);
        dup2(out_fd, STDOUT_FILENO);
        close(fds[0]), close(fds[1]);
        execl(program, "dot", type, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    bool written = pid > 0 && write_all(fds[1], text, len);
    close(fds[1]);
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 && written)
        return 0;
    fprintf(stderr, CMD ": Graphviz (%s %s) failed%s\n", program, type, pid < 0 ? ": cannot start it" : "");
    return -1;
}

/* Where the result goes: -o FILE, made only now that there is something to write. */
static int open_output(const dot_options *o)
{
    if (!o->output)
        return STDOUT_FILENO;
    int fd = open(o->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        fprintf(stderr, CMD ": cannot write %s: %s\n", o->output, strerror(errno));
    return fd;
}

/* Writes the picture as the options ask: 0, or -1 after a message. */
static int emit(const dot_options *o, const mqctl_dot_graph *m)
{
    char graphviz[PATH_MAX];
    if (o->format && !find_graphviz(graphviz, sizeof graphviz)) {
        fprintf(stderr, CMD ": --%s needs Graphviz's `dot` program, which is not on PATH (hint: install the "
                        "Debian package graphviz: apt-get install graphviz; or write dot text without --%s)\n",
                o->format, o->format);
        return -1;
    }
    size_t len = 0;
    char *text = dot_text(m, &len);
    if (!text) {
        fprintf(stderr, CMD ": out of memory\n");
        return -1;
    }
    int fd = open_output(o), rc = fd < 0 ? -1 : 0;
    if (rc == 0 && o->format)
        rc = run_graphviz(graphviz, o->format, text, len, fd);
    else if (rc == 0 && !write_all(fd, text, len)) {
        fprintf(stderr, CMD ": cannot write %s: %s\n", o->output ? o->output : "stdout", strerror(errno));
        rc = -1;
    }
    if (fd > STDOUT_FILENO && close(fd) != 0 && rc == 0) {
        fprintf(stderr, CMD ": cannot write %s: %s\n", o->output, strerror(errno));
        rc = -1;
    }
    if (fd > STDOUT_FILENO && rc != 0)
        unlink(o->output); /* no half picture left behind */
    free(text);
    return rc;
}

/* ---- the command ---- */

static int dot_of_file(const dot_options *o)
{
    char err[2048];
    mqs_graph *g;
    if (mqs_graph_load(o->which, NULL, 0, &g, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return MQCTL_FAILED;
    }
    mqctl_dot_graph m;
    int rc = mqctl_dot_picture_of_file(g, &m);
    if (rc != 0)
        fprintf(stderr, CMD ": out of memory\n");
    else
        rc = emit(o, &m);
    mqctl_dot_picture_free(&m);
    mqs_graph_free(g);
    return rc == 0 ? MQCTL_OK : MQCTL_FAILED;
}

static int dot_of_run(const dot_options *o)
{
    mqs_run_info run;
    mqs_domain *d;
    if (mqctl_find_run(CMD, o->which, &run) != 0)
        return MQCTL_FAILED;
    if (mqs_domain_observe(run.domain, &d) != 0) {
        fprintf(stderr, CMD ": cannot read %s: %s\n", run.domain, mqs_last_error());
        return MQCTL_FAILED;
    }
    mqs_stats_snapshot *before = mqs_stats_take(d);
    mqs_sleep_ns(o->interval_ns);
    mqs_stats_snapshot *now = before ? mqs_stats_take(d) : NULL;
    mqctl_dot_graph m = {0};
    char caption[256];
    int rc = now ? mqctl_dot_picture_of_run(before, now, &m) : -ENOMEM;
    if (rc != 0)
        fprintf(stderr, CMD ": out of memory\n");
    else {
        m.name = run.graph;
        caption_of_run(&run, o->interval_ns, &m, caption, sizeof caption);
        m.caption = caption;
        rc = emit(o, &m);
    }
    mqctl_dot_picture_free(&m);
    mqs_stats_free(before);
    mqs_stats_free(now);
    mqs_domain_detach(d);
    return rc == 0 ? MQCTL_OK : MQCTL_FAILED;
}

int mqctl_dot(int argc, char **argv)
{
    dot_options o;
    if (parse_options(argc, argv, &o) != MQCTL_OK)
        return MQCTL_USAGE;
    signal(SIGPIPE, SIG_IGN); /* a Graphviz that dies early is reported, not fatal */
    return names_file(o.which) ? dot_of_file(&o) : dot_of_run(&o);
}
