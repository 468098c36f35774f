/* The structure of a text document the text stage cleans (document_text.h): a CDA (HL7 Clinical Document
 * Architecture, the XML of Encapsulated CDA Storage) or another XML report. The detectors read a document as
 * running text; what they cannot read there is its structure:
 *   - a base64 payload (a CDA nonXMLBody holding a PDF, a data: URI holding an image) is opaque bytes that may
 *     name the patient: it is removed, as a PDF document is emptied;
 *   - an address written in parts (<city>, <postalCode>...) or a name in parts (<given>, <family>) gives each
 *     part alone, without the context the detectors need (`97867` is a number, not a ZIP code): the parts are
 *     findings because of the element that holds them; so are a name a person element holds, a telecom's value
 *     and an id or setId element's extension (an identifier);
 *   - a templateId names the HL7 specification the document follows (`2.16.840.1.113883.10.20.22.1.1`, version
 *     `2015-08-01`), and a codeSystem attribute a coding scheme: neither is the patient's, and regenerated or
 *     shifted they make the document invalid.
 * The XML is read as tags and text, not parsed: a malformed document loses nothing more than a well-formed one
 * would. */
#include <stdlib.h>
#include <string.h>

#include "engine/document_text.h"

/* --- the document's kind ------------------------------------------------------------------------------ */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int starts_nocase(const uint8_t *m, size_t n, const char *p)
{
    size_t k = strlen(p);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (lower(m[i]) != p[i])
            return 0;
    return 1;
}

static int ends_nocase(const uint8_t *m, size_t n, const char *p)
{
    size_t k = strlen(p);
    return n >= k && starts_nocase(m + n - k, k, p);
}

/* The media type of a MIME type as written: padding and parameters (charset=...) off. */
static const uint8_t *mime_type(const uint8_t *m, size_t *len)
{
    size_t n = *len;
    while (n > 0 && (m[0] == ' ' || m[0] == '\0'))
        m++, n--;
    while (n > 0 && (m[n - 1] == ' ' || m[n - 1] == '\0'))
        n--;
    const uint8_t *semi = n ? memchr(m, ';', n) : NULL;
    if (semi)
        n = (size_t)(semi - m);
    while (n > 0 && m[n - 1] == ' ')
        n--;
    *len = n;
    return m;
}

int dv_doc_mime_is_markup(const uint8_t *m, size_t n)
{
    m = mime_type(m, &n);
    return ends_nocase(m, n, "/xml") || ends_nocase(m, n, "+xml") || (n == 9 && starts_nocase(m, n, "text/html"));
}

int dv_doc_mime_is_text(const uint8_t *m, size_t n)
{
    m = mime_type(m, &n);
    return starts_nocase(m, n, "text/") || ends_nocase(m, n, "/xml") || ends_nocase(m, n, "+xml") ||
           ends_nocase(m, n, "/json") || ends_nocase(m, n, "+json") || (n == 9 && starts_nocase(m, n, "model/obj")) ||
           (n == 9 && starts_nocase(m, n, "model/mtl"));
}

int dv_doc_has_pdf_header(const uint8_t *v, size_t n)
{
    return memmem(v, n, "%PDF-", 5) != NULL;
}

