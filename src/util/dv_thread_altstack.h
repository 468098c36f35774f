/* A thread's own alternate signal stack (sigaltstack) for the crash report's handler (src/cli/crash_report.c,
 * installed with SA_ONSTACK). A thread that overflows its stack faults with no stack left to run a handler on:
 * without one of these it died without the report (stop 54's review). The main thread's is set by the report's
 * install; every thread dicomveil starts to do an instance's work or to walk folders sets its own first
 * (dv_thread_altstack_enter) and frees it last (dv_thread_altstack_leave). libmicrohttpd's own threads have none:
 * no hook runs at their start. Sanitizer builds set nothing: ASan and UBSan keep their own per thread. */
#ifndef DV_THREAD_ALTSTACK_H
#define DV_THREAD_ALTSTACK_H

#include <stddef.h>

/* The stack's size: room for the report (backtrace and a few writes), as the main thread's. */
#define DV_ALTSTACK_SIZE ((size_t)64 * 1024)

/* Sets this thread's alternate stack: the stack to give dv_thread_altstack_leave, NULL when none could be set (no
 * memory; a sanitizer build): the thread then runs as before, its overflow unreported. */
void *dv_thread_altstack_enter(void);

/* Takes this thread's alternate stack down (disabled first: never freed while it is the thread's) and frees it.
 * NULL: nothing. */
void dv_thread_altstack_leave(void *stack);

#endif
