/* Parsing numbers with units. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

typedef struct unit {
    const char *suffix;
    double factor;
} unit;

static const unit duration_units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"", 1}};
static const unit size_units[] = {{"B", 1}, {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"", 1}};

static int parse_with(const char *text, const unit *units, size_t count, int64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno != 0 || !isfinite(v))
        return -EINVAL;
    for (size_t i = 0; i < count; i++)
        if (strcmp(end, units[i].suffix) == 0) {
            double scaled = v * units[i].factor;
            if (fabs(scaled) > 9.2e18 || (units[i].factor == 1 && v != floor(v)))
                return -EINVAL;
            *out = (int64_t)llround(scaled);
            return 0;
        }
    return -EINVAL;
}

int mqs_parse_duration(const char *text, int64_t *out, char *err, size_t errlen)
{
    if (parse_with(text, duration_units, sizeof duration_units / sizeof duration_units[0], out) == 0)
        return 0;
    snprintf(err, errlen, "'%s' is not a duration (write a number with ns, us, ms or s, e.g. 10ms)", text);
    return -EINVAL;
}

int mqs_parse_size(const char *text, int64_t *out, char *err, size_t errlen)
{
    if (parse_with(text, size_units, sizeof size_units / sizeof size_units[0], out) == 0 && *out >= 0)
        return 0;
    snprintf(err, errlen, "'%s' is not a size (write a number with B, KiB, MiB or GiB, e.g. 4MiB)", text);
    return -EINVAL;
}
