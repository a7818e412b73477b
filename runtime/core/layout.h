/* Layout of the shared-memory segments of a domain.
 *
 * Rules (docs/memory-model.md explains each field's ordering):
 *  - fixed-width fields only; offsets, never pointers;
 *  - every struct's size and key offsets are pinned with _Static_assert, so a
 *    layout change cannot slip in without bumping MQS_LAYOUT_VERSION;
 *  - fields written by one side and read by another on the hot path sit on
 *    their own cache line.
 */
#ifndef MQS_LAYOUT_H
#define MQS_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "mqs/align.h"
#include "mqs/command.h"
#include "mqs/counters.h"
#include "mqs/types.h"

#define MQS_CACHE_LINE 64
/* "MQSSHM1" as little-endian bytes, so it reads so in a hex dump. */
#define MQS_SEGMENT_MAGIC UINT64_C(0x00314d485353514d)
#define MQS_LAYOUT_VERSION 8u

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free to share them between processes");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free to share them between processes");

enum { MQS_SEGMENT_CONTROL = 1, MQS_SEGMENT_PAYLOAD = 2 };

/* Starts every segment. Written once by the creator; `ready` is set last
 * (release), and attachers check it (acquire) before trusting the rest. */
typedef struct mqs_segment_header {
    uint64_t magic;
    uint32_t layout_version;
    uint32_t kind;                /* MQS_SEGMENT_* */
    uint64_t size;                /* bytes of the whole segment */
    uint64_t creator_start_time;  /* /proc/<pid>/stat starttime, to tell pid reuse */
    uint32_t creator_pid;
    uint32_t creator_uid;
    _Atomic uint32_t ready;
    uint32_t reserved[5];
} mqs_segment_header;
_Static_assert(sizeof(mqs_segment_header) == 64, "segment header layout");
_Static_assert(offsetof(mqs_segment_header, layout_version) == 8, "segment header layout");

/* A slot's state word: generation in the high 32 bits, reference count in the
 * low 32. A slot is free exactly when its count is 0, and a stale ID fails
 * the generation compare. */
#define MQS_STATE(gen, rc) (((uint64_t)(gen) << 32) | (uint32_t)(rc))
#define MQS_STATE_GEN(s) ((uint32_t)((s) >> 32))
#define MQS_STATE_RC(s) ((uint32_t)(s))

/* One pool slot's control record: state word, holder bits, buffer metadata.
 * The payload bytes live in the pool's own payload segment.
 *
 * state and holders change together, in one 16-byte compare-and-swap: each
 * process that may hold buffers of the pool owns one bit of `holders` and
 * flips it with every change it makes to the count. Its journal notes the
 * value the bit will have once the change is made, so after a crash reclaim
 * reads whether the change happened; nobody else ever flips that bit. */
typedef struct mqs_slot_shared {
    _Alignas(16) _Atomic uint64_t state;
    _Atomic uint64_t holders;
    mqs_buffer_meta meta;
    uint8_t pad[128 - 16 - sizeof(mqs_buffer_meta)];
} mqs_slot_shared;
_Static_assert(sizeof(mqs_slot_shared) == 128, "slot record is two cache lines");
_Static_assert(offsetof(mqs_slot_shared, holders) == 8, "state and holders: one 16-byte word");
_Static_assert(offsetof(mqs_slot_shared, meta) == 16, "slot record layout");

/* A process's bit in a pool's `holders` words (mqs_control.holder_bits):
 * a number below 64, or none (reclaim then guesses the safe way: leaks). */
#define MQS_NO_HOLDER_BIT 0xFFu

/* A cell of a drop_oldest ring, where both ends take entries: a position
 * and what is there, changed together by 16-byte compare-and-swap, so that
 * who took an entry is written where the taker's crash leaves it readable. */
