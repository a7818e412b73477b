/* Python blocks (type: python): the module's functions called with
 * mqs.Buffer objects, and mqs.block, what the module calls back (alloc,
 * send, log, report, the clock). One block per worker process: the state
 * is this file's. The `python` plugin reaches the entry points through the
 * capsule in block_host.h. */
#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL pymqs_numpy_api
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include "pymqs.h"

#include "block_host.h"

#define MQS_BLOCK_MAX_OUTPUTS 64 /* above the graph's limit of ports per block */

typedef struct pymqs_block {
    PyObject_HEAD
    mqs_block_ctx *ctx; /* NULL outside a running block */
    PyObject *inputs;   /* tuple of port names */
    PyObject *outputs;
} pymqs_block;

static pymqs_block *the_block; /* mqs.block */
static PyObject *fn_process, *fn_produce, *fn_flush;
static PyObject *stopping_error; /* mqs.Stopping */
static PyObject *eos;            /* mqs.EOS */
static uint64_t allocated[MQS_BLOCK_MAX_OUTPUTS]; /* per output: the seq of a buffer alloc() makes alone */

void pymqs_block_buffer_gone(PyObject *owner, mqs_buffer *view)
{
    pymqs_block *b = (pymqs_block *)owner;
    if (b->ctx) /* after fini the host has returned everything */
        mqs_unref(b->ctx, view);
}

/* ---- errors ---- */

static PyObject *raise_rc(int rc, const char *what)
{
    if (rc == -ECANCELED)
        return PyErr_Format(stopping_error, "%s: the graph is stopping", what), NULL;
    return PyErr_Format(pymqs_error, "%s: %s", what, mqs_strerror(rc)), NULL;
}

static mqs_block_ctx *running(void)
{
    if (!the_block->ctx)
        PyErr_SetString(pymqs_error, "mqs.block is only there inside a running `type: python` block");
    return the_block->ctx;
}

static void error_text(char *out, size_t size)
{
    PyObject *type, *exc, *trace;
    PyErr_Fetch(&type, &exc, &trace);
    PyErr_NormalizeException(&type, &exc, &trace);
    if (exc && trace)
        PyException_SetTraceback(exc, trace);
    PyObject *spec = PyImport_ImportModule("mqs._blockspec");
    PyObject *text = spec && exc ? PyObject_CallMethod(spec, "exception_text", "O", exc) : NULL;
    const char *s = text ? PyUnicode_AsUTF8(text) : NULL;
    snprintf(out, size, "%s", s ? s : "(an exception that could not be formatted)");
    PyErr_Clear();
    Py_XDECREF(text);
    Py_XDECREF(spec);
    Py_XDECREF(type);
    Py_XDECREF(exc);
    Py_XDECREF(trace);
}

/* The exception that ended a call of the module: mqs.Stopping is the graph
 * stopping (-ECANCELED); anything else is logged with its traceback. */
static int failed(mqs_block_ctx *ctx, const char *where)
{
    if (PyErr_ExceptionMatches(stopping_error)) {
        PyErr_Clear();
        return -ECANCELED;
    }
    static char text[16384];
    error_text(text, sizeof text);
    mqs_log(ctx, MQS_LOG_ERROR, "%s raised an exception:\n%s", where, text);
    return -ENOTRECOVERABLE;
}

/* ---- mqs.block: what a module calls ---- */

/* An output given by index or name. */
static int output_index(PyObject *which, uint32_t *out)
{
    Py_ssize_t n = PyTuple_GET_SIZE(the_block->outputs);
    if (PyLong_Check(which)) {
        Py_ssize_t i = PyLong_AsSsize_t(which);
        if (i >= 0 && i < n)
            return *out = (uint32_t)i, 0;
    } else if (PyUnicode_Check(which)) {
        for (Py_ssize_t i = 0; i < n; i++)
            if (PyUnicode_Compare(which, PyTuple_GET_ITEM(the_block->outputs, i)) == 0)
                return *out = (uint32_t)i, 0;
    }
    PyErr_Format(PyExc_ValueError, "no output %R: the block's outputs are %R", which, the_block->outputs);
    return -1;
}

