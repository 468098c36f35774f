/* dicomveil's HTTP service: a Cloud Healthcare API-compatible REST surface (datasets, DICOM stores,
 * DICOMweb) over libmicrohttpd, backed by the store (src/store). The CLI's `serve` command (src/cli/
 * cmd_serve.c) parses options, loads files, starts the server and waits for SIGTERM; everything else is here.
 *
 * Security model (README "Security model"): loopback by default; any other address needs a bearer token
 * (checked here in constant time on every route); TLS when a certificate and key are given; every limit a
 * hostile client could push (body size, header memory, connections per client and in total, idle time,
 * request time) has a cap with a clean error. */
#ifndef DV_SERVER_H
#define DV_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dicomveil/dv_error.h"

typedef struct dvh_server_config {
    const char *data_dir;         /* created when missing (0700); holds index.sqlite and stores/ */
    const char *index_url;        /* NULL: SQLite in data_dir; "postgresql://...": a shared PostgreSQL index */
    const char *listen;           /* "127.0.0.1:8080", "[::1]:0", "0.0.0.0:8443" (port 0: any free port) */
    const uint8_t *token;         /* bearer token bytes (NULL: no authentication; loopback only) */
    size_t token_len;
    const char *tls_cert_pem;     /* both or neither: PEM text of the certificate chain and the key */
    const char *tls_key_pem;
    unsigned workers;             /* no effect (kept for --workers): one request thread per connection */
    uint64_t max_body;            /* STOW body and instance cap (0: 1 GiB) */
    uint64_t max_json;            /* JSON request body cap (0: 1 MiB) */
    unsigned max_connections;     /* in total (0: 256); per client address a quarter of it */
    unsigned idle_timeout_s;      /* a connection idle this long is closed (0: 30 s) */
    unsigned request_timeout_s;   /* a request still uploading after this long gets 408 (0: 600 s) */
    size_t header_limit;          /* bytes of the request line and headers (0: 32 KiB); over it: 431 */
    const char *console_dir;      /* the web console's files, served at /console/ (NULL or missing: 404) */
    FILE *log;                    /* access log (JSON lines, no PHI); NULL: none */
    const char *const *allow_roots; /* folders a file:// URI may name (configs, filters, import, export) */
    size_t nallow_roots;
    unsigned op_workers;          /* operation threads (0: one per CPU) */
    /* What DATA/filters/ may hold of the filter files clients hand over (POST /dicomveil/v1/filterFiles; over
     * it: 429), counted over the folder so files of earlier runs count too. 0: 1000 files, 256 MiB. */
    unsigned max_filter_files;
    uint64_t max_filter_bytes;
    /* Free bytes the file system holding data_dir keeps: a STOW, an :import or a :deidentify that would leave
     * less is refused with 507 (disk_floor.c). 0: 1 GiB; min_free_disk_off: no floor (--min-free-disk 0). */
    uint64_t min_free_disk;
    int min_free_disk_off;
    /* The modes of the folders and files an :export writes (outside DATA, for someone else to read): `serve`
     * makes the process's umask 077 and passes 0750 / 0640 under the operator's umask here. 0: 0750 / 0640
     * under the process umask. */
    unsigned export_dir_mode;
    unsigned export_file_mode;
} dvh_server_config;

typedef struct dvh_server dvh_server;

/* Open the data directory and its index, listen, and serve on background threads. Refuses a non-loopback
 * address without a token (DV_ERR_USAGE). NULL with err on failure. */
dvh_server *dvh_server_start(const dvh_server_config *cfg, dv_error *err);
/* The port actually listened on (useful with port 0). */
unsigned dvh_server_port(const dvh_server *s);
/* Stop accepting, finish the requests in flight, close the index. NULL is a no-op. */
void dvh_server_stop(dvh_server *s);

/* 1 when the textual address (no port) is a loopback address (127.0.0.0/8, ::1, "localhost"). */
int dvh_addr_is_loopback(const char *host);

#endif
