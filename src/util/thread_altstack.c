/* dv_thread_altstack.h says why. */
#include "util/dv_thread_altstack.h"

#include <signal.h>
#include <stdlib.h>

#include "util/dv_sanitized.h"

void *dv_thread_altstack_enter(void)
{
#ifdef DV_SANITIZED
    return NULL;
#else
    stack_t alt = {.ss_sp = malloc(DV_ALTSTACK_SIZE), .ss_size = DV_ALTSTACK_SIZE, .ss_flags = 0};
    if (alt.ss_sp && sigaltstack(&alt, NULL) != 0) {
        free(alt.ss_sp);
        return NULL;
    }
    return alt.ss_sp;
#endif
}

void dv_thread_altstack_leave(void *stack)
{
    if (!stack)
        return;
    stack_t off = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    if (sigaltstack(&off, NULL) == 0) /* else (on it: only inside a handler, which never returns here) kept */
        free(stack);
}

/* The key's value for a thread that could get no stack: not NULL, so it is not tried again each call. */
static const char no_stack;

static void leave_at_exit(void *value)
{
    if (value != &no_stack)
        dv_thread_altstack_leave(value);
}

int dv_thread_altstack_key_create(pthread_key_t *key)
{
    return pthread_key_create(key, leave_at_exit);
}

void dv_thread_altstack_ensure(pthread_key_t key)
{
    if (pthread_getspecific(key) != NULL)
        return;
    void *stack = dv_thread_altstack_enter();
    if (pthread_setspecific(key, stack ? stack : (void *)&no_stack) != 0)
        dv_thread_altstack_leave(stack);
}
