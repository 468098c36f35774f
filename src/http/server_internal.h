/* Internal to src/http: the server object, one request's state, and the handlers' signatures. */
#ifndef DVH_SERVER_INTERNAL_H
#define DVH_SERVER_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "http/api_error.h"
#include "http/dv_server.h"
#include "http/router.h"
#include "image/dv_image.h"
#include "store/dvs_blobs.h"
#include "store/dvs_index.h"

typedef struct dvh_ops dvh_ops; /* op_internal.h (the operation runner) */
typedef struct dvh_batcher dvh_batcher; /* put_batch.c */

struct dvh_server {
    dvh_server_config cfg;
    struct MHD_Daemon *daemon;
    dvs_index *ix;
    int data_fd;
    int console_fd;       /* the console's directory (-1: none found; /console/ answers 404) */
    unsigned port;
    int tls;
    int has_token;
    uint8_t token_hash[32];
    char *tls_cert, *tls_key; /* owned copies (MHD keeps pointers) */
    pthread_mutex_t log_mu;
    char **roots;             /* --allow-root folders, resolved (realpath), owned */
    char **roots_lex;         /* the same as given, made absolute and folded lexically (roots.c), owned */
    size_t nroots;
    char *filters_dir;        /* DATA/filters (ext_endpoints.c): an allowed root for handed-over filter files */
    char *marks_dir;          /* DATA/marks (ext_endpoints.c): review marks, one file per operation */
    pthread_mutex_t marks_mu; /* serialises read-modify-write of a marks file */
    pthread_mutex_t filters_mu; /* makes a filter file's quota check and its write one step (ext_endpoints.c) */
    dvh_ops *ops;             /* the operation runner (op_runner.c) */
    /* The blob lock (blob_lock.c): held shared (dvh_blob_lock_shared) while a STOW names its file and indexes
     * it, exclusive (dvh_blob_lock) while a DELETE removes rows and then the files no row references: so a
     * DELETE never unlinks a file a concurrent STOW of the same bytes has just counted on (delete.c;
     * docs/decisions.md "DICOMweb DELETE"), while STOWs run together (their group commit, whose syncfs makes
     * their files durable, needs that: put_batch.c). blob_rw orders this process's threads; an flock on
     * DATA/blob.lock (blob_lock_fd; LOCK_SH while any STOW of this process holds it, LOCK_EX for a DELETE)
     * orders the processes that share one DATA and one PostgreSQL index. */
    pthread_rwlock_t blob_rw;
    pthread_mutex_t blob_sh_mu; /* guards blob_sh, the number of shared holders in this process */
    unsigned blob_sh;
    int blob_lock_fd;
    /* The operations' guard (op_guard.c): held while an operation starts and while a dataset or store is
     * deleted, so "which operation uses it" and the act on the answer are one step. op_guard_mu orders this
     * process's threads, an flock on DATA/ops.lock (op_guard_fd) the processes sharing DATA. */
    pthread_mutex_t op_guard_mu;
    int op_guard_fd;
    dvh_batcher *batch; /* group commit of the put path (put_batch.c) */
    dv_key *naming_key; /* DATA/keys/naming.key: names the instance files (dvs_blob_name; store_put.c) */
    /* The header sweeper (request_guard.c): the open connections, and a thread that cuts one still reading a
     * request's line and headers after the request timeout. */
    pthread_mutex_t guard_mu;
    pthread_cond_t guard_cv;
    void *guard_conns; /* conn_state list, under guard_mu */
    pthread_t guard_thread;
    int guard_running, guard_stop;
    unsigned index_settle_ms; /* index_idle.c: how long the index stays unwritten before its idle rebuild */
    unsigned index_due_max_ms; /* index_idle.c: how long a due rebuild waits for that under unceasing writes */
    /* The connection threads' alternate signal stacks (dv_thread_altstack.h): set on a thread's first request,
     * freed by the key's destructor when libmicrohttpd ends the thread. altstack_key_ok: the key exists. */
    pthread_key_t altstack_key;
    int altstack_key_ok;
};

