/* Parse and validate the Google Cloud Healthcare API DeidentifyConfig JSON (verbatim wire format) into the
 * dv_config IR (dv_config_ir.h). See ../shared/spec/gcp-api.md sections 2-4 and 10, DECISIONS.md 1, 2, 8-10.
 *
 * Accepted input:
 *   - a DeidentifyConfig object, or
 *   - a request body (DeidentifyDatasetRequest / DeidentifyDicomStoreRequest): an object with any of
 *     `config`, `destinationDataset`, `destinationStore`, `gcsConfigUri`, `filterConfig`. The destination
 *     names are checked to be strings and otherwise ignored; the DeidentifyConfig is `config`.
 *
 * Error messages always begin with the JSON path of the offending value, rooted at `config` for
 * DeidentifyConfig fields whether or not a request body wrapped it (e.g.
 * `config.dicomTagConfig.actions[1].queries[0]: unknown DICOM keyword or tag ID "PatentName"`).
 * Request-body fields are named without a prefix (`gcsConfigUri: ...`). Configuration strings are not PHI, so
 * they are quoted, sanitised to printable ASCII and shortened.
 *
 * Except under DV_CONFIG_VALUE_FREE (a config the server read from a file the client named, gcsConfigUri: any
 * file under an allowed root, e.g. a pseudonym map, is not the client's own text): then no message quotes a value
 * or a key the schema does not know. A path names schema fields by their key and an unknown key by its position
 * (`config.dicomTagConfig.<key 3>: unknown field`); a bad value gets a fixed text (`unknown value; expected one
 * of ...`). [test_config.c: test_value_free_errors]
 *
 * proto3 JSON: `null` for any field means the field is absent. Enums are accepted by name only.
 *
 * The input never needs a terminating NUL: json_loadb() reads exactly len bytes, rejects invalid UTF-8 and
 * (without JSON_ALLOW_NUL) any \u0000 inside strings, so every string we see is a proper C string. */
#include "config/dv_config_ir.h"
#include "dicomveil/dv_engine.h" /* DV_CONFIG_MAX_BYTES: the one home of the config size cap */

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom/dv_vr.h"
#include "dict/dv_dict.h"
#include "text/dv_text.h"
#include "text/dv_transform.h"
#include "util/dv_json_names.h"

/* A configuration larger than 1 MiB is refused before parsing: real configs are a few KiB, and the cap bounds
 * the memory and time a hostile or mistaken input (e.g. a DICOM file passed as --config) can cost. */
#define CONFIG_MAX_ACTIONS 10000
/* resolve_query's need_vr for cleanTextTag: one of the VRs dv_clean_text_vr accepts (1 is no VR code). */
#define NEED_CLEAN_TEXT_VR 1
#define CLEAN_TEXT_VRS "AE, LO, LT, PN, SH, ST, UC, UT, DA, DT, AS"
/* resolve_query's need_vr for cleanImageTag: the tag PixelData only ("Supported tags: PixelData", gcp-api.md
 * 3.3); a VR query or any other tag is a config error naming the query (2 is no VR code either).
 * [test_config.c: test_clean_image_tag_pixel_data_only] */
#define NEED_PIXEL_DATA 2
#define CONFIG_MAX_QUERIES 10000

#define PATH_MAX_LEN 256
#define SHOW_MAX 64 /* bytes of a user string shown in a message */

/* The legacy removeList always adds OverlayData (60xx,3000) because overlays may carry PHI (gcp-api.md 4). */
#define OVERLAY_DATA_TAG 0x60003000u
#define OVERLAY_DATA_MASK 0xFF00FFFFu

static const char ACTION_LIST[] =
    "keepTag, removeTag, deleteTag, resetTag, regenUidTag, recurseTag, cleanTextTag, cleanImageTag";

/* ------------------------------------------------------------------------------------------------------ */
/* Messages                                                                                                */

/* The error a parse fills and its flags (DV_CONFIG_VALUE_FREE: a config read from a file the client only named,
 * whose text no message may quote), passed down every parse_* function: only the message builders below read the
 * flags. */
typedef struct cerr {
    dv_error *e;
    unsigned flags;
} cerr;

static int value_free(const cerr *err)
{
    return (err->flags & DV_CONFIG_VALUE_FREE) != 0;
}

/* Copy s into out as printable ASCII: bytes outside 0x20..0x7E as \xNN, '"' and '\\' escaped when
 * escape_quotes, at most max input bytes, "..." when shortened. Every user-supplied string that reaches a
 * message goes through here. */
