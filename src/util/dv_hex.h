/* The value of one hexadecimal digit, for the readers of %XX escapes and hex references (text/escapes.c: a text's
 * escapes decoded before detection; text/tokens.c: a URL's escapes between a name's parts; engine/opaque_ids.c: a
 * kept value's escapes decoded before it is searched). */
#ifndef DV_HEX_H
#define DV_HEX_H

#include <stdint.h>

/* 0-15 for 0-9, a-f, A-F; -1 for any other byte. */
static inline int dv_hex_value(uint8_t b)
{
    if (b >= '0' && b <= '9')
        return b - '0';
    uint8_t l = (uint8_t)(b | 0x20);
    return l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
}

#endif
