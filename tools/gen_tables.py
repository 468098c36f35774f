#!/usr/bin/python3
"""Generate src/dict/dict_table.c, src/dict/dv_tags.h and src/dict/profile_table.c from the shared reference data.

    python3 tools/gen_tables.py [--shared DIR] [--out DIR] [--check]

Inputs (paths relative to --shared, default <repo>/../shared/data):
  ps36/innolitics_2024b_attributes.json                         PS3.6 data dictionary (2024b)
  ps315/bsc_2025c_dicom_part15_table_E1-1.csv                    PS3.15 Table E.1-1, edition 2025c
  ps315/innolitics_2024b_confidentiality_profile_attributes.json PS3.15 Table E.1-1, edition 2024b

The tables implement the externs of src/dict/dv_dict.h; dv_tags.h has one DV_TAG_<KEYWORD> constant per
exact PS3.6 tag (keyword in UPPER_SNAKE case, e.g. DV_TAG_SOP_INSTANCE_UID). It is deterministic (no timestamps, no
absolute paths) and files are only rewritten when their content changes. Any value the generator
does not understand (unknown VR, action code, column, tag syntax, duplicate tag) is a hard error:
exit status 1 with a message on stderr.

Python 3 standard library only.
"""

import argparse
import csv
import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from genlib import write_if_changed  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DICT_JSON = "ps36/innolitics_2024b_attributes.json"
PROFILE_CSV_2025C = "ps315/bsc_2025c_dicom_part15_table_E1-1.csv"
PROFILE_JSON_2024B = "ps315/innolitics_2024b_confidentiality_profile_attributes.json"

# PS3.5 Table 6.2-1.
KNOWN_VRS = frozenset(
    "AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV"
    .split())

# Cell text -> dv_pcode enumerator (src/dict/dv_dict.h).
PCODES = {
    "": "DV_PC_NONE",
    "K": "DV_PC_K",
    "X": "DV_PC_X",
    "Z": "DV_PC_Z",
    "D": "DV_PC_D",
    "U": "DV_PC_U",
    "C": "DV_PC_C",
    "X/Z": "DV_PC_XZ",
    "X/D": "DV_PC_XD",
    "Z/D": "DV_PC_ZD",
    "X/Z/D": "DV_PC_XZD",
    "X/Z/U*": "DV_PC_XZU",
}

# dv_profile_option order, with the column name of each source.
OPTIONS = [
    # (enumerator,                    2025c CSV column,               2024b JSON key)
    ("DV_OPT_RTN_SAFE_PRIV",          "Rtn. Safe Priv. Opt.",         "rtnSafePrivOpt"),
    ("DV_OPT_RTN_UIDS",               "Rtn. UIDs Opt.",               "rtnUIDsOpt"),
    ("DV_OPT_RTN_DEV_ID",             "Rtn. Dev. Id. Opt.",           "rtnDevIdOpt"),
    ("DV_OPT_RTN_INST_ID",            "Rtn. Inst. Id. Opt.",          "rtnInstIdOpt"),
    ("DV_OPT_RTN_PAT_CHARS",          "Rtn. Pat. Chars. Opt.",        "rtnPatCharsOpt"),
    ("DV_OPT_RTN_LONG_FULL_DATES",    "Rtn. Long. Full Dates Opt.",   "rtnLongFullDatesOpt"),
    ("DV_OPT_RTN_LONG_MODIF_DATES",   "Rtn. Long. Modif. Dates Opt.", "rtnLongModifDatesOpt"),
    ("DV_OPT_CLEAN_DESC",             "Clean Desc. Opt.",             "cleanDescOpt"),
    ("DV_OPT_CLEAN_STRUCT_CONT",      "Clean Struct. Cont. Opt.",     "cleanStructContOpt"),
    ("DV_OPT_CLEAN_GRAPH",            "Clean Graph. Opt.",            "cleanGraphOpt"),
]