int dv_doc_is_text(const uint8_t *v, size_t n)
{
    while (n > 0 && v[n - 1] == '\0')
        n--;
    if (dv_doc_has_pdf_header(v, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((v[i] < 0x20 && v[i] != '\t' && v[i] != '\n' && v[i] != '\f' && v[i] != '\r') || v[i] == 0x7F)
            return 0;
    return 1;
}

/* --- base64 ---------------------------------------------------------------------------------------------- */

static int b64_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
           c == '=';
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int dv_doc_is_markup(const char *t, size_t n)
{
    size_t i = n >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    while (i < n && is_space(t[i]))
        i++;
    return i < n && t[i] == '<';
}

#define B64_MIN_TOKEN 40u

/* A token of encoded bytes rather than words: long, with both cases about as often as base64 has them (a fifth
 * each at least: a camel-case name or a URL path has far fewer capitals) and a digit, `+` or `/`. */
static int looks_base64(const char *s, size_t n)
{
    if (n < B64_MIN_TOKEN)
        return 0;
    size_t up = 0, lo = 0, other = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        up += c >= 'A' && c <= 'Z';
        lo += c >= 'a' && c <= 'z';
        other += (c >= '0' && c <= '9') || c == '+' || c == '/';
    }
    return up * 5 >= n && lo * 5 >= n && other > 0;
}

static int drop_b64_elements(char *t, size_t *n);

int dv_doc_drop_base64(char *t, size_t *n)
{
    int any = drop_b64_elements(t, n);
    size_t len = *n, out = 0, i = 0;
    while (i < len) {
        if (!b64_byte((unsigned char)t[i])) {
            t[out++] = t[i++];
            continue;
        }
        size_t s = i;
        while (i < len && b64_byte((unsigned char)t[i]))
            i++;
        if (!looks_base64(t + s, i - s)) {
            memmove(t + out, t + s, i - s);
            out += i - s;
            continue;
        }
        /* The lines that continue it: a full line (a long token) may be followed, after a line break, by
         * another; the last one is shorter. */
        size_t end = i, last = i - s;
        while (last >= B64_MIN_TOKEN) {
            size_t j = end;
            int nl = 0;
            while (j < len && is_space(t[j]))
                nl |= t[j++] == '\n';
            if (!nl || j >= len || !b64_byte((unsigned char)t[j]))
                break;
            size_t k = j;
            while (k < len && b64_byte((unsigned char)t[k]))
                k++;
            end = k;
            last = k - j;
        }
        i = end;
        any = 1;
    }
    *n = out;
    return any;
}

/* --- tags ------------------------------------------------------------------------------------------------ */

static int name_byte(char c)
{
    return c != '\0' && !is_space(c) && c != '/' && c != '>' && c != '=' && c != '<';
}

/* The local name (after a namespace prefix) of the tag opening at t[lt] ('<'), in [*a, *b); 0 when t[lt] opens
 * no element start tag (an end tag, a comment, a declaration). */
static int tag_name(const char *t, size_t n, size_t lt, size_t *a, size_t *b)
{
    size_t i = lt + 1;
    if (i >= n || t[i] == '/' || t[i] == '!' || t[i] == '?')
        return 0;
    size_t s = i;
    while (i < n && name_byte(t[i]))
        i++;
    if (i == s)
        return 0;
    for (size_t k = s; k < i; k++)
        if (t[k] == ':')
            s = k + 1;
    *a = s;
    *b = i;
    return s < i;
}

static int name_is(const char *t, size_t a, size_t b, const char *name)
{
    return strlen(name) == b - a && memcmp(t + a, name, b - a) == 0;
}

/* 1 when the digits at t[i] stand in an attribute value whose attribute is codeSystem (codeSystem="...", as HL7
 * writes it) or inside a templateId start tag. */
int dv_doc_fixed_identifier(const char *t, size_t n, size_t i)
{
    if (i == 0 || i > n || (t[i - 1] != '"' && t[i - 1] != '\''))
        return 0;
    size_t k = i - 1;
    while (k > 0 && is_space(t[k - 1]))
        k--;
    if (k == 0 || t[k - 1] != '=')
        return 0;
    k--;
    while (k > 0 && is_space(t[k - 1]))
        k--;
    size_t e = k;
    while (k > 0 && name_byte(t[k - 1]))
        k--;
    if (name_is(t, k, e, "codeSystem"))
        return 1;
    /* the tag the attribute is in: the '<' before it, with no '>' between (looked for over 1 KiB at most) */
    size_t lim = k > 1024 ? k - 1024 : 0;
    while (k > lim && t[k - 1] != '<' && t[k - 1] != '>')
        k--;
    size_t a, b;
    return k > 0 && t[k - 1] == '<' && tag_name(t, n, k - 1, &a, &b) && name_is(t, a, b, "templateId");
}

/* --- structured fields ----------------------------------------------------------------------------------- */

/* The parts of an HL7 address (AD) that place a person (state and country stay, as the Safe Harbor method of
 * HIPAA keeps them), with the type they are found as. */
static const struct {
    const char *name;
    dv_infotype type;
} k_fields[] = {
    {"streetAddressLine", DV_IT_STREET_ADDRESS}, {"deliveryAddressLine", DV_IT_STREET_ADDRESS},
    {"houseNumber", DV_IT_STREET_ADDRESS},        {"houseNumberNumeric", DV_IT_STREET_ADDRESS},
    {"streetName", DV_IT_STREET_ADDRESS},         {"streetNameBase", DV_IT_STREET_ADDRESS},
    {"streetNameType", DV_IT_STREET_ADDRESS},     {"direction", DV_IT_STREET_ADDRESS},
    {"unitID", DV_IT_STREET_ADDRESS},             {"unitType", DV_IT_STREET_ADDRESS},
    {"additionalLocator", DV_IT_STREET_ADDRESS},  {"buildingNumberSuffix", DV_IT_STREET_ADDRESS},
    {"careOf", DV_IT_STREET_ADDRESS},             {"postBox", DV_IT_STREET_ADDRESS},
    {"deliveryInstallationArea", DV_IT_STREET_ADDRESS}, {"deliveryModeIdentifier", DV_IT_STREET_ADDRESS},
    {"city", DV_IT_LOCATION},                     {"county", DV_IT_LOCATION},
    {"postalCode", DV_IT_LOCATION},               {"censusTract", DV_IT_LOCATION},
    {"precinct", DV_IT_LOCATION},
    /* a person name's parts (EN: an organisation's name has none of them) */
    {"given", DV_IT_PERSON_NAME},                 {"family", DV_IT_PERSON_NAME},
    {"prefix", DV_IT_PERSON_NAME},                {"suffix", DV_IT_PERSON_NAME},
};

/* The type a field is found as, of those wanted (a name part as FIRST_NAME / LAST_NAME when only they are);
 * DV_IT_COUNT for none. */
static dv_infotype field_type(const char *t, size_t a, size_t b, dv_infotype_set want)
{
    for (size_t k = 0; k < sizeof k_fields / sizeof k_fields[0]; k++) {
        if (!name_is(t, a, b, k_fields[k].name))
            continue;
        dv_infotype type = k_fields[k].type;
        if (want & DV_IT_BIT(type))
            return type;
        if (type == DV_IT_PERSON_NAME && name_is(t, a, b, "given") && (want & DV_IT_BIT(DV_IT_FIRST_NAME)))
            return DV_IT_FIRST_NAME;
        if (type == DV_IT_PERSON_NAME && name_is(t, a, b, "family") && (want & DV_IT_BIT(DV_IT_LAST_NAME)))
            return DV_IT_LAST_NAME;
        return DV_IT_COUNT;
    }
    return DV_IT_COUNT;
}

static int add(dv_findings *f, size_t a, size_t b, dv_infotype type, dv_error *err)
{
    if (a < b && dv_findings_add(f, (uint32_t)a, (uint32_t)b, type, DV_DET_STRUCTURE, 100))
        return dv_fail(err, DV_ERR_LIMIT, "findings list full (%u) or out of memory", DV_FINDINGS_MAX);
    return 0;
}

/* The value of attribute name in the start tag [s, e): [*a, *b). */
static int attr_value(const char *t, size_t s, size_t e, const char *name, size_t *a, size_t *b)
{
    size_t k = strlen(name);
    for (size_t i = s; i + k + 2 <= e; i++) {
        if (!is_space(t[i]) || memcmp(t + i + 1, name, k) != 0)
            continue;
        size_t j = i + 1 + k;
        while (j < e && is_space(t[j]))
            j++;
        if (j >= e || t[j] != '=')
            continue;
        j++;
        while (j < e && is_space(t[j]))
            j++;
        if (j >= e || (t[j] != '"' && t[j] != '\''))
            continue;
        const char *q = memchr(t + j + 1, t[j], e - j - 1);
        if (!q)
            return 0;
        *a = j + 1;
        *b = (size_t)(q - t);
        return 1;
    }
    return 0;
}

/* The '>' ending the tag whose name ends at t[i], in *gt: the first outside a quoted attribute value (`ID="t>1"`:
 * a '>' is allowed there, and stopping at it lost the attributes after it); 0 when a '<' comes first (no tag: XML
 * has no '<' inside one, quoted or not) or none does. Stopping at the next '<' keeps a scan over the tags linear:
 * looking on to the next '>', a document of `<a <a <a ...` cost 17 s for 3 MB (16 MiB are allowed). */
static int tag_end(const char *t, size_t n, size_t i, size_t *gt)
{
    char quote = 0;
    for (; i < n && t[i] != '<'; i++) {
        if (quote) {
            quote = t[i] == quote ? 0 : quote;
        } else if (t[i] == '"' || t[i] == '\'') {
            quote = t[i];
        } else if (t[i] == '>') {
            *gt = i;
            return 1;
        }
    }
    *gt = i;
    return 0;
}

/* The start tag opening at t[lt] of an element: its local name [*a, *b) and the position of its '>' (*gt); 0 when
 * t[lt] opens none, or the tag does not end. */
static int start_tag(const char *t, size_t n, size_t lt, size_t *a, size_t *b, size_t *gt)
{
    return lt + 1 < n && tag_name(t, n, lt, a, b) && tag_end(t, n, *b, gt);
}

/* --- base64 elements ------------------------------------------------------------------------------------ */

static int starts_with(const char *t, size_t n, size_t i, const char *p)
{
    size_t k = strlen(p);
    return i + k <= n && memcmp(t + i, p, k) == 0;
}

/* When t[i] opens markup that is no element's tag: a comment, a CDATA section, a processing instruction or a
 * declaration (<!DOCTYPE ...>), its end (just past its terminator, or n when it has none) in *e, and for a CDATA
 * section its text [*ca, *cb); 0 for anything else. Each terminator is looked for once from where the markup
 * starts, and the scan goes on past it, so the scans over a document stay linear. */
static int skip_markup(const char *t, size_t n, size_t i, size_t *e, size_t *ca, size_t *cb)
{
    const char *close;
    size_t from;
    *ca = *cb = 0;
    if (starts_with(t, n, i, "<!--")) {
        close = "-->", from = i + 4;
    } else if (starts_with(t, n, i, "<![CDATA[")) {
        close = "]]>", from = i + 9;
    } else if (starts_with(t, n, i, "<?")) {
        close = "?>", from = i + 2;
    } else if (starts_with(t, n, i, "<!")) {
        size_t gt;
        *e = tag_end(t, n, i + 2, &gt) ? gt + 1 : i + 2;
        return 1;
    } else {
        return 0;
    }
    size_t k = strlen(close);
    const char *q = memmem(t + from, n - from, close, k);
    size_t end = q ? (size_t)(q - t) : n;
    if (close[0] == ']')
        *ca = from, *cb = end;
    *e = q ? end + k : n;
    return 1;
}

/* Does the markup [i, e) that skip_markup found end with its terminator? One that runs to the document's end
 * without it is no markup inside a base64 element: its '<' is a stray byte of the payload (a `<?x` never closed
 * kept the payload after it, stop 37's review). */
static int markup_closed(const char *t, size_t i, size_t e)
{
    if (starts_with(t, e, i, "<!--"))
        return e - i >= 7 && memcmp(t + e - 3, "-->", 3) == 0;
    if (starts_with(t, e, i, "<![CDATA["))
        return e - i >= 12 && memcmp(t + e - 3, "]]>", 3) == 0;
    if (starts_with(t, e, i, "<?"))
        return e - i >= 4 && memcmp(t + e - 2, "?>", 2) == 0;
    return e - i >= 3 && t[e - 1] == '>';
}

/* An element whose representation attribute is B64 (HL7 ED: a CDA nonXMLBody's text, an observationMedia's value,
 * a thumbnail) holds encoded bytes, whatever their length or look: `SG9tZXIgU2ltcHNvbg==` (Homer Simpson) is too
 * short for looks_base64, a PDF wrapped in short lines too. Its character data, CDATA sections and comments up to
 * its end tag are removed and its tags kept: the XML stays well-formed, with an empty payload where the element
 * was, as a PDF document is emptied. Markup is read as the rest of the scan reads it (skip_markup): a malformed
 * `<!-->` opens a comment that runs to the next `-->`, so a tag inside that comment cannot move the element's
 * end; comments, CDATA sections, PIs and declarations inside are removed whole, and one never closed is payload.
 * The whole document is not emptied: the CDA header around the payload is text the detectors read, and emptying
 * it would also lose what a reader needs to tell what the document was. */
static int drop_b64_elements(char *t, size_t *n)
{
    size_t len = *n, out = 0, i = 0;
    int any = 0;
    while (i < len) {
        size_t a, b, gt, va, vb, e, ca, cb;
        if (t[i] == '<' && skip_markup(t, len, i, &e, &ca, &cb)) { /* a comment holding `<text representation=` */
            memmove(t + out, t + i, e - i);
            out += e - i;
            i = e;
            continue;
        }
        if (t[i] != '<' || !start_tag(t, len, i, &a, &b, &gt) || t[gt - 1] == '/' ||
            !attr_value(t, i, gt, "representation", &va, &vb) || vb - va != 3 || lower(t[va]) != 'b' ||
            t[va + 1] != '6' || t[va + 2] != '4') {
            t[out++] = t[i++];
            continue;
        }
        memmove(t + out, t + i, gt + 1 - i); /* the start tag */
        out += gt + 1 - i;
        i = gt + 1;
        size_t depth = 0;
        while (i < len) {
            if (t[i] != '<') {
                any |= !is_space(t[i++]);
                continue;
            }
            size_t e;
            if (skip_markup(t, len, i, &e, &ca, &cb) && markup_closed(t, i, e)) {
                i = e; /* a comment, CDATA section, PI or declaration: removed whole (the payload, or nothing) */
                any = 1;
                continue;
            }
            if (!tag_end(t, len, i + 1, &e)) { /* no tag: a stray '<' in the payload, dropped */
                i++;
                any = 1;
                continue;
            }
            e++;
            int end_tag = t[i + 1] == '/', opens = !end_tag && t[e - 2] != '/';
            memmove(t + out, t + i, e - i);
            out += e - i;
            i = e;
            if (end_tag && depth-- == 0)
                break; /* the element's own end tag */
            depth += (size_t)opens;
        }
    }
    *n = out;
    return any;
}

/* The detectors' DATE findings (sorted and disjoint, as detect_in leaves them) inside a templateId start tag (its
 * version date) are dropped: one pass over the tags and the findings together. Any other finding there stays (a
 * templateId holds an OID and a date; a name written into one is still found), and so does one in a comment. */
static void drop_in_template_ids(const char *t, size_t n, dv_findings *f)
{
    size_t r = 0, w = 0, i = 0;
    for (const char *p; r < f->n && i < n && (p = memchr(t + i, '<', n - i));) {
        size_t lt = (size_t)(p - t), a, b, gt, e, ca, cb;
        if (skip_markup(t, n, lt, &e, &ca, &cb)) {
            i = e;
            continue;
        }
        i = lt + 1;
        if (!start_tag(t, n, lt, &a, &b, &gt) || !name_is(t, a, b, "templateId"))
            continue;
        while (r < f->n && f->v[r].end <= lt)
            f->v[w++] = f->v[r++];
        for (; r < f->n && f->v[r].start <= gt; r++) /* overlaps [lt, gt] */
            if (f->v[r].type != DV_IT_DATE)
                f->v[w++] = f->v[r];
    }
    while (r < f->n)
        f->v[w++] = f->v[r++];
    f->n = w;
}

/* The elements holding a person (CDA R2's Person class under its names in the header and entries): a name directly
 * in one of them is a person's, however written (`<name>Homer J Simpson</name>`, or text beside its parts). An
 * organisation's or a place's name is not: the detectors read those. */
static const char *const k_persons[] = {"patient",        "guardianPerson", "assignedPerson",       "associatedPerson",
                                        "relatedPerson", "maintainedPerson", "informationRecipient", "subject",
                                        "person"};

static int is_person(const char *t, size_t a, size_t b)
{
    for (size_t k = 0; k < sizeof k_persons / sizeof k_persons[0]; k++)
        if (name_is(t, a, b, k_persons[k]))
            return 1;
    return 0;
}

/* A playingEntity [lt, gt] holding a person: C-CDA's covered party and policy holder (a name and an sdtc:birthTime,
 * usually with no classCode) or one of class PSN. One of another class (MMAT: a drug or allergen, PLC: a service
 * delivery location, DEV...) holds a thing's or a place's name: the detectors read it. */
static int is_playing_person(const char *t, size_t lt, size_t gt, size_t a, size_t b)
{
    size_t va, vb;
    return name_is(t, a, b, "playingEntity") &&
           (!attr_value(t, lt, gt, "classCode", &va, &vb) || (vb - va == 3 && memcmp(t + va, "PSN", 3) == 0));
}

/* The value of a telecom's value attribute t[a, b) (an HL7 TEL URL): after tel:, fax:, modem: or sms: a phone number,
 * after mailto: an e-mail address, found whatever a pattern makes of them (`tel:5557001;ext=12` kept `;ext=12`);
 * another scheme (http:, ftp:...) the whole value as a URL; no scheme, the whole value as an e-mail address when it
 * has an @, else as a phone number. The scheme stays, so the value is still a TEL URL. */
static int telecom(const char *t, size_t a, size_t b, dv_infotype_set want, dv_findings *f, dv_error *err)
{
    size_t c = a;
    while (c < b && ((t[c] >= 'a' && t[c] <= 'z') || (t[c] >= 'A' && t[c] <= 'Z') ||
                     (c > a && ((t[c] >= '0' && t[c] <= '9') || t[c] == '+' || t[c] == '-' || t[c] == '.'))))
        c++;
    dv_infotype type;
    size_t from = a;
    if (c < b && c > a && t[c] == ':') {
        static const char *const phone[] = {"tel", "fax", "modem", "sms", "x-text-tel", "x-text-fax"};
        type = DV_IT_URL;
        for (size_t k = 0; k < sizeof phone / sizeof phone[0]; k++)
            if (c - a == strlen(phone[k]) && starts_nocase((const uint8_t *)t + a, c - a, phone[k]))
                type = DV_IT_PHONE_NUMBER;
        if (c - a == 6 && starts_nocase((const uint8_t *)t + a, 6, "mailto"))
            type = DV_IT_EMAIL_ADDRESS;
        if (type != DV_IT_URL)
            from = c + 1;
    } else {
        type = memchr(t + a, '@', b - a) ? DV_IT_EMAIL_ADDRESS : DV_IT_PHONE_NUMBER;
    }
    return (want & DV_IT_BIT(type)) ? add(f, from, b, type, err) : 0;
}

/* The elements holding the address of the patient or of someone close to them (CDA R2: the patient's role, a
 * guardian, a related or associated person, the place of birth): the text an address has beside its parts
 * (`<addr>1357 Amber Drive, Beaverton 97867</addr>`) is found whole, as only its parts were. A provider's or an
 * organisation's address is left to the detectors. */
static const char *const k_addr_holders[] = {"patientRole", "guardian", "relatedEntity", "associatedEntity",
                                             "relatedSubject", "place"};

static int is_addr_holder(const char *t, size_t a, size_t b)
{
    for (size_t k = 0; k < sizeof k_addr_holders / sizeof k_addr_holders[0]; k++)
        if (name_is(t, a, b, k_addr_holders[k]))
            return 1;
    return 0;
}

/* Elements open around the tag being read (their local names), for a name's or an address's holder: only the
 * innermost DOC_DEPTH are known, deeper ones are counted. */
#define DOC_DEPTH 64u

/* The element stack of dv_doc_fields: the local names of the open elements (the innermost DOC_DEPTH of them), and
 * the depth of a person's name and of a patient-side address when one is open (their depth once opened), or 0. */
typedef struct doc_stack {
    size_t sa[DOC_DEPTH], sb[DOC_DEPTH], depth, in_name, in_addr;
    unsigned char person[DOC_DEPTH]; /* the element holds a person (is_person, is_playing_person) */
} doc_stack;

/* The type text standing directly in the innermost open element is found as: all of a person's name, the text of
 * a patient-side address beside its parts, a field's value (field_type); DV_IT_COUNT for none. */
static dv_infotype text_type(const char *t, const doc_stack *st, dv_infotype_set want)
{
    if (st->in_name)
        return DV_IT_PERSON_NAME;
    if (st->in_addr && st->in_addr == st->depth)
        return DV_IT_STREET_ADDRESS;
    if (st->depth == 0 || st->depth > DOC_DEPTH)
        return DV_IT_COUNT;
    return field_type(t, st->sa[st->depth - 1], st->sb[st->depth - 1], want);
}

/* The end tag at t[lt] closes its element and what that left open (an unmatched end tag closes nothing). */
static void close_element(const char *t, size_t n, size_t lt, doc_stack *st)
{
    size_t k = lt + 2, e = k;
    while (e < n && name_byte(t[e]))
        e++;
    for (size_t j = k; j < e; j++)
        if (t[j] == ':')
            k = j + 1;
    if (st->depth > DOC_DEPTH) {
        st->depth--;
    } else {
        size_t d = st->depth;
        while (d > 0 && !(st->sb[d - 1] - st->sa[d - 1] == e - k && memcmp(t + st->sa[d - 1], t + k, e - k) == 0))
            d--;
        if (d > 0)
            st->depth = d - 1;
    }
    if (st->in_name > st->depth)
        st->in_name = 0;
    if (st->in_addr > st->depth)
        st->in_addr = 0;
}

/* The start tag [lt, gt] of the element named t[a, b): its identifier and telecom attributes are findings; a
 * non-empty element is opened (a person's name or a patient-side address noted). 0, or -1 out of memory. */
static int open_element(const char *t, size_t lt, size_t gt, size_t a, size_t b, dv_infotype_set want, doc_stack *st,
                        dv_findings *f, dv_error *err)
{
    size_t va, vb;
    if ((name_is(t, a, b, "id") || name_is(t, a, b, "setId")) && (want & DV_IT_BIT(DV_IT_MEDICAL_RECORD_NUMBER)) &&
        attr_value(t, lt, gt, "extension", &va, &vb) && add(f, va, vb, DV_IT_MEDICAL_RECORD_NUMBER, err))
        return -1;
    if (name_is(t, a, b, "telecom") && attr_value(t, lt, gt, "value", &va, &vb) && telecom(t, va, vb, want, f, err))
        return -1;
    if (t[gt - 1] == '/')
        return 0; /* an empty element */
    int holder = st->depth > 0 && st->depth <= DOC_DEPTH;
    size_t ha = holder ? st->sa[st->depth - 1] : 0, hb = holder ? st->sb[st->depth - 1] : 0;
    if ((want & DV_IT_BIT(DV_IT_PERSON_NAME)) && !st->in_name && holder && name_is(t, a, b, "name") &&
        st->person[st->depth - 1])
        st->in_name = st->depth + 1;
    if ((want & DV_IT_BIT(DV_IT_STREET_ADDRESS)) && !st->in_addr && holder && name_is(t, a, b, "addr") &&
        is_addr_holder(t, ha, hb))
        st->in_addr = st->depth + 1;
    if (st->depth < DOC_DEPTH) {
        st->sa[st->depth] = a;
        st->sb[st->depth] = b;
        st->person[st->depth] = (unsigned char)(is_person(t, a, b) || is_playing_person(t, lt, gt, a, b));
    }
    st->depth++;
    return 0;
}

/* The text t[a, b), white space trimmed, as a finding of type (none for DV_IT_COUNT). */
static int add_text(const char *t, size_t a, size_t b, dv_infotype type, dv_findings *f, dv_error *err)
{
    if (type == DV_IT_COUNT)
        return 0;
    while (a < b && is_space(t[a]))
        a++;
    while (b > a && is_space(t[b - 1]))
        b--;
    return add(f, a, b, type, err);
}

/* One pass over the document: every run of character data (a CDATA section's text too) is typed by the elements
 * open around it, whatever markup stands before it (a comment, a processing instruction, a self-closing child:
 * `<name><!-- legal -->Homer Simpson</name>`, `<addr><useablePeriod/>1357 Amber Drive</addr>`); comments, CDATA
 * sections and processing instructions are skipped whole, so a `</patient>` written inside a comment closes
 * nothing. */
int dv_doc_fields(const char *t, size_t n, dv_infotype_set want, dv_findings *f, dv_error *err)
{
    drop_in_template_ids(t, n, f);
    doc_stack st;
    st.depth = st.in_name = st.in_addr = 0;
    size_t i = 0;
    while (i < n) {
        size_t e, ca, cb, a, b, gt;
        if (t[i] != '<') { /* character data, up to the next markup */
            const char *q = memchr(t + i, '<', n - i);
            e = q ? (size_t)(q - t) : n;
            if (add_text(t, i, e, text_type(t, &st, want), f, err))
                return -1;
            i = e;
        } else if (skip_markup(t, n, i, &e, &ca, &cb)) {
            if (cb > ca && add_text(t, ca, cb, text_type(t, &st, want), f, err))
                return -1;
            i = e;
        } else if (i + 1 < n && t[i + 1] == '/') {
            if (tag_end(t, n, i + 1, &gt))
                close_element(t, n, i, &st);
            i = gt < n && t[gt] == '>' ? gt + 1 : i + 1;
        } else if (start_tag(t, n, i, &a, &b, &gt)) {
            if (open_element(t, i, gt, a, b, want, &st, f, err))
                return -1;
            i = gt + 1;
        } else { /* a '<' that opens nothing: text */
            const char *q = i + 1 < n ? memchr(t + i + 1, '<', n - i - 1) : NULL;
            e = q ? (size_t)(q - t) : n;
            if (add_text(t, i, e, text_type(t, &st, want), f, err))
                return -1;
            i = e;
        }
    }
    return 0;
}

/* MIMETypeOfEncapsulatedDocument (0042,0012) beside the document in ds, its padding off (*n bytes); NULL when
 * absent or empty. */
static const uint8_t *mime_of(const dv_ds *ds, size_t *n)
{
    const dv_elem *m = ds ? dv_ds_find(ds, 0x00420012u) : NULL;
    const uint8_t *v = m ? dv_elem_inline_value(m) : NULL;
    *n = v ? (size_t)m->length : 0;
    while (*n > 0 && (v[*n - 1] == ' ' || v[*n - 1] == '\0'))
        (*n)--;
    return *n ? v : NULL;
}

int dv_doc_mime_says_binary(const dv_ds *ds)
{
    size_t n;
    const uint8_t *v = mime_of(ds, &n);
    return v && !dv_doc_mime_is_text(v, n);
}

int dv_doc_mime_says_markup(const dv_ds *ds)
{
    size_t n;
    const uint8_t *v = mime_of(ds, &n);
    return v && dv_doc_mime_is_markup(v, n);
}
