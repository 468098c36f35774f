#!/usr/bin/python3
"""Generate src/dict/iod_table.c (SOP Class -> IOD -> attribute types) from the PS3.3 module tables.

    python3 tools/gen_iod_tables.py [--xml DIR] [--out DIR] [--check]

Inputs (--xml, default /usr/share/gdcm-3.0/XML, installed by Debian's libgdcm3.0; BSD, see NOTICE):
  Part3.xml   PS3.3 IOD module tables, module and macro attribute tables (GDCM's extraction)
  Part4.xml   PS3.4 SOP Class names and UIDs (used to check the SOP Class -> IOD map below)

What the C side answers (src/dict/dv_iod.h): for an instance's SOP Class UID, its IOD; for an attribute in a
context (the IOD's top level, or the items of a sequence reached by a path of sequence tags), its type
1, 1C, 2, 2C or 3 -- or "unknown". The engine uses it to resolve the PS3.15 composite codes (DECISIONS 3).

How the tables are built:
  - An IOD is the union of its modules (every module, whatever its usage M/C/U: if the attribute is in the
    instance, its module is). A module or macro row at nesting depth d (">" prefixes) belongs to the items of
    the last sequence row at depth d-1; an "Include 'X Macro' Table T" row at depth d splices table T's rows
    at depth d. Includes are resolved by table number, else by macro name; what cannot be resolved
    ("Any other Attribute of ...", functional-group macro lists) is left out and its attributes stay unknown.
  - A table included in itself (the SR content tree: Content Sequence > Document Content Macro > ...) is
    expanded MAX_SELF_NESTING times; deeper attributes are unknown (the engine's fallback applies).
  - An attribute listed twice in one context (two modules, or a module and a macro) keeps the stricter type
    (1 < 1C < 2 < 2C < 3): the output must satisfy every module that lists it. A sequence listed twice gets the
    union of both item contents.
  - Identical item contents are stored once (hash-consing): the Code Sequence Macro's node is shared by every
    code sequence of every IOD. Repeating-group rows (60xx,eeee) are left out (no single tag).
  - The SOP Class -> IOD map (SOP_CLASS_IOD below) is hand-written from PS3.4 Table B.5-1, because GDCM's
    Part4.xml leaves the IOD column mostly empty; every UID must exist in Part4.xml and every IOD table in
    Part3.xml, or the generator fails.

Deterministic output (no timestamps, no absolute paths); files are only rewritten when their content changes.
Anything the generator does not understand (a tag, a type, a table it cannot find for the map) is a hard error
(exit 1); the inevitable gaps of the source (unresolvable includes, bad nesting) are counted in notes.

Python 3 standard library only.
"""

import argparse
import hashlib
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from genlib import write_if_changed  # noqa: E402
import xml.etree.ElementTree as ET

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_XML = "/usr/share/gdcm-3.0/XML"
PART3 = "Part3.xml"
PART4 = "Part4.xml"

# How many times one table may occur on the include stack: the SR content tree includes itself, and 8 levels
# of Content Sequence cost only ~25 rows each (identical item contents are shared).
MAX_SELF_NESTING = 8

# Attribute types, in the order of strictness (dv_attr_type in src/dict/dv_iod.h).
TYPES = {"1": "DV_ATTR_1", "1C": "DV_ATTR_1C", "2": "DV_ATTR_2", "2C": "DV_ATTR_2C", "3": "DV_ATTR_3"}
RANK = {"1": 0, "1C": 1, "2": 2, "2C": 3, "3": 4}

