/* The `python` block (type: python, params: { module: block.py }): hosts
 * the interpreter in the block's worker and drives the module through the
 * `mqs` extension (runtime/python/block_host.h).
 *
 * The launcher never starts an interpreter: what a module declares is read
 * in a forked child (describe), and the declaration also gives each
 * output's caps (negotiate). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "graph/module_block.h"
#include "mqs/block.h"
#include "python/block_host.h"

#define DESCRIBE_TIMEOUT_MS 60000 /* importing numpy, torch or the like on a loaded machine */
#define DESCRIBE_MAX (1 << 20)

/* ---- the interpreter ---- */

/* The `mqs` package: in the build tree next to the blocks (<build>/python),
 * installed on python3's own path (dist-packages). */
static void package_dir(char *out, size_t size)
{
    Dl_info info;
    char self[PATH_MAX];
    out[0] = '\0';
    if (!dladdr((void *)package_dir, &info) || !info.dli_fname || !realpath(info.dli_fname, self))
        return;
    snprintf(out, size, "%s/../python", dirname(self));
    struct stat st;
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode))
        out[0] = '\0';
}

/* Start Python in this process: its symbols made global first, so the
 * extension modules it imports (numpy's, ours) find them; no signal
 * handlers (the worker's own stop the block). */
static int start_python(char *err, size_t errlen)
{
    if (Py_IsInitialized())
        return 0;
    char lib[64];
    snprintf(lib, sizeof lib, "libpython%d.%d.so.1.0", PY_MAJOR_VERSION, PY_MINOR_VERSION);
    if (!dlopen(lib, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL)) {
        snprintf(err, errlen, "cannot make %s's symbols global: %s", lib, dlerror());
        return -1;
    }
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.install_signal_handlers = 0;
    config.parse_argv = 0;
    PyStatus st = PyConfig_SetBytesString(&config, &config.program_name, "mqs-worker");
    if (!PyStatus_Exception(st))
        st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st)) {
        snprintf(err, errlen, "cannot start Python: %s", st.err_msg ? st.err_msg : "unknown error");
        return -1;
    }
    char dir[PATH_MAX];
    package_dir(dir, sizeof dir);
    PyObject *path = PySys_GetObject("path"), *entry = dir[0] ? PyUnicode_FromString(dir) : NULL;
    if (entry && path)
        PyList_Insert(path, 0, entry);
    Py_XDECREF(entry);
    return 0;
}

static const pymqs_block_host *host;

/* Python started and the `mqs` extension's entry points in `host`. */
static int load_host(char *err, size_t errlen)
{
    if (host)
        return 0;
    if (start_python(err, errlen) != 0)
        return -1;
    const pymqs_block_host *h = PyCapsule_Import(PYMQS_BLOCK_HOST_CAPSULE, 0);
    if (h && h->size >= sizeof *h) {
        host = h;
        return 0;
    }
    PyObject *type, *value, *trace;
    PyErr_Fetch(&type, &value, &trace);
    PyObject *why = value ? PyObject_Str(value) : NULL;
    snprintf(err, errlen, "cannot load the mqs module: %s (hint: it is built with the runtime, into python/ next "
             "to the blocks)", why ? PyUnicode_AsUTF8(why) : "it is older than this block host: rebuild both");
    PyErr_Clear();
    Py_XDECREF(why);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(trace);
    return -1;
}

/* ---- describe: in a forked child ---- */

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w, n -= (size_t)w;
    }
}

/* The child: 'J' and the declaration, or 'E' and what went wrong. */
static _Noreturn void describe_child(const char *path, int fd)
{
    static char err[16384];
    err[0] = 'E';
    if (load_host(err + 1, sizeof err - 1) != 0) {
        write_all(fd, err, strlen(err));
        _exit(1);
    }
    PyObject *spec = PyImport_ImportModule("mqs._blockspec");
    PyObject *json = spec ? PyObject_CallMethod(spec, "describe", "s", path) : NULL;
    const char *text = json ? PyUnicode_AsUTF8(json) : NULL;
    if (text) {
        write_all(fd, "J", 1);
        write_all(fd, text, strlen(text));
    } else {
        host->error_text(err + 1, sizeof err - 1);
        write_all(fd, err, strlen(err));
    }
    fflush(NULL);
    _exit(text ? 0 : 1);
}

