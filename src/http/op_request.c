/* The request of an operation as op_start.c stored it in the index (JSON: kind, stores, filter, folder,
 * config, keyDataset), read back into the op_ctx. Why a file: the stored request is the contract between the
 * request thread that validated it and the runner that may read it after a restart. */
#include <stdlib.h>
#include <string.h>

#include "http/op_internal.h"

int dvh_op_load_request(dvh_op_ctx *c, const char *text, int64_t *key_dataset, const char **config, json_t **keep)
{
    json_t *r = json_loads(text ? text : "", 0, NULL);
    if (r == NULL)
        return -1;
    *keep = r;
    const char *kind = json_string_value(json_object_get(r, "kind"));
    c->kind = kind == NULL ? 0 : strcmp(kind, "deidentify") == 0 ? DVH_OP_DEIDENTIFY
                                 : strcmp(kind, "import") == 0   ? DVH_OP_IMPORT
                                 : strcmp(kind, "export") == 0   ? DVH_OP_EXPORT
                                 : strcmp(kind, "recorded") == 0 ? DVH_OP_RECORDED
                                                                 : 0;
    if (c->kind == 0)
        return -1;
    if (c->kind == DVH_OP_RECORDED) {
        json_t *res = json_object_get(r, "result");
        return json_is_object(res) && (c->result = json_dumps(res, JSON_COMPACT)) != NULL ? 0 : -1;
    }
    json_t *f = json_object_get(r, "filter");
    if (json_is_array(f))
        c->filter = json_incref(f);
    const char *folder = json_string_value(json_object_get(r, "folder"));
    if (folder && (c->folder = strdup(folder)) == NULL)
        return -1;
    *config = json_string_value(json_object_get(r, "config"));
    *key_dataset = json_integer_value(json_object_get(r, "keyDataset"));
    if (c->kind == DVH_OP_IMPORT) {
        c->pairs = calloc(1, sizeof *c->pairs);
        if (c->pairs == NULL)
            return -1;
        c->pairs[0].dst = json_integer_value(json_object_get(r, "dst"));
        c->npairs = 1;
        return c->folder ? 0 : -1;
    }
    json_t *stores = json_object_get(r, "stores");
    size_t n = json_array_size(stores);
    c->pairs = calloc(n ? n : 1, sizeof *c->pairs);
    if (c->pairs == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(stores, i);
        c->pairs[i].src = json_integer_value(json_object_get(p, "src"));
        c->pairs[i].dst = json_integer_value(json_object_get(p, "dst"));
    }
    c->npairs = n;
    if (c->kind == DVH_OP_DEIDENTIFY && (*config == NULL || *key_dataset <= 0))
        return -1;
    return c->kind == DVH_OP_EXPORT && c->folder == NULL ? -1 : 0;
}