typedef struct dvh_stow dvh_stow; /* stow.c */

typedef struct dvh_request {
    dvh_server *srv;
    struct MHD_Connection *conn;
    dvh_method method;
    dvh_route route;
    int routed;           /* route is valid */
    struct timespec t0;
    int status;           /* HTTP status sent (for the log) */
    uint64_t bytes_in;
    int responded;        /* a response is queued: further upload data is discarded */
    /* Body collection: JSON requests buffer (capped), STOW streams into dvh_stow. */
    char *json;
    size_t json_len, json_cap;
    dvh_stow *stow;
    int ext;              /* dvh_ext_kind of an extension endpoint (ext_endpoints.h), 0 for API routes */
    dvh_err body_err;     /* a failure while receiving the body, answered at the end */
    int body_failed;
    int draining;         /* body_err was decided before the body: the body is read and discarded (server.c) */
    int authorized;       /* the token check passed (or no token is configured) */
    /* Resources resolved before the body is read (a 404 is decided before the body, server.c refuse). */
    dvs_dataset dataset;
    dvs_store store;
    int have_store;
} dvh_request;

/* A handler produces a response or fails with e (then the server answers with the error JSON). */
typedef int (*dvh_handler)(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);

/* --- server.c --- */
/* One line to the server log (cfg.log), whole under log_mu and flushed; nothing when there is no log. fmt
 * writes the line with its newline; the caller keeps it free of PHI (JSON paths, ids, counts, route names). */
