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