typedef struct mqs_ring_cell {
    _Alignas(16) _Atomic uint64_t seq; /* the position the value belongs to */
    _Atomic uint64_t value;            /* a buffer ID, or a MQS_CELL_* marker */
} mqs_ring_cell;
_Static_assert(sizeof(mqs_ring_cell) == 16, "ring cell layout");
/* Markers: pool 0xFFFF never exists, so no buffer ID looks like them. */
#define MQS_CELL_TAKEN (UINT64_C(0xFFFF) << 48 | 1)   /* the consumer took it; it clears it when done */
#define MQS_CELL_RETIRED (UINT64_C(0xFFFF) << 48 | 2) /* taken and done with: free for the producer */
#define MQS_CELL_IS_MARKER(v) (((v) >> 48) == 0xFFFF)

typedef struct mqs_pool_shared {
    /* Fixed at creation. */
    char name[48];
    uint64_t slot_size;     /* payload bytes per slot (multiple of 64) */
    uint64_t payload_size;  /* bytes of the payload segment */
    uint64_t slots_offset;  /* of mqs_slot_shared[slot_count] in the control segment */
    uint32_t slot_count;
    uint32_t owner;         /* process slot that allocates */
    uint32_t flags;
    /* The owner waits for a free slot on its doorbell (set by the owner,
     * cleared by the waker): read by every release, written only around a
     * wait, so it shares this rarely written line. */
    _Atomic uint32_t owner_waiting;
    uint32_t reserved0[10];
    /* Written by the owner only (alloc). */
    _Atomic uint32_t alloc_cursor; /* where the next free-slot search starts */
    uint32_t reserved1;
    _Atomic uint64_t allocs;
    _Atomic uint64_t alloc_failures;
    uint64_t reserved2[5];
    /* Written by anyone, rarely: bad IDs; the most slots ever in use, as
     * the launcher and the owner (after an alloc, now and then) sample it. */
    _Atomic uint64_t rejected_ids;
    _Atomic uint32_t high_water;
    uint32_t reserved3b;
    uint64_t reserved3[6];
} mqs_pool_shared;
_Static_assert(sizeof(mqs_pool_shared) == 256, "pool record layout");
_Static_assert(offsetof(mqs_pool_shared, owner_waiting) == 84, "pool config line: the owner's sleep flag");
_Static_assert(offsetof(mqs_pool_shared, alloc_cursor) == 128, "pool owner line");
_Static_assert(offsetof(mqs_pool_shared, rejected_ids) == 192, "pool shared line");

typedef struct mqs_output_shared {
    char name[48];
    uint32_t owner;
    uint32_t pool;
    uint32_t queue_first;  /* into the output-queue index array */
    uint32_t queue_count;
    mqs_caps caps;
    /* Line 2: the taps attached now (bit i: tap i, core/tap.c). Written by
     * taps and the launcher, read by the owner once per send. */
    _Atomic uint32_t taps;
    uint32_t reserved[15];
} mqs_output_shared;
_Static_assert(sizeof(mqs_output_shared) == 192, "output record layout");
_Static_assert(offsetof(mqs_output_shared, caps) == 64, "output record layout");
_Static_assert(offsetof(mqs_output_shared, taps) == 128, "output record layout: the taps line");

/* One SPSC ring. Lines 0-1 are fixed config; line 2 is written by the producer,
 * line 3 by the consumer (and by the producer only when drop_oldest makes it
 * take the oldest entry). Counters are single-writer, read relaxed by tools. */
