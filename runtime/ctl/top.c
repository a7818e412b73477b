/* mqctl top: the figures of a running graph refreshed every interval, like
 * top or pw-top. On a terminal it redraws in place and reads keys (q quits,
 * s/S change the sort column); through a pipe it prints a block of plain
 * lines per interval. It ends when asked (q, SIGINT, SIGTERM, SIGHUP,
 * --iterations) or when the run does, the terminal always left as it was
 * found. What the lines say is top_view.c's business. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"
#include "top_view.h"

#define CMD "mqctl top"
#define USAGE "usage: mqctl top GRAPH [--interval DURATION] [--sort COLUMN] [--iterations N]"
#define DEFAULT_INTERVAL_NS 1000000000LL
#define MAX_RUNS 1024

typedef struct top_options {
    const char *which;
    int64_t interval_ns;
    top_sort sort;
    long long iterations; /* frames to show; 0: until stopped */
} top_options;

/* Where the frames go: a terminal redrawn in place, or plain lines. */
typedef struct terminal {
    bool screen;            /* stdout is a terminal */
    bool keys;              /* stdin is a terminal, in no-echo mode until terminal_leave */
    struct termios saved;   /* stdin's settings to restore */
    unsigned rows, cols;
    bool clear;             /* clear the whole screen at the next draw */
} terminal;

/* What one run of top keeps between intervals. */
typedef struct top_state {
    mqs_domain *domain;
    mqs_run_info run;
    mqs_stats_snapshot *before, *now;
    top_frame frame;
    top_view_options view;
    int64_t interval_ns;
    sigset_t waiting_mask;  /* the signal mask while waiting: ours delivered */
    terminal term;
} top_state;

/* Why the loop ended. */
typedef enum top_end { TOP_QUIT, TOP_RUN_ENDED, TOP_OUT_OF_MEMORY } top_end;

static volatile sig_atomic_t stop_requested, resized;

/* ---- options ---- */

/* The value of the option at argv[*i], which it steps over; NULL if none. */
static const char *option_value(int argc, char **argv, int *i)
{
    return *i + 1 < argc ? argv[++*i] : NULL;
}

static bool parse_iterations(const char *text, long long *out)
{
    char *end;
    errno = 0;
    long long n = text ? strtoll(text, &end, 10) : 0;
    if (!text) {
        fprintf(stderr, CMD ": --iterations needs a number of frames (e.g. --iterations 5)\n");
        return false;
    }
    if (errno || end == text || *end || n < 1) {
        fprintf(stderr, CMD ": --iterations '%s': give a whole number of frames, 1 or more\n", text);
        return false;
    }
    *out = n;
    return true;
}

static bool parse_sort(const char *text, top_sort *out)
{
    if (text && top_sort_parse(text, out))
        return true;
    if (text)
        fprintf(stderr, CMD ": --sort '%s': no such column (columns: %s)\n", text, top_sort_list());
    else
        fprintf(stderr, CMD ": --sort needs a column (columns: %s)\n", top_sort_list());
    return false;
}

static int parse_options(int argc, char **argv, top_options *o)
{
    *o = (top_options){.interval_ns = DEFAULT_INTERVAL_NS, .sort = TOP_SORT_BUSY};
    for (int i = 1; i < argc; i++) {
        bool ok = true;
        if (strcmp(argv[i], "--interval") == 0)
            ok = mqctl_parse_duration(CMD, "--interval", option_value(argc, argv, &i), &o->interval_ns);
        else if (strcmp(argv[i], "--sort") == 0)
            ok = parse_sort(option_value(argc, argv, &i), &o->sort);
        else if (strcmp(argv[i], "--iterations") == 0)
            ok = parse_iterations(option_value(argc, argv, &i), &o->iterations);
        else if (argv[i][0] == '-' || o->which) {
            fprintf(stderr, CMD ": unexpected argument '%s' (" USAGE ")\n", argv[i]);
            return MQCTL_USAGE;
        } else
            o->which = argv[i];
        if (!ok)
            return MQCTL_USAGE;
    }
    if (!o->which) {
        fprintf(stderr, CMD ": which graph? (" USAGE "; mqctl ls lists them)\n");
        return MQCTL_USAGE;
    }
    return MQCTL_OK;
}