/* A new buffer's header and length from what its output carries. */
static void shape_from_caps(mqs_buffer *buf, const mqs_caps *caps)
{
    mqs_buffer_meta *m = buf->meta;
    m->header_type = caps->header_type;
    memset(&m->header, 0, sizeof m->header);
    m->length = buf->capacity;
    if (caps->header_type == MQS_HEADER_VIDEO) {
        uint32_t stride = caps->width * (caps->format == MQS_FORMAT_RGB24 ? 3 : 1);
        m->header.video = (mqs_video_header){.width = caps->width, .height = caps->height, .format = caps->format,
                                             .stride = stride};
        m->length = mqs_video_frame_size(caps->format, caps->width, caps->height);
    } else if (caps->header_type == MQS_HEADER_SENSOR) {
        m->header.sensor.sample_type = caps->sample_type;
    }
}

static PyObject *block_alloc(pymqs_block *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"output", "like", NULL};
    PyObject *which = NULL, *like = Py_None;
    mqs_block_ctx *ctx = running();
    if (!ctx || !PyArg_ParseTupleAndKeywords(args, kw, "|OO:alloc", names, &which, &like))
        return NULL;
    uint32_t o = 0;
    if (which && output_index(which, &o) != 0)
        return NULL;
    if (o >= MQS_BLOCK_MAX_OUTPUTS)
        return PyErr_Format(pymqs_error, "alloc: output %u is beyond the %d a Python block may have", o,
                            MQS_BLOCK_MAX_OUTPUTS), NULL;
    if (like != Py_None && !PyObject_TypeCheck(like, &pymqs_buffer_type))
        return PyErr_Format(PyExc_TypeError, "like= takes an mqs.Buffer, not %s", Py_TYPE(like)->tp_name), NULL;
    mqs_buffer buf;
    int rc = mqs_alloc(ctx, o, &buf);
    if (rc)
        return raise_rc(rc, "alloc");
    /* Like another buffer: its timing, flags and seq (1:1, so downstream
     * still sees upstream's gaps). Else the output's own count. */
    buf.meta->pts = buf.meta->duration = 0;
    buf.meta->flags = 0;
    buf.meta->seq = allocated[o];
    if (like != Py_None) {
        const mqs_buffer_meta *from = ((pymqs_buffer *)like)->view.meta;
        buf.meta->pts = from->pts, buf.meta->duration = from->duration, buf.meta->flags = from->flags;
        buf.meta->seq = from->seq;
    }
    allocated[o]++;
    shape_from_caps(&buf, &ctx->output_caps[o]);
    return pymqs_buffer_new_in_block((PyObject *)self, &buf, 1);
}

static PyObject *block_send(pymqs_block *self, PyObject *args)
{
    (void)self;
    PyObject *which;
    pymqs_buffer *b;
    mqs_block_ctx *ctx = running();
    uint32_t o;
    if (!ctx || !PyArg_ParseTuple(args, "OO!:send", &which, &pymqs_buffer_type, &b) || output_index(which, &o) != 0)
        return NULL;
    if (Py_IS_TYPE(b->owner, &pymqs_tap_type))
        return PyErr_Format(pymqs_error, "send: a tap's buffer belongs to another graph's reader"), NULL;
    /* The Buffer keeps its own reference (arrays may still point at it):
     * what travels is a new one. */
    mqs_buffer ref;
    int rc = mqs_ref(ctx, &b->view, &ref);
    if (rc)
        return raise_rc(rc, "send");
    b->writable = 0;
    rc = mqs_send(ctx, o, &ref);
    return rc < 0 ? raise_rc(rc, "send") : PyLong_FromLong(rc);
}

static PyObject *block_log(pymqs_block *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"message", "level", NULL};
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    const char *message, *level = "info";
    mqs_block_ctx *ctx = running();
    if (!ctx || !PyArg_ParseTupleAndKeywords(args, kw, "s|s:log", names, &message, &level))
        return NULL;
    for (int i = 0; i < 4; i++)
        if (strcmp(level, levels[i]) == 0) {
            mqs_log(ctx, i, "%s", message);
            Py_RETURN_NONE;
        }
    return PyErr_Format(PyExc_ValueError, "level '%s' is not one of error, warn, info, debug", level), NULL;
}

