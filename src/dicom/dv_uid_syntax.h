/* What a UID is (PS3.5 9.1): the one home of UID syntax. The engine keeps a UI value only when it holds UIDs
 * (docs/decisions.md "Kept UIDs are UIDs"); the writer refuses a transfer syntax that is not one; the server's
 * routes and the CLI's output names accept what is shaped like one (uid_syntax.c). */
#ifndef DV_UID_SYNTAX_H
#define DV_UID_SYNTAX_H

#include <stddef.h>
#include <stdint.h>

/* The longest UID (PS3.5 9.1; DV_UID_MAX in dicomveil/dv_engine.h is the same number). */
#define DV_UID_SYNTAX_MAX 64

typedef enum dv_uid_form {
    DV_UID_VALID = 0,     /* a UID */
    DV_UID_LEADING_ZERO,  /* digits and single dots, 1 to 64 characters, but a multi-digit component starts with
                           * 0: not a UID, though seen in the wild, and it holds nothing but digits */
    DV_UID_NOT_UID        /* anything else: empty, too long, a character other than a digit or '.', an empty
                           * component (leading, trailing or double dot) */
} dv_uid_form;

/* The form of s[0..n) (no padding: a NUL or a space is a character like any other here). */
dv_uid_form dv_uid_form_of(const char *s, size_t n);

/* 1 when s[0..n) is a UID: at most 64 characters of digits and '.', components separated by single dots, no
 * leading zero in a multi-digit component, neither first nor last character '.'. */
static inline int dv_uid_valid(const char *s, size_t n)
{
    return dv_uid_form_of(s, n) == DV_UID_VALID;
}

/* 1 when a UI element's value (len bytes) holds only UIDs: after the padding at its end (NULs; spaces too, which
 * many writers use and which hold nothing), every backslash-separated value is a UID or empty. A NUL or space
 * anywhere else fails it (a NUL hides what follows from readers that stop there, not from the file). */
int dv_ui_value_valid(const uint8_t *value, size_t len);

#endif
