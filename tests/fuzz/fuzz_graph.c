/* Fuzz harness of the graph loader: the input is a graph file, and its lines
 * that start with "#set " (YAML comments) are also passed as --set
 * overrides. mqs_graph_load must give a graph, or one line of error that
 * starts with the file's name (or with "--set " about an override); never a
 * crash, a leak or a hang. Block types resolve against the build's blocks
 * (MQS_FUZZ_BLOCK_DIR); `path: ../../blocks/...` reaches the test-only
 * blocks, as it does from tests/graphs/bad and good. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_target.h"
#include "graph/graph_load.h"

#define MAX_SETS 4

/* mkdtemp'd: blocks (a link to the test blocks) and g/g/fuzz.yaml, the input. */
static char work_dir[PATH_MAX / 2];
static char graph_file[PATH_MAX];
static FILE *print_sink;

static void work_path(char *out, size_t size, const char *rel)
{
    snprintf(out, size, "%s/%s", work_dir, rel);
}

static void remove_work_dir(void)
{
    char path[PATH_MAX];
    unlink(graph_file);
    work_path(path, sizeof path, "g/g");
    rmdir(path);
    work_path(path, sizeof path, "g");
    rmdir(path);
    work_path(path, sizeof path, "blocks");
    unlink(path);
    rmdir(work_dir);
    if (print_sink)
        fclose(print_sink);
}

/* Once per process: the work directory, the block path, /dev/null for printing. */
static void set_up(void)
{
    const char *tmp = getenv("TMPDIR");
    char path[PATH_MAX];
    snprintf(work_dir, sizeof work_dir, "%s/mqs-fuzz-graph.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    FUZZ_REQUIRE(mkdtemp(work_dir), "create the work directory", strerror(errno));
    atexit(remove_work_dir);
    work_path(path, sizeof path, "g");
    FUZZ_REQUIRE(mkdir(path, 0700) == 0, "create the work directory", strerror(errno));
    work_path(path, sizeof path, "g/g");
    FUZZ_REQUIRE(mkdir(path, 0700) == 0, "create the work directory", strerror(errno));
    work_path(path, sizeof path, "blocks");
    FUZZ_REQUIRE(symlink(MQS_FUZZ_TEST_BLOCK_DIR, path) == 0, "link the test blocks", strerror(errno));
    work_path(graph_file, sizeof graph_file, "g/g/fuzz.yaml");
    setenv("MQS_BLOCK_PATH", MQS_FUZZ_BLOCK_DIR, 1);
    print_sink = fopen("/dev/null", "w");
    FUZZ_REQUIRE(print_sink, "open /dev/null", strerror(errno));
}

/* The "#set BLOCK.PARAM=VALUE" lines of the input, copied into buf. */
static size_t collect_sets(const uint8_t *data, size_t size, char *buf, size_t buflen, const char **sets)
{
    size_t count = 0, used = 0;
    for (size_t at = 0; at < size && count < MAX_SETS;) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (data + at)) : size - at;
        if (len > 5 && memcmp(data + at, "#set ", 5) == 0 && used + len - 5 < buflen) {
            memcpy(buf + used, data + at + 5, len - 5);
            buf[used + len - 5] = '\0';
            sets[count++] = buf + used;
            used += len - 5 + 1;
        }
        at += len + 1;
    }
    return count;
}

static void write_input(const uint8_t *data, size_t size)
{
    FILE *f = fopen(graph_file, "wb");
    FUZZ_REQUIRE(f, "write the input", strerror(errno));
    bool written = fwrite(data, 1, size, f) == size;
    FUZZ_REQUIRE(fclose(f) == 0 && written, "write the input", graph_file);
}

static void check_error(int rc, const mqs_graph *g, const char *err, bool with_sets)
{
    size_t n = strlen(graph_file);
    bool names_file = strncmp(err, graph_file, n) == 0 && err[n] == ':';
    bool names_set = with_sets && strncmp(err, "--set ", 6) == 0;
    FUZZ_REQUIRE(rc < 0, "a failed load returns a negative errno", err);
    FUZZ_REQUIRE(!g, "a failed load gives no graph", err);
    FUZZ_REQUIRE(err[0] != '\0', "a failed load says why", "an empty message");
    /* A --set error quotes the override as given on the command line. */
    FUZZ_REQUIRE(names_set || !strpbrk(err, "\r\n"), "the error is one line", err);
    FUZZ_REQUIRE(names_file || names_set, "the error starts with the file's name", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        set_up();
        ready = true;
    }
    char set_text[1024], err[1024] = "";
    const char *sets[MAX_SETS];
    size_t set_count = collect_sets(data, size, set_text, sizeof set_text, sets);
    write_input(data, size);
    mqs_graph *g = NULL;
    int rc = mqs_graph_load(graph_file, sets, set_count, &g, err, sizeof err);
    if (rc != 0) {
        check_error(rc, g, err, set_count > 0);
        return 0;
    }
    FUZZ_REQUIRE(g && g->block_count > 0, "a loaded graph has blocks", graph_file);
    mqs_graph_print(g, print_sink);
    mqs_graph_free(g);
    return 0;
}
