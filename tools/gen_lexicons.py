#!/usr/bin/python3
"""Generate src/text/lexicon_data.c and src/text/lexicon_data.h (the dictionaries of the PERSON_NAME,
FIRST_NAME, LAST_NAME, LOCATION and ORGANIZATION_NAME detectors) from ../shared/data/lexicons/.

    python3 tools/gen_lexicons.py [--shared DIR] [--out DIR] [--check]

Only sources whose licence lets dicomveil ship derived tables are read (see SOURCES below and
docs/text-lexicons.md): public domain (US Census, SSA, CMS), CC0 (sigpwned), MIT (Faker, gecko-data),
CC BY 4.0 (GeoNames) and the SCOWL word list (a permissive notice-only licence of the MIT family; its notice
is in NOTICE). The GFDL first-name database, the CC BY-SA FrequencyWords list and the LGPL iso-codes tables
are never read here (the scorer may read the first two at test time, for evaluation only).

Cut-offs (documented in docs/text-lexicons.md; they keep the generated source near 3 MB):
  surnames (Census 2010)       count >= SURNAME_MIN_COUNT
  given names (SSA 1880-2023)  births >= GIVEN_MIN_COUNT (summed over sexes); Census 1990 lists: all
  most frequent names          TOPFIRST: SSA births >= TOP_GIVEN_MIN_COUNT; TOPLAST: Census 2010 count >=
                               TOP_SURNAME_MIN_COUNT (the pair rules' guard against English words is lifted)
  Faker / sigpwned names       all (they are curated lists of common names)
  places                       GeoNames cities15000 (name, asciiname; alternate names of cities with
                               >= ALT_NAMES_MIN_POP people), countries, capitals, admin1 names
  English words                SCOWL lower-case words, kept only where they are also a name, place or
                               organisation word (that is the only question the detector asks of them)
  keys                         at most MAX_KEY bytes after folding; at most 4 words

Table layout: keys are folded (ASCII and full-width ASCII letters upper-cased, full-width digits to ASCII, Latin
letters U+00C0-U+024F reduced to their base letters, half-width katakana to full-width, apostrophes dropped;
other scripts unchanged, words joined by one space), grouped by byte length;
within a length the records are sorted and fixed-width: key bytes + 4 info characters (24 bits in the base-64
alphabet), so a lookup is a binary search with no pointer table. The fold tables for U+00C0-U+024F and
U+1E00-U+1EFF, and the half-width katakana table (U+FF66-U+FF9F, see KANA below), are emitted too, so the C
tokeniser and this generator fold the same way.

Deterministic; files are only rewritten when their content changes. Python 3 standard library only.
"""

import argparse
import csv
import hashlib
import math
import os
import sys
import unicodedata

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CURATED = os.path.join(REPO_ROOT, "tools", "lexicons", "curated.txt")

SURNAME_MIN_COUNT = 300
GIVEN_MIN_COUNT = 200
# The most frequent names (docs/text-lexicons.md rule 4c): a pair of them is a name even when both are English words
# (John Smith: john, smith) or the text is all capitals (MARIA GARCIA: maria, the plural of mare). 130 given names
# (Rose, 497,859 births, just misses; Maria has 564,204) and 314 surnames.
TOP_GIVEN_MIN_COUNT = 500000
TOP_SURNAME_MIN_COUNT = 100000
MAX_KEY = 40
MAX_WORDS = 4

