/* The `mqs` extension module: errors, the runs of this user, and Graph, a
 * running graph found by name, whose outputs can be tapped. */
#define PY_ARRAY_UNIQUE_SYMBOL pymqs_numpy_api
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include "pymqs.h"

#include <numpy/arrayobject.h>

PyObject *pymqs_error;
PyObject *pymqs_end_of_stream;

PyObject *pymqs_raise(int rc, const char *what)
{
    const char *detail = mqs_last_error();
    if (detail && *detail)
        PyErr_Format(pymqs_error, "%s: %s", what, detail);
    else
        PyErr_Format(pymqs_error, "%s: %s", what, mqs_strerror(rc));
    return NULL;
}

/* ---- runs ---- */

#define MAX_RUNS 256

static PyObject *run_dict(const mqs_run_info *r)
{
    return Py_BuildValue("{s:s,s:s,s:s,s:I,s:O,s:I,s:I}", "graph", r->graph, "run_id", r->run_id, "domain",
                         r->domain, "launcher_pid", r->launcher_pid, "alive", r->alive ? Py_True : Py_False,
                         "blocks", r->blocks, "running", r->running);
}

static PyObject *mod_runs(PyObject *self, PyObject *args)
{
    (void)self;
    const char *graph = NULL;
    if (!PyArg_ParseTuple(args, "|z:runs", &graph))
        return NULL;
    mqs_run_info *runs = PyMem_Calloc(MAX_RUNS, sizeof *runs);
    if (!runs)
        return PyErr_NoMemory();
    int n = mqs_runs_list(graph, runs, MAX_RUNS);
    PyObject *list = n < 0 ? pymqs_raise(n, "listing runs") : PyList_New(0);
    for (int i = 0; list && i < n && i < MAX_RUNS; i++) {
        PyObject *d = run_dict(&runs[i]);
        if (!d || PyList_Append(list, d) != 0)
            Py_CLEAR(list);
        Py_XDECREF(d);
    }
    PyMem_Free(runs);
    return list;
}

/* ---- Graph ---- */

typedef struct pymqs_graph {
    PyObject_HEAD
    char name[MQS_NAME_MAX];
    char domain[160];
} pymqs_graph;

/* The live run of `name`: its domain. */
static int find_run(const char *name, char *domain, size_t size)
{
    mqs_run_info runs[16];
    int n = mqs_runs_list(name, runs, 16);
    for (int i = 0; i < n && i < 16; i++)
        if (runs[i].alive) {
            snprintf(domain, size, "%s", runs[i].domain);
            return 0;
        }
    PyErr_Format(pymqs_error, "no running graph named '%s' of this user (hint: start it with `mqrun`; `mqctl ls` "
                 "lists the runs)", name);
    return -1;
}

static PyObject *mod_attach(PyObject *self, PyObject *args)
{
    (void)self;
    const char *name;
    if (!PyArg_ParseTuple(args, "s:attach", &name))
        return NULL;
    pymqs_graph *g = PyObject_New(pymqs_graph, &pymqs_graph_type);
    if (!g)
        return NULL;
    snprintf(g->name, sizeof g->name, "%s", name);
    if (find_run(name, g->domain, sizeof g->domain) != 0) {
        Py_DECREF(g);
        return NULL;
    }
    return (PyObject *)g;
}

static int parse_policy(const char *text, mqs_queue_policy *out)
{
    static const char *const names[] = {"block", "drop_oldest", "drop_newest"};
    for (int i = 0; i < 3; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = (mqs_queue_policy)i;
            return 0;
        }
    PyErr_Format(PyExc_ValueError, "policy '%s' is not one of block, drop_oldest, drop_newest", text);
    return -1;
}

static PyObject *graph_tap(pymqs_graph *g, PyObject *args, PyObject *kw)
{
    static char *names[] = {"output", "depth", "policy", "name", NULL};
    const char *output, *policy = "drop_oldest", *name = "python";
    unsigned int depth = 4;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|Iss:tap", names, &output, &depth, &policy, &name))
        return NULL;
    mqs_tap_config c = {.depth = depth, .name = name};
    if (depth == 0 || depth > MQS_TAP_DEPTH_MAX)
        return PyErr_Format(PyExc_ValueError, "depth %u is out of range 1..%u", depth, MQS_TAP_DEPTH_MAX), NULL;
    if (parse_policy(policy, &c.policy) != 0)
        return NULL;
    pymqs_tap *t = PyObject_New(pymqs_tap, &pymqs_tap_type);
    if (!t)
        return NULL;
    t->tap = NULL;
    t->live_buffers = 0;
    t->closing = 0;
    snprintf(t->output, sizeof t->output, "%s", output);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = mqs_tap_open(g->domain, output, &c, &t->tap);
    Py_END_ALLOW_THREADS
    if (rc) {
        Py_DECREF(t);
        return pymqs_raise(rc, "tap");
    }
    return (PyObject *)t;
}