/* ---- signals and the terminal ---- */

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_resize(int sig)
{
    (void)sig;
    resized = 1;
}

/* Our signals stay blocked but while waiting (ppoll), so a flag set just
 * before the wait is never missed. `old` gets the mask to restore. */
static void catch_signals(sigset_t *old, sigset_t *waiting)
{
    static const int stops[] = {SIGINT, SIGTERM, SIGHUP};
    sigset_t ours;
    sigemptyset(&ours);
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        sigaction(stops[i], &sa, NULL);
        sigaddset(&ours, stops[i]);
    }
    sa.sa_handler = on_resize;
    sigaction(SIGWINCH, &sa, NULL);
    sigaddset(&ours, SIGWINCH);
    sigprocmask(SIG_BLOCK, &ours, old);
    *waiting = *old;
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&ours, sig) == 1)
            sigdelset(waiting, sig);
}

static void terminal_measure(terminal *t)
{
    struct winsize ws;
    bool known = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0;
    t->rows = known ? ws.ws_row : 24;
    t->cols = known ? ws.ws_col : 80;
    t->clear = true;
}

static void terminal_enter(terminal *t)
{
    t->screen = isatty(STDOUT_FILENO);
    t->keys = t->screen && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0;
    if (t->keys) {
        struct termios raw = t->saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 1, raw.c_cc[VTIME] = 0;
        raw.c_cc[VSUSP] = _POSIX_VDISABLE; /* Ctrl-Z would stop top with the terminal still silent */
        t->keys = tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
    }
    if (t->screen) {
        setvbuf(stdout, NULL, _IOFBF, 1 << 16); /* a frame reaches the terminal in one write */
        terminal_measure(t);
        fputs("\033[?25l", stdout); /* hide the cursor */
    }
}

static void terminal_leave(terminal *t)
{
    if (t->screen) {
        fputs("\033[?25h\n", stdout);
        fflush(stdout);
    }
    if (t->keys)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &t->saved);
    t->keys = false;
}

/* In place: home, each line cut to the width (one column spare, so no line
 * wraps), the bottleneck reversed, the rest of the screen cleared. */
static void draw_screen(terminal *t, const top_frame *f)
{
    fputs(t->clear ? "\033[H\033[2J" : "\033[H", stdout);
    t->clear = false;
    size_t rows = f->count < t->rows ? f->count : t->rows;
    for (size_t i = 0; i < rows; i++) {
        const top_line *line = &f->lines[i];
        size_t length = strlen(line->text), room = t->cols > 1 ? t->cols - 1 : 1;
        fputs(line->marked ? "\033[7m" : "", stdout);
        fwrite(line->text, 1, length < room ? length : room, stdout);
        fputs(line->marked ? "\033[m\033[K" : "\033[K", stdout);
        fputs(i + 1 < rows ? "\n" : "", stdout);
    }
    fputs("\033[J", stdout);
    fflush(stdout);
}

static void draw(terminal *t, const top_frame *f)
{
    if (t->screen) {
        draw_screen(t, f);
        return;
    }
    for (size_t i = 0; i < f->count; i++)
        puts(f->lines[i].text);
    fflush(stdout);
}

/* ---- the loop ---- */

/* The run `domain` names, while its mqrun lives: false once its objects are
 * gone or its launcher is dead. When /dev/shm cannot be read: alive. */
static bool run_alive(const char *graph, const char *domain, mqs_run_info *out)
{
    static mqs_run_info runs[MAX_RUNS];
    int n = mqs_runs_list(graph, runs, MAX_RUNS);
    if (n < 0)
        return true;
    for (int i = 0; i < n && i < MAX_RUNS; i++)
        if (strcmp(runs[i].domain, domain) == 0) {
            *out = runs[i];
            return runs[i].alive;
        }
    return false;
}

