#!/usr/bin/python3
"""Generate src/text/han_variants.c (the Han characters' simplified and traditional variants, for the deny-list's
Han twins of a patient's name) from Unihan_Variants.txt.

    python3 tools/gen_han_variants.py [--unihan FILE] [--out DIR] [--check]

Input (default /usr/share/unicode/Unihan_Variants.txt.bz2, Debian package unicode-data; `make deps` installs it):
the kSimplifiedVariant and kTraditionalVariant fields of the Unihan database (Unicode's data licence, see NOTICE).
Every other field (kSemanticVariant, kZVariant, kSpoofingVariant, ...) is ignored: only the simplified /
traditional pairs are writing systems of the same name (欧阳 / 歐陽, 发 / 發 髮).

A third table, the Japanese variants (old and new character forms of one name: 渡邉 / 渡辺, 齋藤 / 斎藤, 髙橋 / 高橋),
which the simplified / traditional pairs do not hold: from the kJinmeiyoKanji field of Unihan_OtherMappings.txt
(default /usr/share/unicode/Unihan_OtherMappings.txt.bz2, same package), whose `2010:U+XXXX` values map each
traditional form Japan's family register allows in given names to its standard (jōyō) form (國 -> 国, 惠 -> 恵, 櫻 ->
桜, 廣 -> 広, 峯 -> 峰: 230 pairs), and a short hand-checked list (JP_NAME_VARIANTS below) of the variant forms of the
commonest Japanese surnames' characters that no Unihan field pairs (辺 邊 邉, 沢 澤, 斎 齋 齊 斉, ...). The pairs
become classes (any member's variants are the class's other members, its standard form first): a PN in either
form is found written in the other.

Table layout (the externs and lookup of src/text/han_variants.h): one table per direction, sorted by code point,
BMP or not; a row is the character (cp << 3 | number of variants, at most 7) and the offset of its variants in a
shared pool of code points, in the order Unihan lists them (发 -> 發 髮; 乔 -> 乔 喬 lists itself first: the deny-list
takes the first variant that is not the character as the usual one).
Compact: a character whose only variant is itself (U+8303 范 kSimplifiedVariant U+8303) has no row; a character
with several variants keeps itself among them when Unihan lists it (范 -> 範 范: 范 is also the traditional
surname), so the twin that keeps it is generated too.

Deterministic (no timestamps, no absolute paths); the file is only rewritten when its content changes. Anything
the generator does not understand (a field value that is not U+XXXX, more than 7 variants, a duplicate row) is a
hard error: exit status 1 with a message on stderr.

Python 3 standard library only.
"""

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from genlib import read_unihan_fields, unihan_cp, write_if_changed  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNIHAN = "/usr/share/unicode/Unihan_Variants.txt.bz2"
OTHER_MAPPINGS = "/usr/share/unicode/Unihan_OtherMappings.txt.bz2"
TOOL = "gen_han_variants.py"

# Field -> table name in the generated source (the direction's index in dv_han_variants: 0, 1 and 2).
FIELDS = [("kSimplifiedVariant", "simp"), ("kTraditionalVariant", "trad"), ("japanese", "jp")]
UNIHAN_FIELDS = FIELDS[:2]

# Variant forms of characters of common Japanese surnames that Unihan pairs in no field the generator reads
# (neither kSimplified/kTraditionalVariant nor kJinmeiyoKanji): each group one character in its forms, the
# standard (jōyō or usual) form first. Hand-checked against the surnames they write: 渡辺 渡邊 渡邉 (Watanabe),
# 斎藤 齋藤 齊藤 斉藤 (Saitō), 高橋 髙橋 (Takahashi), 山崎 山﨑 山嵜 (Yamazaki), 吉田 𠮷田 (Yoshida), 長沢 長澤
# (Nagasawa), 浜田 濱田 濵田 (Hamada), 島田 嶋田 嶌田 (Shimada), 辻 辻󠄀 (the one-dot form is a variation selector,
# not a character: not listed), 柳沢, 富沢 ... Adding a group makes a PN in one form match text in the others.
JP_NAME_VARIANTS = ["辺邊邉", "沢澤", "斎齋齊斉", "高髙", "崎﨑嵜", "吉𠮷", "浜濱濵", "島嶋嶌"]
MAX_VARIANTS = 7  # 3 bits of a row


