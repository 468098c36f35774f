/* Everything the deidentify run prints while it works, all on stderr (stdout stays clean for scripts).
 *
 * The progress bar is drawn only on a terminal and without --quiet, only by the main thread, at most ten
 * times a second. Workers print their per-instance failure lines through dvc_progress_log, which takes the
 * same lock and erases the bar first, so lines never tear. The bar shows counts only, never a path.
 * State is per run (dvc_progress) and the counts are the library run's (dv_run_count). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"

#define BAR_WIDTH 30
#define REDRAW_INTERVAL 0.1

double dvc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void dvc_progress_start(dvc_progress *p, int enabled, size_t total)
{
    pthread_mutex_init(&p->lock, NULL);
    p->enabled = enabled;
    p->total = total;
    p->drawn = 0;
    p->start = dvc_now();
    p->last_draw = 0;
}

void dvc_progress_destroy(dvc_progress *p)
{
    pthread_mutex_destroy(&p->lock);
}

void dvc_progress_update(dvc_progress *p, const dv_run *run)
{
    if (!p->enabled)
        return;
    double now = dvc_now();
    pthread_mutex_lock(&p->lock);
    if (now - p->last_draw >= REDRAW_INTERVAL) {
        p->last_draw = now;
        size_t done = (size_t)dv_run_done(run);
        size_t filled = p->total ? done * BAR_WIDTH / p->total : BAR_WIDTH;
        char bar[BAR_WIDTH + 1];
        for (size_t i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        double elapsed = now - p->start;
        fprintf(stderr, "\r\033[K[%s] %zu/%zu  %zu failed  %.1f instances/s", bar, done, p->total,
                (size_t)dv_run_count(run, DV_OUTCOME_FAILED), elapsed > 0 ? (double)done / elapsed : 0.0);
        fflush(stderr);
        p->drawn = 1;
    }
    pthread_mutex_unlock(&p->lock);
}

static void erase_locked(dvc_progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        p->drawn = 0;
    }
}

void dvc_progress_stop(dvc_progress *p)
{
    pthread_mutex_lock(&p->lock);
    erase_locked(p);
    p->enabled = 0;
    fflush(stderr);
    pthread_mutex_unlock(&p->lock);
}

void dvc_progress_log(dvc_progress *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&p->lock);
    erase_locked(p);
    dvc_vline("", fmt, ap);
    p->last_draw = 0; /* redraw the bar on the next tick */
    fflush(stderr);
    pthread_mutex_unlock(&p->lock);
    va_end(ap);
}

void dvc_summary(dvc_progress *p, const dv_run *run, double elapsed)
{
    size_t done = (size_t)dv_run_done(run);
    double secs = elapsed > 1e-9 ? elapsed : 1e-9;
    double mb = (double)dv_run_bytes_in(run) / 1e6;
    pthread_mutex_lock(&p->lock);
    erase_locked(p);
    fprintf(stderr,
            "instances: %zu ok, %zu failed, %zu skipped, %zu duplicate; "
            "%.1f instances/s, %.1f MB/s (input bytes), elapsed %.2fs\n",
            (size_t)dv_run_count(run, DV_OUTCOME_OK), (size_t)dv_run_count(run, DV_OUTCOME_FAILED),
            (size_t)dv_run_count(run, DV_OUTCOME_SKIPPED), (size_t)dv_run_count(run, DV_OUTCOME_DUPLICATE),
            (double)done / secs, mb / secs, elapsed);
    fflush(stderr);
    pthread_mutex_unlock(&p->lock);
}