# PS3.4 Table B.5-1: Standard SOP Class UID -> PS3.3 IOD module table (Part3.xml <iod table=...>).
# Retired SOP Classes are not mapped (their IODs were older than these tables): the engine falls back.
SOP_CLASS_IOD = {
    "1.2.840.10008.5.1.4.1.1.1": "A.2-1",          # Computed Radiography Image Storage
    "1.2.840.10008.5.1.4.1.1.1.1": "A.26-1",       # Digital X-Ray Image Storage - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.1.1": "A.26-1",     # Digital X-Ray Image Storage - For Processing
    "1.2.840.10008.5.1.4.1.1.1.2": "A.27-1",       # Digital Mammography X-Ray Image Storage - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.2.1": "A.27-1",     # Digital Mammography X-Ray Image Storage - For Processing
    "1.2.840.10008.5.1.4.1.1.1.3": "A.28-1",       # Digital Intra-Oral X-Ray Image Storage - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.3.1": "A.28-1",     # Digital Intra-Oral X-Ray Image Storage - For Processing
    "1.2.840.10008.5.1.4.1.1.2": "A.3-1",          # CT Image Storage
    "1.2.840.10008.5.1.4.1.1.2.1": "A.38-1",       # Enhanced CT Image Storage
    "1.2.840.10008.5.1.4.1.1.3.1": "A.7-1",        # Ultrasound Multi-frame Image Storage
    "1.2.840.10008.5.1.4.1.1.4": "A.4-1",          # MR Image Storage
    "1.2.840.10008.5.1.4.1.1.4.1": "A.36-1",       # Enhanced MR Image Storage
    "1.2.840.10008.5.1.4.1.1.4.2": "A.36-3",       # MR Spectroscopy Storage
    "1.2.840.10008.5.1.4.1.1.6.1": "A.6-1",        # Ultrasound Image Storage
    "1.2.840.10008.5.1.4.1.1.7": "A.8-1",          # Secondary Capture Image Storage
    "1.2.840.10008.5.1.4.1.1.7.1": "A.8-2",        # Multi-frame Single Bit Secondary Capture Image Storage
    "1.2.840.10008.5.1.4.1.1.7.2": "A.8-3",        # Multi-frame Grayscale Byte Secondary Capture Image Storage
    "1.2.840.10008.5.1.4.1.1.7.3": "A.8-4",        # Multi-frame Grayscale Word Secondary Capture Image Storage
    "1.2.840.10008.5.1.4.1.1.7.4": "A.8-5",        # Multi-frame True Color Secondary Capture Image Storage
    "1.2.840.10008.5.1.4.1.1.9.1.1": "A.34.3-1",   # 12-lead ECG Waveform Storage
    "1.2.840.10008.5.1.4.1.1.9.1.2": "A.34.4-1",   # General ECG Waveform Storage
    "1.2.840.10008.5.1.4.1.1.9.1.3": "A.34.5-1",   # Ambulatory ECG Waveform Storage
    "1.2.840.10008.5.1.4.1.1.9.2.1": "A.34.6-1",   # Hemodynamic Waveform Storage
    "1.2.840.10008.5.1.4.1.1.9.3.1": "A.34.7-1",   # Cardiac Electrophysiology Waveform Storage
    "1.2.840.10008.5.1.4.1.1.9.4.1": "A.34.2-1",   # Basic Voice Audio Waveform Storage
    "1.2.840.10008.5.1.4.1.1.11.1": "A.33.1-1",    # Grayscale Softcopy Presentation State Storage
    "1.2.840.10008.5.1.4.1.1.11.2": "A.33.2-1",    # Color Softcopy Presentation State Storage
    "1.2.840.10008.5.1.4.1.1.11.3": "A.33.3-1",    # Pseudo-Color Softcopy Presentation State Storage
    "1.2.840.10008.5.1.4.1.1.11.4": "A.33.4-1",    # Blending Softcopy Presentation State Storage
    "1.2.840.10008.5.1.4.1.1.12.1": "A.14-1",      # X-Ray Angiographic Image Storage
    "1.2.840.10008.5.1.4.1.1.12.1.1": "A.47-1",    # Enhanced XA Image Storage
    "1.2.840.10008.5.1.4.1.1.12.2": "A.16-1",      # X-Ray Radiofluoroscopic Image Storage
    "1.2.840.10008.5.1.4.1.1.12.2.1": "A.48.-1",   # Enhanced XRF Image Storage
    "1.2.840.10008.5.1.4.1.1.13.1.1": "A.53-1",    # X-Ray 3D Angiographic Image Storage
    "1.2.840.10008.5.1.4.1.1.13.1.2": "A.54-1",    # X-Ray 3D Craniofacial Image Storage
    "1.2.840.10008.5.1.4.1.1.20": "A.5-1",         # Nuclear Medicine Image Storage
    "1.2.840.10008.5.1.4.1.1.66": "A.37-1",        # Raw Data Storage
    "1.2.840.10008.5.1.4.1.1.66.1": "A.39.1-1",    # Spatial Registration Storage
    "1.2.840.10008.5.1.4.1.1.66.2": "A.40-1",      # Spatial Fiducials Storage
    "1.2.840.10008.5.1.4.1.1.66.3": "A.39.2-1",    # Deformable Spatial Registration Storage
    "1.2.840.10008.5.1.4.1.1.66.4": "A.51-1",      # Segmentation Storage
    "1.2.840.10008.5.1.4.1.1.67": "A.46-1",        # Real World Value Mapping Storage
    "1.2.840.10008.5.1.4.1.1.77.1.1": "A.32.1-1",  # VL Endoscopic Image Storage
    "1.2.840.10008.5.1.4.1.1.77.1.1.1": "A.32.5-1",  # Video Endoscopic Image Storage
    "1.2.840.10008.5.1.4.1.1.77.1.2": "A.32.1-2",  # VL Microscopic Image Storage
    "1.2.840.10008.5.1.4.1.1.77.1.2.1": "A.32.6-1",  # Video Microscopic Image Storage
    "1.2.840.10008.5.1.4.1.1.77.1.3": "A.32.1-3",  # VL Slide-Coordinates Microscopic Image Storage
    "1.2.840.10008.5.1.4.1.1.77.1.4": "A.32.4-1",  # VL Photographic Image Storage
    "1.2.840.10008.5.1.4.1.1.77.1.4.1": "A.32.7-1",  # Video Photographic Image Storage
    "1.2.840.10008.5.1.4.1.1.77.1.5.1": "A.41-1",  # Ophthalmic Photography 8 Bit Image Storage
    "1.2.840.10008.5.1.4.1.1.77.1.5.2": "A.42-1",  # Ophthalmic Photography 16 Bit Image Storage
    "1.2.840.10008.5.1.4.1.1.77.1.5.3": "A.43-2",  # Stereometric Relationship Storage
    "1.2.840.10008.5.1.4.1.1.77.1.5.4": "A.52.3-1",  # Ophthalmic Tomography Image Storage
    "1.2.840.10008.5.1.4.1.1.88.11": "A.35.1-1",   # Basic Text SR Storage
    "1.2.840.10008.5.1.4.1.1.88.22": "A.35.2-1",   # Enhanced SR Storage
    "1.2.840.10008.5.1.4.1.1.88.33": "A.35.3-1",   # Comprehensive SR Storage
    "1.2.840.10008.5.1.4.1.1.88.40": "A.35.7-1",   # Procedure Log Storage
    "1.2.840.10008.5.1.4.1.1.88.50": "A.35.5-1",   # Mammography CAD SR Storage
    "1.2.840.10008.5.1.4.1.1.88.59": "A.35.4-1",   # Key Object Selection Document Storage
    "1.2.840.10008.5.1.4.1.1.88.65": "A.35.6-1",   # Chest CAD SR Storage
    "1.2.840.10008.5.1.4.1.1.88.67": "A.35.8-1",   # X-Ray Radiation Dose SR Storage
    "1.2.840.10008.5.1.4.1.1.104.1": "A.45.1-1",   # Encapsulated PDF Storage
    "1.2.840.10008.5.1.4.1.1.104.2": "A.45.2-1",   # Encapsulated CDA Storage
    "1.2.840.10008.5.1.4.1.1.128": "A.21.3-1",     # Positron Emission Tomography Image Storage
    "1.2.840.10008.5.1.4.1.1.481.1": "A.17.3-1",   # RT Image Storage
    "1.2.840.10008.5.1.4.1.1.481.2": "A.18.3-1",   # RT Dose Storage
    "1.2.840.10008.5.1.4.1.1.481.3": "A.19.3-1",   # RT Structure Set Storage
    "1.2.840.10008.5.1.4.1.1.481.4": "A.29.3-1",   # RT Beams Treatment Record Storage
    "1.2.840.10008.5.1.4.1.1.481.5": "A.20.3-1",   # RT Plan Storage
    "1.2.840.10008.5.1.4.1.1.481.6": "A.30.3-1",   # RT Brachy Treatment Record Storage
    "1.2.840.10008.5.1.4.1.1.481.7": "A.31.3-1",   # RT Treatment Summary Record Storage
    "1.2.840.10008.5.1.4.1.1.481.8": "A.49-1",     # RT Ion Plan Storage
    "1.2.840.10008.5.1.4.1.1.481.9": "A.50-1",     # RT Ion Beams Treatment Record Storage
    "1.2.840.10008.5.1.4.38.1": "A.44.3-1",        # Hanging Protocol Storage
}

