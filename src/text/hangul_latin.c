/* Hangul to Latin letters for the deny-list (hangul_latin.h). */
#include "text/hangul_latin.h"

#include <stdint.h>
#include <string.h>

#include "text/spell_buf.h"
#include "util/dv_utf8.h"

#define SYL_LO 0xAC00u
#define SYL_HI 0xD7A3u
#define SPELL_MAX 8 /* a unit's distinct spellings: a surname's customary ones and RR, MR */
#define SPELL_LEN 12

enum { K_RR = 0, K_MR, K_POP, K_POP_MR, K_KINDS };

/* initial consonants ㄱ ㄲ ㄴ ㄷ ㄸ ㄹ ㅁ ㅂ ㅃ ㅅ ㅆ ㅇ ㅈ ㅉ ㅊ ㅋ ㅌ ㅍ ㅎ */
static const char *const ini_rr[19] = {"g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s",
                                       "ss", "", "j", "jj", "ch", "k", "t", "p", "h"};
static const char *const ini_mr[19] = {"k", "kk", "n", "t", "tt", "r", "m", "p", "pp", "s",
                                       "ss", "", "ch", "tch", "ch", "k", "t", "p", "h"};
/* vowels ㅏ ㅐ ㅑ ㅒ ㅓ ㅔ ㅕ ㅖ ㅗ ㅘ ㅙ ㅚ ㅛ ㅜ ㅝ ㅞ ㅟ ㅠ ㅡ ㅢ ㅣ */
static const char *const vow_rr[21] = {"a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae",
                                       "oe", "yo", "u", "wo", "we", "wi", "yu", "eu", "ui", "i"};
static const char *const vow_mr[21] = {"a", "ae", "ya", "yae", "o", "e", "yo", "ye", "o", "wa", "wae",
                                       "oe", "yo", "u", "wo", "we", "wi", "yu", "u", "ui", "i"};
/* final consonants (none) ㄱ ㄲ ㄳ ㄴ ㄵ ㄶ ㄷ ㄹ ㄺ ㄻ ㄼ ㄽ ㄾ ㄿ ㅀ ㅁ ㅂ ㅄ ㅅ ㅆ ㅇ ㅈ ㅊ ㅋ ㅌ ㅍ ㅎ, as they sound at
 * the end of a syllable (RR and MR agree) */
static const char *const fin[28] = {"", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l",
                                    "p", "l", "m", "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t"};
#define V_EO 4
#define V_YEO 6
#define V_U 13
#define V_YU 17
#define V_UI 19
#define L_IEUNG 11
#define T_NONE 0
#define T_N 4
#define T_NG 21

/* The commonest surnames (Statistics Korea's census order, roughly), each with the spellings people and passports
 * use besides RR and MR, which are added to them. Hand-checked; a surname not here is spelled as any syllable. */
static const struct {
    const char *hangul, *forms;
} surnames[] = {
    {"김", "kim gim"}, {"이", "lee yi rhee"}, {"박", "park pak bak"}, {"최", "choi choe"},
    {"정", "jung jeong chung"}, {"강", "kang gang"}, {"조", "cho jo"}, {"윤", "yoon yun"},
    {"장", "jang chang"}, {"임", "lim im rim"}, {"한", "han"}, {"오", "oh o"},
    {"서", "seo suh"}, {"신", "shin sin"}, {"권", "kwon gwon"}, {"황", "hwang"},
    {"안", "ahn an"}, {"송", "song"}, {"류", "yoo yu you ryu rhyu"}, {"유", "yoo yu you ryu rhyu"},
    {"전", "jeon jun chun"}, {"홍", "hong"}, {"고", "ko go"}, {"문", "moon mun"},
    {"양", "yang"}, {"손", "son sohn"}, {"배", "bae pae"}, {"백", "baek paik baik"},
    {"허", "heo huh hur"}, {"남", "nam"}, {"노", "noh roh no"}, {"하", "ha"},
    {"곽", "kwak gwak"}, {"성", "sung seong"}, {"차", "cha"}, {"주", "joo ju chu"},
    {"우", "woo u"}, {"민", "min"}, {"나", "na ra"}, {"진", "jin chin"},
    {"엄", "eom um"}, {"채", "chae"}, {"원", "won"}, {"방", "bang"},
    {"공", "gong kong"}, {"현", "hyun hyeon"}, {"함", "ham"}, {"변", "byun byeon"},
    {"염", "yeom yum"}, {"여", "yeo yuh"}, {"추", "choo chu"}, {"도", "do doh"},
    {"소", "so"}, {"석", "seok suk"}, {"선", "sun seon"}, {"설", "seol sul"},
    {"마", "ma"}, {"길", "gil kil"}, {"연", "yeon yun"}, {"위", "wi wee"},
    {"표", "pyo"}, {"명", "myung myeong"}, {"기", "ki gi"}, {"반", "ban bahn"},
    {"왕", "wang"}, {"금", "keum geum"}, {"옥", "ok"}, {"육", "yook yuk"},
    {"인", "in"}, {"맹", "maeng"}, {"제", "je jae"}, {"모", "mo"},
    {"탁", "tak"}, {"국", "kook guk"}, {"어", "eo uh"}, {"은", "eun"},
    {"편", "pyun pyeon"}, {"용", "yong"}, {"예", "ye"}, {"경", "kyung gyeong"},
    {"봉", "bong"}, {"사", "sa"}, {"부", "boo bu"}, {"황보", "hwangbo"},
    {"남궁", "namgung namkoong"}, {"제갈", "jegal"}, {"선우", "sunwoo seonu"}, {"독고", "dokgo"},
    {"사공", "sagong"},
};

