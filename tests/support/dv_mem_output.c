/* A dv_output into memory (dv_mem_output.h). */
#include "dv_mem_output.h"

#include <string.h>

static int mo_open(void *arg, const dv_result *res, dv_sink *sink, dv_error *err)
{
    (void)res;
    (void)err;
    dvt_memout *o = arg;
    memset(&o->ms, 0, sizeof o->ms);
    *sink = dv_sink_memory(&o->ms);
    return DV_OPEN_WRITE;
}

static int mo_commit(void *arg, const dv_result *res, dv_error *err)
{
    (void)res;
    (void)err;
    ((dvt_memout *)arg)->written = 1;
    return DV_COMMIT_WRITTEN;
}

static void mo_abort(void *arg)
{
    dv_mem_sink_free(&((dvt_memout *)arg)->ms);
}

const dv_output DVT_MEM_OUTPUT = {mo_open, mo_commit, mo_abort};
