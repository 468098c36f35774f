/* Does an opaque value hold one of the instance's own primary UIDs or dates? (opaque_ids.c) */
#ifndef DV_ENGINE_OPAQUE_IDS_H
#define DV_ENGINE_OPAQUE_IDS_H

#include <stddef.h>

#include "dicomveil/dicomveil.h"
#include "dicom/dv_ds.h"

/* 1 when e's value bytes hold one of the n UIDs or dates (uids[k], lens[k] bytes, each at most DV_UID_MAX) whole:
 * neither a digit nor a dot right before or after it, so 1.2.3 is not found inside 1.2.3.4 or 11.2.3, nor the date
 * 20191019 inside 201910191030.
 * Inline, bulk and external values are read; a bulk value in pieces of a fixed buffer, however long it is.
 * 0 when none is held or e is a sequence or an encapsulated value (which has no value bytes of its own),
 * -1 (err set, naming the tag) when its bytes cannot be read. */
int dv_value_names_uid(const dv_instance *inst, const dv_elem *e, const char (*uids)[DV_UID_MAX + 1],
                       const size_t *lens, int n, dv_error *err);

#endif