/* A unit's spellings: one syllable's, or a whole table surname's. */
typedef struct {
    char s[SPELL_MAX][SPELL_LEN];
    unsigned n;
    unsigned kind[K_KINDS]; /* the spelling of each kind (K_RR ...): its index in s */
} spellings;

/* Adds w[0, n) unless it is there; returns its index (0 when there is no room: the first spelling stands in). */
static unsigned add_spelling(spellings *sp, const char *w, size_t n)
{
    for (unsigned i = 0; i < sp->n; i++)
        if (strlen(sp->s[i]) == n && memcmp(sp->s[i], w, n) == 0)
            return i;
    if (sp->n >= SPELL_MAX || n == 0 || n >= SPELL_LEN)
        return 0;
    memcpy(sp->s[sp->n], w, n);
    sp->s[sp->n][n] = 0;
    return sp->n++;
}

/* The customary vowel of a syllable (POP): ㅓ u, ㅕ yu (영 young), ㅜ oo when open or before n/ng, ㅢ ee after a
 * consonant, ㅠ yoo alone when open or before n/ng; the others as RR writes them. */
static const char *pop_vowel(unsigned l, unsigned v, unsigned t)
{
    if (v == V_EO)
        return "u";
    if (v == V_YEO)
        return l == L_IEUNG && t == T_NG ? "you" : "yu"; /* 영 young */
    if (v == V_U)
        return t == T_NONE || t == T_N || t == T_NG ? "oo" : "u";
    if (v == V_YU) /* 윤 yoon, 유 yoo; 균 kyun */
        return l == L_IEUNG && (t == T_NONE || t == T_N || t == T_NG) ? "yoo" : "yu";
    if (v == V_UI)
        return l == L_IEUNG ? "eui" : "ee";
    return vow_rr[v];
}

static unsigned spell(spellings *sp, const char *a, const char *b, const char *c)
{
    char w[SPELL_LEN];
    size_t na = strlen(a), nb = strlen(b), nc = strlen(c); /* at most 3 + 3 + 2 letters (tch, wae, ng) */
    if (na + nb + nc >= SPELL_LEN)
        return 0;
    memcpy(w, a, na);
    memcpy(w + na, b, nb);
    memcpy(w + na + nb, c, nc);
    return add_spelling(sp, w, na + nb + nc);
}

/* One syllable's distinct spellings, in the order RR, MR, POP, POP_MR. */
static void syllable_spellings(uint32_t cp, spellings *sp)
{
    unsigned s = cp - SYL_LO, l = s / 588, v = s % 588 / 28, t = s % 28;
    sp->n = 0;
    sp->kind[K_RR] = spell(sp, ini_rr[l], vow_rr[v], fin[t]);
    sp->kind[K_MR] = spell(sp, ini_mr[l], vow_mr[v], fin[t]);
    sp->kind[K_POP] = spell(sp, ini_rr[l], pop_vowel(l, v, t), fin[t]);
    sp->kind[K_POP_MR] = spell(sp, ini_mr[l], pop_vowel(l, v, t), fin[t]);
}

