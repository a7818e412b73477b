/* The `mqs` Python extension module: shared declarations of its types.
 *
 * Buffer: one buffer reference held by Python; its payload as a numpy array
 * without a copy (the array's base is the Buffer, so the reference lives
 * exactly as long as the array or the Buffer does). Tap: a tap on a running
 * graph (mqs/tap.h) with the verbs of queue.Queue. Graph: a running graph
 * found by name, which opens taps. */
#ifndef MQS_PYMQS_H
#define MQS_PYMQS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "mqs/block.h"
#include "mqs/mqs.h"

/* mqs.Error: every runtime error, with the runtime's message. */
extern PyObject *pymqs_error;
/* mqs.EndOfStream (a subclass of Error): the output ended its stream. */
extern PyObject *pymqs_end_of_stream;

/* Raise mqs.Error for negative code `rc` with what the runtime said; NULL. */
PyObject *pymqs_raise(int rc, const char *what);

/* The tap object a Buffer keeps alive (its domain mapping must outlive the buffer). */
typedef struct pymqs_tap {
    PyObject_HEAD
    mqs_tap *tap;
    char output[MQS_NAME_MAX];
    Py_ssize_t live_buffers; /* Buffers not yet collected: the mapping stays until they are */
    int closing;
} pymqs_tap;

/* One buffer reference held by Python. Its owner returns it: a Tap (to its
 * domain) or the Block (through the block's context, block_host.c). */
typedef struct pymqs_buffer {
    PyObject_HEAD
    PyObject *owner;
    mqs_buffer view; /* id, meta, data, capacity */
    int writable;    /* allocated by a Python block and not sent yet */
} pymqs_buffer;

extern PyTypeObject pymqs_buffer_type;
extern PyTypeObject pymqs_tap_type;
extern PyTypeObject pymqs_graph_type;
extern PyTypeObject pymqs_block_type;

/* A new Buffer owning reference `id` of tap `owner`'s domain. */
PyObject *pymqs_buffer_new(pymqs_tap *owner, mqs_buffer_id id);

/* A new Buffer owning the block reference `view` (returned through the
 * Block `owner`'s context); writable for a buffer the block allocated. On
 * failure the reference is returned and NULL comes back. */
PyObject *pymqs_buffer_new_in_block(PyObject *owner, const mqs_buffer *view, int writable);

/* A Block's buffer is collected: return its reference (block_host.c). */
void pymqs_block_buffer_gone(PyObject *owner, mqs_buffer *view);

/* The mqs.block object and the host's entry points (block_host.h) as a
 * capsule: 0, or -1 with an exception. */
int pymqs_block_init(PyObject *module);

/* The tap's own references are gone: close it for real if asked to. */
void pymqs_tap_buffer_gone(pymqs_tap *t);

/* Module set-up of the Tap type (queue.Empty): 0, or -1 with an exception. */
int pymqs_tap_init(void);


#endif
