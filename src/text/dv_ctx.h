/* Clean Descriptors [CTX]: the per-instance list of identifying phrases and its matcher (ctx.c). */
#ifndef DV_CTX_H
#define DV_CTX_H

#include <stddef.h>

#include "dicomveil/dv_error.h"
#include "text/dv_text.h"

typedef struct dv_ctx_list dv_ctx_list;
/* NULL when out of memory. dv_ctx_list_clear keeps the capacity for the next instance. */
dv_ctx_list *dv_ctx_list_new(void);
void dv_ctx_list_free(dv_ctx_list *l);
void dv_ctx_list_clear(dv_ctx_list *l);
size_t dv_ctx_list_count(const dv_ctx_list *l);
/* Add the phrases of one original value (UTF-8; PN split into components; `\` splits values). 0, or -1
 * (DV_ERR_LIMIT past 4096 phrases / 256 KiB, DV_ERR_NOMEM). */
int dv_ctx_list_add_value(dv_ctx_list *l, int is_pn, const char *utf8, size_t len, dv_error *err);
/* Append a DV_IT_CTX finding (detector DV_DET_CONTEXT) for every phrase occurrence in utf8. 0 or -1. */
int dv_ctx_detect(const dv_ctx_list *l, const char *utf8, size_t len, dv_findings *out, dv_error *err);

#endif