def die(msg):
    print("%s: %s" % (TOOL, msg), file=sys.stderr)
    sys.exit(1)


def parse_cp(text, lineno):
    return unihan_cp(TOOL, text, lineno)


def read_unihan(path):
    """{field: {cp: [variants]}} and the Unicode version named in the file's header."""
    rows, version = read_unihan_fields(TOOL, path, [f for f, _ in UNIHAN_FIELDS])
    tables = {f: {} for f, _ in UNIHAN_FIELDS}
    for field, entries in rows.items():
        for lineno, cp, value in entries:
            # a value may carry a source tag (U+XXXX<kSource); these two fields have none today, but drop it
            variants = []
            for v in value.split():
                v = parse_cp(v.split("<")[0], lineno)
                if v not in variants:
                    variants.append(v)
            if variants == [cp] or not variants:
                continue  # its only variant is itself: no row (compact)
            if len(variants) > MAX_VARIANTS:
                die("line %d: U+%04X has %d %s values, over %d" % (lineno, cp, len(variants), field, MAX_VARIANTS))
            tables[field][cp] = variants
    return tables, version


def read_jinmeiyo(path):
    """[(traditional form, standard form)] from kJinmeiyoKanji's `YEAR:U+XXXX` values."""
    rows, _ = read_unihan_fields(TOOL, path, ["kJinmeiyoKanji"])
    pairs = []
    for lineno, cp, value in rows["kJinmeiyoKanji"]:
        for v in value.split():
            year, _, target = v.partition(":")
            if not re.match(r"^[0-9]{4}$", year):
                die("%s line %d: %r is not YEAR[:U+XXXX]" % (path, lineno, v))
            if target:
                pairs.append((cp, parse_cp(target, lineno)))
    if not pairs:
        die("%s: no kJinmeiyoKanji variant mappings" % path)
    return pairs


def japanese_table(pairs):
    """{cp: [the other members of its class, the standard form first, then by code point]}."""
    parent = {}

    def find(c):
        while parent.setdefault(c, c) != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    standard = {}
    groups = [(old, new) for old, new in pairs]
    for g in JP_NAME_VARIANTS:
        cps = [ord(ch) for ch in g]
        groups.extend((cp, cps[0]) for cp in cps[1:])
    for old, new in groups:
        if old == new:
            continue  # a compatibility ideograph mapped to its unified twin of the same code point: nothing
        standard[old] = new
        parent[find(old)] = find(new)
    classes = {}
    for c in list(parent):
        classes.setdefault(find(c), set()).add(c)
    table = {}
    for members in classes.values():
        std = [c for c in members if c not in standard]
        if len(std) != 1:
            die("a Japanese variant class without one standard form: %s" % " ".join("U+%04X" % c for c in sorted(members)))
        for c in members:
            others = sorted(members - {c})
            if c != std[0]:
                others.remove(std[0])
                others.insert(0, std[0])
            if len(others) > MAX_VARIANTS:
                die("U+%04X has %d Japanese variants, over %d" % (c, len(others), MAX_VARIANTS))
            table[c] = others
    return table