static PyObject *block_report(pymqs_block *self, PyObject *args)
{
    (void)self;
    const char *key;
    double value;
    mqs_block_ctx *ctx = running();
    if (!ctx || !PyArg_ParseTuple(args, "sd:report", &key, &value))
        return NULL;
    mqs_report(ctx, key, value);
    Py_RETURN_NONE;
}

static PyObject *block_now(pymqs_block *self, PyObject *unused)
{
    (void)self, (void)unused;
    mqs_block_ctx *ctx = running();
    return ctx ? PyLong_FromLongLong(mqs_now(ctx)) : NULL;
}

static PyObject *block_start_time(pymqs_block *self, PyObject *unused)
{
    (void)self, (void)unused;
    mqs_block_ctx *ctx = running();
    return ctx ? PyLong_FromLongLong(mqs_start_time(ctx)) : NULL;
}

static PyObject *block_stopping(pymqs_block *self, PyObject *unused)
{
    (void)self, (void)unused;
    mqs_block_ctx *ctx = running();
    return ctx ? PyBool_FromLong(mqs_stopping(ctx)) : NULL;
}

static PyObject *block_wait_until(pymqs_block *self, PyObject *args)
{
    (void)self;
    long long when;
    mqs_block_ctx *ctx = running();
    if (!ctx || !PyArg_ParseTuple(args, "L:wait_until", &when))
        return NULL;
    int rc = mqs_wait_until(ctx, when);
    if (rc == -EINTR)
        rc = 0; /* a signal the host handles; the graph's stop shows as -ECANCELED */
    return rc ? raise_rc(rc, "wait_until") : Py_NewRef(Py_None);
}

static PyObject *block_input_set(pymqs_block *self, PyObject *unused)
{
    (void)self, (void)unused;
    mqs_block_ctx *ctx = running();
    const mqs_input_set *s;
    if (!ctx)
        return NULL;
    int rc = mqs_input_set_get(ctx, &s);
    if (rc)
        return raise_rc(rc, "input_set");
    return Py_BuildValue("{s:L,s:L,s:O}", "pts", (long long)s->pts, "spread", (long long)s->spread, "partial",
                         (s->flags & MQS_SET_PARTIAL) ? Py_True : Py_False);
}

static PyObject *block_get(pymqs_block *self, void *closure)
{
    const char *what = closure;
    if (!strcmp(what, "active"))
        return PyBool_FromLong(self->ctx != NULL);
    if (!running())
        return NULL;
    if (!strcmp(what, "name"))
        return PyUnicode_FromString(self->ctx->instance);
    return Py_NewRef(!strcmp(what, "inputs") ? self->inputs : self->outputs);
}

