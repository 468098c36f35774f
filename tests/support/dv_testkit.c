#include "dv_testkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dvt_parse(parsed *p, const uint8_t *data, size_t len, dv_error *err)
{
    p->src = dv_source_memory(&p->ms, data, len);
    p->inst = dv_instance_read(&p->src, NULL, err);
    return p->inst ? 0 : -1;
}

static int step_failed(dv_error *err, const char *step)
{
    char msg[DV_ERROR_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "%s", err->message);
    return dv_fail(err, err->code, "%s: %s", step, msg);
}

int dvt_deidentify(const char *json, const dv_key *key, const dv_limits *lim, const uint8_t *in, size_t inlen,
                   output *o, dv_error *err)
{
    memset(o, 0, sizeof *o);
    dv_result_init(&o->res);
    dv_plan *plan = dv_plan_from_json(json, strlen(json), err);
    if (!plan)
        return step_failed(err, "dv_plan_from_json");
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, in, inlen);
    dv_sink sink = dv_sink_memory(&o->sink);
    int rc = dv_deidentify(plan, key, &src, &sink, lim, &o->res, err);
    dv_plan_free(plan);
    if (rc != 0)
        return step_failed(err, "dv_deidentify");
    if (dvt_parse(&o->p, o->sink.data, o->sink.len, err) != 0)
        return step_failed(err, "re-reading the output");
    return 0;
}

void dvt_output_free(output *o)
{
    dv_instance_free(o->p.inst);
    dv_mem_sink_free(&o->sink);
}

uint8_t *dvt_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) { /* not a regular file (a directory, a pipe) */
        fclose(f);
        return NULL;
    }
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

uint8_t *dvt_write_mem(const dv_instance *inst, size_t *len, dv_error *err)
{
    dv_mem_sink ms;
    memset(&ms, 0, sizeof ms);
    dv_sink sink = dv_sink_memory(&ms);
    if (dv_instance_write(inst, &sink, err) != 0) {
        free(ms.data);
        return NULL;
    }
    *len = ms.len;
    return ms.data;
}

dv_key *dvt_key_filled(unsigned char fill)
{
    unsigned char b[32];
    memset(b, fill, sizeof b);
    dv_error err;
    dv_error_clear(&err);
    return dv_key_new(b, sizeof b, &err);
}