# Include rows whose table number is wrong and whose macro name differs from the table's title.
NAME_ALIASES = {
    "code sequence macro": "8.8-1",  # titled "Common Attribute Set For Code Sequence Attributes"
}

# Part4.xml spells a few names differently from the comments above; only the UID has to be there.
TABLE_RE = re.compile(r"Table\s+((?:[A-Z]\.)?[0-9][0-9A-Za-z.\-]*[0-9A-Za-z])")
QUOTED_RE = re.compile(r"['\u2018\u2019\u201c\u201d]+\s*([^'\u2018\u2019\u201c\u201d]+?)\s*['\u2018\u2019\u201c\u201d]")
HEX4 = re.compile(r"[0-9A-Fa-f]{4}")


class GenError(Exception):
    pass


def note(msg):
    print("gen_iod_tables: note: " + msg, file=sys.stderr)


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def depth_of(text):
    """Number of leading '>' (blanks between them allowed) and the rest."""
    d = 0
    s = text.lstrip()
    while s.startswith(">"):
        d += 1
        s = s[1:].lstrip()
    return d, s


def norm_name(name):
    """'Code Sequence Macro', 'Image Pixel Macro Attributes' -> comparable form."""
    s = name.lower().replace("\u201c", "").replace("\u201d", "").replace("'", "")
    s = re.sub(r"\b(attributes|attribute|description|table)\b", " ", s)
    return " ".join(s.split())