/* A table surname's spellings: its customary ones, then RR and MR of its syllables. */
static void surname_spellings(size_t at, const char *s, size_t len, spellings *sp)
{
    sp->n = 0;
    for (const char *f = surnames[at].forms; *f;) {
        size_t w = strcspn(f, " ");
        add_spelling(sp, f, w);
        f += w + (f[w] == ' ');
    }
    /* the customary spellings stand for POP and POP_MR: the first and the second */
    sp->kind[K_POP] = 0;
    sp->kind[K_POP_MR] = sp->n > 1 ? 1 : 0;
    sp->kind[K_RR] = sp->kind[K_MR] = 0;
    for (int kind = K_RR; kind <= K_MR; kind++) {
        char w[SPELL_LEN];
        size_t n = 0;
        for (size_t i = 0; i < len;) {
            int32_t cp = dv_utf8_next((const uint8_t *)s, len, &i);
            spellings one;
            syllable_spellings((uint32_t)cp, &one);
            const char *x = one.s[one.kind[kind]];
            size_t xn = strlen(x);
            if (n + xn >= SPELL_LEN)
                return;
            memcpy(w + n, x, xn);
            n += xn;
        }
        sp->kind[kind] = add_spelling(sp, w, n);
    }
}

static long surname_at(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof surnames / sizeof surnames[0]; i++)
        if (strlen(surnames[i].hangul) == len && memcmp(surnames[i].hangul, s, len) == 0)
            return (long)i;
    return -1;
}

/* The spelling of one unit in form k: k < K_KINDS, the unit's spelling of that kind; after them, the mixed-radix
 * digit of *rest (consumed). */
static const char *pick(const spellings *sp, unsigned k, unsigned long *rest)
{
    if (k < K_KINDS)
        return sp->s[sp->kind[k]];
    unsigned d = (unsigned)(*rest % sp->n);
    *rest /= sp->n;
    return sp->s[d];
}

/* The Hangul syllables in s[0, len) (their lead bytes EA-ED: a count, not a check; dv_hangul_latin checks) */
static size_t syllables(const uint8_t *u, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += u[i] >= 0xEA && u[i] <= 0xED;
    return n;
}

size_t dv_hangul_latin(const char *s, size_t len, int family, unsigned k, char *out, size_t cap)
{
    if (len == 0 || k >= DV_HANGUL_FORMS)
        return 0;
    dv_spell_buf b = {out, 0, cap, 1};
    unsigned long rest = k >= K_KINDS ? k - K_KINDS : 0; /* form k's mixed combination, digit by digit */
    long sur = family ? surname_at(s, len) : -1;
    spellings sp;
    if (sur >= 0) {
        surname_spellings((size_t)sur, s, len, &sp);
        const char *w = pick(&sp, k, &rest);
        dv_spell_put(&b, w, strlen(w));
    } else {
        const uint8_t *u = (const uint8_t *)s;
        if (k >= K_KINDS && syllables(u, len) > DV_HANGUL_MIX_SYLLABLES)
            return 0; /* no mixes for a long component */
        for (size_t i = 0; i < len;) {
            int32_t cp = dv_utf8_next(u, len, &i);
            if (cp == ' ' || cp == '-') {
                char c = (char)cp;
                dv_spell_put(&b, &c, 1);
                continue;
            }
            if (cp < (int32_t)SYL_LO || cp > (int32_t)SYL_HI)
                return 0; /* jamo, another script, invalid UTF-8 */
            syllable_spellings((uint32_t)cp, &sp);
            const char *w = pick(&sp, k, &rest);
            dv_spell_put(&b, w, strlen(w));
        }
    }
    if (rest > 0) /* every combination was given before form k */
        return 0;
    return b.ok ? b.n : 0;
}

size_t dv_hangul_surname_len(const char *s, size_t len)
{
    size_t i = 0;
    int32_t cp = dv_utf8_next((const uint8_t *)s, len, &i);
    if (cp < (int32_t)SYL_LO || cp > (int32_t)SYL_HI)
        return 0;
    /* a two-syllable surname (6 bytes) is one only with a given name after it: 남궁 alone is 남 + 궁 */
    if (len > 6) {
        long sur = surname_at(s, 6);
        if (sur >= 0)
            return 6;
    }
    return i;
}
