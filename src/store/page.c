/* One page of a listing, the same for every index backend (dvs_page.h says why). */
#include "store/dvs_page.h"

#include <string.h>

#include "store/dvs_index.h"

static void clear_store(void *elem)
{
    dvs_store_clear(elem);
}

static void clear_operation(void *elem)
{
    dvs_operation_clear(elem);
}

const dvs_page_kind dvs_page_datasets = {sizeof(dvs_dataset), offsetof(dvs_dataset, id), NULL};
const dvs_page_kind dvs_page_stores = {sizeof(dvs_store), offsetof(dvs_store, id), clear_store};
const dvs_page_kind dvs_page_operations = {sizeof(dvs_operation), offsetof(dvs_operation, id), clear_operation};
const dvs_page_kind dvs_page_items = {sizeof(dvs_op_item), offsetof(dvs_op_item, seq), NULL};

static char *element(const dvs_page_kind *kind, void *out, size_t i)
{
    return (char *)out + i * kind->size;
}

int dvs_page_fill(const dvs_page_kind *kind, const dvs_page_rows *rows, void *out, uint32_t limit, size_t *n,
                  int64_t *next, const char *what, dv_error *err)
{
    *n = 0;
    if (next)
        *next = 0;
    int r;
    while ((r = rows->step(rows->src, err)) > 0) {
        if (*n == limit) { /* the extra row: more follow the last one returned */
            if (next && *n > 0)
                memcpy(next, element(kind, out, *n - 1) + kind->cursor, sizeof *next);
            return 0;
        }
        if (rows->read(rows->src, element(kind, out, *n))) {
            dv_fail(err, DV_ERR_NOMEM, "index: %s", what);
            r = -1;
            break;
        }
        (*n)++;
    }
    if (r == 0)
        return 0;
    for (size_t i = 0; kind->clear && i < *n; i++)
        kind->clear(element(kind, out, i));
    *n = 0;
    if (next)
        *next = 0;
    return -1;
}
