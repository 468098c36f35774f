/* Check digits and validity rules for the pattern detectors (checksums.h). A pattern that matches the
 * shape only is weak evidence; these turn a shape into a near-certain finding (score ~95). */
#include <string.h>

#include "text/checksums.h"

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int dv_luhn_ok(const char *digits, size_t n)
{
    if (n < 2 || !all_digits(digits, n))
        return 0;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(digits[n - 1 - i] - '0');
        if (i & 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

static int prefix_in(const char *d, size_t digits, unsigned lo, unsigned hi)
{
    unsigned v = 0;
    for (size_t i = 0; i < digits; i++)
        v = v * 10 + (unsigned)(d[i] - '0');
    return v >= lo && v <= hi;
}

/* Issuer prefixes and the lengths they issue (ISO/IEC 7812 registrations of the major networks). */
int dv_card_ok(const char *d, size_t n)
{
    if (n < 12 || n > 19 || !dv_luhn_ok(d, n))
        return 0;
    if (d[0] == '4')
        return n == 13 || n == 16 || n == 19;                     /* Visa */
    if (prefix_in(d, 2, 51, 55) || prefix_in(d, 4, 2221, 2720))
        return n == 16;                                           /* Mastercard */
    if (prefix_in(d, 2, 34, 34) || prefix_in(d, 2, 37, 37))
        return n == 15;                                           /* American Express */
    if (prefix_in(d, 4, 6011, 6011) || prefix_in(d, 2, 65, 65) || prefix_in(d, 3, 644, 649) ||
        prefix_in(d, 6, 622126, 622925))
        return n >= 16 && n <= 19;                                /* Discover */
    if (prefix_in(d, 3, 300, 305) || prefix_in(d, 2, 36, 36) || prefix_in(d, 2, 38, 39))
        return n >= 14 && n <= 19;                                /* Diners Club */
    if (prefix_in(d, 4, 3528, 3589))
        return n >= 16 && n <= 19;                                /* JCB */
    if (prefix_in(d, 2, 62, 62))
        return n >= 16 && n <= 19;                                /* UnionPay */
    if (prefix_in(d, 2, 50, 50) || prefix_in(d, 2, 56, 69))
        return n >= 12 && n <= 19;                                /* Maestro */
    return 0;
}

int dv_npi_ok(const char *d, size_t n)
{
    if (n != 10 || !all_digits(d, n) || (d[0] != '1' && d[0] != '2'))
        return 0;
    char buf[15];
    memcpy(buf, "80840", 5);
    memcpy(buf + 5, d, 10);
    return dv_luhn_ok(buf, 15);
}

int dv_nhs_ok(const char *d, size_t n)
{
    if (n != 10 || !all_digits(d, n))
        return 0;
    int same = 1;
    for (size_t i = 1; i < n; i++)
        same &= d[i] == d[0];
    if (same)
        return 0;
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (d[i] - '0') * (10 - i);
    int check = 11 - sum % 11;
    if (check == 11)
        check = 0;
    return check != 10 && check == d[9] - '0';
}

int dv_ssn_ok(const char *d, size_t n)
{
    if (n != 9 || !all_digits(d, n))
        return 0;
    if (!memcmp(d, "000", 3) || !memcmp(d, "666", 3) || d[0] == '9')
        return 0;
    return memcmp(d + 3, "00", 2) != 0 && memcmp(d + 5, "0000", 4) != 0;
}

/* The SWIFT IBAN registry's lengths per country. */
static const struct {
    char cc[3];
    unsigned char len;
} iban_lengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
    {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27},
    {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20},
    {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24},
    {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SC", 31},
    {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24},
    {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

int dv_iban_length(const char *cc)
{
    for (size_t i = 0; i < sizeof iban_lengths / sizeof iban_lengths[0]; i++)
        if (iban_lengths[i].cc[0] == cc[0] && iban_lengths[i].cc[1] == cc[1])
            return iban_lengths[i].len;
    return 0;
}

int dv_iban_ok(const char *s, size_t n)
{
    if (n < 15 || n > 34 || (size_t)dv_iban_length(s) != n)
        return 0;
    if (s[2] < '0' || s[2] > '9' || s[3] < '0' || s[3] > '9')
        return 0;
    unsigned rem = 0;
    for (size_t k = 0; k < n; k++) {
        char c = s[(k + 4) % n]; /* the first four characters move to the end */
        if (c >= '0' && c <= '9')
            rem = (rem * 10 + (unsigned)(c - '0')) % 97;
        else if (c >= 'A' && c <= 'Z')
            rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
        else
            return 0;
    }
    return rem == 1;
}

int dv_date_ok(int y, int m, int d)
{
    static const int days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
        return 0;
    if (m == 2 && d == 29)
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return 1;
}

int dv_two_digit_year(int yy)
{
    return yy < 50 ? 2000 + yy : 1900 + yy;
}

/* The first three digits of the ZIP codes each state uses (USPS 3-digit prefixes). Military prefixes (AA AE AP)
 * have no state code here; a prefix of a single town across a border (063, Fishers Island NY) is left out, so
 * such an address is missed rather than every CT number taken for NY. */
static const struct {
    char st[3];
    short lo, hi;
} zip3[] = {
    {"PR", 6, 9},     {"MA", 10, 27},   {"MA", 55, 55},   {"RI", 28, 29},   {"NH", 30, 38},   {"ME", 39, 49},
    {"VT", 50, 59},   {"CT", 60, 69},   {"NJ", 70, 89},   {"NY", 5, 5},     {"NY", 100, 149}, {"PA", 150, 196},
    {"DE", 197, 199}, {"DC", 200, 205}, {"DC", 569, 569}, {"MD", 206, 219}, {"VA", 201, 201}, {"VA", 220, 246},
    {"WV", 247, 268}, {"NC", 270, 289}, {"SC", 290, 299}, {"GA", 300, 319}, {"GA", 398, 399}, {"FL", 320, 349},
    {"AL", 350, 369}, {"TN", 370, 385}, {"MS", 386, 397}, {"KY", 400, 427}, {"OH", 430, 459}, {"IN", 460, 479},
    {"MI", 480, 499}, {"IA", 500, 528}, {"WI", 530, 549}, {"MN", 550, 567}, {"SD", 570, 577}, {"ND", 580, 588},
    {"MT", 590, 599}, {"IL", 600, 629}, {"MO", 630, 658}, {"KS", 660, 679}, {"NE", 680, 693}, {"LA", 700, 714},
    {"AR", 716, 729}, {"OK", 730, 749}, {"TX", 733, 733}, {"TX", 750, 799}, {"TX", 885, 885}, {"CO", 800, 816},
    {"WY", 820, 831}, {"ID", 832, 838}, {"UT", 840, 847}, {"AZ", 850, 865}, {"NM", 870, 884}, {"NV", 889, 898},
    {"CA", 900, 961}, {"HI", 967, 968}, {"OR", 970, 979}, {"WA", 980, 994}, {"AK", 995, 999},
};

int dv_us_zip_state_ok(const char *st, const char *zip)
{
    for (int i = 0; i < 3; i++)
        if (zip[i] < '0' || zip[i] > '9')
            return 0;
    int p = (zip[0] - '0') * 100 + (zip[1] - '0') * 10 + (zip[2] - '0');
    for (size_t k = 0; k < sizeof zip3 / sizeof zip3[0]; k++)
        if (zip3[k].st[0] == st[0] && zip3[k].st[1] == st[1] && p >= zip3[k].lo && p <= zip3[k].hi)
            return 1;
    return 0;
}
