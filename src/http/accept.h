/* The Accept header (RFC 9110 12.5.1) as WADO-RS reads it: which media types a client takes, and how much. */
#ifndef DVH_ACCEPT_H
#define DVH_ACCEPT_H

/* The weight (0-1000: q=0 .. q=1) accept gives media ("type/subtype"), from its most specific matching media
 * range: "type/subtype" before "type/any" before "any/any" (the wildcards). For media "multipart/related",
 * part_type is the media type of the response's parts: a range with a type= parameter matches only when that
 * names part_type (or is a wildcard). NULL or empty accept: 1000 (anything goes). *at (may be NULL) receives the index of the
 * matching range in the list, or -1: where two types weigh the same, the one named first is preferred. */
int dvh_accept_q(const char *accept, const char *media, const char *part_type, int *at);

#endif
