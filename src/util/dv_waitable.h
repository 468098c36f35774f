/* A mutex and its condition variable, made and destroyed together: the two budgets (budget.c, pixel_budget.c)
 * each wait on one. */
#ifndef DV_WAITABLE_H
#define DV_WAITABLE_H

#include <pthread.h>

#include "dicomveil/dv_error.h"

/* 0, or -1 with err set and nothing left to destroy. */
static inline int dv_waitable_init(pthread_mutex_t *m, pthread_cond_t *c, dv_error *err)
{
    if (pthread_mutex_init(m, NULL) != 0)
        return dv_fail(err, DV_ERR_NOMEM, "cannot create a mutex");
    if (pthread_cond_init(c, NULL) != 0) {
        pthread_mutex_destroy(m);
        return dv_fail(err, DV_ERR_NOMEM, "cannot create a condition variable");
    }
    return 0;
}

static inline void dv_waitable_destroy(pthread_mutex_t *m, pthread_cond_t *c)
{
    pthread_cond_destroy(c);
    pthread_mutex_destroy(m);
}

#endif
