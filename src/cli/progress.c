/* Everything the deidentify run prints while it works, all on stderr (stdout stays clean for scripts).
 *
 * The progress bar is drawn only on a terminal and without --quiet, only by the main thread, at most ten
 * times a second. Workers print their per-instance failure lines through dvc_progress_log, which takes the
 * same lock and erases the bar first, so lines never tear. The bar shows counts only, never a path. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"

#define BAR_WIDTH 30
#define REDRAW_INTERVAL 0.1

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_enabled;
static int g_drawn;
static size_t g_total;
static double g_start, g_last_draw;

double dvc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void dvc_progress_start(int enabled, size_t total)
{
    pthread_mutex_lock(&g_lock);
    g_enabled = enabled;
    g_total = total;
    g_drawn = 0;
    g_start = dvc_now();
    g_last_draw = 0;
    pthread_mutex_unlock(&g_lock);
}

static size_t done_count(const dvc_counts *c)
{
    return atomic_load(&c->ok) + atomic_load(&c->failed) + atomic_load(&c->skipped) + atomic_load(&c->duplicate);
}

void dvc_progress_update(const dvc_counts *c)
{
    if (!g_enabled)
        return;
    double now = dvc_now();
    pthread_mutex_lock(&g_lock);
    if (now - g_last_draw >= REDRAW_INTERVAL) {
        g_last_draw = now;
        size_t done = done_count(c);
        size_t filled = g_total ? done * BAR_WIDTH / g_total : BAR_WIDTH;
        char bar[BAR_WIDTH + 1];
        for (size_t i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        double elapsed = now - g_start;
        fprintf(stderr, "\r\033[K[%s] %zu/%zu  %zu failed  %.1f instances/s", bar, done, g_total,
                atomic_load(&c->failed), elapsed > 0 ? (double)done / elapsed : 0.0);
        fflush(stderr);
        g_drawn = 1;
    }
    pthread_mutex_unlock(&g_lock);
}

static void erase_locked(void)
{
    if (g_drawn) {
        fputs("\r\033[K", stderr);
        g_drawn = 0;
    }
}

void dvc_progress_stop(void)
{
    pthread_mutex_lock(&g_lock);
    erase_locked();
    g_enabled = 0;
    fflush(stderr);
    pthread_mutex_unlock(&g_lock);
}

void dvc_progress_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&g_lock);
    erase_locked();
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    g_last_draw = 0; /* redraw the bar on the next tick */
    fflush(stderr);
    pthread_mutex_unlock(&g_lock);
    va_end(ap);
}

void dvc_summary(const dvc_counts *c, double elapsed)
{
    size_t done = done_count(c);
    double secs = elapsed > 1e-9 ? elapsed : 1e-9;
    double mb = (double)atomic_load(&c->bytes_in) / 1e6;
    pthread_mutex_lock(&g_lock);
    erase_locked();
    fprintf(stderr,
            "instances: %zu ok, %zu failed, %zu skipped (not DICOM), %zu duplicate; "
            "%.1f instances/s, %.1f MB/s (input bytes), elapsed %.2fs\n",
            atomic_load(&c->ok), atomic_load(&c->failed), atomic_load(&c->skipped), atomic_load(&c->duplicate),
            (double)done / secs, mb / secs, elapsed);
    fflush(stderr);
    pthread_mutex_unlock(&g_lock);
}