static const char *show_n(char *out, size_t cap, const char *s, size_t max, int escape_quotes)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0, i = 0;
    if (cap == 0)
        return out;
    for (; s && s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[4];
        size_t n = 0;
        if (escape_quotes && (c == '"' || c == '\\')) {
            tmp[n++] = '\\';
            tmp[n++] = (char)c;
        } else if (c < 0x20 || c > 0x7E) {
            tmp[n++] = '\\';
            tmp[n++] = 'x';
            tmp[n++] = hex[c >> 4];
            tmp[n++] = hex[c & 15];
        } else {
            tmp[n++] = (char)c;
        }
        if (o + n + 4 >= cap)
            break;
        memcpy(out + o, tmp, n);
        o += n;
    }
    if (s && s[i] && o + 3 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/* A value of the input, for a message. Under value_free the sites that would quote one use cfail_value; this
 * is the backstop should one be missed. */
static const char *show(const cerr *err, char *out, size_t cap, const char *s)
{
    if (value_free(err)) {
        snprintf(out, cap, "(not shown)");
        return out;
    }
    return show_n(out, cap, s, SHOW_MAX, 1);
}

/* DV_ERR_CONFIG with "<path>: <message>". */
static int vcfail(cerr *err, const char *path, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static int vcfail(cerr *err, const char *path, const char *fmt, va_list ap)
{
    char msg[DV_ERROR_MESSAGE_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return dv_fail(err->e, DV_ERR_CONFIG, "%s: %s", path, msg);
}

static int cfail(cerr *err, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cfail(cerr *err, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vcfail(err, path, fmt, ap);
    va_end(ap);
    return rc;
}

/* cfail for a message that quotes a value of the input (fmt); under value_free the fixed text quiet instead. */
static int cfail_value(cerr *err, const char *path, const char *quiet, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int cfail_value(cerr *err, const char *path, const char *quiet, const char *fmt, ...)
{
    if (value_free(err))
        return dv_fail(err->e, DV_ERR_CONFIG, "%s: %s", path, quiet);
    va_list ap;
    va_start(ap, fmt);
    int rc = vcfail(err, path, fmt, ap);
    va_end(ap);
    return rc;
}

/* A warning: a fixed text naming a JSON path (never a value). Warnings past DV_CONFIG_MAX_WARNINGS are
 * dropped: every warning names a distinct top-level field, so the cap is never reached by a real config. */
static void add_warning(dv_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_warning(dv_config *cfg, const char *fmt, ...)
{
    if (cfg->nwarnings >= DV_CONFIG_MAX_WARNINGS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cfg->warnings[cfg->nwarnings++], DV_CONFIG_WARNING_MAX, fmt, ap);
    va_end(ap);
}

static int nomem(cerr *err)
{
    return dv_fail(err->e, DV_ERR_NOMEM, "config: out of memory while parsing the configuration");
}

/* parent.key, with the key sanitised (keys come from the input). key is a schema field's name as written (its
 * JSON or proto name), or an unknown key outside value_free; an unknown key goes through path_unknown_key. */
static void path_key(char *out, const char *parent, const char *key)
{
    char k[SHOW_MAX * 4 + 8];
    show_n(k, sizeof k, key, SHOW_MAX, 1);
    if (snprintf(out, PATH_MAX_LEN, "%s.%s", parent, k) >= PATH_MAX_LEN)
        memcpy(out + PATH_MAX_LEN - 4, "...", 4); /* only reachable with absurd keys */
}

/* The 1-based position of key among obj's keys (in the order written: jansson keeps it), 0 if absent. */
static size_t key_position(const json_t *obj, const char *key)
{
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        (void)v;
        i++;
        if (k == key || strcmp(k, key) == 0)
            return i;
    }
    return 0;
}

/* The path of a key of obj the schema does not know: parent.key, or parent.<key N> under value_free (the key
 * may be a value of the file: a pseudonym map's patient name). */
static void path_unknown_key(const cerr *err, char *out, const char *parent, const json_t *obj, const char *key)
{
    if (!value_free(err)) {
        if (parent[0])
            path_key(out, parent, key);
        else
            show_n(out, PATH_MAX_LEN, key, SHOW_MAX, 1);
        return;
    }
    if (snprintf(out, PATH_MAX_LEN, "%s%s<key %zu>", parent, parent[0] ? "." : "", key_position(obj, key)) >=
        PATH_MAX_LEN)
        memcpy(out + PATH_MAX_LEN - 4, "...", 4);
}

static void path_index(char *out, const char *parent, size_t i)
{
    if (snprintf(out, PATH_MAX_LEN, "%s[%zu]", parent, i) >= PATH_MAX_LEN)
        memcpy(out + PATH_MAX_LEN - 4, "...", 4);
}

/* ------------------------------------------------------------------------------------------------------ */
/* JSON helpers                                                                                            */

/* The member for field `key` (its JSON name) under either of its names, the JSON name or the proto name
 * (proto3 JSON, util/dv_json_names.h), or NULL when absent or JSON null (proto3: null = absent). check_keys has
 * refused an object that gives one field under both names before any member of it is read. */
static json_t *get(const json_t *obj, const char *key)
{
    json_t *v = dv_json_field(obj, key, NULL);
    return (v && !json_is_null(v)) ? v : NULL;
}

/* A string field without presence (proto3 `string` or `bytes`: maskingCharacter, cryptoKey) as get finds it, or
 * NULL when it holds "" too: proto3 JSON reads its default value, the empty string, as the field not set, so
 * Google's API defaults `maskingCharacter: ""` to "*" and `cryptoKey: ""` to a generated key (here the run's
 * key, DECISIONS 7). A member of another type is returned for check_string_member to refuse. */
static json_t *get_scalar(const json_t *obj, const char *key)
{
    json_t *v = get(obj, key);
    return v && json_is_string(v) && json_string_length(v) == 0 ? NULL : v;
}

/* parent.<field `key` as the client wrote it in obj> (its JSON name when absent): every path names a field by
 * the key the input used, so `dicom_tag_config` is reported as such. */
static void path_field(char *out, const char *parent, const json_t *obj, const char *key)
{
    const char *written;
    dv_json_field(obj, key, &written);
    path_key(out, parent, written);
}

/* The key field `key` was written under in obj (its JSON name when absent), for messages naming two fields. */
static const char *written_as(const json_t *obj, const char *key)
{
    const char *written;
    dv_json_field(obj, key, &written);
    return written;
}

/* Every key of obj must name one of the fields list[] (by its JSON or proto name), and no field may be given under
 * both names; the first key that breaks either is an error at its path. [test_config: test_unknown_fields,
 * test_proto_field_names] */
static int check_keys(const json_t *obj, const char *path, const char *const *list, size_t n, cerr *err)
{
    const char *key = NULL, *other = NULL;
    dv_json_names_result r = dv_json_names_check(obj, list, n, &key, &other);
    if (r == DV_JSON_NAMES_OK)
        return 0;
    char p[PATH_MAX_LEN];
    if (r == DV_JSON_NAMES_TWICE) { /* key and other both name a field of list[] */
        path_key(p, path, key);
        return cfail(err, p, "the same field as %s (a field is given once, by its JSON or its proto name)", other);
    }
    path_unknown_key(err, p, path, obj, key);
    return cfail(err, p, "unknown field");
}

typedef struct enum_entry {
    const char *name;
    int value;
    const char *profile_name; /* the name recorded in cfg->profile_name (profile enums only) */
} enum_entry;

static void enum_names(char *out, size_t cap, const enum_entry *tab, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o < cap; i++) {
        int w = snprintf(out + o, cap - o, "%s%s", i ? ", " : "", tab[i].name);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

/* v is non-NULL. Returns the entry, or NULL with err set. */
static const enum_entry *parse_enum(const json_t *v, const char *path, const enum_entry *tab, size_t n,
                                    cerr *err)
{
    char names[400];
    enum_names(names, sizeof names, tab, n);
    if (!json_is_string(v)) {
        cfail(err, path, "must be a string, one of %s", names);
        return NULL;
    }
    const char *s = json_string_value(v);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s, tab[i].name) == 0)
            return &tab[i]; /* values not built yet are refused after validation (dv_config_refuse_unbuilt) */
    }
    char q[SHOW_MAX * 4 + 8], quiet[sizeof names + 64];
    snprintf(quiet, sizeof quiet, "unknown value; expected one of %s", names);
    cfail_value(err, path, quiet, "unknown value \"%s\"; expected one of %s", show(err, q, sizeof q, s), names);
    return NULL;
}

static const enum_entry PROFILE_TYPES[] = {
    {"PROFILE_TYPE_UNSPECIFIED", DV_PROFILE_BASIC, "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"},
    {"MINIMAL_KEEP_LIST_PROFILE", DV_PROFILE_MINIMAL_KEEP_LIST, "MINIMAL_KEEP_LIST_PROFILE"},
    {"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE", DV_PROFILE_BASIC, "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"},
    {"KEEP_ALL_PROFILE", DV_PROFILE_KEEP_ALL, "KEEP_ALL_PROFILE"},
    {"DEIDENTIFY_TAG_CONTENTS", DV_PROFILE_DEIDENTIFY_TAG_CONTENTS, "DEIDENTIFY_TAG_CONTENTS"},
};

/* Legacy DicomConfig.filterProfile: unspecified means KEEP_ALL here (not Basic, unlike profileType). */
static const enum_entry TAG_FILTER_PROFILES[] = {
    {"TAG_FILTER_PROFILE_UNSPECIFIED", DV_PROFILE_KEEP_ALL, "KEEP_ALL_PROFILE"},
    {"MINIMAL_KEEP_LIST_PROFILE", DV_PROFILE_MINIMAL_KEEP_LIST, "MINIMAL_KEEP_LIST_PROFILE"},
    {"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE", DV_PROFILE_BASIC, "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"},
    {"KEEP_ALL_PROFILE", DV_PROFILE_KEEP_ALL, "KEEP_ALL_PROFILE"},
    {"DEIDENTIFY_TAG_CONTENTS", DV_PROFILE_DEIDENTIFY_TAG_CONTENTS, "DEIDENTIFY_TAG_CONTENTS"},
};

static const enum_entry PRIMARY_IDS[] = {
    {"PRIMARY_IDS_OPTION_UNSPECIFIED", DV_PRIMARY_UNSPECIFIED, NULL},
    {"KEEP", DV_PRIMARY_KEEP, NULL},
    {"REGEN", DV_PRIMARY_REGEN, NULL},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void set_profile(dv_config *cfg, const enum_entry *e)
{
    cfg->profile = (dv_profile_type)e->value;
    snprintf(cfg->profile_name, sizeof cfg->profile_name, "%s", e->profile_name);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Queries (DECISIONS 2)                                                                                   */

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (unsigned)(c - 'a' + 10);
    return (unsigned)(c - 'A' + 10);
}

static void vr_name(uint16_t vr, char out[3])
{
    out[0] = (char)(vr >> 8);
    out[1] = (char)(vr & 0xFF);
    out[2] = '\0';
    if (out[0] < 'A' || out[0] > 'Z' || out[1] < 'A' || out[1] > 'Z')
        snprintf(out, 3, "??");
}

typedef enum query_mode {
    QUERIES_ACTION = 0, /* Action.queries: tag ID, keyword or VR */
    QUERIES_TAG_FILTER  /* legacy TagFilterList.tags: keyword or tag ID only */
} query_mode;

/* Resolve one query string. need_vr: 0, or DV_VR_UI / DV_VR_SQ for regenUidTag / recurseTag. Every message
 * quotes the query (or its tag number); resolve_query replaces them under value_free. */
static int resolve_query_quoting(const char *s, size_t slen, query_mode mode, uint16_t need_vr, const char *action,
                         const char *path, dv_query *q, cerr *err)
{
    char shown[SHOW_MAX * 4 + 8];
    const dv_dict_entry *entry = NULL;

    show(err, shown, sizeof shown, s);
    memset(q, 0, sizeof *q);
    if (strlen(s) != slen) /* cannot happen without JSON_ALLOW_NUL; kept as a guard */
        return cfail(err, path, "query contains a NUL character");

    int all_hex = slen == 8;
    for (size_t i = 0; all_hex && i < 8; i++)
        all_hex = is_hex(s[i]);

    if (all_hex) {
        uint32_t tag = 0;
        for (size_t i = 0; i < 8; i++)
            tag = (tag << 4) | hex_val(s[i]);
        q->kind = DV_QUERY_TAG;
        q->tag = tag;
        q->mask = 0xFFFFFFFFu;
        if ((tag >> 16) != 0xFFFEu)
            entry = dv_dict_lookup(tag);
        if ((tag >> 16) & 1u)
            entry = NULL; /* private: its VR is not known from the dictionary */
    } else if (slen == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && dv_vr_from_chars(s)) {
        if (mode == QUERIES_TAG_FILTER)
            return cfail(err, path,
                         "\"%s\" is a VR; TagFilterList tags must be DICOM keywords or 8-hex-digit tag IDs",
                         shown);
        q->kind = DV_QUERY_VR;
        q->vr = dv_vr_from_chars(s);
        if (need_vr == NEED_CLEAN_TEXT_VR && !dv_clean_text_vr(q->vr))
            return cfail(err, path, "%s applies to VRs %s only, not to VR \"%s\"", action, CLEAN_TEXT_VRS, shown);
        if (need_vr == NEED_PIXEL_DATA)
            return cfail(err, path, "%s applies to PixelData (7FE00010) only, not to VR \"%s\"", action, shown);
        if (need_vr && need_vr != NEED_CLEAN_TEXT_VR && q->vr != need_vr) {
            char want[3];
            vr_name(need_vr, want);
            return cfail(err, path, "%s applies to VR %s only, not to VR \"%s\"", action, want, shown);
        }
        return 0;
    } else {
        entry = slen ? dv_dict_lookup_keyword(s) : NULL;
        if (!entry) {
            if (slen && ((s[0] >= '0' && s[0] <= '9') || s[0] == '('))
                return cfail(err, path,
                             "unknown DICOM keyword or tag ID \"%s\" (a tag ID is exactly 8 hex digits, "
                             "e.g. \"00100010\")",
                             shown);
            return cfail(err, path, "unknown DICOM keyword or tag ID \"%s\"", shown);
        }
        q->kind = DV_QUERY_TAG;
        q->tag = entry->tag;
        q->mask = entry->mask ? entry->mask : 0xFFFFFFFFu;
    }

    /* Tag queries (by ID or keyword). */
    if ((q->tag >> 16) == 0xFFFEu)
        return cfail(err, path, "\"%s\" is an item or delimitation tag (FFFE,%04X), not a data element", shown,
                     (unsigned)(q->tag & 0xFFFFu));
    if ((q->tag & 0xFFFFu) == 0)
        return cfail(err, path,
                     "\"%s\" is a group length tag (%04X,0000); group lengths are not data to de-identify",
                     shown, (unsigned)(q->tag >> 16));
    if (need_vr == NEED_PIXEL_DATA) {
        if (q->tag != 0x7FE00010u || q->mask != 0xFFFFFFFFu)
            return cfail(err, path, "%s applies to PixelData (7FE00010) only, not to \"%s\" (%04X,%04X)", action,
                         shown, (unsigned)(q->tag >> 16), (unsigned)(q->tag & 0xFFFFu));
        return 0;
    }
    if (need_vr == NEED_CLEAN_TEXT_VR) {
        /* A private or unknown tag's VR is only known per instance: checked there (docs/text.md; the NCI
         * config names private tags). */
        if (!entry || entry->vr == 0)
            return 0;
        if (!dv_clean_text_vr(entry->vr)) {
            char have[3];
            vr_name(entry->vr, have);
            return cfail(err, path, "%s applies to VRs %s only, but \"%s\" (%04X,%04X) has VR %s", action,
                         CLEAN_TEXT_VRS, shown, (unsigned)(q->tag >> 16), (unsigned)(q->tag & 0xFFFFu), have);
        }
        return 0;
    }
    if (need_vr) {
        char want[3];
        vr_name(need_vr, want);
        if (!entry || entry->vr == 0)
            return cfail(err, path,
                         "%s applies to VR %s only, and the VR of \"%s\" (%04X,%04X) cannot be checked: it is a "
                         "private tag or not in the DICOM dictionary",
                         action, want, shown, (unsigned)(q->tag >> 16), (unsigned)(q->tag & 0xFFFFu));
        if (entry->vr != need_vr) {
            char have[3];
            vr_name(entry->vr, have);
            return cfail(err, path, "%s applies to VR %s only, but \"%s\" (%04X,%04X) has VR %s", action, want,
                         shown, (unsigned)(q->tag >> 16), (unsigned)(q->tag & 0xFFFFu), have);
        }
    }
    return 0;
}

/* resolve_query_quoting, whose message under value_free is a fixed text: the query of a file may be a patient
 * ID, and even its tag number (8 hex digits) would repeat it. */
static int resolve_query(const char *s, size_t slen, query_mode mode, uint16_t need_vr, const char *action,
                         const char *path, dv_query *q, cerr *err)
{
    if (resolve_query_quoting(s, slen, mode, need_vr, action, path, q, err) == 0)
        return 0;
    if (value_free(err) && (!err->e || err->e->code == DV_ERR_CONFIG))
        return cfail(err, path, mode == QUERIES_TAG_FILTER
                                    ? "not a DICOM keyword or tag ID this list accepts"
                                    : "not a tag ID, DICOM keyword or VR this action accepts");
    return -1;
}

/* Parse a JSON array of query strings into a fresh array (extra = spare slots left zeroed at the end).
 * *out is owned by the caller as soon as it is set, even on error. */
static int parse_queries(const json_t *v, const char *path, query_mode mode, uint16_t need_vr, const char *action,
                         size_t extra, dv_query **out, size_t *nout, cerr *err)
{
    *out = NULL;
    *nout = 0;
    if (!json_is_array(v))
        return cfail(err, path, mode == QUERIES_ACTION
                                    ? "must be an array of strings (tag IDs, keywords or VRs)"
                                    : "must be an array of strings (keywords or tag IDs)");
    size_t n = json_array_size(v);
    if (n == 0 && mode == QUERIES_ACTION)
        return cfail(err, path, "must not be empty");
    if (n > CONFIG_MAX_QUERIES)
        return cfail(err, path, "too many queries (%zu; the limit is %d)", n, CONFIG_MAX_QUERIES);
    if (n + extra == 0)
        return 0;
    dv_query *qs = calloc(n + extra, sizeof *qs);
    if (!qs)
        return nomem(err);
    *out = qs;
    *nout = n;
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX_LEN];
        const json_t *s = json_array_get(v, i);
        path_index(p, path, i);
        if (!json_is_string(s))
            return cfail(err, p, "must be a string");
        if (resolve_query(json_string_value(s), json_string_length(s), mode, need_vr, action, p, &qs[i], err))
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------------ */
/* DicomTagConfig                                                                                          */

static const struct {
    const char *key;
    dv_action_kind kind;
} ACTION_FIELDS[] = {
    {"keepTag", DV_ACTION_KEEP},          {"removeTag", DV_ACTION_REMOVE},
    {"deleteTag", DV_ACTION_DELETE},      {"resetTag", DV_ACTION_RESET},
    {"regenUidTag", DV_ACTION_REGEN_UID}, {"recurseTag", DV_ACTION_RECURSE},
    {"cleanTextTag", DV_ACTION_CLEAN_TEXT}, {"cleanImageTag", DV_ACTION_CLEAN_IMAGE},
};

static int parse_image_config(const json_t *v, const char *path, dv_image_config *out, cerr *err);

static int parse_action(const json_t *a, const char *path, dv_config_action *act, cerr *err)
{
    static const char *const keys[] = {"queries",     "keepTag",    "removeTag",    "deleteTag",    "resetTag",
                                       "regenUidTag", "recurseTag", "cleanTextTag", "cleanImageTag"};
    if (!json_is_object(a))
        return cfail(err, path, "must be an Action object with \"queries\" and one of %s", ACTION_LIST);
    if (check_keys(a, path, keys, COUNT(keys), err))
        return -1;

    size_t found = 0, first = 0, second = 0;
    for (size_t i = 0; i < COUNT(ACTION_FIELDS); i++) {
        if (!get(a, ACTION_FIELDS[i].key))
            continue;
        if (found == 0)
            first = i;
        else if (found == 1)
            second = i;
        found++;
    }
    if (found == 0)
        return cfail(err, path, "no action; set exactly one of %s", ACTION_LIST);
    if (found > 1)
        return cfail(err, path, "more than one action (%s and %s); set exactly one of %s",
                     written_as(a, ACTION_FIELDS[first].key), written_as(a, ACTION_FIELDS[second].key), ACTION_LIST);

    const char *name = ACTION_FIELDS[first].key;
    dv_action_kind kind = ACTION_FIELDS[first].kind;
    const json_t *body = get(a, name);
    char p[PATH_MAX_LEN];
    path_field(p, path, a, name);
    if (!json_is_object(body))
        return cfail(err, p, "must be an object");
    act->kind = kind;
    if (kind == DV_ACTION_CLEAN_IMAGE) {
        /* cleanImageTag's body is an ImageConfig (gcp-api.md 3.3, 5): validated now, refused after validation
         * unless it asks for no redaction (dv_config_refuse_unbuilt). */
        if (parse_image_config(body, p, &act->params.image, err))
            return -1;
    } else if (json_object_size(body) != 0) {
        return cfail(err, p, "must be an empty object {}");
    }

    uint16_t need = kind == DV_ACTION_REGEN_UID  ? DV_VR_UI
                    : kind == DV_ACTION_RECURSE  ? DV_VR_SQ
                    : kind == DV_ACTION_CLEAN_TEXT ? NEED_CLEAN_TEXT_VR
                    : kind == DV_ACTION_CLEAN_IMAGE ? NEED_PIXEL_DATA
                                                   : 0;
    const json_t *queries = get(a, "queries");
    path_field(p, path, a, "queries");
    if (!queries)
        return cfail(err, p, "required: a non-empty array of tag IDs, keywords or VRs");
    return parse_queries(queries, p, QUERIES_ACTION, need, name, 0, &act->queries, &act->nqueries, err);
}

static int parse_actions(const json_t *v, const char *path, dv_config *cfg, cerr *err)
{
    if (!json_is_array(v))
        return cfail(err, path, "must be an array of Action objects");
    size_t n = json_array_size(v);
    if (n > CONFIG_MAX_ACTIONS)
        return cfail(err, path, "too many actions (%zu; the limit is %d)", n, CONFIG_MAX_ACTIONS);
    if (n == 0)
        return 0;
    cfg->actions = calloc(n, sizeof *cfg->actions);
    if (!cfg->actions)
        return nomem(err);
    cfg->nactions = n; /* zero-filled: dv_config_clear copes with the ones not parsed yet */
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX_LEN];
        path_index(p, path, i);
        if (parse_action(json_array_get(v, i), p, &cfg->actions[i], err))
            return -1;
    }
    return 0;
}

/* ImageConfig (cleanImageTag, options.cleanImage, top-level `image`): burned-in text redaction (the pixel stage,
 * src/engine/pixel_stage.c). REDACT_NO_TEXT / TEXT_REDACTION_MODE_UNSPECIFIED with no infoTypes asks for nothing
 * (Google's own pathology pipeline sends it): accepted as a no-op. */
static const enum_entry TEXT_REDACTION_MODES[] = {
    {"TEXT_REDACTION_MODE_UNSPECIFIED", DV_TEXT_REDACTION_UNSPECIFIED, NULL},
    {"REDACT_ALL_TEXT", DV_REDACT_ALL_TEXT, NULL},
    {"REDACT_SENSITIVE_TEXT", DV_REDACT_SENSITIVE_TEXT, NULL},
    {"REDACT_NO_TEXT", DV_REDACT_NO_TEXT, NULL},
    {"REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS", DV_REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS, NULL},
};

#define UNKNOWN_INFOTYPE "unknown infoType (docs/text.md lists the infoTypes dicomveil detects)"

/* An array of infoType names, copied into *names (owned by the caller as soon as it is set, even on error).
 * The names are not checked against a list: the DLP infoType catalogue is open-ended. */
static int parse_info_type_list(const json_t *x, const char *path, char ***names, size_t *count, cerr *err)
{
    *names = NULL;
    *count = 0;
    if (!json_is_array(x))
        return cfail(err, path, "must be an array of infoType names");
    size_t n = json_array_size(x);
    if (n > CONFIG_MAX_QUERIES)
        return cfail(err, path, "too many infoTypes (%zu; the limit is %d)", n, CONFIG_MAX_QUERIES);
    if (n == 0)
        return 0;
    if (!(*names = calloc(n, sizeof **names)))
        return nomem(err);
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(x, i);
        if (!json_is_string(s)) {
            char p[PATH_MAX_LEN];
            path_index(p, path, i);
            return cfail(err, p, "must be a string");
        }
        size_t len = json_string_length(s);
        if (!((*names)[i] = malloc(len + 1)))
            return nomem(err);
        memcpy((*names)[i], json_string_value(s), len + 1);
        *count = i + 1;
    }
    return 0;
}

/* Validate an ImageConfig (gcp-api.md 5 and 10) into *out (owned by the caller even on error). Whether it can
 * be carried out is decided later (dv_image_config_is_noop, dv_config_refuse_unbuilt). */
static int parse_image_config(const json_t *v, const char *path, dv_image_config *out, cerr *err)
{
    static const char *const keys[] = {"textRedactionMode", "additionalInfoTypes", "excludeInfoTypes"};
    char p[PATH_MAX_LEN];
    if (!json_is_object(v))
        return cfail(err, path, "must be an object");
    if (check_keys(v, path, keys, COUNT(keys), err))
        return -1;
    memset(out, 0, sizeof *out);
    int mode = 0;
    const json_t *x;
    if ((x = get(v, "textRedactionMode"))) {
        path_field(p, path, v, "textRedactionMode");
        const enum_entry *e = parse_enum(x, p, TEXT_REDACTION_MODES, COUNT(TEXT_REDACTION_MODES), err);
        if (!e)
            return -1;
        mode = e->value;
    }
    out->mode = (dv_text_redaction_mode)mode;
    size_t nadd = 0, nexcl = 0;
    if ((x = get(v, "additionalInfoTypes"))) {
        path_field(p, path, v, "additionalInfoTypes");
        int rc = parse_info_type_list(x, p, &out->additional_info_types, &nadd, err);
        out->nadditional = nadd;
        if (rc)
            return -1;
        /* An infoType we do not detect is refused here, naming its path, as in TextConfig
         * (parse_info_type_set): the plan (dv_pixel_policy_make) refused it too, later and without the path, so
         * a config that parsed did not compile (fuzz_config; tests/fuzz/regressions/config/
         * image-unknown-additional-infotype.json). [test_config: test_image_unknown_infotype] */
        for (size_t i = 0; i < nadd; i++) {
            const char *s = out->additional_info_types[i];
            int t = dv_infotype_from_name(s, strlen(s));
            if (t < 0 || t == DV_IT_CTX) {
                char q[PATH_MAX_LEN], shown[SHOW_MAX * 4 + 8];
                path_index(q, p, i);
                show(err, shown, sizeof shown, s);
                return cfail_value(err, q, UNKNOWN_INFOTYPE,
                                   "unknown infoType \"%s\" (docs/text.md lists the infoTypes dicomveil detects)",
                                   shown);
            }
        }
        if (nadd && (mode == DV_REDACT_ALL_TEXT || mode == DV_REDACT_NO_TEXT))
            return cfail(err, p, "can only be used with REDACT_SENSITIVE_TEXT, "
                                 "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS or TEXT_REDACTION_MODE_UNSPECIFIED");
    }
    if ((x = get(v, "excludeInfoTypes"))) {
        path_field(p, path, v, "excludeInfoTypes");
        int rc = parse_info_type_list(x, p, &out->exclude_info_types, &nexcl, err);
        out->nexclude = nexcl;
        if (rc)
            return -1;
        if (nexcl && mode != DV_REDACT_SENSITIVE_TEXT && mode != DV_REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS)
            return cfail(err, p, "can only be used with REDACT_SENSITIVE_TEXT or "
                                 "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS");
    }
    return 0;
}

/* TextConfig (gcp-api.md 6) parsed into cfg->text (dv_text_config, src/text/dv_transform.h). */
static const enum_entry TEXT_PROFILES[] = {
    {"PROFILE_TYPE_UNSPECIFIED", DV_TEXT_PROFILE_UNSPECIFIED, NULL},
    {"EMPTY", DV_TEXT_PROFILE_EMPTY, NULL},
    {"BASIC", DV_TEXT_PROFILE_BASIC, NULL},
};

/* An array of infoType names -> a set; an unknown name is an error naming its path. */
static int parse_info_type_set(const json_t *x, const char *path, dv_infotype_set *set, cerr *err)
{
    char **names;
    size_t n;
    int rc = parse_info_type_list(x, path, &names, &n, err);
    for (size_t i = 0; i < n; i++) {
        int t = rc == 0 ? dv_infotype_from_name(names[i], strlen(names[i])) : 0;
        if (rc == 0 && (t < 0 || t == DV_IT_CTX)) {
            char p[PATH_MAX_LEN], shown[SHOW_MAX * 4 + 8];
            path_index(p, path, i);
            show(err, shown, sizeof shown, names[i]);
            rc = cfail_value(err, p, UNKNOWN_INFOTYPE,
                             "unknown infoType \"%s\" (docs/text.md lists the infoTypes dicomveil detects)", shown);
        } else if (rc == 0) {
            *set |= DV_IT_BIT(t);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static int check_string_member(const json_t *obj, const char *key, const char *path, cerr *err)
{
    const json_t *x = get(obj, key);
    if (x && !json_is_string(x)) {
        char p[PATH_MAX_LEN];
        path_field(p, path, obj, key);
        return cfail(err, p, "must be a string");
    }
    return 0;
}

/* DateShiftConfig / CryptoHashConfig: {cryptoKey, kmsWrapped {cryptoKey, wrappedKey}}, not both. cryptoKey is
 * the base64 of a 16-, 24- or 32-byte key; without it the run's key is used (DECISIONS 7). kmsWrapped needs a
 * Cloud KMS, which an offline tool does not have: refused at its path. */
static int parse_key_config(const json_t *v, const char *path, dv_xform *xf, cerr *err)
{
    static const char *const keys[] = {"cryptoKey", "kmsWrapped"};
    static const char *const kms_keys[] = {"cryptoKey", "wrappedKey"};
    char p[PATH_MAX_LEN];
    if (check_keys(v, path, keys, COUNT(keys), err) || check_string_member(v, "cryptoKey", path, err))
        return -1;
    const json_t *kms = get(v, "kmsWrapped");
    if (kms) {
        path_field(p, path, v, "kmsWrapped");
        if (!json_is_object(kms))
            return cfail(err, p, "must be an object");
        if (get_scalar(v, "cryptoKey"))
            return cfail(err, p, "must not be set together with %s", written_as(v, "cryptoKey"));
        if (check_keys(kms, p, kms_keys, COUNT(kms_keys), err) || check_string_member(kms, "cryptoKey", p, err) ||
            check_string_member(kms, "wrappedKey", p, err))
            return -1;
        return cfail(err, p,
                     "not supported: dicomveil has no Cloud KMS to unwrap the key; give cryptoKey (base64) or "
                     "neither (the run's key is used)");
    }
    const json_t *k = get_scalar(v, "cryptoKey");
    if (k) {
        path_field(p, path, v, "cryptoKey");
        int n = dv_key_from_base64(json_string_value(k), json_string_length(k), xf->key);
        if (n < 0)
            return cfail(err, p, "must be the base64 of a 16-, 24- or 32-byte key (AES 128/192/256)");
        xf->key_len = (uint8_t)n;
    }
    return 0;
}

/* maskingCharacter: exactly one character (code point), printable, and not a DICOM delimiter (\ ^ =), so a
 * masked value stays valid in every text VR (docs/text.md). */
static int parse_mask_char(const json_t *x, const char *path, dv_xform *xf, cerr *err)
{
    const unsigned char *s = (const unsigned char *)json_string_value(x);
    size_t n = json_string_length(x);
    size_t want = n == 0 ? 0 : s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
                : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || want == 0 || n != want || (n == 1 && (s[0] < 0x20 || s[0] == 0x7F)) ||
        (n == 1 && strchr("\\^=", s[0])) || (n == 2 && s[0] == 0xC2 && s[1] < 0xA0))
        return cfail(err, path, "must be exactly one printable character other than \\, ^ and =");
    memcpy(xf->mask, s, n);
    xf->mask_len = (uint8_t)n;
    return 0;
}

static int parse_info_type_transformation(const json_t *v, const char *path, dv_text_xform_cfg *out,
                                          cerr *err)
{
    static const char *const configs[] = {"redactConfig", "characterMaskConfig", "replaceWithInfoTypeConfig",
                                          "dateShiftConfig", "cryptoHashConfig"};
    static const dv_xform_kind kinds[] = {DV_XF_REDACT, DV_XF_MASK, DV_XF_REPLACE_INFOTYPE, DV_XF_DATE_SHIFT,
                                          DV_XF_CRYPTO_HASH};
    static const char *const keys[] = {"infoTypes",       "redactConfig",    "characterMaskConfig",
                                       "replaceWithInfoTypeConfig", "dateShiftConfig", "cryptoHashConfig"};
    static const char *const mask_keys[] = {"maskingCharacter"};
    char p[PATH_MAX_LEN];
    memset(out, 0, sizeof *out);
    if (!json_is_object(v))
        return cfail(err, path, "must be an InfoTypeTransformation object");
    if (check_keys(v, path, keys, COUNT(keys), err))
        return -1;
    const json_t *x;
    if ((x = get(v, "infoTypes"))) {
        path_field(p, path, v, "infoTypes");
        if (parse_info_type_set(x, p, &out->types, err))
            return -1;
    }
    const char *set = NULL;
    for (size_t i = 0; i < COUNT(configs); i++) {
        if (!(x = get(v, configs[i])))
            continue;
        if (set)
            return cfail(err, path, "more than one transformation (%s and %s); set exactly one", set,
                         written_as(v, configs[i]));
        set = written_as(v, configs[i]);
        out->xf.kind = kinds[i];
        path_field(p, path, v, configs[i]);
        if (!json_is_object(x))
            return cfail(err, p, "must be an object");
        if (i == 0 || i == 2) {
            if (json_object_size(x) != 0)
                return cfail(err, p, "must be an empty object {}");
        } else if (i == 1) {
            if (check_keys(x, p, mask_keys, COUNT(mask_keys), err) ||
                check_string_member(x, "maskingCharacter", p, err))
                return -1;
            out->xf.mask[0] = '*'; /* the API's default */
            out->xf.mask_len = 1;
            const json_t *mc = get_scalar(x, "maskingCharacter");
            char q[PATH_MAX_LEN];
            path_field(q, p, x, "maskingCharacter");
            if (mc && parse_mask_char(mc, q, &out->xf, err))
                return -1;
        } else if (parse_key_config(x, p, &out->xf, err)) {
            return -1;
        }
    }
    if (!set)
        return cfail(err, path,
                     "no transformation; set exactly one of redactConfig, characterMaskConfig, "
                     "replaceWithInfoTypeConfig, dateShiftConfig, cryptoHashConfig");
    return 0;
}

static int parse_text_config(const json_t *v, const char *path, dv_text_config *tc, cerr *err)
{
    static const char *const keys[] = {"profileType", "additionalTransformations", "excludeInfoTypes",
                                       "transformations"};
    char p[PATH_MAX_LEN];
    memset(tc, 0, sizeof *tc);
    if (!json_is_object(v))
        return cfail(err, path, "must be an object (a TextConfig)");
    if (check_keys(v, path, keys, COUNT(keys), err))
        return -1;
    const json_t *x;
    if ((x = get(v, "profileType"))) {
        path_field(p, path, v, "profileType");
        const enum_entry *e = parse_enum(x, p, TEXT_PROFILES, COUNT(TEXT_PROFILES), err);
        if (!e)
            return -1;
        tc->profile = (dv_text_profile)e->value;
    }
    if ((x = get(v, "excludeInfoTypes"))) {
        path_field(p, path, v, "excludeInfoTypes");
        if (parse_info_type_set(x, p, &tc->exclude, err))
            return -1;
    }
    /* additionalTransformations first, then the deprecated transformations: the first that lists an infoType
     * decides it (docs/text.md). */
    static const char *const lists[] = {"additionalTransformations", "transformations"};
    for (size_t l = 0; l < COUNT(lists); l++) {
        if (!(x = get(v, lists[l])))
            continue;
        path_field(p, path, v, lists[l]);
        if (!json_is_array(x))
            return cfail(err, p, "must be an array of InfoTypeTransformation objects");
        if (tc->nxf + json_array_size(x) > DV_TEXT_MAX_XFORMS)
            return cfail(err, p, "too many transformations (the limit is %d in one TextConfig)",
                         DV_TEXT_MAX_XFORMS);
        for (size_t i = 0; i < json_array_size(x); i++) {
            char q[PATH_MAX_LEN];
            path_index(q, p, i);
            if (parse_info_type_transformation(json_array_get(x, i), q, &tc->xf[tc->nxf], err))
                return -1;
            tc->nxf++;
        }
    }
    return 0;
}

static int parse_options(const json_t *v, const char *path, dv_config *cfg, cerr *err)
{
    static const char *const keys[] = {"primaryIds", "cleanDescriptors", "cleanImage"};
    char p[PATH_MAX_LEN];
    if (!json_is_object(v))
        return cfail(err, path, "must be an object");
    if (check_keys(v, path, keys, COUNT(keys), err))
        return -1;
    const json_t *x;
    if ((x = get(v, "primaryIds"))) {
        path_field(p, path, v, "primaryIds");
        const enum_entry *e = parse_enum(x, p, PRIMARY_IDS, COUNT(PRIMARY_IDS), err);
        if (!e)
            return -1;
        cfg->primary_ids = (dv_primary_ids)e->value;
    }
    if ((x = get(v, "cleanDescriptors"))) {
        path_field(p, path, v, "cleanDescriptors");
        if (!json_is_object(x))
            return cfail(err, p, "must be an object");
        if (json_object_size(x) != 0)
            return cfail(err, p, "must be an empty object {}");
        cfg->clean_descriptors = 1; /* Clean Descriptors Option (text_stage.c [CTX], plan.c C rows) */
    }
    if ((x = get(v, "cleanImage"))) {
        path_field(p, path, v, "cleanImage");
        cfg->has_clean_image = 1;
        if (parse_image_config(x, p, &cfg->clean_image, err))
            return -1;
    }
    return 0;
}

/* Does query q name PixelData (7FE0,0010): its tag, a group or mask holding it, or its VR (OB or OW)? */
static int names_pixel_data(const dv_query *q)
{
    if (q->kind == DV_QUERY_VR)
        return q->vr == DV_VR_OB || q->vr == DV_VR_OW;
    return (0x7FE00010u & q->mask) == (q->tag & q->mask);
}

/* options.cleanImage asks for the pixels' text to be redacted, but the first action naming PixelData is a keepTag,
 * which outranks it (DECISIONS 1: actions > options): the pixels are written as they are. That is the API's
 * precedence and is kept, but a user who wrote both meant one of them, so the config says so (stop 38's list:
 * "wins silently"). A warning names the paths, never a value. [test_config: test_kept_pixels_warn] */
static void warn_kept_pixels(dv_config *cfg, const char *actions_path)
{
    if (!cfg->has_clean_image || dv_image_config_is_noop(&cfg->clean_image))
        return;
    for (size_t i = 0; i < cfg->nactions; i++)
        for (size_t j = 0; j < cfg->actions[i].nqueries; j++) {
            if (!names_pixel_data(&cfg->actions[i].queries[j]))
                continue;
            if (cfg->actions[i].kind == DV_ACTION_KEEP)
                add_warning(cfg, "%s[%zu].queries[%zu]: keepTag keeps PixelData, which outranks "
                            "options.cleanImage: the pixel data is written without text redaction", actions_path, i, j);
            return; /* the first action naming PixelData decides it */
        }
}

static int parse_tag_config(const json_t *v, const char *path, dv_config *cfg, cerr *err)
{
    static const char *const keys[] = {"profileType", "options", "actions"};
    char p[PATH_MAX_LEN];
    if (!json_is_object(v))
        return cfail(err, path, "must be an object");
    if (check_keys(v, path, keys, COUNT(keys), err))
        return -1;

    set_profile(cfg, &PROFILE_TYPES[0]); /* unspecified = Basic */
    const json_t *x;
    if ((x = get(v, "profileType"))) {
        path_field(p, path, v, "profileType");
        const enum_entry *e = parse_enum(x, p, PROFILE_TYPES, COUNT(PROFILE_TYPES), err);
        if (!e)
            return -1;
        set_profile(cfg, e);
    }
    if ((x = get(v, "options"))) {
        path_field(p, path, v, "options");
        if (parse_options(x, p, cfg, err))
            return -1;
    }
    if ((x = get(v, "actions"))) {
        path_field(p, path, v, "actions");
        if (parse_actions(x, p, cfg, err))
            return -1;
        warn_kept_pixels(cfg, p);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Legacy DicomConfig (DECISIONS 10)                                                                       */

/* TagFilterList {tags: [...]}: keywords or tag IDs (no VRs); an empty or absent list is allowed. */
static int parse_tag_filter_list(const json_t *v, const char *path, size_t extra, dv_query **out, size_t *nout,
                                 cerr *err)
{
    static const char *const keys[] = {"tags"};
    *out = NULL;
    *nout = 0;
    if (!json_is_object(v))
        return cfail(err, path, "must be an object {\"tags\": [...]}");
    if (check_keys(v, path, keys, COUNT(keys), err))
        return -1;
    const json_t *tags = get(v, "tags");
    char p[PATH_MAX_LEN];
    path_field(p, path, v, "tags");
    if (!tags) {
        if (extra == 0)
            return 0;
        *out = calloc(extra, sizeof **out);
        return *out ? 0 : nomem(err);
    }
    return parse_queries(tags, p, QUERIES_TAG_FILTER, 0, NULL, extra, out, nout, err);
}

static int add_action(dv_config *cfg, dv_action_kind kind, dv_query *qs, size_t n, cerr *err)
{
    cfg->actions = calloc(1, sizeof *cfg->actions);
    if (!cfg->actions) {
        free(qs);
        return nomem(err);
    }
    cfg->nactions = 1;
    cfg->actions[0].kind = kind;
    cfg->actions[0].queries = qs;
    cfg->actions[0].nqueries = n;
    return 0;
}

static int parse_legacy(const json_t *v, const char *path, dv_config *cfg, cerr *err)
{
    static const char *const keys[] = {"filterProfile", "keepList", "removeList", "skipIdRedaction"};
    char p[PATH_MAX_LEN];
    if (!json_is_object(v))
        return cfail(err, path, "must be an object");
    if (check_keys(v, path, keys, COUNT(keys), err))
        return -1;
    cfg->legacy = 1;

    const json_t *fp = get(v, "filterProfile"), *kl = get(v, "keepList"), *rl = get(v, "removeList");
    const char *set[3];
    size_t nset = 0;
    if (fp)
        set[nset++] = written_as(v, "filterProfile");
    if (kl)
        set[nset++] = written_as(v, "keepList");
    if (rl)
        set[nset++] = written_as(v, "removeList");
    if (nset > 1)
        return cfail(err, path, "only one of filterProfile, keepList and removeList may be set (got %s and %s)",
                     set[0], set[1]);

    const json_t *skip = get(v, "skipIdRedaction");
    if (skip) {
        path_field(p, path, v, "skipIdRedaction");
        if (!json_is_boolean(skip))
            return cfail(err, p, "must be a boolean");
        cfg->primary_ids = json_is_true(skip) ? DV_PRIMARY_KEEP : DV_PRIMARY_UNSPECIFIED;
    }

    /* No filter field at all = TAG_FILTER_PROFILE_UNSPECIFIED = KEEP_ALL. */
    set_profile(cfg, &TAG_FILTER_PROFILES[0]);
    if (fp) {
        path_field(p, path, v, "filterProfile");
        const enum_entry *e = parse_enum(fp, p, TAG_FILTER_PROFILES, COUNT(TAG_FILTER_PROFILES), err);
        if (!e)
            return -1;
        set_profile(cfg, e);
    } else if (kl) {
        /* keepList = MINIMAL_KEEP_LIST_PROFILE + keepTag on the list (the profile supplies the tags required
         * for a valid instance). An empty list adds no action: every action has at least one query. */
        dv_query *qs;
        size_t n;
        path_field(p, path, v, "keepList");
        if (parse_tag_filter_list(kl, p, 0, &qs, &n, err)) {
            free(qs);
            return -1;
        }
        set_profile(cfg, &TAG_FILTER_PROFILES[1]);
        /* PixelData on the list with a redacting `image` config: the profile keeps PixelData anyway (a required
         * tag), and a keepTag would outrank the image config (actions > options), so the pixels the config asks
         * to redact were written untouched, silently (stop 38's red team). The list only says "keep it". */
        if (cfg->has_image && !dv_image_config_is_noop(&cfg->image)) {
            size_t k = 0;
            for (size_t i = 0; i < n; i++)
                if (!(qs[i].kind == DV_QUERY_TAG && qs[i].tag == 0x7FE00010u && qs[i].mask == 0xFFFFFFFFu))
                    qs[k++] = qs[i];
            n = k;
        }
        if (n && add_action(cfg, DV_ACTION_KEEP, qs, n, err))
            return -1;
        if (!n)
            free(qs);
    } else if (rl) {
        /* removeList = KEEP_ALL_PROFILE + removeTag on the list plus OverlayData (60xx,3000). */
        dv_query *qs;
        size_t n;
        path_field(p, path, v, "removeList");
        if (parse_tag_filter_list(rl, p, 1, &qs, &n, err)) {
            free(qs);
            return -1;
        }
        qs[n].kind = DV_QUERY_TAG;
        qs[n].tag = OVERLAY_DATA_TAG;
        qs[n].mask = OVERLAY_DATA_MASK;
        set_profile(cfg, &TAG_FILTER_PROFILES[3]);
        if (add_action(cfg, DV_ACTION_REMOVE, qs, n + 1, err))
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------------ */
/* DeidentifyConfig and the request body                                                                   */

static const char *const CONFIG_KEYS[] = {"dicomTagConfig", "dicom", "image", "text", "fhir", "fhirFieldConfig",
                                          "operationMetadata", "annotation", "useRegionalDataProcessing"};

static int parse_deidentify_config(const json_t *v, dv_config *cfg, cerr *err)
{
    const char *path = "config";
    char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
    if (check_keys(v, path, CONFIG_KEYS, COUNT(CONFIG_KEYS), err))
        return -1;

    const json_t *urdp = get(v, "useRegionalDataProcessing");
    /* Accepted without effect: all dicomveil processing is local. */
    path_field(p, path, v, "useRegionalDataProcessing");
    if (urdp && !json_is_boolean(urdp))
        return cfail(err, p, "must be a boolean");

    const json_t *tag_cfg = get(v, "dicomTagConfig"), *legacy = get(v, "dicom"), *image = get(v, "image");
    char tag_path[PATH_MAX_LEN];
    path_field(tag_path, path, v, "dicomTagConfig");
    /* Conflicts first, so that the user learns the combination is wrong before anything is refused. */
    if (legacy && tag_cfg)
        return cfail(err, "config.dicom",
                     "cannot be combined with %s (dicom is the deprecated DicomConfig; use %s alone)", tag_path,
                     written_as(v, "dicomTagConfig"));
    if (image && tag_cfg) {
        path_field(q, tag_path, tag_cfg, "options");
        path_key(p, q, "cleanImage");
        return cfail(err, "config.image", "cannot be combined with %s (use %s instead)", tag_path, p);
    }

    if (image) {
        cfg->has_image = 1;
        if (parse_image_config(image, "config.image", &cfg->image, err))
            return -1;
    }
    if (get(v, "text")) {
        cfg->has_text = 1;
        if (parse_text_config(get(v, "text"), "config.text", &cfg->text, err))
            return -1;
    }
    /* The FHIR-only fields configure FHIR stores, which dicomveil does not have: a config written for Google's
     * service carries them for its FHIR half (e.g. NCI's MIDI config). Accepted with a warning and no effect;
     * only their shape is checked. */
    static const char *const fhir_keys[] = {"fhir", "fhirFieldConfig", "operationMetadata"};
    for (size_t i = 0; i < COUNT(fhir_keys); i++) {
        const json_t *x = get(v, fhir_keys[i]);
        if (!x)
            continue;
        path_field(p, path, v, fhir_keys[i]);
        if (!json_is_object(x))
            return cfail(err, p, "must be an object");
        add_warning(cfg, "%s: ignored: FHIR-only setting (dicomveil de-identifies DICOM only)", p);
    }
    if (get(v, "annotation"))
        return cfail(err, "config.annotation", "not implemented: AnnotationConfig was removed from the Healthcare API");

    if (tag_cfg)
        return parse_tag_config(tag_cfg, tag_path, cfg, err);
    if (legacy)
        return parse_legacy(legacy, "config.dicom", cfg, err);
    /* Neither dicom nor dicomTagConfig: the DicomTagConfig defaults, i.e. the Attribute Confidentiality
     * Basic Profile with primaryIds unspecified (= REGEN, DECISIONS 8) and no actions. */
    set_profile(cfg, &PROFILE_TYPES[0]);
    return 0;
}

static const char *const REQUEST_KEYS[] = {"config", "destinationDataset", "destinationStore", "gcsConfigUri",
                                           "filterConfig"};

/* A request body's own field that is a string, or absent; else an error at its path (the key as written). */
static int check_request_string(const json_t *v, const char *key, cerr *err)
{
    const json_t *x = get(v, key);
    return x && !json_is_string(x) ? cfail(err, written_as(v, key), "must be a string") : 0;
}

static int parse_request(const json_t *v, dv_config *cfg, cerr *err)
{
    const char *key = NULL, *other = NULL;
    dv_json_names_result r = dv_json_names_check(v, REQUEST_KEYS, COUNT(REQUEST_KEYS), &key, &other);
    if (r != DV_JSON_NAMES_OK) {
        char k[PATH_MAX_LEN];
        show_n(k, sizeof k, key, SHOW_MAX, 1); /* a field's name in the first two cases */
        if (r == DV_JSON_NAMES_TWICE)
            return cfail(err, k, "the same field as %s (a field is given once, by its JSON or its proto name)",
                         other);
        for (size_t i = 0; i < COUNT(CONFIG_KEYS); i++)
            if (dv_json_name_matches(key, CONFIG_KEYS[i]))
                return cfail(err, k,
                             "unknown field in a request body (DeidentifyConfig fields go inside \"config\")");
        path_unknown_key(err, k, "", v, key);
        return cfail(err, k, "unknown field");
    }
    /* The destination names mean nothing locally, but they must still be well-formed. */
    if (check_request_string(v, "destinationDataset", err) || check_request_string(v, "destinationStore", err))
        return -1;
    if (get(v, "gcsConfigUri"))
        return cfail(err, written_as(v, "gcsConfigUri"), "not supported; pass the config inline as \"config\"");
    if (get(v, "filterConfig"))
        return cfail(err, written_as(v, "filterConfig"),
                     "DicomFilterConfig (resourcePathsGcsUri) is not supported yet; select the input instances "
                     "directly");
    const json_t *c = get(v, "config");
    if (!c) {
        json_t *empty = json_object();
        if (!empty)
            return nomem(err);
        int rc = parse_deidentify_config(empty, cfg, err);
        json_decref(empty);
        return rc;
    }
    if (!json_is_object(c))
        return cfail(err, "config", "must be an object (a DeidentifyConfig)");
    return parse_deidentify_config(c, cfg, err);
}

/* By either name of each field (dv_json_names.h): a request body written with proto names is one too. */
int dv_config_json_is_request_body(const json_t *v)
{
    for (size_t i = 0; i < COUNT(REQUEST_KEYS); i++)
        if (dv_json_field(v, REQUEST_KEYS[i], NULL))
            return 1;
    return 0;
}

int dv_config_parse(const char *json, size_t len, dv_config *cfg, dv_error *err)
{
    return dv_config_parse_flags(json, len, 0, cfg, err);
}

/* dv_config_parse_all with the parse's error and flags (cerr). */
static int parse_all(const char *json, size_t len, dv_config *cfg, cerr *err)
{
    if (!cfg)
        return dv_fail(err->e, DV_ERR_USAGE, "dv_config_parse: cfg is NULL");
    memset(cfg, 0, sizeof *cfg);
    if (!json && len)
        return dv_fail(err->e, DV_ERR_USAGE, "dv_config_parse: json is NULL");
    if (len > DV_CONFIG_MAX_BYTES)
        return dv_fail(err->e, DV_ERR_CONFIG, "config: the configuration is %zu bytes; the limit is 1 MiB (%zu bytes)",
                       len, DV_CONFIG_MAX_BYTES);

    json_error_t jerr;
    /* JSON_DECODE_ANY so that a scalar top level gets our "must be an object" message. */
    json_t *root = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            return nomem(err);
        char text[sizeof jerr.text * 4];
        if (value_free(err)) /* jansson's text quotes the input ("near '...'") */
            return dv_fail(err->e, DV_ERR_CONFIG, "config: invalid JSON at line %d, column %d", jerr.line, jerr.column);
        return dv_fail(err->e, DV_ERR_CONFIG, "config: invalid JSON at line %d, column %d: %s", jerr.line,
                       jerr.column, show_n(text, sizeof text, jerr.text, sizeof jerr.text, 0));
    }

    int rc;
    if (!json_is_object(root))
        rc = cfail(err, "config",
                   "the top level must be a JSON object (a DeidentifyConfig, or a request body with \"config\")");
    else if (dv_config_json_is_request_body(root))
        rc = parse_request(root, cfg, err);
    else
        rc = parse_deidentify_config(root, cfg, err);
    json_decref(root);
    if (rc) {
        dv_config_clear(cfg);
        return -1;
    }
    if (err->e)
        dv_error_clear(err->e);
    return 0;
}

int dv_config_parse_flags(const char *json, size_t len, unsigned flags, dv_config *cfg, dv_error *err)
{
    cerr c = {err, flags};
    if (parse_all(json, len, cfg, &c))
        return -1;
    if (dv_config_refuse_unbuilt(cfg, err)) {
        dv_config_clear(cfg);
        return -1;
    }
    return 0;
}

int dv_config_parse_all(const char *json, size_t len, dv_config *cfg, dv_error *err)
{
    cerr c = {err, 0};
    return parse_all(json, len, cfg, &c);
}

void dv_config_clear(dv_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; cfg->actions && i < cfg->nactions; i++) {
        free(cfg->actions[i].queries);
        dv_action_params_clear(&cfg->actions[i].params);
    }
    free(cfg->actions);
    dv_image_config_clear(&cfg->clean_image);
    dv_image_config_clear(&cfg->image);
    memset(cfg, 0, sizeof *cfg);
}