/* Read what the child writes until it closes the pipe (or the time is up). */
static ssize_t read_reply(int fd, char *buf, size_t size)
{
    size_t got = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = DESCRIBE_TIMEOUT_MS - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) == 0)
            return -ETIMEDOUT;
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || got + (size_t)n >= size - 1) {
            got += n > 0 ? (size_t)n : 0;
            buf[got] = '\0';
            return (ssize_t)got;
        }
        got += (size_t)n;
    }
}

static char *describe_in_child(const char *path, char *err, size_t errlen)
{
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(err, errlen, "Python block %s: cannot read its declaration: %s", path, strerror(errno));
        return NULL;
    }
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        describe_child(path, fds[1]);
    }
    close(fds[1]);
    char *buf = child > 0 ? malloc(DESCRIBE_MAX) : NULL;
    ssize_t n = buf ? read_reply(fds[0], buf, DESCRIBE_MAX) : -ENOMEM;
    close(fds[0]);
    if (child > 0) {
        if (n == -ETIMEDOUT)
            kill(child, SIGKILL);
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (n > 0 && buf[0] == 'J')
        return buf;
    if (n == -ETIMEDOUT)
        snprintf(err, errlen, "Python block %s: loading it took longer than %d s", path, DESCRIBE_TIMEOUT_MS / 1000);
    else if (n > 0 && strncmp(buf + 1, path, strlen(path)) == 0)
        snprintf(err, errlen, "Python block %s", buf + 1); /* the module's own message names it */
    else if (n > 0)
        snprintf(err, errlen, "Python block %s: %s", path, buf + 1);
    else
        snprintf(err, errlen, "Python block %s: loading it failed without a word (it may have crashed)", path);
    free(buf);
    return NULL;
}

/* Declarations read so far, by path: the launcher asks again at negotiate. */
#define CACHE_MAX 64
static struct {
    char *path;
    char *json; /* 'J' and the text */
} cache[CACHE_MAX];

static const char *cached(const char *path)
{
    for (int i = 0; i < CACHE_MAX && cache[i].path; i++)
        if (strcmp(cache[i].path, path) == 0)
            return cache[i].json + 1;
    return NULL;
}

__attribute__((visibility("default"))) const char *mqs_block_describe_module_v1(const char *path, char *err,
                                                                                 size_t errlen);
const char *mqs_block_describe_module_v1(const char *path, char *err, size_t errlen)
{
    const char *known = cached(path);
    if (known)
        return known;
    char *json = describe_in_child(path, err, errlen);
    if (!json)
        return NULL;
    for (int i = 0; i < CACHE_MAX; i++)
        if (!cache[i].path) {
            cache[i].path = strdup(path);
            cache[i].json = json;
            return json + 1;
        }
    free(json); /* more modules than a graph has blocks: keep the first ones */
    snprintf(err, errlen, "Python block %s: more than %d modules in one process", path, CACHE_MAX);
    return NULL;
}

/* ---- negotiate: each output's caps from the declaration ---- */

/* A number in an output's declaration, or "$param": that param's value. */
static int caps_number(const mqs_params *p, json_t *caps, const char *key, double *out)
{
    json_t *v = json_object_get(caps, key);
    if (!v)
        return 0;
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 1;
    }
    *out = mqs_param_double(p, json_string_value(v) + 1);
    return 1;
}

static uint32_t code_of(json_t *v, const char *const names[], uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (json_is_string(v) && strcmp(json_string_value(v), names[i]) == 0)
            return i;
    return 0;
}

