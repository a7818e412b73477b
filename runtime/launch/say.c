/* What mqrun says on stderr, by verbosity: every step of the supervisor
 * speaks through here. */
#include <stdarg.h>
#include <stdio.h>

#include "supervisor_internal.h"

void mqs_say(const supervisor *s, int level, const char *fmt, ...)
{
    if (s->opt->verbosity < level)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("mqrun: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
