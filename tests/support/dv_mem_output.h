/* Test-only: a dv_output that keeps the last instance written in memory (the pixel-stage tests run
 * dv_run_instance and compare or decode the bytes it wrote). */
#ifndef DV_MEM_OUTPUT_H
#define DV_MEM_OUTPUT_H

#include "dicomveil/dicomveil.h"

typedef struct dvt_memout {
    dv_mem_sink ms; /* the bytes written (dv_mem_sink_free frees them; an aborted write frees them too) */
    int written;    /* 1 once the run committed the instance */
} dvt_memout;

/* The output's callbacks; its argument (dv_run_instance's out_arg) is a dvt_memout. */
extern const dv_output DVT_MEM_OUTPUT;

#endif
