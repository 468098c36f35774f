/* Field names of the Google Cloud Healthcare API's JSON (proto3 JSON mapping): a field is written by its JSON name
 * (lowerCamelCase, `dicomTagConfig`) or by its proto field name (`dicom_tag_config`), and a parser accepts both
 * (https://protobuf.dev/programming-guides/json/). Every parser of that JSON (src/config/config_json.c, the
 * server's request bodies in src/http/) names its fields by the JSON name only and looks them up here, so the two
 * names are one rule with one home. The proto name is derived, never listed: each capital X of the JSON name
 * becomes `_x` (the API's proto names are lower snake_case without digits after an underscore, so this is exact).
 *
 * Only field names go through here. A map field's keys (`labels`), enum values and DICOM keywords are values:
 * they are matched as written. None of these functions writes any message: callers name the path with the key as
 * the client wrote it (the `written` outputs). [test_config: test_proto_field_names] */
#ifndef DV_JSON_NAMES_H
#define DV_JSON_NAMES_H

#include <jansson.h>
#include <stddef.h>

/* The longest JSON name whose proto name is looked up (the API's longest is far shorter); a longer name
 * matches its JSON name only. */
#define DV_JSON_NAME_MAX 63

/* 1 when key (as written in the input) names field `json_name`: equal to it or to its proto name; else 0. */
int dv_json_name_matches(const char *key, const char *json_name);

/* The member of obj for the field `json_name` under either name, JSON null included (the caller decides what null
 * means); NULL when absent or obj is no object. *written (written may be NULL) gets the key the member was found
 * under, owned by obj; the JSON name when absent. With both names present (which dv_json_names_check refuses)
 * the JSON name's member is returned. */
json_t *dv_json_field(const json_t *obj, const char *json_name, const char **written);

typedef enum dv_json_names_result {
    DV_JSON_NAMES_OK = 0,
    DV_JSON_NAMES_UNKNOWN, /* *key names no field of the list */
    DV_JSON_NAMES_TWICE    /* *key is a field's proto name and its JSON name *other is in obj too */
} dv_json_names_result;

/* Check every key of obj against the n fields' JSON names: each must name one field (dv_json_name_matches), and
 * no field may be given under both its names (a proto3 parser refuses that as it refuses a repeated key). On
 * failure *key is the offending key as written (owned by obj), and for TWICE *other the field's JSON name; the
 * first offending key in obj's order is reported. obj is an object. */
dv_json_names_result dv_json_names_check(const json_t *obj, const char *const *fields, size_t n, const char **key,
                                         const char **other);

#endif
