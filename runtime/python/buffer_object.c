/* mqs.Buffer: one buffer reference held by Python, and its payload as a
 * numpy array that points into the pool's shared memory (no copy). Every
 * array made from a Buffer has the Buffer as its base: the reference is
 * returned when the last of them and the Buffer itself are collected. */
#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL pymqs_numpy_api
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include "pymqs.h"

#include <numpy/arrayobject.h>
#include <structmember.h>

PyObject *pymqs_buffer_new(pymqs_tap *owner, mqs_buffer_id id)
{
    mqs_domain *d = mqs_tap_domain(owner->tap);
    pymqs_buffer *b = PyObject_New(pymqs_buffer, &pymqs_buffer_type);
    if (!b) {
        mqs_buffer_unref(d, id);
        return NULL;
    }
    b->owner = Py_NewRef((PyObject *)owner);
    b->view = (mqs_buffer){.id = id, .meta = (mqs_buffer_meta *)mqs_buffer_meta_of(d, id),
                           .data = mqs_buffer_data(d, id)};
    b->writable = 0;
    owner->live_buffers++;
    return (PyObject *)b;
}

PyObject *pymqs_buffer_new_in_block(PyObject *owner, const mqs_buffer *view, int writable)
{
    pymqs_buffer *b = PyObject_New(pymqs_buffer, &pymqs_buffer_type);
    if (!b) {
        mqs_buffer copy = *view;
        pymqs_block_buffer_gone(owner, &copy);
        return NULL;
    }
    b->owner = Py_NewRef(owner);
    b->view = *view;
    b->writable = writable;
    return (PyObject *)b;
}

static void buffer_dealloc(pymqs_buffer *b)
{
    if (Py_IS_TYPE(b->owner, &pymqs_tap_type)) {
        pymqs_tap *owner = (pymqs_tap *)b->owner;
        mqs_buffer_unref(mqs_tap_domain(owner->tap), b->view.id);
        owner->live_buffers--;
        pymqs_tap_buffer_gone(owner);
    } else {
        pymqs_block_buffer_gone(b->owner, &b->view);
    }
    Py_DECREF(b->owner);
    PyObject_Free(b);
}

/* ---- the array ---- */

/* Shape and strides from the typed header: height x width (gray8),
 * height x width x 3 (rgb24), the planes stacked as rows (i420, as OpenCV
 * reads it), samples x values (sensor, float64), else the bytes. */
static int array_layout(const mqs_buffer_meta *m, int *nd, npy_intp *shape, npy_intp *strides, int *type)
{
    *type = NPY_UINT8;
    const mqs_video_header *v = &m->header.video;
    if (m->header_type == MQS_HEADER_VIDEO && v->width && v->height) {
        npy_intp stride = v->stride ? v->stride : v->width * (v->format == MQS_FORMAT_RGB24 ? 3 : 1);
        if (v->format == MQS_FORMAT_GRAY8 || (v->format == MQS_FORMAT_I420 && stride == v->width)) {
            *nd = 2;
            shape[0] = v->format == MQS_FORMAT_I420 ? v->height * 3 / 2 : v->height;
            shape[1] = v->width;
            strides[0] = stride, strides[1] = 1;
            return (uint64_t)(shape[0] - 1) * stride + shape[1] <= m->length ? 0 : -1;
        }
        if (v->format == MQS_FORMAT_RGB24) {
            *nd = 3;
            shape[0] = v->height, shape[1] = v->width, shape[2] = 3;
            strides[0] = stride, strides[1] = 3, strides[2] = 1;
            return (uint64_t)(v->height - 1) * stride + 3ull * v->width <= m->length ? 0 : -1;
        }
    }
    const mqs_sensor_header *s = &m->header.sensor;
    if (m->header_type == MQS_HEADER_SENSOR && s->sample_size && s->sample_size % 8 == 0 && s->count) {
        *nd = 2, *type = NPY_FLOAT64;
        shape[0] = s->count, shape[1] = s->sample_size / 8;
        strides[0] = s->sample_size, strides[1] = 8;
        return (uint64_t)s->count * s->sample_size <= m->length ? 0 : -1;
    }
    *nd = 1;
    shape[0] = (npy_intp)m->length, strides[0] = 1;
    return 0;
}