def emit(tables, version):
    out = []
    w = out.append
    w("/* Generated by tools/gen_han_variants.py from Unihan_Variants.txt and Unihan_OtherMappings.txt (Unicode %s, Debian" % version)
    w(" * package unicode-data): do not edit. The Han characters' kSimplifiedVariant and kTraditionalVariant values, and")
    w(" * the Japanese old and new forms of kJinmeiyoKanji and the generator's surname list (han_variants.h); Unicode's")
    w(" * data licence, see NOTICE. */")
    w("#include \"text/han_variants.h\"")
    w("")
    pool = []
    rows = {}
    for field, name in FIELDS:
        r = []
        for cp in sorted(tables[field]):
            vs = tables[field][cp]
            r.append((cp, len(vs), len(pool)))
            pool.extend(vs)
        rows[name] = r
    if len(pool) > 0xFFFF:
        die("variant pool of %d code points does not fit uint16_t offsets" % len(pool))
    for _, name in FIELDS:
        r = rows[name]
        w("/* %d characters: cp << 3 | number of variants */" % len(r))
        w("static const uint32_t %s_key[%d] = {" % (name, len(r)))
        for i in range(0, len(r), 10):
            w("    " + " ".join("0x%X," % (cp << 3 | n) for cp, n, _ in r[i:i + 10]))
        w("};")
        w("static const uint16_t %s_off[%d] = {" % (name, len(r)))
        for i in range(0, len(r), 14):
            w("    " + " ".join("%d," % off for _, _, off in r[i:i + 14]))
        w("};")
        w("")
    w("/* %d variants, each row's in Unihan's order (the Japanese rows: the standard form first, then by code point) */" % len(pool))
    w("static const uint32_t pool[%d] = {" % len(pool))
    for i in range(0, len(pool), 10):
        w("    " + " ".join("0x%X," % v for v in pool[i:i + 10]))
    w("};")
    w("")
    w("static const struct {")
    w("    const uint32_t *key;")
    w("    const uint16_t *off;")
    w("    size_t n;")
    w("} table[3] = {")
    for _, name in FIELDS:
        w("    {%s_key, %s_off, %d}," % (name, name, len(rows[name])))
    w("};")
    w("")
    w("size_t dv_han_variants(uint32_t cp, int dir, const uint32_t **v)")
    w("{")
    w("    if (cp < DV_HAN_VARIANT_MIN || cp > DV_HAN_VARIANT_MAX || dir < DV_HAN_SIMPLIFIED || dir > DV_HAN_JAPANESE)")
    w("        return 0;")
    w("    const uint32_t *key = table[dir].key;")
    w("    size_t lo = 0, hi = table[dir].n;")
    w("    while (lo < hi) {")
    w("        size_t mid = lo + (hi - lo) / 2;")
    w("        uint32_t c = key[mid] >> 3;")
    w("        if (c == cp) {")
    w("            *v = pool + table[dir].off[mid];")
    w("            return key[mid] & 7;")
    w("        }")
    w("        if (c < cp)")
    w("            lo = mid + 1;")
    w("        else")
    w("            hi = mid;")
    w("    }")
    w("    return 0;")
    w("}")
    w("")
    lo = min(min(tables[f]) for f, _ in FIELDS)
    hi = max(max(tables[f]) for f, _ in FIELDS)
    return "\n".join(out), lo, hi


def check_header(path, lo, hi):
    """han_variants.h is hand-written; its range constants must be the table's (else lookups are cut short)."""
    with open(path, encoding="utf-8") as f:
        h = f.read()
    ok = True
    for name, val in (("DV_HAN_VARIANT_MIN", lo), ("DV_HAN_VARIANT_MAX", hi)):
        m = re.search(r"#define %s 0x([0-9A-Fa-f]+)u?" % name, h)
        if not m or int(m.group(1), 16) != val:
            print("%s: %s must define %s 0x%04Xu" % (TOOL, path, name, val), file=sys.stderr)
            ok = False
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--unihan", default=UNIHAN)
    ap.add_argument("--other-mappings", default=OTHER_MAPPINGS)
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "src", "text"))
    ap.add_argument("--check", action="store_true", help="exit 1 when the committed file differs")
    args = ap.parse_args()
    if not os.path.exists(args.unihan):
        die("%s missing: `make deps` installs unicode-data" % args.unihan)
    if not os.path.exists(args.other_mappings):
        die("%s missing: `make deps` installs unicode-data" % args.other_mappings)
    tables, version = read_unihan(args.unihan)
    tables["japanese"] = japanese_table(read_jinmeiyo(args.other_mappings))
    text, lo, hi = emit(tables, version)
    changed = write_if_changed(TOOL, os.path.join(args.out, "han_variants.c"), text + "\n", args.check)
    ok = check_header(os.path.join(args.out, "han_variants.h"), lo, hi)
    if args.check and changed or not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