# Info bits (one home: emitted into lexicon_data.h as DV_LEX_* constants).
BITS = [
    ("FIRST", "a given name"),
    ("LAST", "a family name"),
    ("CITY", "a populated place (GeoNames cities15000)"),
    ("COUNTRY", "a country or its capital"),
    ("REGION", "a first-order administrative division (state, province)"),
    ("ORGWORD", "a word of a US hospital's name (CMS)"),
    ("ENG", "also a common English word (SCOWL lower-case entry)"),
    ("EPONYM", "curated: a surname naming a disease, sign or structure"),
    ("CLINICAL", "curated: a clinical, anatomical or technical word"),
    ("MULTI", "the first word of a multi-word key (try longer keys)"),
    ("TITLE", "curated: a person's title (Dr, Mrs)"),
    ("TRIGGER", "curated: a context word before names (patient, by)"),
    ("ORGHEAD", "curated: the head word of an organisation name"),
    ("ORGGENERIC", "curated: an organisation word that identifies nothing on its own"),
    ("STATECODE", "a US state's two-letter code (GeoNames admin1)"),
    ("NOTNAME", "curated: never a name on its own (function words, months)"),
    ("HONORIFIC", "curated: a CJK honorific after a name (様, 님)"),
    ("LOCTRIGGER", "curated: a preposition before a place (in, from)"),
    ("PARTICLE", "curated: a name particle (van, der, Ní)"),
    ("TOPFIRST", "a given name of >= %d SSA births (the 130 most frequent)" % TOP_GIVEN_MIN_COUNT),
    ("TOPLAST", "a surname of >= %d people in the 2010 Census (the 314 most frequent)" % TOP_SURNAME_MIN_COUNT),
]
BIT = {name: 1 << i for i, (name, _) in enumerate(BITS)}
POP_SHIFT = 21    # 3 bits: place population class, floor(log10(population)) - 2, capped at 7
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

SOURCES = [
    ("names_us/census2010_surnames.csv", "US Census 2010 surnames (public domain; via gecko-data, MIT)"),
    ("names_us/ssa_given_names_1880_2023.csv", "SSA given names 1880-2023 (public domain)"),
    ("names_us/census1990_dist.female.first", "US Census 1990 female first names (public domain)"),
    ("names_us/census1990_dist.male.first", "US Census 1990 male first names (public domain)"),
    ("names_intl/sigpwned_common-forenames-by-country.csv", "sigpwned popular forenames (CC0 1.0)"),
    ("names_intl/sigpwned_common-surnames-by-country.csv", "sigpwned popular surnames (CC0 1.0)"),
    ("names_intl/faker_person_names_by_locale.tsv", "Faker person names (MIT)"),
    ("places/geonames_cities15000.txt", "GeoNames cities15000 (CC BY 4.0)"),
    ("places/geonames_countryInfo.txt", "GeoNames countryInfo (CC BY 4.0)"),
    ("places/geonames_admin1CodesASCII.txt", "GeoNames admin1 codes (CC BY 4.0)"),
    ("organizations/cms_hospital_name_words.tsv", "CMS hospital name words (public domain)"),
    ("english/wamerican_american-english.txt", "SCOWL american-english (SCOWL licence)"),
]


# ---------------------------------------------------------------------------------------------- folding
FOLD_LO, FOLD_HI = 0x00C0, 0x024F
FOLD2_LO, FOLD2_HI = 0x1E00, 0x1EFF  # Latin Extended Additional (Vietnamese: Nguyễn)
ALT_NAMES_MIN_POP = 1000000           # GeoNames alternate names (München, Москва, 北京) for large cities only
SPECIAL = {"ß": "SS", "Æ": "AE", "æ": "AE", "Ø": "O", "ø": "O", "Œ": "OE", "œ": "OE", "Ł": "L", "ł": "L",
           "Đ": "D", "đ": "D", "Þ": "TH", "þ": "TH", "Ð": "D", "ð": "D", "ı": "I", "Ħ": "H", "ħ": "H",
           "ĸ": "K", "Ŋ": "N", "ŋ": "N", "ſ": "S", "Ŧ": "T", "ŧ": "T", "Ĳ": "IJ", "ĳ": "IJ"}


def append_rows(c, items, per_row):
    """Append C initialiser rows of per_row items each (the last one shorter) to the line list c."""
    for i in range(0, len(items), per_row):
        c.append("    " + ", ".join(items[i:i + per_row]) + ",")


def fold_entry(cp):
    """(folded ASCII, is_upper, is_letter) for a code point of U+00C0-U+024F."""
    ch = chr(cp)
    if not unicodedata.category(ch).startswith("L"):
        return "", False, False
    up = ch.upper() != ch or (ch.lower() != ch and ch.upper() == ch)
    if ch in SPECIAL:
        f = SPECIAL[ch]
    else:
        f = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)).upper()
    if not f or len(f) > 2 or not all("A" <= c <= "Z" for c in f):
        f = ""  # a letter without an ASCII base: kept as it is (passthrough)
    return f, up, True