typedef struct mqs_queue_shared {
    char name[48];
    uint32_t depth;        /* power of two */
    uint32_t policy;       /* mqs_queue_policy */
    uint32_t output;       /* feeding output */
    uint32_t consumer;     /* consuming process slot */
    uint32_t producer;     /* = the output's owner */
    uint32_t input_flags;  /* MQS_INPUT_*: for the consumer's aligner */
    uint64_t entries_offset; /* of _Atomic uint64_t[depth] (drop_oldest: mqs_ring_cell[depth]) */
    int64_t period_ns;     /* aligner hint: least time between two pts; 0 unknown */
    _Atomic uint32_t consumer_gone; /* the launcher gave up on the consumer: a full ring drops, never waits */
    /* The sleep flags: read by the other side on every push or pop (hybrid
     * and sleep modes), written only around a sleep and its wake, so they
     * share this rarely written line and never bounce with head or tail. */
    _Atomic uint32_t producer_sleeping; /* producer waits for space on its doorbell */
    _Atomic uint32_t consumer_sleeping; /* consumer waits for data on its doorbell */
    uint32_t reserved0c;
    uint64_t reserved0b[3];
    /* Producer line. */
    _Atomic uint64_t head;       /* next position to write */
    _Atomic uint64_t pushed;
    _Atomic uint64_t dropped;    /* drop_newest, drop_oldest and send timeouts */
    _Atomic uint64_t high_water; /* most entries the producer found queued when it looked at tail */
    _Atomic uint32_t closed;     /* producer sends no more: end of stream after the last entry */
    uint32_t reserved1;
    uint64_t cached_tail;        /* producer's last view of tail: spares a load of the consumer line */
    uint64_t reserved1b[2];
    /* Consumer line. */
    _Atomic uint64_t tail;       /* next position to read */
    _Atomic uint64_t popped;
    uint64_t reserved2;
    uint64_t cached_head;        /* consumer's last view of head */
    _Atomic uint64_t drained;    /* entries the launcher released unread: the consumer is gone for good */
    _Atomic uint64_t high_seen;  /* most entries the consumer found queued when it looked at head */
    uint64_t reserved2b[2];
} mqs_queue_shared;
_Static_assert(sizeof(mqs_queue_shared) == 256, "queue record layout");
_Static_assert(offsetof(mqs_queue_shared, head) == 128, "producer line");
_Static_assert(offsetof(mqs_queue_shared, tail) == 192, "consumer line");
_Static_assert(offsetof(mqs_queue_shared, period_ns) == 80, "queue config layout");
_Static_assert(offsetof(mqs_queue_shared, producer_sleeping) == 92 && offsetof(mqs_queue_shared, consumer_sleeping) == 96,
               "queue config line: the sleep flags, off the index lines");
_Static_assert(offsetof(mqs_queue_shared, high_seen) == 232, "queue consumer line: its high-water mark");

enum { MQS_INPUT_OPTIONAL = 1u << 0 };

/* Alignment counters of one input (one queue), written by the consumer's
 * aligner only (single writer), read relaxed by tools. */
typedef struct mqs_input_shared {
    _Atomic uint64_t delivered;                 /* buffers handed to the block in a set */
    _Atomic uint64_t dropped[MQS_DROP_REASONS]; /* by mqs_drop_reason */
    uint64_t reserved[2];
} mqs_input_shared;
_Static_assert(sizeof(mqs_input_shared) == 64, "input counters are one cache line");

/* A histogram as mqs_histogram describes it, single writer. */
typedef struct mqs_histogram_shared {
    _Atomic uint64_t count[MQS_HISTOGRAM_BUCKETS];
    _Atomic uint64_t samples;
    _Atomic uint64_t max;
    uint64_t reserved[6];
} mqs_histogram_shared;
_Static_assert(sizeof(mqs_histogram_shared) == 39 * 64, "histogram layout");

/* One process slot's alignment: settings written by the creator, counters
 * by the aligning worker (single writer). */
typedef struct mqs_align_shared {
    uint32_t policy;        /* mqs_sync_policy */
    uint32_t reference;     /* queue index, UINT32_MAX: none */
    int64_t tolerance_ns;
    int64_t timeout_ns;
    uint32_t partial;
    uint32_t reserved0[9];
    _Atomic uint64_t sets;
    _Atomic uint64_t partial_sets;
    uint64_t reserved1[6];
    mqs_histogram_shared spread;
    mqs_histogram_shared latency;
} mqs_align_shared;
_Static_assert(sizeof(mqs_align_shared) == 2 * 64 + 2 * sizeof(mqs_histogram_shared), "align record layout");
_Static_assert(offsetof(mqs_align_shared, sets) == 64, "align counters line");

/* A process's in-flight operation (core/journal.h), so reclaim can tell
 * exactly what a process killed in the middle of it had done (see
 * docs/memory-model.md). Written by its process only. */
