/* Redaction boxes of de-identify operations, kept for the console's review (issue 9 item 4; docs/console.md
 * "Redaction boxes").
 *
 * While an operation de-identifies an instance, the run's box observer (dv_run_set_box_observer: boxes only,
 * no frame copied for it) hands every box the pixel stage painted to that instance's collector (the frame
 * event's instance_arg leads to it). Once the output is stored, the collector is saved with the operation,
 * keyed by the OUTPUT instance's resource path, which is what the review page knows:
 *
 *   DATA/boxes/<operation row id>/<sha-256 hex of "/studies/S/series/E/instances/I">.json
 *   {"instance": "/studies/S/series/E/instances/I", "framesExamined": N, "boxCount": M, "truncated": false,
 *    "boxes": [{"frame": 1, "x": 10, "y": 20, "w": 300, "h": 14}, ...]}
 *
 * frame is the DICOMweb frame number (from 1, as the rendered endpoint takes it); x, y, w, h are the pixel
 * columns [x, x + w) and rows [y, y + h) painted, in the frame's own size. One record per instance the pixel
 * stage examined (an empty box list says "examined, nothing redacted"); none when the config does not clean
 * its pixels. Written to a temporary name and renamed over, like the review marks: a reader sees the old
 * record or the new one, and a redone item (resume) writes the same record again. Only coordinates and counts
 * are kept: never recognised text, never an input UID — nothing here is PHI.
 * Cap: DVH_BOXES_MAX boxes per instance; past it boxes are only counted (boxCount) and truncated is true.
 * [test_op_boxes: test_record_roundtrip, test_cap; test_server_boxes.py] */
#ifndef DVH_OP_BOXES_H
#define DVH_OP_BOXES_H

#include <stdint.h>

#include <jansson.h>

#include "dicomveil/dicomveil.h"

#define DVH_BOXES_MAX 4096u           /* boxes kept per instance */
#define DVH_BOXES_FILE_MAX (4u << 20) /* a record read back is at most this (ours are ~200 KiB at most) */

/* One worker's collector, reused instance after instance (a chunk of an operation). Not thread-safe: one
 * instance at a time. */
typedef struct dvh_boxes dvh_boxes;
dvh_boxes *dvh_boxes_new(void); /* NULL on ENOMEM; free with dvh_boxes_free (NULL-safe) */
void dvh_boxes_free(dvh_boxes *b);
/* Before each instance: forget the previous one. */
void dvh_boxes_begin(dvh_boxes *b);
/* The observer's work: keep ev's boxes with its frame. A frame seen again (the stage redoing its output in
 * another transfer syntax) replaces what it had. Never fails: past the cap boxes are only counted; out of
 * memory makes the record unsaveable. */
void dvh_boxes_add(dvh_boxes *b, const dv_frame_event *ev);
/* The instance res describes was stored: save its record for operation op_id under the data directory
 * data_fd when the pixel stage ran on it (nothing to do otherwise). 0, or -1 with err (DV_ERR_IO,
 * DV_ERR_NOMEM). */
int dvh_boxes_save(dvh_boxes *b, int data_fd, int64_t op_id, const dv_result *res, dv_error *err);
/* The record of the output instance "/studies/S/series/E/instances/I" (key: UIDs the caller checked) in
 * operation op_id: 1 with *out (caller decrefs), 0 when there is none, -1 with err (unreadable, too large). */
int dvh_boxes_load(int data_fd, int64_t op_id, const char *key, json_t **out, dv_error *err);

/* Remove every record of operation op_id (DATA/boxes/<op_id>/ and what this module wrote in it; none is
 * fine): its dataset was deleted (resources.c). [test_server_boxes.py "deleting the dataset"] */
void dvh_boxes_remove(int data_fd, int64_t op_id);

#endif