void dvh_logf(dvh_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --- respond.c --- */
struct MHD_Response *dvh_response_json(json_t *body); /* steals body; NULL on ENOMEM */
struct MHD_Response *dvh_response_bytes(const char *ctype, char *data, size_t len); /* takes data (malloc'd) */
struct MHD_Response *dvh_response_error(const dvh_err *e);
/* "http[s]://host[:port]/<version>" for links (RetrieveURL, BulkDataURI, logsUrl): the Host header when it
 * looks like a host, else the listen address; the version of the request's path (v1beta1 off the API paths). */
void dvh_api_root(dvh_request *rq, char *out, size_t cap);
/* 0 when the request's Accept takes application/dicom+json (or application/json, or anything), else -1 with
 * e (406 naming what): the one rule of the answers that are DICOM JSON only (QIDO, metadata, STOW's). */
int dvh_want_dicom_json(dvh_request *rq, const char *what, dvh_err *e);
/* "v1" or "v1beta1": the request path's API version (v1beta1 for the extension endpoints). */
const char *dvh_api_version(const dvh_request *rq);
/* A type or method name as stored ("[type.googleapis.com/]google.cloud.healthcare.v1beta1.X") with the
 * request's API version in it: a v1 client reads v1 names, as from Google's service. */
void dvh_api_name(const dvh_request *rq, const char *stored, char *out, size_t cap);
/* "projects/p/locations/l/datasets/d[/dicomStores/s]" of the route. */
void dvh_dataset_name(const dvh_route *r, char *out, size_t cap);
void dvh_store_name(const dvh_route *r, char *out, size_t cap);
const char *dvh_header(dvh_request *rq, const char *name); /* request header or NULL */
/* Collect the request's query parameters (at most max) into p; 0 or -1 with e. */
size_t dvh_query_params(dvh_request *rq, void *p, size_t max);
/* RFC 3339 UTC now. */
void dvh_now(char out[32]);
/* An index failure (err from dvs_index) as a 500; returns -1. */
int dvh_index_fail(const dv_error *err, dvh_err *e);

/* --- paging.c: the list methods' pageSize / pageToken and nextPageToken --- */
typedef struct dvh_paging {
    uint32_t size; /* rows per page: pageSize, 0 or absent 100, at most 1000 */
    int64_t after; /* pageToken: rows after this id (0: from the start) */
} dvh_paging;
/* Parse pageSize and pageToken; a parameter that is neither, nor a standard one, nor in extra
 * (NULL-terminated, may be NULL: the caller reads those), is a 400. 0 or -1 with e. */
int dvh_parse_paging(dvh_request *rq, dvh_paging *pg, const char *const *extra, dvh_err *e);
/* {field: items, "nextPageToken": next (when non-zero)}; steals items; NULL on ENOMEM. */
json_t *dvh_page_json(const char *field, json_t *items, int64_t next);

/* --- resources.c --- */
/* Resolve route's dataset (and store when the route has one) into rq; NOT_FOUND when absent. */
int dvh_resolve(dvh_request *rq, dvh_err *e);
int dvh_handle_resource(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);
/* The request's JSON body as an object (an empty body: {}); NULL with e (400) otherwise. */
json_t *dvh_body_object(dvh_request *rq, dvh_err *e);
/* Why jansson refused a text, in words that quote none of it. */
const char *dvh_json_error_reason(const json_error_t *je);
/* A request's `config` object as the JSON text the config parser is handed (op_start.c): wrapped as a request
 * body, so a request field inside it is an unknown field at its path. NULL when out of memory. */
char *dvh_config_as_request(const json_t *cfg);
/* -1 with e (400 naming the field as written) when o has a field outside allowed (NULL-terminated JSON names),
 * or one field under both its JSON and its proto name; each is accepted by either name (proto3 JSON,
 * util/dv_json_names.h), so the caller reads it with dv_json_field, never json_object_get. */
int dvh_only_fields(json_t *o, const char *const *allowed, dvh_err *e);
/* Remove a dataset: its index rows (its stores, instances and operations go with it), then its stores'
 * directories and its key, rows and files under the blob lock held exclusive. DVS_OK, DVS_NOT_FOUND, or < 0
 * with err. The caller holds the operations' guard. */
int dvh_dataset_remove(dvh_server *s, int64_t dataset_id, dv_error *err);

/* --- disk_floor.c: the free-space floor (dv_server.h min_free_disk) --- */
/* 0 when the data directory's file system keeps at least the floor free after incoming more bytes (or there
 * is no floor); else -1 with e 507 RESOURCE_EXHAUSTED naming the option, never the free space. */
int dvh_disk_room(dvh_server *s, uint64_t incoming, dvh_err *e);

/* --- stow.c --- */
/* Begin a STOW on a resolved store: checks Content-Type; then feed body bytes; then finish. */
int dvh_stow_begin(dvh_request *rq, dvh_err *e);
int dvh_stow_feed(dvh_request *rq, const char *data, size_t len, dvh_err *e);
/* body_err: the body failed while it arrived (NULL when it did not). A body that fails after instances were
 * stored is answered 202 with what was stored and a Warning naming the failure; -1 with e otherwise. */
int dvh_stow_finish(dvh_request *rq, const dvh_err *body_err, struct MHD_Response **resp, int *status, dvh_err *e);
void dvh_stow_free(dvh_stow *s);

/* --- ext_endpoints.c: /dicomveil/v1/ extension endpoints (ext_endpoints.h) --- */
int dvh_handle_ext(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);
/* Create DATA/filters (added to the allowed roots) and DATA/marks. */
int dvh_ext_filters_init(dvh_server *s, const char *data_dir, dv_error *err);
/* The operation a full operation name designates (every ID of it checked by the router): its row id; 400 when
 * the name is malformed, 404 when no such operation exists. */
int dvh_ext_operation(dvh_request *rq, const char *name, int64_t *op_id, dvh_err *e);
/* An instance resource path "/studies/{uid}/series/{uid}/instances/{uid}" (field names it in the 400) checked
 * by the filter-file parser (UIDs only: no traversal) and rewritten canonically into key. */
#define DVH_EXT_INSTANCE_KEY_MAX (3 * (DVH_UID_MAX + 16))
int dvh_ext_instance_key(const char *inst, const char *field, char key[DVH_EXT_INSTANCE_KEY_MAX], dvh_err *e);
/* Remove operation op_id's review marks (DATA/marks/<op_id>.json; none is fine): its dataset was deleted. */
void dvh_ext_marks_remove(dvh_server *s, int64_t op_id);
/* --- ext_boxes.c: GET /dicomveil/v1/redactionBoxes (ext_endpoints.h, op_boxes.h) --- */
int dvh_ext_redaction_boxes(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);

/* --- console_static.c: GET /console/... (before authentication; see console_static.h) --- */
int dvh_handle_console(dvh_request *rq, const char *url, struct MHD_Response **resp, int *status, dvh_err *e);
/* The security headers of every answer of the console route, its files and its errors alike (server.c queue). */
void dvh_console_headers(struct MHD_Response *r);

/* --- store_put.c: the store's put path (STOW, de-identify, import) --- */
/* PS3.18 Table 10.5.3-2 / PS3.4 Annex GG failure reasons. */
#define DVH_FAIL_PROCESSING 0x0110u /* processing failure */
#define DVH_FAIL_DUPLICATE 0x0111u  /* duplicate SOP instance */
#define DVH_FAIL_RESOURCES 0xA700u  /* out of resources (over the instance size limit) */
#define DVH_FAIL_MISMATCH 0xA900u   /* data set does not match the request (StudyInstanceUID of the URL) */
#define DVH_FAIL_UNDERSTAND 0xC000u /* cannot understand: not DICOM, malformed, no UIDs */
typedef struct dvh_putter dvh_putter; /* per thread: the charset decoder and value buffers (~50 KiB) */
dvh_putter *dvh_putter_new(dvh_server *srv); /* NULL on ENOMEM; free with dvh_putter_free */
void dvh_putter_free(dvh_putter *p);
typedef struct dvh_put_result {
    unsigned reason;  /* 0: stored; else the failure reason (DVH_FAIL_*) */
    int same_blob;    /* reason DVH_FAIL_DUPLICATE: the stored instance has exactly these bytes */
    char study_uid[65], series_uid[65], sop_uid[65], sop_class_uid[65]; /* as read ("" when unreadable) */
    char blob[65];
} dvh_put_result;
/* Store the instance in w (complete; w is consumed whatever happens) into store_id. study: when non-empty,
 * the instance must belong to it (STOW on /studies/{study}). */
void dvh_store_put(dvh_putter *p, int64_t store_id, dvs_blob_writer *w, const char *study, dvh_put_result *out);
/* The same in two phases, so that several instances (the parts of one STOW request) share one syncfs and
 * one group commit: prepare parses one instance (NULL when it already failed: out->reason set, w consumed;
 * out must stay valid until commit), commit stores every prepared one, results in their outs. The prepared
 * stay the caller's: free each with dvh_prepared_free (NULL-safe) after commit. */
typedef struct dvh_prepared dvh_prepared;
dvh_prepared *dvh_store_prepare(dvh_putter *p, int64_t store_id, dvs_blob_writer *w, const char *study,
                                dvh_put_result *out);
void dvh_store_commit(dvh_server *srv, dvh_prepared **pp, size_t n);
void dvh_prepared_free(dvh_prepared *pp);

/* --- roots.c: the local files a client may name --- */
/* Resolve ref (an absolute path or file:// URI) to a real path inside an allowed root that is a folder
 * (want_dir) or a regular file; 0 with *out (malloc'd, caller frees), or -1 with e (400 naming field). */
int dvh_root_resolve(const dvh_server *s, const char *ref, const char *field, int want_dir, char **out, dvh_err *e);
/* Add a root: real (its realpath) and given (as the operator wrote it, relative to the working directory, or
 * NULL: real). -1 when out of memory or too long. */
int dvh_roots_append(dvh_server *s, const char *real, const char *given);

/* --- op_runner.c: running operations on the operation pool --- */
/* Start the pool and resume every unfinished operation of the index. */
int dvh_ops_start(dvh_server *s, unsigned workers, dv_error *err);
/* Stop: running items finish or are cancelled before their output opens, the rest stays pending. */
void dvh_ops_stop(dvh_server *s);
/* Run the persisted operation op_id (after its row and request are in the index). */
int dvh_ops_launch(dvh_server *s, int64_t op_id, dv_error *err);
/* The operation's cancel flag is set in the index: tell its runner when it runs here. */
void dvh_ops_cancel(dvh_server *s, int64_t op_id);

/* --- operations.c: operations.get / list / cancel, the error log --- */
/* The Operation JSON of op, listed under the route's dataset. NULL on ENOMEM. */
json_t *dvh_operation_json(dvh_request *rq, const dvs_operation *op);
/* The result an operation stores when it succeeds: {"response": {"@type": type, ...fields}} as compact text
 * (malloc'd, caller frees), NULL on ENOMEM. fields (an object or NULL) is stolen. */
char *dvh_operation_response(const char *type, json_t *fields);
int dvh_handle_operation(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);

/* --- op_record.c: operations a request carries out itself (datasets.create, DeleteStudy, DeleteSeries) --- */
/* Persist under dataset_id a done operation: api_method, one item per instance handled (n of store_id, each
 * counted in counter.success, none naming its instance; n may be 0) and result_json ({"response": {...}}). 0
 * with *out the stored row (dvs_operation_clear), or -1 with err (an unfinished row is left to the runner). */
int dvh_op_record_done(dvh_server *s, int64_t dataset_id, const char *api_method, int64_t store_id, size_t n,
                       const char *result_json, dvs_operation *out, dv_error *err);

/* --- op_start.c: :deidentify (dataset and store), :import, :export --- */
int dvh_handle_op_start(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);

/* --- search.c (QIDO) and wado.c --- */
int dvh_handle_search(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);
int dvh_handle_retrieve(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);
int dvh_handle_metadata(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);

/* --- wado_instance.c: one stored instance, read with our reader (for frames, rendered, bulkdata) --- */
typedef struct dvh_loaded {
    dvs_blob_ref ref;
    int fd;
    dv_fd_source fs;
    dv_source src;
    dv_instance *inst;
} dvh_loaded;
/* The route's instance (route.web.instance set), or NULL with e (404 when not in the store). Free with
 * dvh_loaded_free (NULL-safe). Heap-allocated because the instance keeps a pointer to src. */
dvh_loaded *dvh_load_instance(dvh_request *rq, dvh_err *e);
void dvh_loaded_free(dvh_loaded *l);
/* A library error of the pixel path as an API error: DV_ERR_LIMIT 413, DV_ERR_UNSUPPORTED 406 (this server
 * cannot produce the representation), DV_ERR_INVALID (no pixel data) 400, anything else 500; the message
 * names the step and the class, never a value. */
int dvh_pixel_fail(dvh_err *e, const char *what, const dv_error *err);
/* The decode caps of the server's pixel endpoints (frames, rendered): sizes, so a hostile instance cannot
 * make one request decode for long or allocate much. */
void dvh_pixel_limits(dv_image_limits *lim);
/* A random multipart boundary ("dicomveil-" + 24 hex digits) into out (at least 40 bytes); 0 or -1. */
int dvh_random_boundary(char *out, size_t cap);

/* --- wado_frames.c: frames and bulkdata --- */
int dvh_handle_frames(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);
int dvh_handle_bulkdata(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);

/* --- wado_rendered.c --- */
int dvh_handle_rendered(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);

/* --- delete.c: DICOMweb DELETE of a study, series or instance --- */
int dvh_handle_delete(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);

/* The store-wide blob lock above (blob_lock.c): across threads and across server processes sharing DATA.
 * Exclusive (DELETE) and shared (STOW, the put path). */
int dvh_blob_lock_init(dvh_server *s); /* 0 or -1 */
void dvh_blob_lock_destroy(dvh_server *s);
void dvh_blob_lock(dvh_server *s);
/* dvh_blob_lock, giving up after about wait_ms while another server holds DATA/blob.lock: 0 held (release with
 * dvh_blob_unlock), 1 still busy, -1 no flock here (no lock file, or a file system without it); not held then. */
int dvh_blob_lock_within(dvh_server *s, int wait_ms);
void dvh_blob_unlock(dvh_server *s);
void dvh_blob_lock_shared(dvh_server *s);
void dvh_blob_unlock_shared(dvh_server *s);
/* At start, before requests and resumed operations: unlink the instance files no index row names (a kill between
 * a put's name and its row leaves them), under the blob lock exclusive, and the hidden temporary files whose
 * writer's flock is gone (a kill mid-put without O_TMPFILE); a log line with the counts of each (blob_sweep.c). */
void dvh_blob_sweep(dvh_server *s);
/* The idle rebuild of the index (index_idle.c): its settle time, read at start, and the call the header sweeper
 * (request_guard.c) makes once a second, outside guard_mu. */
void dvh_index_idle_init(dvh_server *s);
void dvh_index_idle(dvh_server *s);
/* flock(fd, op) again after EINTR; fd < 0 (no lock file) is a no-op: the in-process order alone. */
void dvh_flock(int fd, int op);

/* --- op_guard.c: which unfinished operation uses a dataset or a store, under the operations' guard --- */
/* Open DATA/ops.lock into s->op_guard_fd (op_guard_mu is initialised with the server). 0, or -1 with err. */
int dvh_op_guard_open(dvh_server *s, dv_error *err);
/* Operation starts, deletes and the requests that record an operation hold it from their question to their act.
 * Before the blob lock. */
void dvh_op_guard_lock(dvh_server *s);
void dvh_op_guard_unlock(dvh_server *s);
/* *op_id = an unfinished operation that reads or writes store_id (deid_writes: a de-identification writing
 * into it), 0 when none; 0, or -1 with err (an index failure). */
int dvh_op_user_store(dvh_server *s, int64_t store_id, int deid_writes, int64_t *op_id, dv_error *err);
/* The same for a dataset: an unfinished operation listed under it or reading or writing one of its stores. */
int dvh_op_user_dataset(dvh_server *s, int64_t dataset_id, int64_t *op_id, dv_error *err);
/* The refusal of a delete of what an unfinished operation uses (docs/decisions.md "A dataset or store an
 * operation uses is not deleted"): store_id > 0 asks for that store (read or written), else for the dataset.
 * 0 (none uses it), or -1 with e: 400 FAILED_PRECONDITION "<field>: operation N reads or writes it; ...", or
 * the index's failure. The caller holds the guard until its delete is done. */
int dvh_op_refuse_in_use(dvh_server *s, int64_t dataset_id, int64_t store_id, const char *field, dvh_err *e);

/* --- put_batch.c: group commit of the put path --- */
dvh_batcher *dvh_batcher_new(void); /* NULL on ENOMEM; free with dvh_batcher_free */
void dvh_batcher_free(dvh_batcher *b);
/* Index the n instances of one caller (the parts of one STOW request, a chunk of an operation) together with
 * the instances other threads put at the same time: one syncfs for every file of the round not durable yet,
 * one directory fsync per store when no syncfs covered the names, one index commit (put_batch.c). Each file
 * writers[k] must be complete and named (linked; durable or not: dvs_blob_defer_sync). Returns once every
 * row is committed: rcs[k] as instance_put's result (DVS_OK, DVS_EXISTS with existing[k] set, -1 on any
 * failure, its file's included). */
void dvh_batch_put_many(dvh_server *srv, size_t n, const int64_t *store_ids, const dvs_instance_rec *const *recs,
                        dvs_blob_writer *const *writers, char (*existing)[65], int *rcs);
/* The group commit's way of making several files durable at once: dvs_blob_sync_many by default; a test
 * counts the rounds through its own (test_put_batch.c). Set before any put. */
typedef int (*dvh_batch_sync_fn)(dvs_blob_writer *const *w, size_t n);
void dvh_batcher_set_sync(dvh_batcher *b, dvh_batch_sync_fn sync_many);

#endif
