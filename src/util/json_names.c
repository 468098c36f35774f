/* proto3 JSON field names: the JSON name or the proto name (dv_json_names.h). */
#include "util/dv_json_names.h"

#include <string.h>

/* The proto name of json_name into out (DV_JSON_NAME_MAX * 2 + 1 bytes): each capital X as `_x`. -1 when
 * json_name is longer than DV_JSON_NAME_MAX (it is then only ever matched as written). */
static int proto_name(const char *json_name, char out[DV_JSON_NAME_MAX * 2 + 1])
{
    size_t o = 0, i = 0;
    for (; json_name[i]; i++) {
        if (i >= DV_JSON_NAME_MAX)
            return -1;
        char c = json_name[i];
        if (c >= 'A' && c <= 'Z') {
            out[o++] = '_';
            c = (char)(c - 'A' + 'a');
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

int dv_json_name_matches(const char *key, const char *json_name)
{
    if (strcmp(key, json_name) == 0)
        return 1;
    char proto[DV_JSON_NAME_MAX * 2 + 1];
    return proto_name(json_name, proto) == 0 && strcmp(key, proto) == 0;
}

/* The proto name's member when it differs from the JSON name, else NULL; *proto_key is the key. */
static json_t *proto_member(const json_t *obj, const char *json_name, const char **proto_key)
{
    char proto[DV_JSON_NAME_MAX * 2 + 1];
    if (proto_name(json_name, proto) != 0 || strcmp(proto, json_name) == 0)
        return NULL;
    /* The key as stored in obj (its lifetime is obj's), not our stack buffer. */
    void *it = json_object_iter_at((json_t *)obj, proto);
    if (it == NULL)
        return NULL;
    *proto_key = json_object_iter_key(it);
    return json_object_iter_value(it);
}

json_t *dv_json_field(const json_t *obj, const char *json_name, const char **written)
{
    const char *key = json_name;
    json_t *v = json_is_object(obj) ? json_object_get(obj, json_name) : NULL;
    if (v == NULL && json_is_object(obj))
        v = proto_member(obj, json_name, &key);
    if (written)
        *written = key;
    return v;
}

dv_json_names_result dv_json_names_check(const json_t *obj, const char *const *fields, size_t n, const char **key,
                                         const char **other)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        (void)v;
        size_t i = 0;
        while (i < n && !dv_json_name_matches(k, fields[i]))
            i++;
        *key = k;
        if (i == n)
            return DV_JSON_NAMES_UNKNOWN;
        /* k is the proto name (it differs from the JSON name) and the JSON name is there too. */
        if (strcmp(k, fields[i]) != 0 && json_object_get(obj, fields[i]) != NULL) {
            *other = fields[i];
            return DV_JSON_NAMES_TWICE;
        }
    }
    return DV_JSON_NAMES_OK;
}
