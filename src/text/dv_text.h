/* The text stage's shared vocabulary (internal): infoTypes, findings, and the contracts between the
 * detectors (patterns.c, lexicon.c, denylist.c), the transformations (transform.c) and the engine.
 *
 * All detectors work on UTF-8 text (values are decoded from their SpecificCharacterSet by src/dicom's
 * charset module first) and report byte spans into that text. Everything compiled (patterns, lexicons) is
 * immutable after creation and shared by every worker; per-worker mutable state (PCRE2 match data, scratch
 * buffers) lives in a dv_text_scratch the worker owns. Nothing here logs or stores a value: findings hold
 * offsets and types only. (issue 6; ../shared/spec/ARCHITECTURE.md "src/text") */
#ifndef DV_TEXT_H
#define DV_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "dicomveil/dv_error.h"

/* The infoTypes dicomveil detects (names as the Healthcare API / DLP spell them: dv_infotype_name). */
typedef enum dv_infotype {
    DV_IT_PERSON_NAME = 0,
    DV_IT_FIRST_NAME,
    DV_IT_LAST_NAME,
    DV_IT_LOCATION,
    DV_IT_ORGANIZATION_NAME,
    DV_IT_STREET_ADDRESS,
    DV_IT_DATE,
    DV_IT_DATE_OF_BIRTH,
    DV_IT_AGE,
    DV_IT_TIME,
    DV_IT_PHONE_NUMBER,
    DV_IT_EMAIL_ADDRESS,
    DV_IT_URL,
    DV_IT_IP_ADDRESS,
    DV_IT_MAC_ADDRESS,
    DV_IT_US_SOCIAL_SECURITY_NUMBER,
    DV_IT_CREDIT_CARD_NUMBER,
    DV_IT_IBAN_CODE,
    DV_IT_US_HEALTHCARE_NPI,
    DV_IT_UK_NATIONAL_HEALTH_SERVICE_NUMBER,
    DV_IT_MEDICAL_RECORD_NUMBER,
    DV_IT_CTX,          /* Clean Descriptors: a phrase matching an original D/Z/X/U value ([CTX]) */
    DV_IT_COUNT
} dv_infotype;

/* "PERSON_NAME", ... ("CTX" for DV_IT_CTX); NULL for an out-of-range value. */
const char *dv_infotype_name(dv_infotype t);
/* The infoType named s (exact, upper case), or -1 when dicomveil does not know it. */
int dv_infotype_from_name(const char *s, size_t len);

/* Which detector found it (reported by `inspect`, never the text). */
typedef enum dv_detector {
    DV_DET_PATTERN = 1, /* a compiled pattern (with its checksum / context rule) */
    DV_DET_LEXICON,     /* a dictionary word with its context rules */
    DV_DET_DENYLIST,    /* the instance's own identifying values */
    DV_DET_CONTEXT,     /* Clean Descriptors [CTX] */
    DV_DET_STRUCTURE    /* a document's structure: the element holding the text (engine/document_text.c) */
} dv_detector;

typedef struct dv_finding {
    uint32_t start, end; /* byte span [start, end) in the UTF-8 text, on code point boundaries */
    uint8_t type;        /* dv_infotype */
    uint8_t detector;    /* dv_detector */
    uint8_t score;       /* 0-100: confidence; overlapping findings keep the higher, then the longer */
    uint8_t pad;
} dv_finding;

/* A growable list of findings owned by the caller (dv_findings_clear keeps the capacity). */
typedef struct dv_findings {
    dv_finding *v;
    size_t n, cap;
} dv_findings;

/* Append one finding. 0, or -1 on allocation failure (or more than DV_FINDINGS_MAX findings: a limit). */
#define DV_FINDINGS_MAX 65536u
int dv_findings_add(dv_findings *f, uint32_t start, uint32_t end, dv_infotype type, dv_detector det,
                    uint8_t score);
void dv_findings_clear(dv_findings *f);
void dv_findings_free(dv_findings *f);
/* Sort by start and resolve overlaps (the higher score wins, then the longer span; a span inside a
 * winning span is dropped), so transformations see disjoint, ordered spans. */
void dv_findings_normalise(dv_findings *f);
/* The same, given the text the spans index (len bytes): a piece cut out of a losing span also loses the ASCII
 * separators (white space, ^ =, , ; : . + ( ) /; never - or ') at its cut sides, and goes when nothing else is left, so a span covers
 * words only (never a lone `^` between two name parts). Whole findings keep their spans. */
void dv_findings_normalise_text(dv_findings *f, const char *utf8, size_t len);

/* A set of infoTypes (bit i = dv_infotype i). */
typedef uint32_t dv_infotype_set;
#define DV_IT_BIT(t) ((dv_infotype_set)1u << (t))

#endif
