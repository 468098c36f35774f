/* One secret key per dataset (DECISIONS 7; docs/server.md "The dataset key"): DATA/keys/<dataset row id>.key,
 * 32 random bytes, directory 0700 and file 0600, created atomically on first use (an O_EXCL temporary file
 * linked to its name; link never replaces, so two first uses racing end with one key). Named by the
 * dataset's row id, never by its client-given name. [test_store: test_dataset_key] */
#ifndef DVS_KEYS_H
#define DVS_KEYS_H

#include <stdint.h>

#include "dicomveil/dv_engine.h"
#include "dicomveil/dv_error.h"

/* The dataset's key (created when missing). NULL with err (DV_ERR_IO, or the key's own error). */
dv_key *dvs_dataset_key(int data_fd, int64_t dataset_id, dv_error *err);
/* Remove the dataset's key (its dataset was deleted); missing is fine. */
void dvs_dataset_key_remove(int data_fd, int64_t dataset_id);

/* The server's naming key, DATA/keys/naming.key (32 random bytes, created the same way on the first start):
 * the key of the instance file names (dvs_blob_name, src/store/blobs.c; docs/decisions.md "Server storage").
 * It never leaves DATA and names nothing but files. NULL with err. [test_store: test_blob_names] */
dv_key *dvs_naming_key(int data_fd, dv_error *err);

#endif