static PyObject *graph_outputs(pymqs_graph *g, void *closure)
{
    (void)closure;
    mqs_domain *d;
    int rc = mqs_domain_observe(g->domain, &d);
    if (rc)
        return pymqs_raise(rc, g->name);
    PyObject *list = PyList_New(0);
    for (uint32_t o = 0; list && o < mqs_domain_output_count(d); o++) {
        PyObject *s = PyUnicode_FromString(mqs_output_name(d, o));
        if (!s || PyList_Append(list, s) != 0)
            Py_CLEAR(list);
        Py_XDECREF(s);
    }
    mqs_domain_detach(d);
    return list;
}

static PyObject *graph_get(pymqs_graph *g, void *closure)
{
    return PyUnicode_FromString(strcmp(closure, "name") == 0 ? g->name : g->domain);
}

static PyObject *graph_repr(pymqs_graph *g)
{
    return PyUnicode_FromFormat("<mqs.Graph %s (%s)>", g->name, g->domain);
}

static PyMethodDef graph_methods[] = {
    {"tap", (PyCFunction)(void (*)(void))graph_tap, METH_VARARGS | METH_KEYWORDS,
     "tap(output, depth=4, policy='drop_oldest', name='python') -> Tap: a new consumer of output 'block.port'. "
     "drop_oldest and drop_newest never hold the graph up; block does while the tap is full"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef graph_getset[] = {
    {"name", (getter)graph_get, NULL, "the graph's name", "name"},
    {"domain", (getter)graph_get, NULL, "its shared-memory domain", "domain"},
    {"outputs", (getter)graph_outputs, NULL, "the names of its outputs ('block.port')", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject pymqs_graph_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mqs.Graph",
    .tp_doc = "A running graph of this user (mqs.attach).",
    .tp_basicsize = sizeof(pymqs_graph),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_repr = (reprfunc)graph_repr,
    .tp_methods = graph_methods,
    .tp_getset = graph_getset,
};

/* ---- the module ---- */

static PyMethodDef module_methods[] = {
    {"attach", mod_attach, METH_VARARGS, "attach(graph) -> Graph: the running graph of that name"},
    {"runs", mod_runs, METH_VARARGS, "runs(graph=None) -> list of dict: the runs of this user"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "mqs._mqs", "multiqueue-shm: taps on running graphs, buffers as numpy arrays.", -1,
    module_methods, NULL, NULL, NULL, NULL,
};

static int add_type(PyObject *m, PyTypeObject *type, const char *name)
{
    if (PyType_Ready(type) != 0)
        return -1;
    Py_INCREF(type);
    return PyModule_AddObject(m, name, (PyObject *)type);
}

/* The numbers behind the names a block module declares (mqs/_blockspec.py). */
static int add_constants(PyObject *m)
{
    static const struct { const char *name; long value; } constants[] = {
        {"HEADER_NONE", MQS_HEADER_NONE}, {"HEADER_VIDEO", MQS_HEADER_VIDEO}, {"HEADER_SENSOR", MQS_HEADER_SENSOR},
        {"FORMAT_ANY", MQS_FORMAT_ANY},   {"FORMAT_RGB24", MQS_FORMAT_RGB24}, {"FORMAT_GRAY8", MQS_FORMAT_GRAY8},
        {"FORMAT_I420", MQS_FORMAT_I420},
    };
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        if (PyModule_AddIntConstant(m, constants[i].name, constants[i].value) != 0)
            return -1;
    return 0;
}

PyMODINIT_FUNC PyInit__mqs(void);
PyMODINIT_FUNC PyInit__mqs(void)
{
    import_array();
    PyObject *m = PyModule_Create(&module_def);
    if (!m || pymqs_tap_init() != 0)
        return NULL;
    pymqs_error = PyErr_NewExceptionWithDoc("mqs.Error", "An error of the multiqueue-shm runtime.", NULL, NULL);
    pymqs_end_of_stream = PyErr_NewExceptionWithDoc("mqs.EndOfStream", "The output ended its stream.",
                                                    pymqs_error, NULL);
    if (!pymqs_error || !pymqs_end_of_stream || PyModule_AddObject(m, "Error", Py_NewRef(pymqs_error)) != 0 ||
        PyModule_AddObject(m, "EndOfStream", Py_NewRef(pymqs_end_of_stream)) != 0 ||
        add_type(m, &pymqs_buffer_type, "Buffer") != 0 || add_type(m, &pymqs_tap_type, "Tap") != 0 ||
        add_type(m, &pymqs_graph_type, "Graph") != 0 || add_type(m, &pymqs_block_type, "Block") != 0 ||
        pymqs_block_init(m) != 0 || add_constants(m) != 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
