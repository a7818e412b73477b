/* Percentiles for the benchmarks. */
#include <stdio.h>
#include <stdlib.h>

#include "bench_stats.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t bench_percentile(int64_t *samples, size_t n, double q)
{
    if (n == 0)
        return 0;
    qsort(samples, n, sizeof *samples, cmp_i64);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return samples[i < n ? i : n - 1];
}

void bench_target_set(bench_target *t, const char *text, const char *shown_fmt, double value, bool pass)
{
    snprintf(t->text, sizeof t->text, "%s", text);
    snprintf(t->shown, sizeof t->shown, shown_fmt, value);
    t->value = value;
    t->pass = pass;
}

void bench_print_targets(const bench_target *t, size_t n)
{
    printf("\n");
    for (size_t i = 0; i < n; i++)
        printf("target: %-62s %10s  %s\n", t[i].text, t[i].shown, t[i].pass ? "PASS" : "MISS");
}

void bench_json_targets(const bench_target *t, size_t n)
{
    printf(",\"targets\":[");
    for (size_t i = 0; i < n; i++)
        printf("%s{\"target\":\"%s\",\"value\":%.4g,\"pass\":%s}", i ? "," : "", t[i].text, t[i].value,
               t[i].pass ? "true" : "false");
    printf("]");
}