class Node:
    """The items of one sequence (or an IOD's top level): tag -> [type, child Node]."""
    __slots__ = ("attrs",)

    def __init__(self):
        self.attrs = {}

    def put(self, tag, typ):
        cur = self.attrs.get(tag)
        if cur is None:
            cur = self.attrs[tag] = [typ, Node()]
        elif RANK[typ] < RANK[cur[0]]:
            cur[0] = typ
        return cur[1]


class Part3:
    def __init__(self, path):
        root = ET.parse(path).getroot()
        self.tables = {}   # table id -> element (module or macro)
        self.by_name = {}  # normalised name -> [table ids]
        self.modules = {}  # section ref -> element
        self.iods = {}     # table id -> element
        for el in root:
            if el.tag in ("module", "macro"):
                tid = el.get("table")
                if tid in self.tables:
                    raise GenError("%s: table %s defined twice" % (PART3, tid))
                self.tables[tid] = el
                self.by_name.setdefault(norm_name(el.get("name", "")), []).append(tid)
                if el.tag == "module":
                    self.modules[el.get("ref")] = el
            elif el.tag == "iod":
                self.iods[el.get("table")] = el
        self.unresolved = {}
        self.bad_rows = {}
        self.self_nesting_cut = 0

    def resolve(self, ref):
        """The table an include row names, or None."""
        m = TABLE_RE.search(ref)
        if m:
            tid = m.group(1).rstrip(".")
            if tid in self.tables:
                return tid
        q = QUOTED_RE.search(ref)
        name = q.group(1) if q else re.sub(r"^\s*Include\s+", "", ref).split(" Table")[0]
        name = norm_name(name)
        if name in NAME_ALIASES:
            return NAME_ALIASES[name]
        cands = self.by_name.get(name, [])
        if len(cands) == 1:
            return cands[0]
        return None

    def expand(self, tid, base, active):
        """Splice table tid's rows into node base (its depth-0 context). Returns the open contexts after
        its last row (index 0 is base)."""
        stack = [base]
        for row in self.tables[tid]:
            if row.tag == "entry":
                d, _ = depth_of(row.get("name", ""))
                g, e, typ = row.get("group", ""), row.get("element", ""), row.get("type", "")
                where = "%s (%s,%s)" % (tid, g, e)
                if not (HEX4.fullmatch(g) and HEX4.fullmatch(e)):
                    self.bad_rows[where] = "repeating group or odd tag"
                    stack = stack[:d + 1]
                    continue
                if typ not in TYPES:
                    self.bad_rows[where] = "type %r" % typ
                    stack = stack[:d + 1]
                    continue
                if d >= len(stack):
                    self.bad_rows[where] = "nesting depth %d without a parent sequence" % d
                    continue
                child = stack[d].put(int(g + e, 16), typ)
                stack = stack[:d + 1] + [child]
            elif row.tag == "include":
                ref = row.get("ref", "")
                d, _ = depth_of(ref)
                target = self.resolve(ref)
                if target is None:
                    self.unresolved[ref.strip()] = self.unresolved.get(ref.strip(), 0) + 1
                    stack = stack[:d + 1]
                    continue
                if d >= len(stack):
                    self.bad_rows["%s include %s" % (tid, target)] = "nesting depth %d without a parent" % d
                    continue
                if active.count(target) >= MAX_SELF_NESTING:
                    self.self_nesting_cut += 1
                    stack = stack[:d + 1]
                else:
                    # Textual splice: rows after the include nest under the included table's last sequence
                    # (e.g. the Image Reference Macro continues the Composite Object Reference Macro's items).
                    stack = stack[:d] + self.expand(target, stack[d], active + [target])
        return stack

    def iod_tree(self, iod_tid):
        root = Node()
        for ent in self.iods[iod_tid]:
            mod = self.modules.get(ent.get("ref"))
            if mod is None:
                raise GenError("%s: IOD %s names module %s, which is not defined"
                               % (PART3, iod_tid, ent.get("ref")))
            self.expand(mod.get("table"), root, [mod.get("table")])
        return root