static PyMethodDef block_methods[] = {
    {"alloc", (PyCFunction)(void (*)(void))block_alloc, METH_VARARGS | METH_KEYWORDS,
     "alloc(output=0, like=None) -> Buffer: a new buffer of the output (index or name), writable, its header and "
     "length set from what the output carries; like= copies pts, duration and flags from another buffer. Waits "
     "while the output's pool is exhausted"},
    {"send", (PyCFunction)block_send, METH_VARARGS,
     "send(output, buffer) -> int: send the buffer (allocated, or an input to forward without a copy) on the "
     "output; returns how many inputs it reached. The buffer is read-only from then on"},
    {"log", (PyCFunction)(void (*)(void))block_log, METH_VARARGS | METH_KEYWORDS,
     "log(message, level='info'): a line in the graph's log (error, warn, info, debug)"},
    {"report", (PyCFunction)block_report, METH_VARARGS, "report(key, value): a statistic for mqrun --stats and mqctl"},
    {"now", (PyCFunction)block_now, METH_NOARGS, "now() -> int: the graph's clock (CLOCK_MONOTONIC), ns"},
    {"start_time", (PyCFunction)block_start_time, METH_NOARGS, "start_time() -> int: when the graph started, ns"},
    {"stopping", (PyCFunction)block_stopping, METH_NOARGS, "stopping() -> bool: the graph is stopping"},
    {"wait_until", (PyCFunction)block_wait_until, METH_VARARGS,
     "wait_until(ns): sleep until that time on the graph's clock; raises mqs.Stopping when the graph stops first"},
    {"input_set", (PyCFunction)block_input_set, METH_NOARGS,
     "input_set() -> dict: the current input set's pts, spread (ns) and partial (an input is missing)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef block_getset[] = {
    {"active", (getter)block_get, NULL, "whether this process runs a Python block", "active"},
    {"name", (getter)block_get, NULL, "the block's name in the graph", "name"},
    {"inputs", (getter)block_get, NULL, "the input port names, in order", "inputs"},
    {"outputs", (getter)block_get, NULL, "the output port names, in order", "outputs"},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject pymqs_block_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mqs.Block",
    .tp_doc = "mqs.block: the running Python block's services (only inside a `type: python` block).",
    .tp_basicsize = sizeof(pymqs_block),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = block_methods,
    .tp_getset = block_getset,
};

/* ---- the host's entry points ---- */

/* One declared param's value, typed as declared. */
static PyObject *param_value(const mqs_params *p, const char *key, const char *type)
{
    if (!strcmp(type, "double"))
        return PyFloat_FromDouble(mqs_param_double(p, key));
    if (!strcmp(type, "bool"))
        return PyBool_FromLong(mqs_param_bool(p, key));
    if (!strcmp(type, "string") || !strcmp(type, "enum"))
        return PyUnicode_FromString(mqs_param_string(p, key));
    return PyLong_FromLongLong(mqs_param_int(p, key)); /* int, duration (ns), size (bytes) */
}

static PyObject *params_dict(const mqs_params *p, PyObject *declared)
{
    PyObject *dict = PyDict_New();
    for (Py_ssize_t i = 0; dict && i < PyList_Size(declared); i++) {
        PyObject *spec = PyList_GET_ITEM(declared, i);
        const char *key = PyUnicode_AsUTF8(PyDict_GetItemString(spec, "key"));
        const char *type = PyUnicode_AsUTF8(PyDict_GetItemString(spec, "type"));
        PyObject *v = key && type ? param_value(p, key, type) : NULL;
        if (!v || PyDict_SetItemString(dict, key, v) != 0)
            Py_CLEAR(dict);
        Py_XDECREF(v);
    }
    return dict;
}

static PyObject *port_names(PyObject *ports)
{
    Py_ssize_t n = PyList_Size(ports);
    PyObject *t = PyTuple_New(n);
    for (Py_ssize_t i = 0; t && i < n; i++)
        PyTuple_SET_ITEM(t, i, Py_NewRef(PyDict_GetItemString(PyList_GET_ITEM(ports, i), "name")));
    return t;
}

static PyObject *function(PyObject *module, const char *name)
{
    PyObject *f = PyObject_GetAttrString(module, name);
    if (!f || !PyCallable_Check(f))
        Py_CLEAR(f);
    PyErr_Clear();
    return f;
}

/* Load the module and read its declaration (as the launcher did). */
static PyObject *load(const char *path, PyObject **decl)
{
    PyObject *spec = PyImport_ImportModule("mqs._blockspec");
    PyObject *module = spec ? PyObject_CallMethod(spec, "load", "s", path) : NULL;
    *decl = module ? PyObject_CallMethod(spec, "declaration", "sO", path, module) : NULL;
    Py_XDECREF(spec);
    if (!*decl)
        Py_CLEAR(module);
    return module;
}

static int host_init(mqs_block_ctx *ctx, const char *path)
{
    PyObject *decl = NULL, *module = load(path, &decl), *params = NULL, *result = NULL;
    const char *stage = module ? "init()" : "loading the module";
    if (module) {
        params = params_dict(ctx->params, PyDict_GetItemString(decl, "params"));
        Py_XSETREF(the_block->inputs, port_names(PyDict_GetItemString(decl, "inputs")));
        Py_XSETREF(the_block->outputs, port_names(PyDict_GetItemString(decl, "outputs")));
    }
    if (params && the_block->inputs && the_block->outputs) {
        the_block->ctx = ctx;
        fn_process = function(module, "process");
        fn_produce = function(module, "produce");
        fn_flush = function(module, "flush");
        PyObject *init = function(module, "init");
        result = init ? PyObject_CallOneArg(init, params) : Py_NewRef(Py_None);
        Py_XDECREF(init);
    }
    Py_XDECREF(params);
    Py_XDECREF(decl);
    Py_XDECREF(module);
    if (result) {
        Py_DECREF(result);
        return 0;
    }
    return failed(ctx, stage);
}

static int host_process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    PyObject *inputs = PyList_New(ctx->input_count);
    if (!inputs)
        return failed(ctx, "process()");
    for (uint32_t i = 0; i < ctx->input_count; i++) {
        mqs_buffer ref;
        int rc = in[i] ? mqs_ref(ctx, in[i], &ref) : 0;
        PyObject *item = !in[i] ? Py_NewRef(Py_None)
                         : rc == 0 ? pymqs_buffer_new_in_block((PyObject *)the_block, &ref, 0)
                                   : raise_rc(rc, "holding an input (too many buffers kept?)");
        if (!item) {
            Py_DECREF(inputs);
            return failed(ctx, "process()");
        }
        PyList_SET_ITEM(inputs, i, item);
    }
    PyObject *result = PyObject_CallOneArg(fn_process, inputs);
    Py_DECREF(inputs); /* buffers the module kept stay referenced until it drops them */
    if (!result)
        return failed(ctx, "process()");
    Py_DECREF(result);
    return 0;
}