static int output_caps(const mqs_params *p, json_t *port, mqs_caps *c)
{
    static const char *const formats[] = {"any", "rgb24", "gray8", "i420"};
    static const char *const headers[] = {"any", "video", "sensor"};
    json_t *caps = json_object_get(port, "caps");
    if (json_object_get(caps, "header"))
        c->header_type = code_of(json_object_get(caps, "header"), headers, 3);
    if (json_object_get(caps, "format")) {
        c->header_type = MQS_HEADER_VIDEO;
        c->format = code_of(json_object_get(caps, "format"), formats, 4);
    }
    double v;
    if (caps_number(p, caps, "width", &v))
        c->width = (uint32_t)v;
    if (caps_number(p, caps, "height", &v))
        c->height = (uint32_t)v;
    if (caps_number(p, caps, "rate", &v))
        c->rate = v;
    if (caps_number(p, caps, "slots", &v))
        c->slot_count = (uint32_t)v;
    const char *name = json_string_value(json_object_get(port, "name"));
    if (c->header_type == MQS_HEADER_VIDEO) {
        if (!c->width || !c->height || !c->format)
            return mqs_params_fail(p, "output '%s' carries video: declare its format, width and height (or take "
                                   "them from input 0)", name);
        c->slot_size = mqs_video_frame_size(c->format, c->width, c->height);
    }
    if (caps_number(p, caps, "slot_size", &v))
        c->slot_size = (uint64_t)v;
    if (!c->slot_size || !c->slot_count)
        return mqs_params_fail(p, "output '%s' has no slot_size or slots", name);
    return 0;
}

static int py_negotiate(const mqs_params *p, const mqs_caps *inputs, uint32_t input_count, mqs_caps *outputs,
                        uint32_t output_count)
{
    char err[512];
    const char *text = mqs_block_describe_module_v1(mqs_param_string(p, "module"), err, sizeof err);
    json_t *decl = text ? json_loads(text, 0, NULL) : NULL;
    json_t *ports = json_object_get(decl, "outputs");
    int rc = decl ? 0 : mqs_params_fail(p, "%s", err);
    for (uint32_t o = 0; rc == 0 && o < output_count; o++) {
        bool from_input = input_count && !(inputs[0].flags & MQS_CAPS_ABSENT);
        outputs[o] = from_input ? inputs[0] : (mqs_caps){.slot_count = 8, .slot_size = 4096};
        outputs[o].flags = 0;
        rc = output_caps(p, json_array_get(ports, o), &outputs[o]);
    }
    json_decref(decl);
    return rc;
}

/* ---- the block ---- */

/* Between calls the worker waits in C: it lets go of the GIL, so threads
 * the module started run meanwhile (uncontended, taking it back is an
 * atomic operation, no system call). */
static PyThreadState *between_calls;

static void enter(void)
{
    PyEval_RestoreThread(between_calls);
}

static int leave(int rc)
{
    between_calls = PyEval_SaveThread();
    return rc;
}

static int py_init(mqs_block_ctx *ctx)
{
    char err[512];
    if (load_host(err, sizeof err) != 0) {
        mqs_log(ctx, MQS_LOG_ERROR, "%s", err);
        return -ENOTRECOVERABLE;
    }
    return leave(host->init(ctx, mqs_param_string(ctx->params, "module")));
}

static int py_process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    enter();
    return leave(host->process(ctx, in));
}

static int py_produce(mqs_block_ctx *ctx)
{
    enter();
    return leave(host->produce(ctx));
}

static int py_flush(mqs_block_ctx *ctx)
{
    enter();
    return leave(host->flush(ctx));
}

/* Return what Python holds, then end the interpreter: it flushes the
 * module's prints and runs its atexit handlers. */
static void py_fini(mqs_block_ctx *ctx)
{
    if (!host)
        return;
    enter();
    host->fini(ctx);
    Py_FinalizeEx();
}

static const mqs_param_spec params[] = {
    {.key = "module", .type = MQS_PARAM_STRING,
     .help = "the block's Python file, relative to the graph file's directory"},
};

MQS_BLOCK_EXPORT(python) = {
    MQS_BLOCK_HEADER,
    .name = "python",
    .summary = "a block written in Python: its module declares ports and params (docs/python.md)",
    .kind = MQS_BLOCK_FILTER,
    .params = params,
    .param_count = 1,
    .negotiate = py_negotiate,
    .init = py_init,
    .process = py_process,
    .produce = py_produce,
    .flush = py_flush,
    .fini = py_fini,
};