FOLD = {cp: fold_entry(cp) for cp in list(range(FOLD_LO, FOLD_HI + 1)) + list(range(FOLD2_LO, FOLD2_HI + 1))}

# Width folding (docs/text-lexicons.md "Tokens and folding"): full-width ASCII letters and digits
# (U+FF10-U+FF19, U+FF21-U+FF3A, U+FF41-U+FF5A) fold like ASCII; the rest of U+FF00-U+FF65 is punctuation.
# Half-width katakana U+FF66-U+FF9F fold to the full-width katakana (their NFKC form), and a half-width
# voiced / semi-voiced mark (U+FF9E / U+FF9F) after one composes with it (ｶﾞ -> ガ, ﾊﾟ -> パ, ｳﾞ -> ヴ); a mark
# that composes with nothing folds to the spacing mark (゛ U+309B, ゜ U+309C). Every result is one 3-byte code
# point, so a key is never longer than its text. The table is emitted for the C tokeniser.
KANA_LO, KANA_HI = 0xFF66, 0xFF9F
HW_VOICED, HW_SEMIVOICED = 0xFF9E, 0xFF9F


def kana_entry(cp):
    """(plain, voiced, semi-voiced) full-width code points of a half-width katakana (0: no composition)."""
    if cp == HW_VOICED:
        return 0x309B, 0, 0
    if cp == HW_SEMIVOICED:
        return 0x309C, 0, 0
    plain = unicodedata.normalize("NFKC", chr(cp))
    assert len(plain) == 1 and 0x3000 <= ord(plain) <= 0x30FF, hex(cp)
    marks = []
    for mark in ("\u3099", "\u309a"):
        c = unicodedata.normalize("NFC", plain + mark)
        marks.append(ord(c) if len(c) == 1 else 0)
    return ord(plain), marks[0], marks[1]


KANA = {cp: kana_entry(cp) for cp in range(KANA_LO, KANA_HI + 1)}


# Decimal digits of other scripts fold to ASCII digits (must agree with native_digit() in src/text/tokens.c):
# Arabic-Indic, Extended Arabic-Indic (Persian, Urdu), NKo, the Brahmic scripts Devanagari to Sinhala, Thai, Lao,
# Tibetan, Myanmar, Khmer, Mongolian. A birth date or phone number written in them is the same number.
NATIVE_DIGIT_ZEROS = (0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
                      0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x17E0, 0x1810)


def native_digit(cp):
    for z in NATIVE_DIGIT_ZEROS:
        if z <= cp <= z + 9:
            assert unicodedata.decimal(chr(cp)) == cp - z
            return cp - z
    return -1


def fullwidth_alnum(cp):
    return 0xFF10 <= cp <= 0xFF19 or 0xFF21 <= cp <= 0xFF3A or 0xFF41 <= cp <= 0xFF5A


def math_ascii(cp):
    """Must agree with dv_math_ascii() in src/text/widthfold.c: the ASCII letter or digit a mathematical
    alphanumeric symbol (U+1D400-U+1D7FF, the Letterlike holes included), a parenthesized, circled or squared
    letter or a negative circled / squared capital stands for; '' for anything else (Greek math letters, circled
    and parenthesized numbers: widthfold.h says why)."""
    ch = chr(cp)
    d = unicodedata.decomposition(ch).split()
    name = unicodedata.name(ch, "")
    if 0x1D400 <= cp <= 0x1D7FF or 0x2100 <= cp <= 0x214F:
        if d[:1] == ["<font>"] and len(d) == 2 and chr(int(d[1], 16)).isascii() and chr(int(d[1], 16)).isalnum():
            holes = ("SCRIPT", "BLACK-LETTER", "DOUBLE-STRUCK", "PLANCK CONSTANT")
            if 0x2100 <= cp <= 0x214F and (not any(k in name for k in holes) or "ITALIC" in name
                                           or name == "SCRIPT SMALL L"):
                return ""  # no hole of a math alphabet: INFORMATION SOURCE, the double-struck italics, the litre
            return chr(int(d[1], 16))
        return ""
    if 0x249C <= cp <= 0x24E9 or 0x1F110 <= cp <= 0x1F189:
        kinds = ("PARENTHESIZED", "CIRCLED", "SQUARED", "NEGATIVE CIRCLED", "NEGATIVE SQUARED")
        if any(name.startswith(k + " LATIN ") for k in kinds):
            return name.split()[-1] if "CAPITAL" in name else name.split()[-1].lower()
    return ""