static int host_produce(mqs_block_ctx *ctx)
{
    PyObject *result = PyObject_CallNoArgs(fn_produce);
    if (!result)
        return failed(ctx, "produce()");
    int rc = result == eos ? MQS_EOS : 0;
    Py_DECREF(result);
    return rc;
}

static int host_flush(mqs_block_ctx *ctx)
{
    if (!fn_flush)
        return 0;
    PyObject *result = PyObject_CallNoArgs(fn_flush);
    if (!result)
        return failed(ctx, "flush()");
    Py_DECREF(result);
    return 0;
}

/* Drop the module's functions and collect what they held while the
 * context can still return references; then the host takes the rest. */
static void host_fini(mqs_block_ctx *ctx)
{
    (void)ctx;
    Py_CLEAR(fn_process);
    Py_CLEAR(fn_produce);
    Py_CLEAR(fn_flush);
    PyGC_Collect();
    the_block->ctx = NULL;
}

static const pymqs_block_host host = {
    .size = sizeof(pymqs_block_host),
    .init = host_init,
    .process = host_process,
    .produce = host_produce,
    .flush = host_flush,
    .fini = host_fini,
    .error_text = error_text,
};

int pymqs_block_init(PyObject *module)
{
    the_block = PyObject_New(pymqs_block, &pymqs_block_type);
    if (!the_block)
        return -1;
    the_block->ctx = NULL;
    the_block->inputs = PyTuple_New(0);
    the_block->outputs = PyTuple_New(0);
    stopping_error = PyErr_NewExceptionWithDoc("mqs.Stopping", "The graph is stopping (raised by mqs.block calls "
                                               "that wait; a block may let it propagate).", pymqs_error, NULL);
    eos = PyUnicode_InternFromString("mqs.EOS");
    PyObject *capsule = PyCapsule_New((void *)&host, PYMQS_BLOCK_HOST_CAPSULE, NULL);
    if (!the_block->inputs || !the_block->outputs || !stopping_error || !eos || !capsule ||
        PyModule_AddObject(module, "block", Py_NewRef((PyObject *)the_block)) != 0 ||
        PyModule_AddObject(module, "Stopping", Py_NewRef(stopping_error)) != 0 ||
        PyModule_AddObject(module, "EOS", Py_NewRef(eos)) != 0 ||
        PyModule_AddObject(module, "_block_host", capsule) != 0)
        return -1;
    return 0;
}