typedef struct mqs_journal {
    _Atomic uint32_t op;           /* MQS_OP_* */
    _Atomic uint32_t stage;        /* how far it got */
    _Atomic uint32_t queue;        /* the queue being pushed to or popped from */
    _Atomic uint32_t held;         /* references to `id` the process held before the op */
    _Atomic uint64_t id;           /* the buffer of the op */
    _Atomic uint64_t position;     /* the ring position being pushed or popped */
    _Atomic uint64_t stolen;       /* drop_oldest: the entry a push replaced, 0: none */
    _Atomic uint64_t change_id;    /* the buffer whose count is being changed, 0: none */
    _Atomic int32_t change_delta;  /* by how much */
    _Atomic uint32_t change_bit;   /* the holder bit's value once it is changed; MQS_NO_HOLDER_BIT */
    _Atomic uint32_t output;       /* send: the output */
    _Atomic uint32_t taps;         /* send: the output's taps it sends to, besides its queues */
} mqs_journal;
_Static_assert(sizeof(mqs_journal) == 64, "journal layout");

/* One entry of a process's held-reference table: an open-addressing hash of
 * buffer IDs (0 = empty), written only by the owning process. */
typedef struct mqs_held_entry {
    _Atomic uint64_t id;
    _Atomic uint32_t count;
    uint32_t reserved;
} mqs_held_entry;
_Static_assert(sizeof(mqs_held_entry) == 16, "held entry layout");

typedef struct mqs_process_shared {
    char name[48];
    _Atomic uint32_t state;        /* mqs_process_state */
    _Atomic uint32_t pid;
    _Atomic uint64_t start_time;   /* of pid, to tell pid reuse */
    /* Futex word: bumped by whoever wants this process to look at its queues. */
    _Atomic uint32_t doorbell;
    _Atomic uint32_t held_total;   /* references held, for tools */
    _Atomic uint64_t heartbeat_ns;
    _Atomic uint64_t reclaimed;    /* references released by reclaim, all time */
    /* What the process does now, written by itself (single writer): the
     * launcher's watchdog reads it to tell a hung block from a waiting one. */
    _Atomic uint32_t activity;     /* mqs_activity */
    _Atomic uint32_t waiting_on;   /* pool or output it waits for (WAIT_ALLOC, WAIT_SEND) */
    _Atomic uint64_t calls;        /* block calls started: the watchdog's progress counter */
    _Atomic uint32_t restarts;     /* times the launcher restarted it (written by the launcher) */
    uint32_t reserved1;
    uint64_t held_offset;          /* of mqs_held_entry[held_capacity]; fixed at creation */
    uint64_t reserved;
    mqs_journal journal;           /* line 2: the owner's, read by reclaim after its death */
} mqs_process_shared;
_Static_assert(sizeof(mqs_process_shared) == 192, "process record layout");
_Static_assert(offsetof(mqs_process_shared, doorbell) == 64, "process record layout");
_Static_assert(offsetof(mqs_process_shared, journal) == 128, "process record layout");
_Static_assert(offsetof(mqs_process_shared, activity) == 88, "process record layout: line 1 is the owner's");

/* One block report (mqs_report): its key is written once, before the count
 * that publishes it; the value is a double's bits. Single writer. */
typedef struct mqs_report_shared {
    char key[40];
    _Atomic uint64_t value;
} mqs_report_shared;
_Static_assert(sizeof(mqs_report_shared) == 48, "report layout");

/* What a process spends its time on, its reports and how it last ended, for
 * tools. Line 0 and the reports and call times are the process's own, written
 * only where it waits or reports (never per buffer); line 1 is the launcher's. */
typedef struct mqs_process_counters {
    _Atomic uint64_t waited_ns[MQS_WAIT_KINDS]; /* by mqs_wait_kind, all time of this slot */
    _Atomic int64_t input_wait_since_ns;        /* when its current wait for input began; 0: it has input */
    _Atomic int64_t attached_ns;                /* when the process now in the slot attached */
    _Atomic int64_t wait_began_ns;              /* when the wait it is in now began; 0: not waiting */
    _Atomic uint32_t wait_kind;                 /* of that wait */
    uint32_t reserved0;
    /* Line 1: the launcher's. */
    _Atomic int32_t exit_code;   /* of the last exit: a code, or -1 */
    _Atomic int32_t exit_signal; /* of the last exit: the signal that ended it, or 0 */
    _Atomic uint32_t exits;      /* times a process in this slot ended */
    uint32_t reserved1[13];
    /* Line 2: reports, the process's own. */
    _Atomic uint32_t report_count;
    uint32_t reserved2[15];
    mqs_report_shared reports[MQS_REPORTS_MAX];
    mqs_histogram_shared call_ns; /* time in block calls, sampled (docs/stats.md) */
} mqs_process_counters;
_Static_assert(sizeof(mqs_process_counters) == 3 * 64 + MQS_REPORTS_MAX * 48 + sizeof(mqs_histogram_shared),
               "process counters layout");
