/* Test-only harness shared by the engine tests: de-identify an in-memory instance and re-read the output. */
#ifndef DV_TESTKIT_H
#define DV_TESTKIT_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dicomveil.h"

typedef struct parsed {
    dv_mem_source ms;
    dv_source src;
    dv_instance *inst;
} parsed;

typedef struct output {
    dv_mem_sink sink; /* the de-identified file */
    dv_result res;
    parsed p;         /* the file re-read */
} output;

/* Read data (which must outlive p). 0, or -1 with err set. */
int dvt_parse(parsed *p, const uint8_t *data, size_t len, dv_error *err);
/* Compile json, de-identify in with key (lim NULL = defaults) into o, re-read it. 0, or -1 with err set
 * (err->message says which step failed); o is always safe to pass to dvt_output_free. */
int dvt_deidentify(const char *json, const dv_key *key, const dv_limits *lim, const uint8_t *in, size_t inlen,
                   output *o, dv_error *err);
void dvt_output_free(output *o);
/* inst written to memory: the bytes (malloc'd, the caller frees), their count in *len; NULL with err set. */
uint8_t *dvt_write_mem(const dv_instance *inst, size_t *len, dv_error *err);
/* The whole file at path, malloc'd (the caller frees), its size in *len; NULL when it cannot be read. */
uint8_t *dvt_slurp(const char *path, size_t *len);
/* A 32-byte key of one repeated byte (distinct fills: distinct keys); NULL when it cannot be made. */
dv_key *dvt_key_filled(unsigned char fill);

#endif