def cp_is_word(cp):
    """Must agree with dv_lex_cp_is_word() in src/text/tokens.c."""
    if cp < 0x80:
        return chr(cp).isascii() and chr(cp).isalnum()
    if cp in FOLD:
        return FOLD[cp][2]
    if cp < FOLD_LO:
        return cp in (0xAA, 0xB5, 0xBA)
    if 0x2100 <= cp <= 0x24FF and math_ascii(cp):  # ℯ, Ⓠ, ⒬: letters; circled digits separate
        return True
    if 0x2000 <= cp <= 0x2BFF or 0x3000 <= cp <= 0x303F or 0xFE30 <= cp <= 0xFE6F:  # CJK compat, small forms
        return False
    if 0xFF00 <= cp <= 0xFF65:  # full-width punctuation (and the half-width middle dot U+FF65) separates
        return fullwidth_alnum(cp)
    if cp in (0x30FB, 0xFEFF, 0xFFFD):  # the katakana middle dot separates names; BOM, replacement character
        return False
    return True


def script_of(cp):
    """Must agree with script_of() in src/text/tokens.c: a token never spans two of these."""
    if 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF:
        return 1  # Han
    if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or KANA_LO <= cp <= KANA_HI:
        return 2  # kana (half-width katakana too)
    if 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F:
        return 3  # Hangul
    # Thai, Lao, Myanmar and Khmer (DV_SCRIPT_SEA) never split from script 0: the same word here
    return 0


def fold_word(w):
    out, i = [], 0
    while i < len(w):
        ch = w[i]
        cp = ord(ch)
        i += 1
        if ch in "'\u2019":
            continue
        if cp < 0x80:
            out.append(ch.upper())
        elif cp in FOLD and FOLD[cp][0]:
            out.append(FOLD[cp][0])
        elif fullwidth_alnum(cp):
            out.append(chr(cp - 0xFEE0).upper())
        elif native_digit(cp) >= 0:
            out.append(chr(0x30 + native_digit(cp)))
        elif math_ascii(cp):
            out.append(math_ascii(cp).upper())
        elif cp in KANA:
            plain, voiced, semi = KANA[cp]
            nxt = ord(w[i]) if i < len(w) else 0
            if (nxt == HW_VOICED and voiced) or (nxt == HW_SEMIVOICED and semi):
                out.append(chr(voiced if nxt == HW_VOICED else semi))
                i += 1
            else:
                out.append(chr(plain))
        else:
            out.append(ch)
    return "".join(out)


def fold_key(s):
    """The lookup key of a phrase: its words, folded, joined by one space; None when unusable."""
    words, cur, prev_script = [], [], None
    for ch in s:
        cp = ord(ch)
        if ch in "'\u2019" and cur and prev_script == 0:
            cur.append(ch)
            continue
        if cp_is_word(cp):
            sc = script_of(cp)
            if cur and prev_script is not None and sc != prev_script:
                words.append("".join(cur))
                cur = []
            cur.append(ch)
            prev_script = sc
        else:
            if cur:
                words.append("".join(cur))
            cur, prev_script = [], None
    if cur:
        words.append("".join(cur))
    words = [fold_word(w) for w in words]
    words = [w for w in words if w]
    if not words or len(words) > MAX_WORDS:
        return None
    key = " ".join(words)
    if len(key.encode("utf-8")) > MAX_KEY:
        return None
    return key


