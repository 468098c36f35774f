/* The Accept header (RFC 9110 12.5.1) as WADO-RS reads it: which media types a client takes, and how much,
 * and under which transfer syntaxes (PS3.18 8.7.3: a media range's transfer-syntax= parameter). */
#ifndef DVH_ACCEPT_H
#define DVH_ACCEPT_H

/* An answer to weigh against the Accept header. */
typedef struct dvh_accept_want {
    const char *media;     /* "type/subtype" of the answer ("multipart/related" for a multipart one) */
    const char *part_type; /* multipart: the media type of its parts; else NULL */
    const char *ts;        /* the transfer syntax UID the answer (its parts) carries; NULL: transfer-syntax=
                            * parameters are not weighed (answers with no transfer syntax: JSON, PNG) */
    const char *ts_default;/* what a range that names the answer's (part) media type exactly but no
                            * transfer-syntax asks for (PS3.18 Table 8.7.3-5's default for that type); NULL:
                            * whatever is sent (where we serve as stored: application/dicom, image/jpeg ...) */
} dvh_accept_want;

/* The weight (0-1000: q=0 .. q=1) accept gives w, from its most specific matching media range. Specificity
 * ranks the media range first ("type/subtype" before "type/any" before "any/any"), then for a multipart answer
 * its type= (exact before a wildcard before none), then transfer-syntax= (a UID before "*" before none). A
 * range does not match when its type= names another part type, when its transfer-syntax= (or the default it
 * implies) is neither w->ts nor "*", or when it gives type= or transfer-syntax= twice (ambiguous). NULL or
 * empty accept: 1000 (anything goes). *at (may be NULL) receives the index of the matching range in the list,
 * or -1: where two answers weigh the same, the one named first is preferred. No allocation: every range and
 * parameter is read through fixed, bounded buffers (the header is client input). */
int dvh_accept_weigh(const char *accept, const dvh_accept_want *w, int *at);

/* dvh_accept_weigh of {media, part_type} with transfer-syntax parameters not weighed. */
int dvh_accept_q(const char *accept, const char *media, const char *part_type, int *at);

#endif
