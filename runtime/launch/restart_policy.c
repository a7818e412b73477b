/* Restart decisions: policy, restarts in a row, the window that clears
 * them, and the doubling backoff. */
#include "restart_policy.h"

int64_t mqs_restart_backoff(const mqs_graph_supervision *s, uint32_t in_row)
{
    int64_t delay = s->backoff_ns;
    /* Doubling stops at the cap, and never past it: a cap near INT64_MAX would overflow. */
    for (uint32_t i = 0; i < in_row && delay > 0 && delay < s->max_backoff_ns; i++)
        delay = delay > s->max_backoff_ns / 2 ? s->max_backoff_ns : delay * 2;
    return delay < s->max_backoff_ns ? delay : s->max_backoff_ns;
}

mqs_restart_verdict mqs_restart_decide(const mqs_graph_supervision *s, mqs_restart_state *st, bool clean,
                                       int64_t ran_ns, int64_t *delay_ns)
{
    *delay_ns = 0;
    if (s->restart == MQS_RESTART_NEVER || (s->restart == MQS_RESTART_ON_FAILURE && clean))
        return MQS_RESTART_NOT;
    if (ran_ns >= s->restart_window_ns)
        st->in_row = 0;
    if (s->max_restarts > 0 && st->in_row >= s->max_restarts)
        return clean ? MQS_RESTART_NOT : MQS_RESTART_GIVE_UP;
    *delay_ns = mqs_restart_backoff(s, st->in_row);
    st->in_row++;
    st->total++;
    return MQS_RESTART_AFTER;
}
