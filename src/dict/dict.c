/* Lookups over the generated PS3.6 dictionary and PS3.15 Table E.1-1 tables (dict_table.c,
 * profile_table.c, both from tools/gen_tables.py).
 *
 * Both tables are laid out the same way: exact entries sorted by tag, then the few repeating-group
 * (masked) entries. A lookup is a binary search over the exact part and, on a miss, a linear scan of
 * the masked tail. These functions run once per data element, so private tags (odd groups, which
 * neither table contains; the generator refuses odd groups) return before any search. */
#include "dict/dv_dict.h"

#include <string.h>

#include "dicom/dv_vr.h"

#define DV_TAG_EXACT_MASK 0xFFFFFFFFu

#include <stddef.h>
_Static_assert(offsetof(dv_dict_entry, tag) == 0, "dv_dict_find_tag reads the tag at offset 0");
_Static_assert(offsetof(dv_profile_entry, tag) == 0, "dv_dict_find_tag reads the tag at offset 0");

static inline int is_odd_group(uint32_t tag)
{
    return (tag & 0x00010000u) != 0;
}

/* Declared in dv_dict.h: the one binary search over tag-sorted tables (dictionary, profiles, IOD contexts). */
size_t dv_dict_find_tag(const void *table, size_t n, size_t stride, uint32_t tag)
{
    const unsigned char *base = table;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t t;
        memcpy(&t, base + mid * stride, sizeof t);
        if (t == tag)
            return mid;
        if (t < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    return n;
}

/* The slot of tag's exact entry, or NULL. */
static inline const dv_dict_slot *exact_slot(uint32_t tag)
{
    for (size_t s = dv_dict_tag_slot(tag);; s = (s + 1) & (DV_DICT_TAG_SLOTS - 1)) {
        const dv_dict_slot *k = &dv_dict_tag_slots[s];
        if (k->index == 0)
            return NULL; /* not an exact entry */
        if (k->tag == tag)
            return k;
    }
}

/* The masked (repeating-group) entry that matches tag, or NULL. */
static const dv_dict_entry *masked_entry(uint32_t tag)
{
    for (size_t i = dv_dict_exact_count; i < dv_dict_count; i++) {
        const dv_dict_entry *e = &dv_dict_entries[i];
        if ((tag & e->mask) == e->tag)
            return e;
    }
    return NULL;
}

const dv_dict_entry *dv_dict_lookup(uint32_t tag)
{
    if (is_odd_group(tag))
        return NULL;
    const dv_dict_slot *k = exact_slot(tag);
    return k ? &dv_dict_entries[k->index - 1] : masked_entry(tag);
}

const dv_dict_entry *dv_dict_lookup_keyword(const char *keyword)
{
    if (keyword == NULL || keyword[0] == '\0')
        return NULL;
    size_t lo = 0, hi = dv_dict_keyword_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const dv_dict_entry *e = &dv_dict_entries[dv_dict_keyword_index[mid]];
        int c = strcmp(e->keyword, keyword);
        if (c == 0)
            return e;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

uint16_t dv_dict_implicit_vr(uint32_t tag)
{
    uint16_t element = (uint16_t)(tag & 0xFFFFu);
    if (element == 0x0000)
        return DV_VR_UL; /* group length, standard or private */
    if (is_odd_group(tag))
        return (element >= 0x0010 && element <= 0x00FF) ? DV_VR_LO : DV_VR_UN;
    /* The slot's VR: the entry itself is not read (dv_dict_slot). */
    const dv_dict_slot *k = exact_slot(tag);
    const dv_dict_entry *e = k ? NULL : masked_entry(tag);
    uint16_t vr = k ? k->vr : e ? e->vr : 0;
    /* Entries without a VR (items and delimiters, a few retired slots) parse as UN. */
    return vr != 0 ? vr : DV_VR_UN;
}

const dv_profile_table *dv_profile_table_default(void)
{
    return dv_profile_tables[0];
}

const dv_profile_table *dv_profile_table_find(const char *edition)
{
    if (edition == NULL)
        return NULL;
    for (size_t i = 0; dv_profile_tables[i] != NULL; i++) {
        if (strcmp(dv_profile_tables[i]->edition, edition) == 0)
            return dv_profile_tables[i];
    }
    return NULL;
}

const dv_profile_entry *dv_profile_lookup(const dv_profile_table *t, uint32_t tag)
{
    if (t == NULL || is_odd_group(tag))
        return NULL;

    const dv_profile_entry *entries = t->entries;
    /* The masked rows are the tail of the table (3 rows in every edition); find where they start by
     * walking back from the end. This costs what the masked scan below costs anyway. */
    size_t n_exact = t->count;
    while (n_exact > 0 && entries[n_exact - 1].mask != DV_TAG_EXACT_MASK)
        n_exact--;

    size_t i = dv_dict_find_tag(entries, n_exact, sizeof entries[0], tag);
    if (i < n_exact)
        return &entries[i];
    for (i = n_exact; i < t->count; i++) {
        if ((tag & entries[i].mask) == entries[i].tag)
            return &entries[i];
    }
    return NULL;
}

#define CONTEXT_GROUP_ROOT "1.2.840.10008.6.1."

int dv_uid_in_registry(const char *uid, size_t len)
{
    static const char root[] = "1.2.840.10008.";
    if (len < sizeof root - 1 || memcmp(uid, root, sizeof root - 1) != 0)
        return 0;
    size_t cl = sizeof CONTEXT_GROUP_ROOT - 1;
    if (len > cl && len <= cl + 5 && memcmp(uid, CONTEXT_GROUP_ROOT, cl) == 0) {
        size_t i = cl;
        while (i < len && uid[i] >= '0' && uid[i] <= '9')
            i++;
        if (i == len && (uid[cl] != '0' || len == cl + 1))
            return 1;
    }
    size_t lo = 0, hi = dv_uid_registry_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *r = dv_uid_registry[mid];
        size_t rl = strlen(r); /* lengths compared explicitly: uid is not NUL-terminated and may hold a NUL */
        int c = memcmp(r, uid, rl < len ? rl : len);
        if (c == 0)
            c = (rl > len) - (rl < len);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}