static PyObject *buffer_array(pymqs_buffer *b, void *closure)
{
    (void)closure;
    int nd, type;
    npy_intp shape[3], strides[3];
    if (array_layout(b->view.meta, &nd, shape, strides, &type) != 0)
        return pymqs_raise(-EBADMSG, "the buffer's header describes more bytes than it holds");
    /* Read-only unless a Python block allocated it and has not sent it: a
     * buffer that was sent is read by every consumer at once. */
    int flags = NPY_ARRAY_ALIGNED | (b->writable ? NPY_ARRAY_WRITEABLE : 0);
    PyObject *a = PyArray_New(&PyArray_Type, nd, shape, type, strides, b->view.data, 0, flags, NULL);
    if (!a)
        return NULL;
    Py_INCREF(b);
    if (PyArray_SetBaseObject((PyArrayObject *)a, (PyObject *)b) != 0) {
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

/* ---- metadata ---- */

static const char *format_name(uint32_t f)
{
    switch (f) {
    case MQS_FORMAT_RGB24: return "rgb24";
    case MQS_FORMAT_GRAY8: return "gray8";
    case MQS_FORMAT_I420: return "i420";
    default: return NULL;
    }
}

static PyObject *buffer_get(pymqs_buffer *b, void *closure)
{
    const mqs_buffer_meta *m = b->view.meta;
    const char *what = closure;
    if (!strcmp(what, "pts")) return PyLong_FromLongLong(m->pts);
    if (!strcmp(what, "duration")) return PyLong_FromLongLong(m->duration);
    if (!strcmp(what, "seq")) return PyLong_FromUnsignedLongLong(m->seq);
    if (!strcmp(what, "flags")) return PyLong_FromUnsignedLong(m->flags);
    if (!strcmp(what, "length")) return PyLong_FromUnsignedLongLong(m->length);
    if (!strcmp(what, "keyframe")) return PyBool_FromLong(m->flags & MQS_BUFFER_KEYFRAME);
    if (!strcmp(what, "gap")) return PyBool_FromLong(m->flags & MQS_BUFFER_GAP);
    if (!strcmp(what, "id")) return PyLong_FromUnsignedLongLong(b->view.id);
    bool video = m->header_type == MQS_HEADER_VIDEO;
    if (!strcmp(what, "width")) return video ? PyLong_FromUnsignedLong(m->header.video.width) : Py_NewRef(Py_None);
    if (!strcmp(what, "height")) return video ? PyLong_FromUnsignedLong(m->header.video.height) : Py_NewRef(Py_None);
    if (!strcmp(what, "format")) {
        const char *f = video ? format_name(m->header.video.format) : NULL;
        return f ? PyUnicode_FromString(f) : Py_NewRef(Py_None);
    }
    const char *kinds[] = {"none", "video", "sensor"};
    return PyUnicode_FromString(m->header_type < 3 ? kinds[m->header_type] : "unknown");
}

/* What a block may set on a buffer it allocated, before it sends it. */
static int buffer_set(pymqs_buffer *b, PyObject *value, void *closure)
{
    const char *what = closure;
    if (!b->writable) {
        PyErr_Format(PyExc_AttributeError, "%s is read-only: the buffer is an input, a tap's or already sent", what);
        return -1;
    }
    if (!value) {
        PyErr_Format(PyExc_AttributeError, "%s cannot be deleted", what);
        return -1;
    }
    mqs_buffer_meta *m = b->view.meta;
    if (!strcmp(what, "keyframe") || !strcmp(what, "gap")) {
        uint32_t bit = what[0] == 'k' ? MQS_BUFFER_KEYFRAME : MQS_BUFFER_GAP;
        int on = PyObject_IsTrue(value);
        if (on < 0)
            return -1;
        m->flags = on ? m->flags | bit : m->flags & ~bit;
        return 0;
    }
    long long v = PyLong_AsLongLong(value);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (!strcmp(what, "length")) {
        if (v < 0 || (unsigned long long)v > b->view.capacity) {
            PyErr_Format(PyExc_ValueError, "length %lld is out of range 0..%llu (the slot's capacity)", v,
                         (unsigned long long)b->view.capacity);
            return -1;
        }
        m->length = (uint64_t)v;
    } else if (!strcmp(what, "pts")) {
        m->pts = v;
    } else if (!strcmp(what, "seq")) {
        m->seq = (uint64_t)v;
    } else {
        m->duration = v;
    }
    return 0;
}

#define META(name, doc) {name, (getter)buffer_get, NULL, doc, name}
#define SETTABLE(name, doc) {name, (getter)buffer_get, (setter)buffer_set, doc, name}
static PyGetSetDef buffer_getset[] = {
    {"array", (getter)buffer_array, NULL,
     "the payload as a numpy array (no copy): writable only in a block that allocated it, until it sends it", NULL},
    SETTABLE("pts", "presentation time, ns on the graph's clock (CLOCK_MONOTONIC)"),
    SETTABLE("duration", "ns, 0 if unknown"),
    SETTABLE("seq", "sequence number on the producing port"),
    META("flags", "MQS buffer flags (bits: 1 end of stream, 2 gap, 4 keyframe)"),
    SETTABLE("length", "payload bytes in use"),
    SETTABLE("keyframe", "decodable on its own"),
    SETTABLE("gap", "data before this buffer was lost upstream"),
    META("id", "the buffer ID (pool, slot, generation)"),
    META("width", "video: pixels per row, else None"),
    META("height", "video: rows, else None"),
    META("format", "video: 'gray8', 'rgb24' or 'i420', else None"),
    META("header", "what the typed header describes: 'video', 'sensor' or 'none'"),
    {NULL, NULL, NULL, NULL, NULL},
};

static PyObject *buffer_repr(pymqs_buffer *b)
{
    const mqs_buffer_meta *m = b->view.meta;
    if (m->header_type == MQS_HEADER_VIDEO)
        return PyUnicode_FromFormat("<mqs.Buffer seq=%llu pts=%lld %ux%u %s>", (unsigned long long)m->seq,
                                    (long long)m->pts, m->header.video.width, m->header.video.height,
                                    format_name(m->header.video.format) ? format_name(m->header.video.format) : "?");
    return PyUnicode_FromFormat("<mqs.Buffer seq=%llu pts=%lld %llu bytes>", (unsigned long long)m->seq,
                                (long long)m->pts, (unsigned long long)m->length);
}

PyTypeObject pymqs_buffer_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mqs.Buffer",
    .tp_doc = "One buffer of a graph, held until this object and every array made from it are collected.\n"
              "pts, duration, length, keyframe and gap can be set on a buffer a block allocated, until it is sent.",
    .tp_basicsize = sizeof(pymqs_buffer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)buffer_dealloc,
    .tp_repr = (reprfunc)buffer_repr,
    .tp_getset = buffer_getset,
};
