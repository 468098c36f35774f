/* A thread's own alternate signal stack (sigaltstack) for the crash report's handler (src/cli/crash_report.c,
 * installed with SA_ONSTACK). A thread that overflows its stack faults with no stack left to run a handler on:
 * without one of these it died without the report (stop 54's review). The main thread's is set by the report's
 * install; every thread dicomveil starts to do an instance's work or to walk folders sets its own first
 * (dv_thread_altstack_enter) and frees it last (dv_thread_altstack_leave). A thread a library starts
 * (libmicrohttpd's, one per connection) gets one on its first call into dicomveil (dv_thread_altstack_ensure),
 * freed when it exits (a thread-specific key's destructor). Sanitizer builds set nothing: ASan and UBSan keep
 * their own per thread. */
#ifndef DV_THREAD_ALTSTACK_H
#define DV_THREAD_ALTSTACK_H

#include <pthread.h>
#include <stddef.h>

/* The stack's size: room for the report (backtrace and a few writes), as the main thread's. */
#define DV_ALTSTACK_SIZE ((size_t)64 * 1024)

/* Sets this thread's alternate stack: the stack to give dv_thread_altstack_leave, NULL when none could be set (no
 * memory; a sanitizer build): the thread then runs as before, its overflow unreported. */
void *dv_thread_altstack_enter(void);

/* Takes this thread's alternate stack down (disabled first: never freed while it is the thread's) and frees it.
 * NULL: nothing. */
void dv_thread_altstack_leave(void *stack);

/* For threads a library starts: a key whose destructor takes a thread's stack down when it exits (create it
 * before the library starts any, delete it once all have ended); 0, or an errno. */
int dv_thread_altstack_key_create(pthread_key_t *key);
/* Gives the calling thread its stack once (the key holds it, or a mark where none could be set). */
void dv_thread_altstack_ensure(pthread_key_t key);

#endif
