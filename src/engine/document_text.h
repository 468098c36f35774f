/* What the text stage knows of a text document's structure (document_text.c): a CDA or an XML report cleaned
 * under DEIDENTIFY_TAG_CONTENTS (text_stage.c clean_document). docs/decisions.md "Encapsulated documents under
 * DEIDENTIFY_TAG_CONTENTS". */
#ifndef DV_ENGINE_DOCUMENT_TEXT_H
#define DV_ENGINE_DOCUMENT_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "dicom/dv_ds.h"
#include "text/dv_text.h"

/* 1 when MIMETypeOfEncapsulatedDocument (m, n bytes as written, padding included) names a text format the stage
 * can read: text/..., an XML or JSON type, model/obj or model/mtl. Case is ignored. */
int dv_doc_mime_is_text(const uint8_t *m, size_t n);

/* 1 when v[0, n) holds a PDF header (`%PDF-`) anywhere: readers look for it in the first 1024 bytes, and some go on
 * without one there (stop 52's review: a header past 1 KiB with ASCII85 streams, every byte printable, passed as
 * text and was kept whole under DEIDENTIFY_TAG_CONTENTS). */
int dv_doc_has_pdf_header(const uint8_t *v, size_t n);

/* Is the document (its first n bytes) text a person could have typed (a CDA, an XML property list, a plain report)?
 * No control byte but TAB, LF, FF and CR (trailing NUL padding aside) and no PDF header (dv_doc_has_pdf_header): a
 * PDF, even one whose bytes are all printable (ASCIIHex or ASCII85 streams), is a program the text stage cannot
 * read. */
int dv_doc_is_text(const uint8_t *v, size_t n);

/* Does the decoded document t[0, n) start as markup (XML, HTML): '<' first, after a byte order mark and white
 * space? Its transformations then write markup characters as character references (transform.c). */
int dv_doc_is_markup(const char *t, size_t n);

/* Remove from t[0, *n) every run of base64 (an embedded PDF or image: a CDA nonXMLBody, a data: URI), which no
 * detector can read: the character data (CDATA and comments too) of an element whose representation is B64, up to
 * its end tag, its tags kept; elsewhere a token of at least 40 base64 characters with both cases and a digit, `+`
 * or `/`, and the lines that continue it. *n shrinks; 1 when anything but white space was removed. */
int dv_doc_drop_base64(char *t, size_t *n);

/* 1 when the digits at t[i] are the value of a CDA templateId's attribute or of a codeSystem attribute: an HL7
 * specification's identifier, not an instance's, kept as written. */
int dv_doc_fixed_identifier(const char *t, size_t n, size_t i);

/* Findings for the structure of an XML document t[0, n) (UTF-8), of the types in want, appended to f: the text
 * of an address's parts (but state and country), of a person name's parts, all the text of a name a person
 * element holds (patient, guardianPerson, assignedPerson...), a telecom's value after its scheme, and the
 * extension of an id or setId element (an identifier); first the findings inside a templateId element (its
 * version date) are dropped. The caller normalises f. 0, or -1 (err set) out of memory. */
int dv_doc_fields(const char *t, size_t n, dv_infotype_set want, dv_findings *f, dv_error *err);

/* 1 when MIMETypeOfEncapsulatedDocument (m, n bytes as written) names markup: an XML type or text/html. */
int dv_doc_mime_is_markup(const uint8_t *m, size_t n);

/* MIMETypeOfEncapsulatedDocument (0042,0012) of ds (the dataset holding the document), when present and not empty,
 * names a format that is not text (application/pdf, model/stl, image/...): 1 whatever the document's bytes look
 * like; 0 when it names text or is absent (the bytes decide: dv_doc_is_text). */
int dv_doc_mime_says_binary(const dv_ds *ds);

/* ... names markup (an XML type, text/html): an HTML fragment need not start with '<'. */
int dv_doc_mime_says_markup(const dv_ds *ds);

/* A markup document's character references are decoded by text/escapes.h (one home for text and documents). */

#endif
