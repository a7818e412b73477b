/* mqs.Tap: a consumer attached to an output of a running graph, with the
 * verbs of queue.Queue (get, get_nowait, qsize, empty). get() waits with the
 * GIL released, in slices, so other threads run and Ctrl-C interrupts it.
 * close() stops the output sending to it at once; the shared memory stays
 * mapped until the last Buffer taken from it is collected. */
#include "pymqs.h"

#define SLICE_NS 100000000LL /* how often a waiting get() looks at signals */

static PyObject *queue_empty; /* queue.Empty */

static void close_now(pymqs_tap *t)
{
    if (t->tap) {
        mqs_tap_close(t->tap);
        t->tap = NULL;
    }
}

void pymqs_tap_buffer_gone(pymqs_tap *t)
{
    if (t->closing && t->live_buffers == 0)
        close_now(t);
}

static int ensure_open(pymqs_tap *t)
{
    if (t->tap && !t->closing)
        return 0;
    PyErr_SetString(pymqs_error, "the tap is closed");
    return -1;
}

/* One receive of at most `timeout_ns` (MQS_FOREVER: no limit), GIL released. */
static int receive_slice(pymqs_tap *t, mqs_buffer_id *id, int64_t timeout_ns)
{
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = mqs_tap_receive(t->tap, id, timeout_ns);
    Py_END_ALLOW_THREADS
    return rc;
}

static PyObject *receive(pymqs_tap *t, bool block, double timeout_s)
{
    if (ensure_open(t) != 0)
        return NULL;
    int64_t left = !block ? 0 : timeout_s < 0 ? MQS_FOREVER : (int64_t)(timeout_s * 1e9);
    for (;;) {
        int64_t slice = left == MQS_FOREVER || left > SLICE_NS ? SLICE_NS : left;
        mqs_buffer_id id;
        int rc = receive_slice(t, &id, slice);
        if (rc == 0)
            return pymqs_buffer_new(t, id);
        if (rc == -EPIPE)
            return PyErr_Format(pymqs_end_of_stream, "%s ended its stream: nothing more will come", t->output), NULL;
        if (rc != -ETIMEDOUT)
            return pymqs_raise(rc, "tap get");
        if (left != MQS_FOREVER && (left -= slice) <= 0) {
            PyErr_SetNone(queue_empty);
            return NULL;
        }
        if (PyErr_CheckSignals() != 0)
            return NULL;
    }
}

static PyObject *tap_get(pymqs_tap *t, PyObject *args, PyObject *kw)
{
    static char *names[] = {"block", "timeout", NULL};
    int block = 1;
    PyObject *timeout = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|pO:get", names, &block, &timeout))
        return NULL;
    double seconds = -1;
    if (timeout != Py_None) {
        seconds = PyFloat_AsDouble(timeout);
        if (seconds == -1 && PyErr_Occurred())
            return NULL;
        if (seconds < 0)
            return PyErr_Format(PyExc_ValueError, "'timeout' must be a non-negative number"), NULL;
    }
    return receive(t, block, seconds);
}

static PyObject *tap_get_nowait(pymqs_tap *t, PyObject *unused)
{
    (void)unused;
    return receive(t, false, 0);
}

static PyObject *tap_qsize(pymqs_tap *t, PyObject *unused)
{
    (void)unused;
    return ensure_open(t) ? NULL : PyLong_FromUnsignedLong(mqs_tap_length(t->tap));
}

static PyObject *tap_empty(pymqs_tap *t, PyObject *unused)
{
    (void)unused;
    return ensure_open(t) ? NULL : PyBool_FromLong(mqs_tap_length(t->tap) == 0);
}

static PyObject *tap_close(pymqs_tap *t, PyObject *unused)
{
    (void)unused;
    if (t->tap)
        mqs_tap_stop(t->tap); /* now: nothing more is queued for us */
    t->closing = 1;
    pymqs_tap_buffer_gone(t);
    Py_RETURN_NONE;
}

