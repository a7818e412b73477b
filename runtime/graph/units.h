/* Durations and sizes as graph files and command lines write them. */
#ifndef MQS_UNITS_H
#define MQS_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "250ms", "2s", "1.5us", "-3ms", "100ns", or a plain integer (ns).
 * 0 or -EINVAL with a message naming the accepted units. */
int mqs_parse_duration(const char *text, int64_t *out, char *err, size_t errlen);

/* "4096", "64KiB", "8MiB", "1GiB", "512B". 0 or -EINVAL. */
int mqs_parse_size(const char *text, int64_t *out, char *err, size_t errlen);

#endif