_Static_assert(offsetof(mqs_process_counters, exit_code) == 64, "launcher line");
_Static_assert(offsetof(mqs_process_counters, report_count) == 128, "reports line");

/* A command for one process (mqctl set), written by any process of the user,
 * carried out by the process between two block calls. `state` is
 * phase | serial << 8: every change of hands bumps the serial, so two writers
 * taking over the slot of a dead one cannot both win. The commands of a
 * domain start on a page of their own, so a read-only observer can map just
 * them writable. */
typedef struct mqs_command_shared {
    _Atomic uint32_t state;          /* MQS_COMMAND_* phase | serial << 8 */
    uint32_t kind;                   /* MQS_COMMAND_SET_PARAM */
    _Atomic uint32_t writer_pid;     /* who posted it: a dead writer's slot may be taken over */
    int32_t result;                  /* 0 or -errno, once done */
    _Atomic uint64_t writer_start_time;
    uint64_t reserved0[5];
    char key[MQS_COMMAND_KEY_MAX];
    char value[MQS_COMMAND_VALUE_MAX];
    char reply[MQS_COMMAND_REPLY_MAX]; /* why it was refused, or what was applied */
} mqs_command_shared;
_Static_assert(sizeof(mqs_command_shared) == 64 + MQS_COMMAND_KEY_MAX + MQS_COMMAND_VALUE_MAX + MQS_COMMAND_REPLY_MAX,
               "command layout");
_Static_assert(sizeof(mqs_command_shared) % 64 == 0, "commands are whole cache lines");

/* The control segment: header, then these counts and offsets, then arrays. */
typedef struct mqs_control {
    mqs_segment_header header;
    char graph[48];
    char run_id[24];
    uint32_t wait_mode;
    uint32_t held_capacity;   /* references a process may hold */
    uint32_t process_count;
    uint32_t pool_count;
    uint32_t output_count;
    uint32_t queue_count;
    uint64_t processes_offset;
    uint64_t pools_offset;
    uint64_t outputs_offset;
    uint64_t output_queues_offset; /* uint32_t[queue_count]: queues grouped by output */
    uint64_t queues_offset;
    _Atomic uint32_t stop;    /* mqs_domain_request_stop */
    _Atomic uint32_t started; /* mqs_domain_start: every process attached */
    _Atomic uint64_t rejected_ids; /* IDs naming no pool or slot at all */
    uint32_t held_table_size; /* entries per held table: a power of two >= 2 x held_capacity */
    uint32_t reserved1;
    uint64_t align_offset;    /* mqs_align_shared[process_count] */
    uint64_t inputs_offset;   /* mqs_input_shared[queue_count] */
    _Atomic int64_t start_ns; /* when the start gate opened */
    uint64_t holder_bits_offset; /* uint8_t[pool_count][process_count]: each process's bit, or MQS_NO_HOLDER_BIT */
    uint64_t counters_offset; /* mqs_process_counters[process_count] */
    uint64_t commands_offset; /* mqs_command_shared[process_count]: page-aligned, last in the segment */
    /* The last tap_count process slots and queues are taps (core/tap.c):
     * consumers that attach to an output of a running graph and leave. */
    uint32_t tap_count;
    uint32_t reserved3;
    uint64_t reserved2[5];
} mqs_control;
_Static_assert(sizeof(mqs_control) == 320, "control header layout");
_Static_assert(offsetof(mqs_control, graph) == 64, "control header layout");
_Static_assert(offsetof(mqs_control, align_offset) == 224, "control header layout");

#endif