def load_part4_uids(path):
    uids = {}
    for m in ET.parse(path).getroot().iter("mapping"):
        uid = m.get("sop-class-uid", "")
        if re.fullmatch(r"[0-9]+(\.[0-9]+)+", uid):
            uids[uid] = m.get("sop-class-name", "")
    return uids


class Interner:
    """Hash-conses nodes: identical item contents get one index. Index 0 is the empty / unknown context."""

    def __init__(self):
        self.index = {(): 0}
        self.nodes = [()]

    def intern(self, node, seen=None):
        rows = []
        for tag in sorted(node.attrs):
            typ, child = node.attrs[tag]
            rows.append((tag, typ, self.intern(child)))
        key = tuple(rows)
        idx = self.index.get(key)
        if idx is None:
            idx = self.index[key] = len(self.nodes)
            self.nodes.append(key)
        return idx


def emit(iods, sops, nodes, source_desc):
    out = []
    out.append("/* generated by tools/gen_iod_tables.py from %s; do not edit.\n" % source_desc[0])
    for line in source_desc[1:]:
        out.append(" * %s\n" % line)
    out.append(" * Regenerate with: python3 tools/gen_iod_tables.py */\n")
    out.append("#include \"dict/dv_iod.h\"\n\n")
    nattr = sum(len(n) for n in nodes)
    out.append("/* Attribute rows of every context, each context's rows sorted by tag: tag, child context, type. */\n")
    out.append("const dv_iod_attr dv_iod_attrs[] = {\n")
    firsts = []
    pos = 0
    for i, n in enumerate(nodes):
        firsts.append(pos)
        if n:
            out.append("    /* context %d */\n" % i)
        for tag, typ, child in n:
            out.append("    {0x%08Xu, %d, %s},\n" % (tag, child, TYPES[typ]))
        pos += len(n)
    if nattr == 0:
        raise GenError("no attribute rows")
    out.append("};\n\n")
    out.append("/* Contexts (the items of a sequence, or an IOD's top level): first row, row count. Context 0 is\n"
               " * the unknown context (no rows). */\n")
    out.append("const dv_iod_context dv_iod_contexts[] = {\n")
    for i, n in enumerate(nodes):
        out.append("    {%d, %d},\n" % (firsts[i], len(n)))
    out.append("};\n")
    out.append("const size_t dv_iod_context_count = %d;\n\n" % len(nodes))
    out.append("/* IODs: PS3.3 table, name, top-level context. */\n")
    out.append("const dv_iod dv_iods[] = {\n")
    for tid, name, root in iods:
        out.append("    {\"%s\", \"%s\", %d},\n" % (tid, name, root))
    out.append("};\n")
    out.append("const size_t dv_iod_count = %d;\n\n" % len(iods))
    out.append("/* SOP Class UID -> index into dv_iods, sorted by UID (strcmp order). */\n")
    out.append("const dv_iod_sop_class dv_iod_sop_classes[] = {\n")
    for uid, idx, name in sops:
        out.append("    {\"%s\", %d}, /* %s */\n" % (uid, idx, name))
    out.append("};\n")
    out.append("const size_t dv_iod_sop_class_count = %d;\n\n" % len(sops))
    out.append("_Static_assert(sizeof dv_iod_attrs / sizeof dv_iod_attrs[0] == %d, \"row count\");\n" % nattr)
    out.append("_Static_assert(sizeof dv_iod_contexts / sizeof dv_iod_contexts[0] == %d, \"context count\");\n"
               % len(nodes))
    return "".join(out)




