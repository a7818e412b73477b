/* Named shared-memory segments: create (O_EXCL, 0600), map, and the header
 * every segment starts with. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

int mqsi_shm_create(const char *name, size_t size, void **out)
{
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int err = -errno;
        return mqsi_fail(err, "cannot create shared-memory object %s: %s%s", name, strerror(-err),
                         err == -EEXIST ? " (a run with this id exists; pick another run id)" : "");
    }
    /* posix_fallocate reserves the pages now, so a full /dev/shm fails here with
     * ENOSPC instead of a SIGBUS on first touch later. */
    int rc = ftruncate(fd, (off_t)size) != 0 ? errno : posix_fallocate(fd, 0, (off_t)size);
    if (rc != 0) {
        close(fd);
        shm_unlink(name);
        return mqsi_fail(-rc, "cannot size shared-memory object %s to %zu bytes: %s (is /dev/shm full?)",
                         name, size, strerror(rc));
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int err = p == MAP_FAILED ? -errno : 0;
    close(fd);
    if (err) {
        shm_unlink(name);
        return mqsi_fail(err, "cannot map %s: %s", name, strerror(-err));
    }
    *out = p;
    return 0;
}

int mqsi_shm_map(const char *name, bool writable, void **out, size_t *size_out)
{
    int fd = shm_open(name, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
    if (fd < 0) {
        int err = -errno;
        return mqsi_fail(err, "cannot open shared-memory object %s: %s%s", name, strerror(-err),
                         err == -ENOENT ? " (is the graph running? check the name with `ls /dev/shm`)" : "");
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = -errno;
        close(fd);
        return mqsi_fail(err, "cannot stat %s: %s", name, strerror(-err));
    }
    /* root may open anyone's object: a domain is only ever its owner's. */
    if (st.st_uid != geteuid()) {
        close(fd);
        return mqsi_fail(-EACCES, "%s belongs to user %u, not to you (user %u): a domain is only used by its owner",
                         name, (unsigned)st.st_uid, (unsigned)geteuid());
    }
    if ((size_t)st.st_size < sizeof(mqs_segment_header)) {
        close(fd);
        return mqsi_fail(-EBADMSG, "%s is truncated (%lld bytes, smaller than a segment header)", name,
                         (long long)st.st_size);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
    int err = p == MAP_FAILED ? -errno : 0;
    close(fd);
    if (err)
        return mqsi_fail(err, "cannot map %s: %s", name, strerror(-err));
    *out = p;
    *size_out = (size_t)st.st_size;
    return 0;
}

void mqsi_shm_unmap(void *addr, size_t size)
{
    if (addr)
        munmap(addr, size);
}

void mqsi_segment_header_init(mqs_segment_header *h, uint32_t kind, uint64_t size)
{
    memset(h, 0, sizeof *h);
    h->magic = MQS_SEGMENT_MAGIC;
    h->layout_version = MQS_LAYOUT_VERSION;
    h->kind = kind;
    h->size = size;
    h->creator_pid = (uint32_t)getpid();
    h->creator_uid = (uint32_t)getuid();
    h->creator_start_time = mqs_pid_start_time(getpid());
}

int mqsi_segment_header_check(const char *name, const mqs_segment_header *h, uint32_t kind, size_t mapped)
{
    if (h->magic != MQS_SEGMENT_MAGIC)
        return mqsi_fail(-EPROTO, "%s is not a multiqueue-shm segment (bad magic)", name);
    if (h->layout_version != MQS_LAYOUT_VERSION)
        return mqsi_fail(-EPROTO,
                         "%s has shared-memory layout version %u, this library speaks %u: "
                         "run every process of a graph from the same multiqueue-shm build",
                         name, h->layout_version, MQS_LAYOUT_VERSION);
    if (h->kind != kind)
        return mqsi_fail(-EPROTO, "%s is a segment of another kind (%u, expected %u)", name, h->kind, kind);
    if (h->size != mapped)
        return mqsi_fail(-EBADMSG, "%s is %zu bytes but its header says %llu: truncated or corrupt", name,
                         mapped, (unsigned long long)h->size);
    if (!atomic_load_explicit(&((mqs_segment_header *)h)->ready, memory_order_acquire))
        return mqsi_fail(-EAGAIN, "%s is still being created; try again", name);
    return 0;
}