static PyObject *tap_stats(pymqs_tap *t, PyObject *unused)
{
    (void)unused;
    if (!t->tap)
        return PyErr_Format(pymqs_error, "the tap is closed"), NULL;
    mqs_queue_stats q;
    int rc = mqs_queue_stats_get(mqs_tap_domain(t->tap), mqs_tap_queue(t->tap), &q);
    if (rc)
        return pymqs_raise(rc, "tap stats");
    return Py_BuildValue("{s:K,s:K,s:K,s:I,s:I,s:s,s:I}", "pushed", (unsigned long long)q.pushed, "popped",
                         (unsigned long long)q.popped, "dropped", (unsigned long long)q.dropped, "queued", q.length,
                         "depth", q.depth, "policy", mqs_queue_policy_name(q.policy), "held",
                         mqs_held_count(mqs_tap_domain(t->tap)));
}

/* The output's pool: slots and how many are in use, read through our mapping. */
static PyObject *tap_pool(pymqs_tap *t, PyObject *unused)
{
    (void)unused;
    if (!t->tap)
        return PyErr_Format(pymqs_error, "the tap is closed"), NULL;
    mqs_domain *d = mqs_tap_domain(t->tap);
    for (uint32_t o = 0; o < mqs_domain_output_count(d); o++) {
        if (strcmp(mqs_output_name(d, o), t->output) != 0)
            continue;
        mqs_pool_stats p;
        int rc = mqs_pool_stats_get(d, mqs_output_pool(d, o), &p);
        if (rc)
            return pymqs_raise(rc, "pool stats");
        return Py_BuildValue("{s:I,s:I,s:K}", "slots", p.slot_count, "in_use", p.in_use, "allocs",
                             (unsigned long long)p.allocs);
    }
    return pymqs_raise(-ENOENT, "pool of the tapped output");
}

static PyObject *tap_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *tap_exit(pymqs_tap *t, PyObject *args)
{
    (void)args;
    return tap_close(t, NULL);
}

static PyObject *tap_iternext(pymqs_tap *t)
{
    PyObject *b = receive(t, true, -1);
    if (!b && PyErr_ExceptionMatches(pymqs_end_of_stream))
        PyErr_Clear(); /* NULL without an error: StopIteration */
    return b;
}

static void tap_dealloc(pymqs_tap *t)
{
    close_now(t); /* no Buffer is left: each holds the tap */
    Py_TYPE(t)->tp_free((PyObject *)t);
}

static PyObject *tap_repr(pymqs_tap *t)
{
    return PyUnicode_FromFormat("<mqs.Tap on %s%s>", t->output, t->closing ? " (closed)" : "");
}

static PyMethodDef tap_methods[] = {
    {"get", (PyCFunction)(void (*)(void))tap_get, METH_VARARGS | METH_KEYWORDS,
     "get(block=True, timeout=None) -> Buffer: the next buffer; queue.Empty when none came in time, "
     "mqs.EndOfStream once the output ended"},
    {"get_nowait", (PyCFunction)tap_get_nowait, METH_NOARGS, "get(block=False)"},
    {"qsize", (PyCFunction)tap_qsize, METH_NOARGS, "buffers waiting in the tap's queue"},
    {"empty", (PyCFunction)tap_empty, METH_NOARGS, "whether none is waiting"},
    {"close", (PyCFunction)tap_close, METH_NOARGS,
     "leave: the output stops sending to the tap and what was queued is returned at once; Buffers still alive "
     "stay valid, and the tap's slot is freed with the last of them"},
    {"stats", (PyCFunction)tap_stats, METH_NOARGS, "the tap queue's counts: pushed, popped, dropped, queued, ..."},
    {"pool", (PyCFunction)tap_pool, METH_NOARGS, "the tapped output's pool: slots, in_use, allocs"},
    {"__enter__", tap_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)tap_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

PyTypeObject pymqs_tap_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mqs.Tap",
    .tp_doc = "A consumer attached to an output of a running graph (Graph.tap). Iterating gets until end of stream.",
    .tp_basicsize = sizeof(pymqs_tap),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)tap_dealloc,
    .tp_repr = (reprfunc)tap_repr,
    .tp_methods = tap_methods,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)tap_iternext,
};

int pymqs_tap_init(void)
{
    PyObject *queue = PyImport_ImportModule("queue");
    if (!queue)
        return -1;
    queue_empty = PyObject_GetAttrString(queue, "Empty");
    Py_DECREF(queue);
    return queue_empty ? 0 : -1;
}