def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xml", default=DEFAULT_XML, help="GDCM's XML folder (default: %s)" % DEFAULT_XML)
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "src", "dict"),
                    help="output folder (default: <repo>/src/dict)")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 when the generated file is not up to date")
    args = ap.parse_args(argv)

    p3 = os.path.join(args.xml, PART3)
    p4 = os.path.join(args.xml, PART4)
    for p in (p3, p4):
        if not os.path.isfile(p):
            raise GenError("missing input %s (Debian package libgdcm3.0: apt-get install libgdcm3.0)" % p)
    part3 = Part3(p3)
    part4 = load_part4_uids(p4)

    interner = Interner()
    iod_rows, iod_index = [], {}
    for tid in sorted(set(SOP_CLASS_IOD.values()), key=lambda t: [int(x) if x.isdigit() else x
                                                                   for x in re.split(r"([0-9]+)", t)]):
        el = part3.iods.get(tid)
        if el is None:
            raise GenError("SOP_CLASS_IOD names IOD table %s, which %s does not define" % (tid, PART3))
        name = re.sub(r"\s+IOD Modules$", "", el.get("name", "")).strip()
        if not re.fullmatch(r"[A-Za-z0-9 ./-]+", name):
            raise GenError("IOD %s: odd name %r" % (tid, name))
        root = interner.intern(part3.iod_tree(tid))
        iod_index[tid] = len(iod_rows)
        iod_rows.append((tid, name, root))
    sops = []
    for uid in sorted(SOP_CLASS_IOD, key=lambda u: u.encode("ascii")):
        if uid not in part4:
            raise GenError("SOP Class %s is not in %s" % (uid, PART4))
        sops.append((uid, iod_index[SOP_CLASS_IOD[uid]], part4[uid].replace("*/", "")))
    nodes = interner.nodes
    if len(nodes) > 0xFFFF:
        raise GenError("%d contexts; dv_iod_attr.child is uint16_t" % len(nodes))

    if part3.unresolved:
        note("%d include rows not resolved (their attributes stay unknown): %s"
             % (sum(part3.unresolved.values()), "; ".join(sorted(part3.unresolved))[:600]))
    if part3.bad_rows:
        note("%d rows left out: %s" % (len(part3.bad_rows),
                                       "; ".join("%s: %s" % kv for kv in sorted(part3.bad_rows.items()))[:600]))
    note("self-including tables cut %d times at nesting %d" % (part3.self_nesting_cut, MAX_SELF_NESTING))

    text = emit(iod_rows, sops, nodes, [
        "%s and %s" % (PART3, PART4),
        "in %s (Debian package libgdcm3.0: GDCM's PS3.3 / PS3.4 extraction, BSD license, see NOTICE):" % DEFAULT_XML,
        "%s sha256 %s," % (PART3, sha256_of(p3)),
        "%s sha256 %s." % (PART4, sha256_of(p4)),
        "SOP Class -> IOD map: SOP_CLASS_IOD in the generator (PS3.4 Table B.5-1).",
    ])
    os.makedirs(args.out, exist_ok=True)
    stale = write_if_changed("gen_iod_tables", os.path.join(args.out, "iod_table.c"), text, args.check)
    print("gen_iod_tables: %d SOP classes, %d IODs, %d contexts, %d attribute rows"
          % (len(sops), len(iod_rows), len(nodes), sum(len(n) for n in nodes)))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (GenError, OSError, ET.ParseError) as exc:
        print("gen_iod_tables: error: %s" % exc, file=sys.stderr)
        sys.exit(1)