CSV_2025C_COLUMNS = (["Attribute Name", "Tag", "Retd. (from PS3.6)", "In Std. Comp. IOD (from PS3.3)",
                      "Basic Prof."] + [o[1] for o in OPTIONS])
JSON_2024B_KEYS = {"name", "tag", "id", "stdCompIOD", "basicProfile"} | {o[2] for o in OPTIONS}

EXACT = 0xFFFFFFFF
TAG_RE = re.compile(r"\(([0-9A-Fa-fXx]{4}),([0-9A-Fa-fXx]{4})\)")
PRIVATE_ROW_RE = re.compile(r"\(gggg,eeee\)\s+where\s+gggg\s+is\s+odd", re.IGNORECASE)


# The VRs text cleaning applies to: a copy of the P_CLEAN rows of src/dicom/vr.c, their one home (test_dict:
# test_text_slot_bits fails when this copy misses one; an extra one would only cost dictionary lookups).
CLEAN_TEXT_VRS = frozenset(["AE", "AS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "UC", "UT"])


class GenError(Exception):
    pass


def note(msg):
    print("gen_tables: note: " + msg, file=sys.stderr)


def parse_tag(text, where):
    """'(0010,0010)' -> (0x00100010, 0xFFFFFFFF); '(60xx,3000)' -> (0x60003000, 0xFF00FFFF)."""
    m = TAG_RE.fullmatch(text.strip())
    if not m:
        raise GenError("%s: unparsable tag %r" % (where, text))
    digits = m.group(1) + m.group(2)
    tag = mask = 0
    for ch in digits:
        tag <<= 4
        mask <<= 4
        if ch in "xX":
            continue
        tag |= int(ch, 16)
        mask |= 0xF
    return tag, mask


def fmt_tag(tag, mask):
    s = ""
    for shift in range(28, -4, -4):
        s += "x" if not (mask >> shift) & 0xF else "%X" % ((tag >> shift) & 0xF)
    return "(%s,%s)" % (s[:4], s[4:])


def c_string(s):
    """A C string literal; non-ASCII bytes (UTF-8) become 3-digit octal escapes."""
    out = ['"']
    for b in s.encode("utf-8"):
        ch = chr(b)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= b < 0x7F and not (ch == "?" and out and out[-1] == "?"):  # no trigraphs
            out.append(ch)
        else:
            out.append("\\%03o" % b)
    out.append('"')
    return "".join(out)


def c_vr(vr):
    return "DV_VR('%s','%s')" % (vr[0], vr[1]) if vr else "0"


def norm_space(s):
    return " ".join(s.split())


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check_unique(entries, what):
    seen = {}
    for e in entries:
        key = (e["tag"], e["mask"])
        if key in seen:
            raise GenError("%s: duplicate tag %s (%r and %r)"
                           % (what, fmt_tag(*key), seen[key], e.get("name") or e.get("keyword")))
        seen[key] = e.get("name") or e.get("keyword")


def check_masked_overlap(entries, what):
    """The lookup code returns the first matching masked entry; two masked patterns that can match
    the same tag would make the answer depend on the order, so refuse them."""
    masked = [e for e in entries if e["mask"] != EXACT]
    for i, a in enumerate(masked):
        for b in masked[i + 1:]:
            if (a["tag"] ^ b["tag"]) & a["mask"] & b["mask"] == 0:
                raise GenError("%s: masked entries %s and %s overlap"
                               % (what, fmt_tag(a["tag"], a["mask"]), fmt_tag(b["tag"], b["mask"])))


def order_entries(entries):
    """Exact entries sorted by tag, then masked entries sorted by tag (the lookup code relies on it)."""
    exact = sorted((e for e in entries if e["mask"] == EXACT), key=lambda e: e["tag"])
    masked = sorted((e for e in entries if e["mask"] != EXACT), key=lambda e: (e["tag"], e["mask"]))
    return exact, masked


# ---------------------------------------------------------------------------------------------
# PS3.6 dictionary

def parse_vr(text, where):
    """Returns (vr, multi_vr). First alternative, except "OB or OW" -> OW; "See Note 2"/"" -> none."""
    text = text.strip()
    if text in ("", "See Note 2"):
        return "", 0
    alts = [a.strip() for a in text.split(" or ")]
    for a in alts:
        if a not in KNOWN_VRS:
            raise GenError("%s: unknown VR %r in %r" % (where, a, text))
    if len(alts) == 1:
        return alts[0], 0
    if alts == ["OB", "OW"]:
        return "OW", 1
    return alts[0], 1


def load_dictionary(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, list):
        raise GenError("%s: expected a JSON array" % path)
    entries = []
    for i, row in enumerate(data):
        where = "%s[%d]" % (os.path.basename(path), i)
        for key in ("tag", "keyword", "valueRepresentation", "valueMultiplicity", "retired"):
            if not isinstance(row.get(key), str):
                raise GenError("%s: missing or non-string %r" % (where, key))
        tag, mask = parse_tag(row["tag"], where)
        where += " " + row["tag"]
        if (tag >> 16) & 1 and mask & 0x10000:
            # dv_dict.c returns early for odd (private) groups; the data must agree.
            raise GenError("%s: odd (private) group in the standard dictionary" % where)
        vr, multi = parse_vr(row["valueRepresentation"], where)
        if row["retired"] not in ("Y", "N"):
            raise GenError("%s: retired must be Y or N, not %r" % (where, row["retired"]))
        kw = row["keyword"].strip()
        if kw and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", kw):
            raise GenError("%s: odd keyword %r" % (where, kw))
        entries.append({
            "tag": tag, "mask": mask, "vr": vr, "multi": multi,
            "retired": 1 if row["retired"] == "Y" else 0,
            "keyword": kw, "vm": row["valueMultiplicity"].strip(),
            "name": norm_space(row.get("name") or ""),
        })
    check_unique(entries, os.path.basename(path))
    check_masked_overlap(entries, os.path.basename(path))
    exact, masked = order_entries(entries)
    ordered = exact + masked
    if len(ordered) > 0xFFFF:
        raise GenError("dictionary has %d entries; dv_dict_keyword_index is uint16_t" % len(ordered))

    # Keyword index: strcmp order == byte order of the (ASCII) keywords.
    by_kw = {}
    for idx, e in enumerate(ordered):
        if not e["keyword"]:
            continue
        prev = by_kw.get(e["keyword"])
        if prev is None:
            by_kw[e["keyword"]] = idx
            continue
        p = ordered[prev]
        if p["retired"] == e["retired"]:
            raise GenError("keyword %s is used by %s and %s, both %s"
                           % (e["keyword"], fmt_tag(p["tag"], p["mask"]), fmt_tag(e["tag"], e["mask"]),
                              "retired" if e["retired"] else "current"))
        keep = prev if not p["retired"] else idx
        drop = idx if keep == prev else prev
        note("keyword %s appears twice; keyword index keeps %s (current), not %s (retired)"
             % (e["keyword"], fmt_tag(ordered[keep]["tag"], ordered[keep]["mask"]),
                fmt_tag(ordered[drop]["tag"], ordered[drop]["mask"])))
        by_kw[e["keyword"]] = keep
    kw_index = [by_kw[k] for k in sorted(by_kw, key=lambda k: k.encode("ascii"))]
    no_kw = sum(1 for e in ordered if not e["keyword"])
    if no_kw:
        note("%d dictionary entries have no keyword (excluded from the keyword index): %s"
             % (no_kw, " ".join(fmt_tag(e["tag"], e["mask"]) for e in ordered if not e["keyword"])))
    return ordered, len(exact), kw_index


# dv_dict.h's index of the exact entries by tag: the same slot function and size as there.
TAG_SLOTS_LOG2 = 14


def tag_slot(tag):
    return ((tag * 0x9E3779B1) & 0xFFFFFFFF) >> (32 - TAG_SLOTS_LOG2)


def tag_slots(exact):
    """Entry index + 1 at each slot (linear probing in table order), 0 where empty."""
    n = 1 << TAG_SLOTS_LOG2
    if len(exact) >= n // 2 or len(exact) >= 0xFFFF:
        raise GenError("%d exact entries: too many for the %d-slot tag index" % (len(exact), n))
    slots = [0] * n
    for i, e in enumerate(exact):
        s = tag_slot(e["tag"])
        while slots[s]:
            s = (s + 1) % n
        slots[s] = i + 1
    return slots


def emit_rows(out, decl, values, per_row, fmt):
    """A C array definition, per_row values a line, each formatted with fmt, then a blank line."""
    out.append(decl + " = {\n")
    for i in range(0, len(values), per_row):
        out.append("    " + ", ".join(fmt % x for x in values[i:i + per_row]) + ",\n")
    out.append("};\n\n")


def emit_dictionary(entries, exact_count, kw_index, source_desc):
    out = []
    out.append("/* generated by tools/gen_tables.py from %s; do not edit.\n" % source_desc[0])
    for line in source_desc[1:]:
        out.append(" * %s\n" % line)
    out.append(" * Regenerate with: python3 tools/gen_tables.py */\n")
    out.append("#include \"dict/dv_dict.h\"\n#include \"dicom/dv_vr.h\"\n\n")
    out.append("/* tag, mask, vr, retired, multi_vr, keyword, vm. %d exact entries sorted by tag, then %d "
               "repeating-group (masked) entries sorted by tag. */\n" % (exact_count, len(entries) - exact_count))
    out.append("const dv_dict_entry dv_dict_entries[] = {\n")
    for i, e in enumerate(entries):
        if i == exact_count:
            out.append("    /* repeating groups (masked) */\n")
        out.append("    {0x%08Xu, 0x%08Xu, %s, %d, %d, %s, %s},\n"
                   % (e["tag"], e["mask"], c_vr(e["vr"]), e["retired"], e["multi"],
                      c_string(e["keyword"]), c_string(e["vm"])))
    out.append("};\n")
    out.append("const size_t dv_dict_count = sizeof dv_dict_entries / sizeof dv_dict_entries[0];\n")
    out.append("const size_t dv_dict_exact_count = %d;\n\n" % exact_count)
    slots = tag_slots(entries[:exact_count])
    out.append("/* The exact entries' open-addressed index by tag (dv_dict.h dv_dict_tag_slot): {tag, VR, entry index + "
               "1}, {0, 0, 0} = empty. */\n")
    keys = ["{0x%08Xu, %s, %d}" % (entries[i - 1]["tag"], c_vr(entries[i - 1]["vr"]), i) if i else "{0, 0, 0}"
            for i in slots]
    emit_rows(out, "const dv_dict_slot dv_dict_tag_slots[DV_DICT_TAG_SLOTS]", keys, 4, "%s")
    if any(e["vr"] == "UI" for e in entries[exact_count:]):
        raise GenError("a repeating-group entry has VR UI: dv_dict_ui_slot_bits covers exact entries only")
    ui_bits = [0] * ((1 << TAG_SLOTS_LOG2) // 64)
    for e in entries[:exact_count]:
        if e["vr"] == "UI":
            s = tag_slot(e["tag"])
            ui_bits[s // 64] |= 1 << (s % 64)
    out.append("/* A bit for the slot (dv_dict_tag_slot) of every exact entry whose VR is UI (dv_dict.h "
               "dv_dict_may_be_ui). */\n")
    emit_rows(out, "const uint64_t dv_dict_ui_slot_bits[DV_DICT_TAG_SLOTS / 64]", ui_bits, 4, "0x%016Xu")
    # UI or text: the slots of the exact entries whose VR is UI or whose one VR is a text-cleaning VR, and the
    # tags of masked text entries with a few free bits ((0028,04x2)); the curve and overlay groups (50xx, 60xx)
    # are tested by group in dv_dict.h instead (256 tags an entry would flood the bits).
    vr_bits = list(ui_bits)
    for e in entries:
        if e["vr"] not in CLEAN_TEXT_VRS or e["multi"]:
            continue
        if e["mask"] == 0xFFFFFFFF:
            tags = [e["tag"]]
        elif (e["tag"] >> 24) in (0x50, 0x60) and e["mask"] == 0xFF00FFFF:
            continue
        else:
            free = [b for b in range(32) if not (e["mask"] >> b) & 1]
            if len(free) > 4:
                raise GenError("masked text entry (%04X,%04X): %d free bits; dv_dict_may_be_ui_or_text covers "
                               "only the 50xx/60xx groups and entries of up to 4" % (e["tag"] >> 16, e["tag"] & 0xFFFF,
                                                                                     len(free)))
            tags = []
            for v in range(1 << len(free)):
                t = e["tag"] & e["mask"]
                for i, b in enumerate(free):
                    t |= ((v >> i) & 1) << b
                tags.append(t)
        for t in tags:
            s = tag_slot(t)
            vr_bits[s // 64] |= 1 << (s % 64)
    out.append("/* A bit for the slot (dv_dict_tag_slot) of every tag whose VR is UI or whose one VR is one text cleaning "
               "applies to, but the curve and overlay groups (dv_dict.h dv_dict_may_be_ui_or_text). */\n")
    emit_rows(out, "const uint64_t dv_dict_ui_text_slot_bits[DV_DICT_TAG_SLOTS / 64]", vr_bits, 4, "0x%016Xu")
    out.append("/* Indexes into dv_dict_entries, sorted by keyword (strcmp order). */\n")
    out.append("const uint16_t dv_dict_keyword_index[] = {\n")
    for i in range(0, len(kw_index), 12):
        out.append("    " + ", ".join("%d" % x for x in kw_index[i:i + 12]) + ",\n")
    out.append("};\n")
    out.append("const size_t dv_dict_keyword_count = sizeof dv_dict_keyword_index / "
               "sizeof dv_dict_keyword_index[0];\n")
    out.append("\n_Static_assert(sizeof dv_dict_entries / sizeof dv_dict_entries[0] == %d, \"entry count\");\n"
               % len(entries))
    out.append("_Static_assert(sizeof dv_dict_keyword_index / sizeof dv_dict_keyword_index[0] == %d, "
               "\"keyword count\");\n" % len(kw_index))
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Tag constants (dv_tags.h)

# Macros of the same DV_TAG_ family written by hand elsewhere: a keyword must not map onto one of these
# names with another meaning (identical redefinitions, e.g. DV_TAG_PIXEL_DATA in dicom/dv_ds.h, are fine).
HAND_WRITTEN_TAG_MACROS = {"DV_TAG_GROUP", "DV_TAG_ELEMENT", "DV_TAG_IS_PRIVATE", "DV_TAG_IS_PRIVATE_CREATOR",
                           "DV_TAG_EXACT_MASK"}


def macro_name(keyword):
    """PS3.6 keyword -> DV_TAG_ constant: SOPInstanceUID -> DV_TAG_SOP_INSTANCE_UID,
    XRay3DFrameTypeSequence -> DV_TAG_X_RAY3D_FRAME_TYPE_SEQUENCE, BlendingLUT1Sequence -> DV_TAG_BLENDING_LUT1_SEQUENCE."""
    s = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", keyword)
    s = re.sub(r"(?<=[A-Z0-9])(?=[A-Z][a-z])", "_", s)
    return "DV_TAG_" + s.upper()


def emit_tags(entries, exact_count, source_desc):
    """One #define per exact entry that has a keyword; for a keyword used twice, the current entry
    (the one the keyword index keeps). Repeating-group (masked) entries have no single tag: none."""
    chosen = {}
    for e in entries[:exact_count]:
        if not e["keyword"]:
            continue
        prev = chosen.get(e["keyword"])
        if prev is None or (prev["retired"] and not e["retired"]):
            chosen[e["keyword"]] = e
    names = {}
    for kw, e in chosen.items():
        name = macro_name(kw)
        if name in names:
            raise GenError("keywords %s and %s both map to %s" % (names[name], kw, name))
        if name in HAND_WRITTEN_TAG_MACROS:
            raise GenError("keyword %s maps to the hand-written macro %s" % (kw, name))
        names[name] = kw
    out = []
    out.append("/* generated by tools/gen_tables.py from %s; do not edit.\n" % source_desc[0])
    for line in source_desc[1:]:
        out.append(" * %s\n" % line)
    out.append(" * Regenerate with: python3 tools/gen_tables.py\n *\n")
    out.append(" * One constant per exact PS3.6 tag with a keyword: DV_TAG_ + the keyword in UPPER_SNAKE case.\n")
    out.append(" * Repeating-group tags such as (60xx,3000) have none. Retired attributes are marked. */\n")
    out.append("#ifndef DV_TAGS_H\n#define DV_TAGS_H\n\n")
    for e in sorted(chosen.values(), key=lambda e: e["tag"]):
        out.append("#define %s 0x%08Xu%s\n"
                   % (macro_name(e["keyword"]), e["tag"], " /* retired */" if e["retired"] else ""))
    out.append("\n#endif\n")
    return "".join(out), len(chosen)


# ---------------------------------------------------------------------------------------------
# PS3.15 Table E.1-1

def pcode(cell, where):
    cell = cell.strip()
    if cell not in PCODES:
        raise GenError("%s: unknown action code %r" % (where, cell))
    return cell


def yes_no(cell, where):
    cell = cell.strip()
    if cell not in ("Y", "N"):
        raise GenError("%s: expected Y or N, got %r" % (where, cell))
    return 1 if cell == "Y" else 0


def make_profile_row(tag_text, name, basic, opts, std_iod, where, edition):
    """Returns a row dict, or None for the private-attributes row."""
    if PRIVATE_ROW_RE.fullmatch(tag_text.strip()):
        note("%s: row %r (%s; basic %s, %s) not emitted: private tags are handled by the engine"
             % (edition, tag_text.strip(), name, basic or "-",
                ", ".join("%s %s" % (o[0], c) for o, c in zip(OPTIONS, opts) if c) or "no option cells"))
        return None
    tag, mask = parse_tag(tag_text, where)
    if (tag >> 16) & 1 and mask & 0x10000:
        raise GenError("%s: odd (private) group %s in Table E.1-1" % (where, tag_text))
    return {"tag": tag, "mask": mask, "basic": basic, "opts": opts, "std_iod": std_iod,
            "name": norm_space(name)}


def load_profile_csv(path, edition):
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != CSV_2025C_COLUMNS:
            raise GenError("%s: unexpected columns %r" % (path, header))
        for lineno, cells in enumerate(reader, start=2):
            where = "%s:%d" % (os.path.basename(path), lineno)
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(CSV_2025C_COLUMNS):
                raise GenError("%s: %d cells, expected %d" % (where, len(cells), len(CSV_2025C_COLUMNS)))
            r = dict(zip(CSV_2025C_COLUMNS, cells))
            yes_no(r["Retd. (from PS3.6)"], where + " Retd.")
            basic = pcode(r["Basic Prof."], where + " Basic Prof.")
            opts = [pcode(r[o[1]], "%s %s" % (where, o[1])) for o in OPTIONS]
            row = make_profile_row(r["Tag"], r["Attribute Name"], basic, opts,
                                   yes_no(r["In Std. Comp. IOD (from PS3.3)"], where + " In Std. Comp. IOD"),
                                   where, edition)
            if row:
                rows.append(row)
    return rows


def load_profile_json(path, edition):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, list):
        raise GenError("%s: expected a JSON array" % path)
    rows = []
    for i, r in enumerate(data):
        where = "%s[%d]" % (os.path.basename(path), i)
        unknown = set(r) - JSON_2024B_KEYS
        if unknown:
            raise GenError("%s: unknown keys %s" % (where, sorted(unknown)))
        for key in ("name", "tag", "stdCompIOD", "basicProfile"):
            if not isinstance(r.get(key), str):
                raise GenError("%s: missing or non-string %r" % (where, key))
        where += " " + r["tag"]
        for o in OPTIONS:
            if o[2] in r and not isinstance(r[o[2]], str):
                raise GenError("%s: non-string %r" % (where, o[2]))
        basic = pcode(r["basicProfile"], where + " basicProfile")
        opts = [pcode(r.get(o[2], ""), "%s %s" % (where, o[2])) for o in OPTIONS]
        row = make_profile_row(r["tag"], r["name"], basic, opts, yes_no(r["stdCompIOD"], where + " stdCompIOD"),
                               where, edition)
        if row:
            rows.append(row)
    return rows


def finish_profile(rows, edition):
    check_unique(rows, edition)
    check_masked_overlap(rows, edition)
    exact, masked = order_entries(rows)
    return exact + masked


def compare_editions(new, old, new_ed, old_ed):
    """Informational: rows added/removed and cells that changed between two editions."""
    key = lambda e: (e["tag"], e["mask"])
    a = {key(e): e for e in new}
    b = {key(e): e for e in old}
    added = sorted(set(a) - set(b))
    removed = sorted(set(b) - set(a))
    changed = []
    for k in sorted(set(a) & set(b)):
        cols = [("Basic", a[k]["basic"], b[k]["basic"]), ("In Std. Comp. IOD", a[k]["std_iod"], b[k]["std_iod"])]
        cols += [(o[0], x, y) for o, x, y in zip(OPTIONS, a[k]["opts"], b[k]["opts"])]
        diff = ["%s %r -> %r" % (c, y, x) for c, x, y in cols if x != y]
        if diff:
            changed.append("%s (%s)" % (fmt_tag(*k), ", ".join(diff)))
    note("%s vs %s: %d rows added, %d removed, %d with different cells%s"
         % (new_ed, old_ed, len(added), len(removed), len(changed),
            (": " + "; ".join(changed)) if changed else ""))
    if removed:
        note("rows only in %s: %s" % (old_ed, " ".join(fmt_tag(*k) for k in removed)))


def emit_profiles(tables, source_desc):
    out = []
    out.append("/* generated by tools/gen_tables.py from %s; do not edit.\n" % source_desc[0])
    for line in source_desc[1:]:
        out.append(" * %s\n" % line)
    out.append(" * Regenerate with: python3 tools/gen_tables.py */\n")
    out.append("#include \"dict/dv_dict.h\"\n\n")
    for edition, rows, src in tables:
        ident = "dv_profile_" + re.sub(r"[^0-9A-Za-z]", "_", edition)
        n_exact = sum(1 for r in rows if r["mask"] == EXACT)
        out.append("/* PS3.15 Table E.1-1, edition %s (%s): %d exact rows sorted by tag, then %d masked rows.\n"
                   " * tag, mask, basic, {options}, in_std_iod, name */\n"
                   % (edition, src, n_exact, len(rows) - n_exact))
        out.append("static const dv_profile_entry %s_entries[] = {\n" % ident)
        for i, r in enumerate(rows):
            if i == n_exact:
                out.append("    /* repeating groups (masked) */\n")
            opts = ", ".join("[%s] = %s" % (o[0], PCODES[c]) for o, c in zip(OPTIONS, r["opts"]) if c)
            out.append("    {0x%08Xu, 0x%08Xu, %s, {%s}, %d, %s},\n"
                       % (r["tag"], r["mask"], PCODES[r["basic"]], opts or "0", r["std_iod"], c_string(r["name"])))
        out.append("};\n")
        out.append("static const dv_profile_table %s = {%s, %s_entries, sizeof %s_entries / sizeof %s_entries[0]};\n"
                   % (ident, c_string(edition), ident, ident, ident))
        out.append("_Static_assert(sizeof %s_entries / sizeof %s_entries[0] == %d, \"row count\");\n\n"
                   % (ident, ident, len(rows)))
    out.append("/* The first edition is the default. */\n")
    out.append("const dv_profile_table *const dv_profile_tables[] = {\n")
    for edition, _, _ in tables:
        out.append("    &dv_profile_%s,\n" % re.sub(r"[^0-9A-Za-z]", "_", edition))
    out.append("    NULL,\n};\n")
    return "".join(out)


# ---------------------------------------------------------------------------------------------



def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.path.join(REPO_ROOT, "..", "shared", "data"),
                    help="the shared data folder (default: <repo>/../shared/data)")
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "src", "dict"),
                    help="output folder (default: <repo>/src/dict)")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 when the generated files are not up to date")
    args = ap.parse_args(argv)

    def src(rel):
        p = os.path.join(args.shared, rel)
        if not os.path.isfile(p):
            raise GenError("missing input %s" % p)
        return p

    dict_path = src(DICT_JSON)
    entries, exact_count, kw_index = load_dictionary(dict_path)
    dict_c = emit_dictionary(entries, exact_count, kw_index, [
        "../shared/data/" + DICT_JSON,
        "(PS3.6 data dictionary, DICOM 2024b; sha256 %s)." % sha256_of(dict_path),
    ])
    tags_h, tag_count = emit_tags(entries, exact_count, [
        "../shared/data/" + DICT_JSON,
        "(PS3.6 data dictionary, DICOM 2024b; sha256 %s)." % sha256_of(dict_path),
    ])

    p25 = src(PROFILE_CSV_2025C)
    p24 = src(PROFILE_JSON_2024B)
    rows25 = finish_profile(load_profile_csv(p25, "2025c"), "2025c")
    rows24 = finish_profile(load_profile_json(p24, "2024b"), "2024b")
    compare_editions(rows25, rows24, "2025c", "2024b")
    dict_exact = {e["tag"] for e in entries if e["mask"] == EXACT}
    missing = [r for r in rows25 if r["mask"] == EXACT and r["tag"] not in dict_exact]
    if missing:
        note("%d 2025c profile rows have no exact entry in the 2024b dictionary: %s"
             % (len(missing), " ".join(fmt_tag(r["tag"], r["mask"]) for r in missing)))
    prof_c = emit_profiles([
        ("2025c", rows25, os.path.basename(PROFILE_CSV_2025C)),
        ("2024b", rows24, os.path.basename(PROFILE_JSON_2024B)),
    ], [
        "../shared/data/" + PROFILE_CSV_2025C,
        "(sha256 %s) and" % sha256_of(p25),
        "../shared/data/" + PROFILE_JSON_2024B,
        "(sha256 %s)." % sha256_of(p24),
        "The \"(gggg,eeee) where gggg is odd\" (Private Attributes) row is not emitted: the engine",
        "handles private tags itself.",
    ])

    os.makedirs(args.out, exist_ok=True)
    stale = write_if_changed("gen_tables", os.path.join(args.out, "dict_table.c"), dict_c, args.check)
    stale |= write_if_changed("gen_tables", os.path.join(args.out, "profile_table.c"), prof_c, args.check)
    stale |= write_if_changed("gen_tables", os.path.join(args.out, "dv_tags.h"), tags_h, args.check)
    print("gen_tables: dictionary %d entries (%d exact, %d masked), %d keywords; "
          "%d tag constants; profile 2025c %d rows, 2024b %d rows"
          % (len(entries), exact_count, len(entries) - exact_count, len(kw_index), tag_count, len(rows25),
             len(rows24)))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (GenError, OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        print("gen_tables: error: %s" % exc, file=sys.stderr)
        sys.exit(1)
