/* Leases of input frames to GStreamer; see lease.h. */
#include <stdlib.h>
#include <time.h>

#include "lease.h"

lease_table *lease_table_create(uint32_t capacity)
{
    lease_table *t = calloc(1, sizeof *t + (size_t)capacity * sizeof(lease));
    if (!t)
        return NULL;
    t->returned = calloc(capacity ? capacity : 1, sizeof *t->returned); /* 0 lends nothing, still waits */
    t->free_list = calloc(capacity ? capacity : 1, sizeof *t->free_list);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    bool ok = t->returned && t->free_list && pthread_mutex_init(&t->lock, NULL) == 0;
    if (ok && pthread_cond_init(&t->cond, &attr) != 0) {
        pthread_mutex_destroy(&t->lock);
        ok = false;
    }
    pthread_condattr_destroy(&attr);
    if (!ok) {
        free(t->returned);
        free(t->free_list);
        free(t);
        return NULL;
    }
    t->capacity = capacity;
    for (uint32_t i = 0; i < capacity; i++) {
        t->leases[i] = (lease){.table = t, .index = i};
        t->free_list[t->free_n++] = capacity - 1 - i;
    }
    return t;
}

bool lease_table_destroy(lease_table *t)
{
    if (!t)
        return true;
    if (t->lent > 0)
        return false; /* a late return would write into freed memory: leave it */
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t->returned);
    free(t->free_list);
    free(t);
    return true;
}

lease *lease_take(lease_table *t, mqs_block_ctx *ctx, const mqs_buffer *in)
{
    if (t->free_n == 0)
        return NULL;
    lease *l = &t->leases[t->free_list[t->free_n - 1]];
    if (mqs_ref(ctx, in, &l->buf) < 0)
        return NULL;
    t->free_n--;
    t->lent++;
    return l;
}

void lease_return(void *lease_ptr)
{
    lease *l = lease_ptr;
    lease_table *t = l->table;
    pthread_mutex_lock(&t->lock);
    t->returned[t->returned_n++] = l->index; /* never more than lent: capacity is enough */
    t->events++;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

void lease_collect(lease_table *t, mqs_block_ctx *ctx)
{
    uint32_t batch[64];
    for (;;) {
        uint32_t n = 0;
        pthread_mutex_lock(&t->lock);
        while (n < 64 && t->returned_n > 0)
            batch[n++] = t->returned[--t->returned_n];
        pthread_mutex_unlock(&t->lock);
        if (n == 0)
            return;
        for (uint32_t i = 0; i < n; i++) { /* outside the lock: GStreamer threads never wait on a release */
            mqs_unref(ctx, &t->leases[batch[i]].buf);
            t->free_list[t->free_n++] = batch[i];
            t->lent--;
        }
    }
}

void lease_signal(lease_table *t)
{
    pthread_mutex_lock(&t->lock);
    t->events++;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

uint64_t lease_events(lease_table *t)
{
    pthread_mutex_lock(&t->lock);
    uint64_t e = t->events;
    pthread_mutex_unlock(&t->lock);
    return e;
}

void lease_wait(lease_table *t, uint64_t seen, int64_t timeout_ns)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    int64_t ns = until.tv_nsec + timeout_ns;
    until.tv_sec += (time_t)(ns / 1000000000);
    until.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&t->lock);
    int rc = 0;
    while (t->events == seen && rc == 0)
        rc = pthread_cond_timedwait(&t->cond, &t->lock, &until);
    pthread_mutex_unlock(&t->lock);
}
