/* One process named for good: a pid and the kernel's start time of it
 * (/proc/PID/stat field 22). Pids are reused; the pair is not. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mqs/pid.h"

uint64_t mqs_pid_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields restart after
     * the last ')'. starttime is field 22; after ')' comes field 3. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    unsigned long long start = 0;
    int field = 2;
    for (p++; *p && field < 22; p++) {
        if (*p == ' ')
            field++;
        if (field == 22) {
            sscanf(p + 1, "%llu", &start);
            break;
        }
    }
    return start ? start : 1;
}

bool mqs_pid_alive(uint32_t pid, uint64_t start_time)
{
    if (pid == 0)
        return false;
    uint64_t now = mqs_pid_start_time((pid_t)pid);
    /* /proc unreadable (out of file descriptors, say) is no proof of death:
     * ask the kernel whether the pid exists, and if so take it as alive. */
    if (now == 0)
        return kill((pid_t)pid, 0) == 0 || errno == EPERM;
    /* A zombie still has its /proc entry; it is dead for our purposes. */
    char path[64], state = 0, buf[512];
    snprintf(path, sizeof path, "/proc/%u/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) {
            buf[n] = '\0';
            char *p = strrchr(buf, ')');
            if (p && p[1] == ' ')
                state = p[2];
        }
    }
    if (state == 'Z' || state == 'X')
        return false;
    return start_time == 0 || now == start_time;
}