# ---------------------------------------------------------------------------------------------- reading
class Table:
    def __init__(self):
        self.info = {}

    def add(self, phrase, bits, pop=0):
        key = fold_key(phrase)
        if key is None:
            return
        v = self.info.get(key, 0) | bits
        p = (v >> POP_SHIFT) & 7
        if pop > p:
            v = (v & ~(7 << POP_SHIFT)) | (pop << POP_SHIFT)
        self.info[key] = v
        if " " in key:
            first = key.split(" ", 1)[0]
            self.info[first] = self.info.get(first, 0) | BIT["MULTI"]


def pop_class(pop):
    return max(1, min(7, int(math.log10(pop)) - 2)) if pop > 0 else 1


def read_all(shared, t):
    lex = os.path.join(shared, "lexicons")

    def path(rel):
        return os.path.join(lex, rel)

    with open(path("names_us/census2010_surnames.csv"), encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            c = int(r["count"])
            if c >= SURNAME_MIN_COUNT:
                t.add(r["last_name"], BIT["LAST"] | (BIT["TOPLAST"] if c >= TOP_SURNAME_MIN_COUNT else 0))
    given = {}
    with open(path("names_us/ssa_given_names_1880_2023.csv"), encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            given[r["name"]] = given.get(r["name"], 0) + int(r["count"])
    for n, c in given.items():
        if c >= GIVEN_MIN_COUNT:
            t.add(n, BIT["FIRST"] | (BIT["TOPFIRST"] if c >= TOP_GIVEN_MIN_COUNT else 0))
    for fn in ("names_us/census1990_dist.female.first", "names_us/census1990_dist.male.first"):
        with open(path(fn), encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if parts:
                    t.add(parts[0], BIT["FIRST"])
    for fn, bit, cols in (("names_intl/sigpwned_common-forenames-by-country.csv", "FIRST",
                           ("Localized Name", "Romanized Name")),
                          ("names_intl/sigpwned_common-surnames-by-country.csv", "LAST",
                           ("Localized Name", "Romanized Name"))):
        with open(path(fn), encoding="utf-8-sig", newline="") as f:
            for r in csv.DictReader(f):
                for c in cols:
                    if r.get(c):
                        t.add(r[c], BIT[bit])
    with open(path("names_intl/faker_person_names_by_locale.tsv"), encoding="utf-8", newline="") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            field, name = parts[1], parts[2]
            if field.startswith("first_"):
                t.add(name, BIT["FIRST"])
            elif field.startswith("last_"):
                t.add(name, BIT["LAST"])
    with open(path("places/geonames_cities15000.txt"), encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 15:
                continue
            pop = pop_class(int(p[14] or 0))
            t.add(p[1], BIT["CITY"], pop=pop)
            t.add(p[2], BIT["CITY"], pop=pop)
            if int(p[14] or 0) >= ALT_NAMES_MIN_POP:
                for alt in p[3].split(","):
                    if (len(alt) >= 3 or (len(alt) == 2 and not alt.isascii())) and not any(ch.isdigit() for ch in alt) and not (alt.isascii() and alt.isupper()):
                        t.add(alt, BIT["CITY"], pop=pop)
    with open(path("places/geonames_countryInfo.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            p = line.rstrip("\n").split("\t")
            if len(p) > 5:
                t.add(p[4], BIT["COUNTRY"], pop=7)
                if p[5]:
                    t.add(p[5], BIT["COUNTRY"], pop=7)
    with open(path("places/geonames_admin1CodesASCII.txt"), encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 3:
                continue
            t.add(p[1], BIT["REGION"], pop=5)
            t.add(p[2], BIT["REGION"], pop=5)
            if p[0].startswith("US.") and len(p[0]) == 5 and p[0][3:].isalpha():
                t.add(p[0][3:], BIT["STATECODE"])
    with open(path("organizations/cms_hospital_name_words.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) == 2 and int(p[1]) >= 2 and p[0].isalpha():
                t.add(p[0], BIT["ORGWORD"])
    with open(CURATED, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            kind, *words = line.split()
            if kind not in BIT:
                raise SystemExit("gen_lexicons: unknown kind %r in %s" % (kind, CURATED))
            for w in words:
                t.add(w, BIT[kind])
    # English words last: flag only keys that are already there (the detector never asks about others).
    with open(path("english/wamerican_american-english.txt"), encoding="utf-8") as f:
        for line in f:
            w = line.strip()
            if not w or not w[0].islower() or "'" in w:
                continue
            k = fold_key(w)
            if k in t.info:
                t.info[k] |= BIT["ENG"]


# ---------------------------------------------------------------------------------------------- writing
def c_escape(b):
    out = []
    for x in b:
        ch = chr(x)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif 0x20 <= x < 0x7F and ch != "?":
            out.append(ch)
        else:
            out.append("\\%03o" % x)
    return "".join(out)


def sha256_of(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def render(shared, t):
    by_len = {}
    for k, v in t.info.items():
        kb = k.encode("utf-8")
        enc = "".join(B64[(v >> s) & 63] for s in (18, 12, 6, 0))
        by_len.setdefault(len(kb), []).append((kb, enc))
    hdr = ["/* generated by tools/gen_lexicons.py; do not edit. Regenerate with: python3 tools/gen_lexicons.py",
           " * Sources (../shared/data/lexicons/, sha256):"]
    for rel, desc in SOURCES:
        hdr.append(" *   %s %s" % (rel, sha256_of(os.path.join(shared, "lexicons", rel))))
        hdr.append(" *     %s" % desc)
    hdr.append(" *   tools/lexicons/curated.txt %s" % sha256_of(CURATED))
    hdr.append(" * Cut-offs: surnames count >= %d, given names births >= %d, keys <= %d bytes, <= %d words;"
               % (SURNAME_MIN_COUNT, GIVEN_MIN_COUNT, MAX_KEY, MAX_WORDS))
    hdr.append(" * most frequent (TOPLAST, TOPFIRST): surnames count >= %d, given names births >= %d. */"
               % (TOP_SURNAME_MIN_COUNT, TOP_GIVEN_MIN_COUNT))
    c = list(hdr)
    c.append('#include "text/lexicon_data.h"')
    c.append("")
    total = 0
    names = []
    for L in range(1, MAX_KEY + 1):
        recs = sorted(by_len.get(L, []))
        if not recs:
            names.append(("0", 0))
            continue
        total += len(recs)
        c.append("static const char dv_lex_len%d[] =" % L)
        line = ""
        for kb, enc in recs:
            piece = c_escape(kb) + enc
            if len(line) + len(piece) > 110:
                c.append('    "%s"' % line)
                line = ""
            line += piece
        c.append('    "%s";' % line)
        names.append(("dv_lex_len%d" % L, len(recs)))
    c.append("")
    c.append("const dv_lex_bucket dv_lex_buckets[DV_LEX_MAX_KEY + 1] = {")
    c.append("    {0, 0},")
    for L, (nm, n) in enumerate(names, start=1):
        c.append("    {%s, %du}, /* %d bytes */" % (nm, n, L))
    c.append("};")
    c.append("")
    for name, lo, hi, lo_m, hi_m in (("dv_lex_fold_table", FOLD_LO, FOLD_HI, "DV_LEX_FOLD_LO", "DV_LEX_FOLD_HI"),
                                     ("dv_lex_fold_table2", FOLD2_LO, FOLD2_HI, "DV_LEX_FOLD2_LO", "DV_LEX_FOLD2_HI")):
        c.append("/* U+%04X-U+%04X: folded ASCII (empty: keep the letter as it is), upper-case flag, letter flag. */"
                 % (lo, hi))
        c.append("const dv_lex_fold_entry %s[%s - %s + 1] = {" % (name, hi_m, lo_m))
        append_rows(c, ['{"%s", %d, %d}' % (FOLD[cp][0], int(FOLD[cp][1]), int(FOLD[cp][2]))
                        for cp in range(lo, hi + 1)], 8)
        c.append("};")
    c.append("/* U+%04X-U+%04X (half-width katakana): the full-width code point, then the one it composes to with a"
             % (KANA_LO, KANA_HI))
    c.append(" * following U+%04X (voiced mark) and U+%04X (semi-voiced mark); 0: no composition. */"
             % (HW_VOICED, HW_SEMIVOICED))
    c.append("const dv_lex_kana_entry dv_lex_kana_table[DV_LEX_KANA_HI - DV_LEX_KANA_LO + 1] = {")
    append_rows(c, ["{0x%04X, 0x%04X, 0x%04X}" % KANA[cp] for cp in range(KANA_LO, KANA_HI + 1)], 4)
    c.append("};")
    c.append("")
    c.append("const uint32_t dv_lex_total_keys = %du;" % total)

    h = ["/* generated by tools/gen_lexicons.py; do not edit. Regenerate with: python3 tools/gen_lexicons.py",
         " * The dictionaries' layout (see the generator's docstring and docs/text-lexicons.md). */",
         "#ifndef DV_LEXICON_DATA_H", "#define DV_LEXICON_DATA_H", "", "#include <stdint.h>", "",
         "#define DV_LEX_MAX_KEY %d" % MAX_KEY,
         "#define DV_LEX_MAX_WORDS %d" % MAX_WORDS,
         "#define DV_LEX_INFO_CHARS 4 /* base-64 characters after each key: 24 info bits */",
         "#define DV_LEX_FOLD_LO 0x%04X" % FOLD_LO, "#define DV_LEX_FOLD_HI 0x%04X" % FOLD_HI,
         "#define DV_LEX_FOLD2_LO 0x%04X" % FOLD2_LO, "#define DV_LEX_FOLD2_HI 0x%04X" % FOLD2_HI,
         "#define DV_LEX_KANA_LO 0x%04X" % KANA_LO, "#define DV_LEX_KANA_HI 0x%04X" % KANA_HI,
         "#define DV_LEX_HW_VOICED 0x%04X" % HW_VOICED, "#define DV_LEX_HW_SEMIVOICED 0x%04X" % HW_SEMIVOICED, ""]
    for i, (name, desc) in enumerate(BITS):
        h.append("#define DV_LEX_%-11s (1u << %2d) /* %s */" % (name, i, desc))
    h += ["#define DV_LEX_POP(info) (((info) >> %d) & 7u)  /* place class: log10(population) - 2 */" % POP_SHIFT,
          "",
          "/* Keys of one byte length, sorted (memcmp order), each followed by DV_LEX_INFO_CHARS characters. */",
          "typedef struct dv_lex_bucket {", "    const char *recs;", "    uint32_t n;", "} dv_lex_bucket;",
          "typedef struct dv_lex_fold_entry {", "    char ascii[3];", "    uint8_t upper, letter;",
          "} dv_lex_fold_entry;",
          "typedef struct dv_lex_kana_entry {", "    uint16_t plain, voiced, semivoiced;", "} dv_lex_kana_entry;", "",
          "extern const dv_lex_bucket dv_lex_buckets[DV_LEX_MAX_KEY + 1];",
          "extern const dv_lex_fold_entry dv_lex_fold_table[DV_LEX_FOLD_HI - DV_LEX_FOLD_LO + 1];",
          "extern const dv_lex_fold_entry dv_lex_fold_table2[DV_LEX_FOLD2_HI - DV_LEX_FOLD2_LO + 1];",
          "extern const dv_lex_kana_entry dv_lex_kana_table[DV_LEX_KANA_HI - DV_LEX_KANA_LO + 1];",
          "extern const uint32_t dv_lex_total_keys;", "", "#endif", ""]
    return "\n".join(c) + "\n", "\n".join(h), total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.path.join(REPO_ROOT, "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "src", "text"))
    ap.add_argument("--check", action="store_true", help="exit 1 when the committed files differ")
    a = ap.parse_args()
    t = Table()
    read_all(a.shared, t)
    csrc, hsrc, total = render(a.shared, t)
    stale = False
    for name, text in (("lexicon_data.c", csrc), ("lexicon_data.h", hsrc)):
        p = os.path.join(a.out, name)
        old = open(p, encoding="utf-8").read() if os.path.exists(p) else None
        if old != text:
            if a.check:
                print("gen_lexicons: %s is stale" % p, file=sys.stderr)
                stale = True
            else:
                with open(p, "w", encoding="utf-8") as f:
                    f.write(text)
    if stale:
        return 1
    print("gen_lexicons: %d keys, %d bytes of generated source" % (total, len(csrc.encode("utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
