/* UID syntax (PS3.5 9.1), the one home (dv_uid_syntax.h). The engine asks for every UI value a plan keeps, so
 * the rule is one forward scan (uid_scan) that a whole multi-valued value goes through in a single pass: about
 * six instructions a character, no call per value. [test_uid_hmac: test_uid_syntax] */
#include "dicom/dv_uid_syntax.h"

static int is_digit(char c)
{
    return (unsigned)((unsigned char)c - '0') <= 9u;
}

/* The rule: from p, components of digits separated by single dots, up to end or the first byte that is neither
 * a digit nor a dot continuing a component. *form is DV_UID_NOT_UID for an empty component (nothing at all, a
 * leading, double or trailing dot) or more than 64 characters, else DV_UID_LEADING_ZERO when a multi-digit
 * component starts with 0, else DV_UID_VALID. Returns where the scan stopped. */
static const char *uid_scan(const char *p, const char *end, dv_uid_form *form)
{
    const char *start = p;
    int leading_zero = 0;
    for (;;) {
        const char *component = p;
        while (p < end && is_digit(*p))
            p++;
        if (p == component) {
            *form = DV_UID_NOT_UID;
            return p;
        }
        leading_zero |= *component == '0' && p - component > 1;
        if (p == end || *p != '.')
            break;
        p++;
    }
    *form = p - start > DV_UID_SYNTAX_MAX ? DV_UID_NOT_UID : leading_zero ? DV_UID_LEADING_ZERO : DV_UID_VALID;
    return p;
}

dv_uid_form dv_uid_form_of(const char *s, size_t n)
{
    dv_uid_form form;
    return uid_scan(s, s + n, &form) == s + n ? form : DV_UID_NOT_UID;
}

int dv_ui_value_valid(const uint8_t *value, size_t len)
{
    if (len == 0)
        return 1; /* an empty value (its bytes may be NULL: no arithmetic on them) holds nothing */
    while (len > 0 && (value[len - 1] == '\0' || value[len - 1] == ' '))
        len--;
    const char *p = (const char *)value, *end = p + len;
    while (p < end) {
        if (*p != '\\') { /* an empty value ("\\") holds nothing: allowed */
            dv_uid_form form;
            p = uid_scan(p, end, &form);
            if (form != DV_UID_VALID)
                return 0;
            if (p == end)
                break;
            if (*p != '\\')
                return 0; /* a NUL, a space or any other byte inside the value */
        }
        p++;
    }
    return 1;
}