static void show(top_state *s)
{
    top_view_build(&s->frame, s->before, s->now, &s->view);
    draw(&s->term, &s->frame);
}

/* A key, or 0 when the time ran out or a signal came first. */
static int wait_for_key(top_state *s, int64_t ns)
{
    struct timespec timeout = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
    struct pollfd in = {.fd = STDIN_FILENO, .events = POLLIN};
    if (ppoll(&in, s->term.keys ? 1 : 0, &timeout, &s->waiting_mask) <= 0)
        return 0;
    unsigned char key;
    if (read(STDIN_FILENO, &key, 1) == 1)
        return key;
    s->term.keys = s->term.keys && (in.revents & (POLLHUP | POLLERR | POLLNVAL)) == 0;
    return 0;
}

/* Until the next frame is due, answering keys and a new terminal size at
 * once: false when the user quits. */
static bool wait_interval(top_state *s)
{
    int64_t due = mqs_now_ns() + s->interval_ns;
    for (;;) {
        if (stop_requested)
            return false;
        if (resized) {
            resized = 0;
            terminal_measure(&s->term);
            show(s);
        }
        int64_t left = due - mqs_now_ns();
        if (left <= 0)
            return true;
        int key = wait_for_key(s, left);
        if (key == 'q')
            return false;
        if (key == 's' || key == 'S') {
            s->view.sort = (top_sort)((s->view.sort + (key == 's' ? 1 : TOP_SORTS - 1)) % TOP_SORTS);
            show(s);
        }
    }
}

static top_end top_loop(top_state *s, long long iterations)
{
    for (long long shown = 0;;) {
        if (stop_requested)
            return TOP_QUIT;
        if (!run_alive(s->run.graph, s->run.domain, &s->run))
            return TOP_RUN_ENDED;
        mqs_stats_free(s->before);
        s->before = s->now;
        s->now = mqs_stats_take(s->domain);
        if (!s->now)
            return TOP_OUT_OF_MEMORY;
        show(s);
        if (iterations && ++shown >= iterations)
            return TOP_QUIT;
        if (!wait_interval(s))
            return TOP_QUIT;
    }
}

/* The run's graph and id, from the list of runs, by the domain's name. */
static bool describe_run(top_state *s)
{
    snprintf(s->run.domain, sizeof s->run.domain, "%s", mqs_domain_name(s->domain));
    if (!run_alive(NULL, s->run.domain, &s->run)) {
        fprintf(stderr, CMD ": the run %s ended\n", s->run.domain);
        return false;
    }
    s->view.graph = s->run.graph, s->view.run = s->run.run_id;
    return true;
}

static int top_run(top_state *s, long long iterations)
{
    sigset_t old;
    catch_signals(&old, &s->waiting_mask);
    terminal_enter(&s->term);
    s->view.keys_hint = s->term.keys;
    top_end end = top_loop(s, iterations);
    terminal_leave(&s->term);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (end == TOP_RUN_ENDED)
        printf("graph %s (run %s) ended\n", s->run.graph, s->run.run_id);
    if (end == TOP_OUT_OF_MEMORY)
        fprintf(stderr, CMD ": out of memory\n");
    fflush(stdout);
    return end == TOP_OUT_OF_MEMORY ? MQCTL_FAILED : MQCTL_OK;
}

int mqctl_top(int argc, char **argv)
{
    top_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc != MQCTL_OK)
        return rc;
    top_state s = {.interval_ns = o.interval_ns, .view = {.sort = o.sort}};
    s.domain = mqctl_open_run(CMD, o.which);
    if (!s.domain)
        return MQCTL_FAILED;
    rc = describe_run(&s) ? top_run(&s, o.iterations) : MQCTL_FAILED;
    mqs_stats_free(s.before);
    mqs_stats_free(s.now);
    top_frame_free(&s.frame);
    mqs_domain_detach(s.domain);
    return rc;
}
