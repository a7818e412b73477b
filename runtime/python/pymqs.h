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

extern PyTypeObject pymqs_buffer_type;
extern PyTypeObject pymqs_tap_type;
extern PyTypeObject pymqs_graph_type;

/* A new Buffer owning reference `id` of tap `owner`'s domain. */
PyObject *pymqs_buffer_new(pymqs_tap *owner, mqs_buffer_id id);

/* The tap's own references are gone: close it for real if asked to. */
void pymqs_tap_buffer_gone(pymqs_tap *t);

/* Module set-up of the Tap type (queue.Empty): 0, or -1 with an exception. */
int pymqs_tap_init(void);


#endif
