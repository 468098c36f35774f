/* A streaming parser for multipart bodies (RFC 2046 5.1; multipart/related per RFC 2387), ours, for STOW-RS.
 *
 * Push-based: the server feeds body bytes as they arrive and gets each part's headers, data (in pieces, never
 * buffered whole) and end through callbacks, so a STOW of any size streams into instance files. Memory is
 * bounded: a part's header block is capped (DVH_MP_HEADER_MAX), and so is the number of parts.
 * [test_multipart; fuzz_multipart] */
#ifndef DVH_MULTIPART_H
#define DVH_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "http/api_error.h"

/* RFC 2046 says 70, but Orthanc's DICOMweb plugin (1.7, Debian 12) sends 73-character boundaries: a real
 * client we interoperate with (integration.test_orthanc_interop), so up to 200 are accepted.
 * [test_multipart: test_content_type] */
#define DVH_MP_BOUNDARY_MAX 200
#define DVH_MP_HEADER_MAX 8192  /* one part's header block */
#define DVH_MP_PARTS_MAX 100000 /* parts in one body */

/* A parsed Content-Type header: type/subtype lower-cased, and the parameters STOW needs. */
typedef struct dvh_ctype {
    char media[128];                       /* "multipart/related" */
    char type[128];                        /* the type= parameter, lower-cased ("" when absent) */
    char boundary[DVH_MP_BOUNDARY_MAX + 1]; /* "" when absent */
    char transfer_syntax[65];              /* transfer-syntax= ("" when absent) */
} dvh_ctype;

/* Parse a Content-Type value. Returns 0, or -1 with e (INVALID_ARGUMENT / UNSUPPORTED_MEDIA) when it is not
 * "type/subtype *(; param=value)" or a multipart boundary breaks RFC 2046's bchars. */
int dvh_ctype_parse(const char *value, dvh_ctype *out, dvh_err *e);

typedef struct dvh_mp_callbacks {
    /* A part starts; content_type is its Content-Type value ("" when it has none). Non-zero stops parsing. */
    int (*part_begin)(void *user, const char *content_type);
    int (*part_data)(void *user, const uint8_t *data, size_t len);
    int (*part_end)(void *user);
} dvh_mp_callbacks;

typedef struct dvh_multipart dvh_multipart;

/* A parser for boundary (valid per dvh_ctype_parse); cb and user must outlive it. NULL on ENOMEM. */
dvh_multipart *dvh_mp_new(const char *boundary, const dvh_mp_callbacks *cb, void *user);
void dvh_mp_free(dvh_multipart *mp);
/* Feed the next len bytes. Returns 0, or -1 with e: INVALID_ARGUMENT for a malformed body, TOO_LARGE for a
 * header block or part count over the caps, or the status a callback left in e when it returned non-zero
 * (a callback that returns non-zero without setting e gives INTERNAL). After -1, feeding again fails. */
int dvh_mp_feed(dvh_multipart *mp, const uint8_t *data, size_t len, dvh_err *e);
/* The body ended: 0 when the close delimiter was seen, else -1 (INVALID_ARGUMENT: truncated). */
int dvh_mp_finish(dvh_multipart *mp, dvh_err *e);
/* Parts begun so far. */
size_t dvh_mp_parts(const dvh_multipart *mp);

/* For the callbacks: the error slot the parser reports when a callback stops it. */
dvh_err *dvh_mp_error(dvh_multipart *mp);

#endif
