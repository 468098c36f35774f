#!/usr/bin/python3
"""Privacy integration test: the Basic profile (config `{}`) over a corpus generated here with pydicom.

The corpus (written to a temp dir, never committed) has 3 studies / 5 series / 11 instances of 2 patients,
8 in Explicit VR LE, 1 Implicit VR LE, 1 Explicit VR BE, 1 Deflated, each with planted PHI in every kind of place:
  * every Basic-profile D/Z/X/U attribute of PS3.15 Table E.1-1 (2025c CSV) whose VR is known (pydicom
    dictionary, else the PS3.6 2024b JSON in the shared data), with a plausible value per VR; text values
    carry unique marker strings (PHI-<instance>-<n>), UIDs live under a private test root;
  * nested sequences at depth 1-4: kept code sequences (AnatomicRegion > Modifier > ConceptNameCode) holding
    PatientName-like attributes and private tags, X/Z/U* reference sequences, D sequences (ContentSequence),
    RequestAttributesSequence (X), RT-style FrameOfReference / study / series / image reference chains;
  * private blocks (creator + elements, a private SQ, private tags inside kept sequences);
  * UN-encoded standard elements (X, Z, D, U and kept ones, and a kept SQ encoded as UN);
  * native pixel data.
It then runs `dicomveil deidentify` three times (key A --jobs 1, key A --jobs 2, key B) and checks:
  (a) no value of any D/Z/X/U attribute survives at any depth (absent / empty / VR dummy / HMAC UID as the
      code allows), no private element anywhere, no planted marker string or original UID in the bytes;
  (b) every attribute the profile keeps is byte-identical (value bytes) at every depth;
  (c) PixelData byte-identical;
  (d) study/series/frame-of-reference grouping and every reference resolve to the referenced instance's
      output UIDs, which equal the HMAC formula;
  (e) same key -> byte-identical trees (also across --jobs 1 / --jobs 2); other key -> different UIDs;
  (f) every UID in every output is syntactically valid;
  (g) file meta MediaStorageSOP{Instance,Class}UID == SOP{Instance,Class}UID;
  (h) de-identification markers (0012,0062) YES, (0012,0063), (0012,0064) with 113100;
  (i) the DICOM de-identify guide's recurseTag sample gives PLACEHOLDER in the nested code items.
Every check counts what it looked at and fails when it looked at nothing.

Env (set by ctest): DV_BIN, DV_SHARED_DATA, DV_SOURCE_DIR, DV_BUILD_DIR. Run with /usr/bin/python3.
"""
import csv
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
import zlib
from collections import Counter, defaultdict

import pydicom

import dvcheck  # tests/integration/dvcheck.py (the script's folder is on sys.path)
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.datadict import dictionary_VR
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence

warnings.simplefilter("ignore")

SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DV_BIN = os.environ.get("DV_BIN") or os.path.join(SRC_DIR, "build", "dicomveil")
SHARED = os.environ.get("DV_SHARED_DATA") or os.path.join(SRC_DIR, "..", "shared", "data")
TABLE_CSV = os.path.join(SHARED, "ps315", "bsc_2025c_dicom_part15_table_E1-1.csv")
PS36_JSON = os.path.join(SHARED, "ps36", "innolitics_2024b_attributes.json")

KEY_A = bytes(range(1, 33))
KEY_B = b"another-key-for-dicomveil-tests!"
ROOT = "1.2.826.0.1.3680043.10.7731"          # all planted UIDs live here: none may survive
MARKER_RE = re.compile(rb"PHI[-_]\d\d[-_]\d{4}")  # all planted text markers match this
CT = "1.2.840.10008.5.1.4.1.1.2"
REGISTRY = "1.2.840.10008."
ALLOWED_ADDED_TOP = {0x00120062, 0x00120063, 0x00120064, 0x00280303}
TEXT_VRS = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"}
BIN_NUM = {"US", "SS", "UL", "SL", "FL", "FD", "SV", "UV"}
# kept inside a profile-D reset when the profile keeps them (docs/decisions.md "Reset sequences keep the IOD valid")
CODED_VRS = {"CS", "IS", "US", "SS", "UL", "SL", "UV", "SV"}
# docs/decisions.md "Composite codes by IOD type": X on an attribute its IOD makes Type 2C is emptied, not removed
# (the Patient module's ResponsiblePerson / ResponsibleOrganization, required for animals): no value survives.
X_EMPTIED_BY_IOD = {0x00102297, 0x00102299}
BULK = {"OB", "OW", "OD", "OF", "OL", "OV", "UN"}
DUMMY = {"DA": b"19000101", "TM": b"000000", "DT": b"19000101000000", "AS": b"000Y", "IS": b"0", "DS": b"0"}


hmac_uid = dvcheck.hmac_uid


# ------------------------------------------------------------------------------------------------------------
# Results
C = dvcheck.Checks()

# ------------------------------------------------------------------------------------------------------------
# Dictionary and table
_PS36 = {}


def load_ps36():
    with open(PS36_JSON) as f:
        for a in json.load(f):
            if "x" in a["id"].lower() or not a["valueRepresentation"] or " " in a["valueRepresentation"][:3]:
                vr = a["valueRepresentation"].split(" or ")[0] if a["valueRepresentation"] else ""
            else:
                vr = a["valueRepresentation"]
            if "x" not in a["id"].lower() and len(vr) == 2:
                _PS36[int(a["id"], 16)] = vr


def dict_vr(tag):
    try:
        vr = dictionary_VR(tag)
        return vr.split(" or ")[0]
    except KeyError:
        return _PS36.get(tag)


def in_pydicom_dict(tag):
    try:
        dictionary_VR(tag)
        return True
    except KeyError:
        return False


EXACT, MASKED, NAMES = {}, [], {}


def load_table():
    with open(TABLE_CSV, newline="") as f:
        for row in csv.DictReader(f):
            code = row["Basic Prof."].strip()
            g, e = row["Tag"].strip().strip("()").split(",")
            if "gggg" in g or not code:
                continue
            gl, el = g.lower(), e.lower()
            if "x" in gl or "x" in el:
                v = (int(gl.replace("x", "0"), 16) << 16) | int(el.replace("x", "0"), 16)
                m = ((0xFF00 if "x" in gl else 0xFFFF) << 16) | (0 if el == "xxxx" else 0xFFFF)
                MASKED.append((v, m, code))
            else:
                t = (int(g, 16) << 16) | int(e, 16)
                EXACT[t] = code
                NAMES[t] = row["Attribute Name"]


def code_of(tag):
    if tag in EXACT:
        return EXACT[tag]
    for v, m, c in MASKED:
        if tag & m == v:
            return c
    return None


def tstr(tag):
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


# ------------------------------------------------------------------------------------------------------------
# A small, exact DICOM reader (LE explicit/implicit, deflate, BE) that keeps raw value bytes.
LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT"}
UNDEF = 0xFFFFFFFF


class El:
    __slots__ = ("tag", "vr", "value", "items", "un_sq")

    def __init__(self, tag, vr, value=None, items=None, un_sq=False):
        self.tag, self.vr, self.value, self.items, self.un_sq = tag, vr, value, items, un_sq

    @property
    def is_sq(self):
        return self.items is not None

    @property
    def lvr(self):
        """Logical VR: the encoded one unless UN/implicit, then the dictionary's."""
        if self.vr and self.vr != "UN":
            return self.vr
        return dict_vr(self.tag) or "UN"


class ParseError(Exception):
    pass


def _parse_elements(buf, pos, end, explicit, le, until_item_delim=False):
    out = []
    fmt_hh, fmt_h, fmt_i = ("<HH", "<H", "<I") if le else (">HH", ">H", ">I")
    while pos < end:
        if pos + 8 > len(buf):
            raise ParseError(f"truncated element header at {pos}")
        g, e = struct.unpack_from(fmt_hh, buf, pos)
        tag = (g << 16) | e
        if tag == 0xFFFEE00D:
            return out, pos + 8
        if tag in (0xFFFEE0DD, 0xFFFEE000):
            raise ParseError(f"unexpected delimiter {tstr(tag)} at {pos}")
        if explicit and g != 0xFFFE:
            vr = buf[pos + 4:pos + 6].decode("latin-1")
            if vr in LONG_VRS:
                length = struct.unpack_from(fmt_i, buf, pos + 8)[0]
                vpos = pos + 12
            else:
                length = struct.unpack_from(fmt_h, buf, pos + 6)[0]
                vpos = pos + 8
        else:
            vr = None
            length = struct.unpack_from(fmt_i, buf, pos + 4)[0]
            vpos = pos + 8
        dvr = dict_vr(tag) if not (g & 1) else None
        if vr == "SQ" or (vr is None and (dvr == "SQ" or (length == UNDEF and tag != 0x7FE00010))) \
                or (vr == "UN" and length == UNDEF):
            items, pos = _parse_seq(buf, vpos, length, explicit if vr != "UN" else False,
                                    le if vr != "UN" else True)
            out.append(El(tag, vr, items=items))
        elif vr == "UN" and dvr == "SQ" and not (g & 1):
            items, _ = _parse_seq(buf[vpos:vpos + length], 0, length, False, True)
            out.append(El(tag, vr, value=bytes(buf[vpos:vpos + length]), items=items, un_sq=True))
            pos = vpos + length
        elif length == UNDEF:  # encapsulated pixel data: keep the raw fragments
            p = vpos
            while True:
                ig, ie = struct.unpack_from(fmt_hh, buf, p)
                il = struct.unpack_from(fmt_i, buf, p + 4)[0]
                if (ig << 16 | ie) == 0xFFFEE0DD:
                    p += 8
                    break
                p += 8 + il
            out.append(El(tag, vr, value=bytes(buf[vpos:p])))
            pos = p
        else:
            if vpos + length > len(buf):
                raise ParseError(f"{tstr(tag)} length {length} beyond end of data")
            out.append(El(tag, vr, value=bytes(buf[vpos:vpos + length])))
            pos = vpos + length
    if until_item_delim:
        raise ParseError("missing item delimiter")
    return out, pos


def _parse_seq(buf, pos, length, explicit, le):
    items = []
    end = None if length == UNDEF else pos + length
    fmt_hh, fmt_i = ("<HH", "<I") if le else (">HH", ">I")
    while True:
        if end is not None and pos >= end:
            break
        g, e = struct.unpack_from(fmt_hh, buf, pos)
        il = struct.unpack_from(fmt_i, buf, pos + 4)[0]
        tag = (g << 16) | e
        if tag == 0xFFFEE0DD:
            pos += 8
            break
        if tag != 0xFFFEE000:
            raise ParseError(f"expected item, found {tstr(tag)} at {pos}")
        if il == UNDEF:
            els, pos = _parse_elements(buf, pos + 8, len(buf), explicit, le, until_item_delim=True)
        else:
            els, _ = _parse_elements(buf, pos + 8, pos + 8 + il, explicit, le)
            pos = pos + 8 + il
        items.append(els)
    return items, pos


def parse_file(path):
    with open(path, "rb") as f:
        buf = f.read()
    pos = 132 if buf[128:132] == b"DICM" else 0
    meta = []
    while pos + 8 <= len(buf) and struct.unpack_from("<H", buf, pos)[0] == 0x0002:
        els, _ = _parse_elements(buf, pos, pos + 1, True, True)  # one element
        el = els[0]
        meta.append(el)
        pos += (12 if el.vr in LONG_VRS else 8) + len(el.value)
    ts = next((m.value.rstrip(b"\0 ").decode() for m in meta if m.tag == 0x00020010), "1.2.840.10008.1.2")
    explicit, le = ts != "1.2.840.10008.1.2", ts != "1.2.840.10008.1.2.2"
    if ts == "1.2.840.10008.1.2.1.99":
        buf = buf[:pos] + zlib.decompress(buf[pos:], -15)
    ds, _ = _parse_elements(buf, pos, len(buf), explicit, le)
    return meta, ds, ts, buf


def walk(els, depth=0):
    for el in els:
        yield el, depth
        if el.is_sq:
            for it in el.items:
                yield from walk(it, depth + 1)


def sval(el):
    return el.value.rstrip(b"\0 ").decode("latin-1") if el.value is not None else ""


def get(els, tag):
    for el in els:
        if el.tag == tag:
            return el
    return None


# ------------------------------------------------------------------------------------------------------------
# Corpus generation
class Gen:
    def __init__(self):
        self.n = 0
        self.markers = set()
        self.uids = set()

    def marker(self, inst, sep="-"):
        self.n += 1
        m = f"PHI{sep}{inst:02d}{sep}{self.n:04d}"
        self.markers.add(m)
        return m

    def uid(self, inst):
        self.n += 1
        u = f"{ROOT}.{inst + 1}.{self.n}"
        self.uids.add(u)
        return u

    # VRs whose values are numbered, not marked: each one takes the next number n (so no two are equal).
    NUMBERED = {
        "DA": lambda n: f"19{50 + n % 40:02d}{1 + n % 12:02d}{1 + n % 28:02d}",
        "TM": lambda n: f"{n % 24:02d}{n % 60:02d}{(n * 7) % 60:02d}",
        "DT": lambda n: f"19{50 + n % 40:02d}{1 + n % 12:02d}{1 + n % 28:02d}{n % 24:02d}{n % 60:02d}17",
        "AS": lambda n: f"{1 + n % 99:03d}Y",
        "IS": lambda n: str(100 + n),
        "DS": lambda n: f"{100 + n}.5",
        **{vr: (lambda n: 1 + n % 200) for vr in ("US", "UL", "SS", "SL", "SV", "UV")},
        **{vr: (lambda n: 1.5 + n) for vr in ("FL", "FD")},
    }

    def value(self, inst, vr, tag):
        if vr in ("AE", "SH"):
            return self.marker(inst)
        if vr == "CS":
            return self.marker(inst, "_")
        if vr in ("LO", "LT", "ST", "UC", "UT"):
            return f"{self.marker(inst)} text of {tstr(tag)}"
        if vr == "PN":
            return f"{self.marker(inst)}^JOHN^Q"
        if vr == "UR":
            return f"http://example.org/{self.marker(inst)}"
        numbered = self.NUMBERED.get(vr)
        if numbered:
            n = self.n
            self.n += 1
            return numbered(n)
        if vr in ("OB", "OW", "OD", "OF", "OL", "OV", "UN"):
            m = self.marker(inst).encode()
            return m + b"\0" * ((8 - len(m) % 8) % 8)
        if vr == "UI":
            return self.uid(inst)
        if vr == "AT":
            return 0x00100010
        raise ValueError(vr)


def code_item(value, scheme, meaning):
    it = Dataset()
    it.CodeValue, it.CodingSchemeDesignator, it.CodeMeaning = value, scheme, meaning
    return it


def build_corpus(root):
    """Write the corpus; return (gen, instances) where instances is a list of dicts."""
    pydicom.config.replace_un_with_known_vr = False  # or pydicom silently re-types our UN elements
    try:
        return _build_corpus(root)
    finally:
        pydicom.config.replace_un_with_known_vr = True


def _build_corpus(root):
    g = Gen()
    # (patient, study, series, n instances)
    layout = [(0, 0, 0, 3), (0, 0, 1, 2), (0, 1, 2, 2), (1, 2, 3, 2), (1, 2, 4, 2)]
    insts = []
    studies = {s: g.uid(90) for s in range(3)}
    fors = {s: g.uid(90) for s in range(3)}
    series = {s: g.uid(90) for s in range(5)}
    for pat, st, se, cnt in layout:
        for k in range(cnt):
            insts.append({"idx": len(insts), "pat": pat, "study": st, "series": se, "k": k,
                          "sop": g.uid(91), "study_uid": studies[st], "series_uid": series[se],
                          "for_uid": fors[st]})
    # transfer syntaxes: Explicit VR LE, except instance 6 (Implicit VR LE), 9 (Explicit VR BE), 10 (Deflated)
    ts_of = {6: "1.2.840.10008.1.2", 9: "1.2.840.10008.1.2.2", 10: "1.2.840.10008.1.2.1.99"}
    by_series = defaultdict(list)
    for it in insts:
        by_series[it["series"]].append(it)

    table_tags = sorted(EXACT)
    os.makedirs(root, exist_ok=True)
    for it in insts:
        i = it["idx"]
        ts = ts_of.get(i, "1.2.840.10008.1.2.1")
        implicit = ts == "1.2.840.10008.1.2"
        big = ts == "1.2.840.10008.1.2.2"
        un_ok = not implicit and not big  # UN-encoded elements only in explicit little-endian files
        it["implicit"], it["un_ok"], it["ts"] = implicit, un_ok, ts
        ds = Dataset()
        # Kept attributes (not in the table)
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPClassUID = CT
        ds.Modality = "CT"
        ds.SeriesNumber = it["series"] + 1
        ds.InstanceNumber = it["k"] + 1
        ds.ImagePositionPatient = ["-100", "-100", str(-10 * it["k"])]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.KVP = "120"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = 32
        ds.PixelSpacing = ["0.5", "0.5"]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
        ds.WindowCenter, ds.WindowWidth = "40", "400"
        ds.BodyPartExamined = "CHEST"
        if implicit:
            ds.SliceThickness = "1.25"
        # Every Basic-profile D/Z/X/U attribute with a known VR (explicit files: also PS3.6-only ones)
        for tag in table_tags:
            code = EXACT[tag]
            grp = tag >> 16
            if grp in (0x0000, 0x0002) or code in ("K", "C"):
                continue
            if implicit and not in_pydicom_dict(tag):
                continue
            vr = dict_vr(tag)
            if not vr or vr == "SQ":
                continue
            ds.add_new(tag, vr, g.value(i, vr, tag))
        # overlay / curve (masked table rows)
        ds.add_new(0x60000010, "US", 32)
        ds.add_new(0x60000011, "US", 32)
        ds.add_new(0x60003000, "OW", g.value(i, "OW", 0x60003000))
        ds.add_new(0x60004000, "LT", g.value(i, "LT", 0x60004000))
        if not implicit:
            ds.add_new(0x50000005, "US", 1)
            ds.add_new(0x50003000, "OB", g.value(i, "OB", 0x50003000))
        # The primary UIDs and the reference-type ones point into the corpus
        ds.SOPInstanceUID = it["sop"]
        ds.StudyInstanceUID = it["study_uid"]
        ds.SeriesInstanceUID = it["series_uid"]
        ds.FrameOfReferenceUID = it["for_uid"]
        ser = by_series[it["series"]]
        prev = ser[it["k"] - 1] if it["k"] > 0 else ser[-1]
        other_series = next(x for x in insts if x["study"] == it["study"] and x["series"] != it["series"]) \
            if any(x["study"] == it["study"] and x["series"] != it["series"] for x in insts) \
            else next(x for x in insts if x["study"] != it["study"])
        other_study = next(x for x in insts if x["study"] != it["study"])
        ds.add_new(0x00081155, "UI", prev["sop"])                # top-level ReferencedSOPInstanceUID
        ds.add_new(0x30060024, "UI", other_study["for_uid"])     # top-level ReferencedFrameOfReferenceUID
        ds.add_new(0x00080058, "UI", [g.uid(i), g.uid(i)])      # multi-valued UI (U)

        # Sequences from the table: a generic item each (D ones get everything reset)
        for tag in table_tags:
            code = EXACT[tag]
            if dict_vr(tag) != "SQ" or code in ("K", "C") or tag >> 16 in (0x0000, 0x0002):
                continue
            if implicit and not in_pydicom_dict(tag):
                continue
            if tag in (0x00081140, 0x00082112, 0x0040A730):
                continue  # built below
            item = code_item(g.marker(i), "99PHI", g.value(i, "LO", 0x00080104))
            item.PatientName = g.value(i, "PN", 0x00100010)
            item.add_new(0x00081155, "UI", other_series["sop"])
            item.add_new(0x00080100, "SH", g.marker(i))
            item.add_new(0x00150010, "LO", "ACME IN TABLE SQ")   # private inside X/Z/D sequences:
            item.add_new(0x00151001, "LO", g.marker(i))          # deleted, never reset (DECISIONS 3)
            ds.add_new(tag, "SQ", Sequence([item]))
        # X/Z/U* reference sequences: recurse + regenerate
        ri = Dataset()
        ri.ReferencedSOPClassUID = CT
        ri.ReferencedSOPInstanceUID = prev["sop"]
        ri.ReferencedFrameNumber = "1"
        ri.PatientName = g.value(i, "PN", 0x00100010)
        ri.PurposeOfReferenceCodeSequence = Sequence([code_item("121311", "DCM", "Localizer")])
        ri.PurposeOfReferenceCodeSequence[0].InstitutionName = g.value(i, "LO", 0x00080080)
        ds.ReferencedImageSequence = Sequence([ri])
        si = Dataset()
        si.ReferencedSOPClassUID = CT
        si.ReferencedSOPInstanceUID = other_series["sop"]
        si.StudyDate = g.value(i, "DA", 0x00080020)
        ds.SourceImageSequence = Sequence([si])
        # D sequence: SR-like content, depth 3, with a reference inside
        c1 = Dataset()
        c1.RelationshipType, c1.ValueType = "CONTAINS", "TEXT"
        c1.ConceptNameCodeSequence = Sequence([code_item("121106", "DCM", "Comment")])
        c1.TextValue = f"{g.marker(i)} patient says hello"
        c2 = Dataset()
        c2.RelationshipType, c2.ValueType = "CONTAINS", "PNAME"
        c2.PersonName = g.value(i, "PN", 0x0040A123)
        c2.DateTime = g.value(i, "DT", 0x0040A120)
        c2.add_new(0x00170010, "LO", "ACME IN CONTENT")
        c2.add_new(0x00171001, "UN" if un_ok else "LO", g.marker(i).encode() + b" " if un_ok else g.marker(i))
        c3 = Dataset()
        c3.RelationshipType, c3.ValueType = "CONTAINS", "IMAGE"
        rs = Dataset()
        rs.ReferencedSOPClassUID = CT
        rs.ReferencedSOPInstanceUID = other_study["sop"]
        c3.ReferencedSOPSequence = Sequence([rs])
        c4 = Dataset()
        c4.RelationshipType, c4.ValueType = "HAS PROPERTIES", "TEXT"
        c4.TextValue = f"{g.marker(i)} nested at depth 2"
        c4.ObservationDateTime = g.value(i, "DT", 0x0040A032)
        c3.ContentSequence = Sequence([c4])
        ds.ContentSequence = Sequence([c1, c2, c3])
        # Kept sequences with PHI-like attributes at depth 1..3, plus private tags inside
        d3 = code_item("T-11503", "SRT", "Vertebra")
        d3.ReferringPhysicianName = g.value(i, "PN", 0x00080090)
        d3.PatientBirthDate = g.value(i, "DA", 0x00100030)
        d3.add_new(0x00081155, "UI", other_study["sop"])
        d3.add_new(0x00130010, "LO", "ACME DEPTH3")
        d3.add_new(0x00131001, "LO", g.marker(i))
        d2 = code_item("G-A101", "SRT", "Left")
        d2.PatientID = g.value(i, "LO", 0x00100020)
        d2.StudyDate = g.value(i, "DA", 0x00080020)
        d2.OtherPatientIDs = g.value(i, "LO", 0x00101000)
        d2.ConceptNameCodeSequence = Sequence([d3])
        d1 = code_item("T-D3000", "SRT", "Chest")
        d1.PatientName = g.value(i, "PN", 0x00100010)
        d1.InstitutionName = g.value(i, "LO", 0x00080080)
        d1.AnatomicRegionModifierSequence = Sequence([d2])
        d1.add_new(0x00110010, "LO", "ACME DEPTH1")
        d1.add_new(0x00111001, "LO", g.marker(i))
        d1.add_new(0x00111002, "UI", g.uid(i))
        ds.AnatomicRegionSequence = Sequence([d1])
        # RT-style reference chain (kept sequences), depth 4
        ci = Dataset()
        ci.ReferencedSOPClassUID = CT
        ci.ReferencedSOPInstanceUID = prev["sop"]
        rser = Dataset()
        rser.SeriesInstanceUID = it["series_uid"]
        rser.ContourImageSequence = Sequence([ci])
        rst = Dataset()
        rst.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
        rst.ReferencedSOPInstanceUID = it["study_uid"]
        rst.RTReferencedSeriesSequence = Sequence([rser])
        rfor = Dataset()
        rfor.FrameOfReferenceUID = it["for_uid"]
        rfor.RTReferencedStudySequence = Sequence([rst])
        ds.ReferencedFrameOfReferenceSequence = Sequence([rfor])
        # Referenced Series Sequence (kept) > Referenced Instance Sequence (kept)
        rinst = Dataset()
        rinst.ReferencedSOPClassUID = CT
        rinst.ReferencedSOPInstanceUID = other_series["sop"]
        rser2 = Dataset()
        rser2.SeriesInstanceUID = other_series["series_uid"]
        rser2.StudyInstanceUID = other_series["study_uid"]
        rser2.ReferencedInstanceSequence = Sequence([rinst])
        ds.ReferencedSeriesSequence = Sequence([rser2])
        # Request Attributes Sequence (X) with nested PHI
        ra = Dataset()
        ra.RequestedProcedureID = g.marker(i)
        ra.ScheduledProtocolCodeSequence = Sequence([code_item("P1", "99PHI", g.value(i, "LO", 0))])
        ra.ScheduledProtocolCodeSequence[0].PatientName = g.value(i, "PN", 0x00100010)
        ds.RequestAttributesSequence = Sequence([ra])
        # Private block, incl. a private SQ with PHI, and (explicit files) a private UN
        ds.add_new(0x00090010, "LO", "ACME PRIVATE")
        ds.add_new(0x00091001, "LO", g.marker(i))
        ds.add_new(0x00091002, "DA", g.value(i, "DA", 0))
        pit = Dataset()
        pit.PatientName = g.value(i, "PN", 0x00100010)
        pit.add_new(0x00090010, "LO", "ACME PRIVATE")
        pit.add_new(0x00091010, "LO", g.marker(i))
        ds.add_new(0x00091003, "SQ", Sequence([pit]))
        ds.add_new(0x00290010, "LO", "OTHER VENDOR")
        ds.add_new(0x00291010, "OB", g.value(i, "OB", 0))
        # UN-encoded standard elements (explicit little-endian files only)
        if un_ok:
            ds.add_new(0x00091004, "UN", g.marker(i).encode() + b" ")
            ds.add_new(0x00180050, "UN", b"1.25")                      # kept (SliceThickness)
            ds[0x00080050] = pydicom.DataElement(0x00080050, "UN", g.marker(i).encode() + b" ")  # Z
            ds[0x00101040] = pydicom.DataElement(0x00101040, "UN", g.marker(i).encode() + b" ")  # X
            ds[0x00081030] = pydicom.DataElement(0x00081030, "UN", g.marker(i).encode() + b" ")  # X (study descr.)
            d_tag = next(t for t in table_tags if EXACT[t] == "D" and dict_vr(t) == "LO")
            ds[d_tag] = pydicom.DataElement(d_tag, "UN", g.marker(i).encode() + b" ")            # D
            un_uid = g.uid(i)
            ds[0x00209161] = pydicom.DataElement(0x00209161, "UN", un_uid.encode() + b"\0" * (len(un_uid) % 2))  # U
            # a kept SQ encoded as UN (implicit VR LE inside) hiding a PatientName
            unit = code_item("P2", "99TEST", "Protocol")
            unit.PatientName = g.value(i, "PN", 0x00100010)
            unit.add_new(0x00081155, "UI", prev["sop"])
            fp = DicomBytesIO()
            fp.is_little_endian, fp.is_implicit_VR = True, True
            write_dataset(fp, unit)
            body = fp.getvalue()
            raw = struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body
            ds[0x00400260] = pydicom.DataElement(0x00400260, "UN", raw)
            it["un_sq"] = True
        # Pixel data: 32x32, values < 4096 so no ASCII marker can appear in it
        pix = bytearray()
        for y in range(32):
            for x in range(32):
                pix += struct.pack("<H", (x * 37 + y * 101 + i * 613) % 4096)
        ds.add_new(0x7FE00010, "OW", bytes(pix))
        ds.add_new(0xFFFCFFFC, "OB", g.value(i, "OB", 0xFFFCFFFC))  # trailing padding (X)
        fm = FileMetaDataset()
        fm.MediaStorageSOPClassUID = CT
        fm.MediaStorageSOPInstanceUID = it["sop"]
        fm.TransferSyntaxUID = ts
        fm.ImplementationClassUID = "1.2.826.0.1.3680043.10.9999.1"  # not PHI, outside ROOT
        ds.file_meta = fm
        ds.is_little_endian, ds.is_implicit_VR = not big, implicit
        # nested name under a neutral file name (source names may hold PHI; these don't)
        d = os.path.join(root, f"p{it['pat']}", f"s{it['study']}")
        os.makedirs(d, exist_ok=True)
        it["path"] = os.path.join(d, f"i{i:02d}.dcm")
        ds.save_as(it["path"], write_like_original=False)
        it["pixels"] = bytes(pix)
    return g, insts


def build_guide_sample(root):
    """The guide's recurseTag sample (PhysiciansReadingStudyIdentificationSequence), with native pixels."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = "1111111"
    ds.SOPInstanceUID = "2222222"
    ds.StudyInstanceUID = "3333333"
    ds.SeriesInstanceUID = "4444444"
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.NumberOfFrames = "1"
    ds.Rows = ds.Columns = 4
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    items = []
    for n in (1, 2):
        pi = Dataset()
        pi.CodeValue = f"CodeValue{n}"
        pi.CodingSchemeDesignator = f"CodingSchemeDesignator{n}"
        outer = Dataset()
        outer.PersonIdentificationCodeSequence = Sequence([pi])
        items.append(outer)
    ds.PhysiciansReadingStudyIdentificationSequence = Sequence(items)
    ds.PixelData = bytes(range(48))
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = "1111111"
    fm.MediaStorageSOPInstanceUID = "2222222"
    fm.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    ds.file_meta = fm
    ds.is_little_endian, ds.is_implicit_VR = True, False
    os.makedirs(root, exist_ok=True)
    ds.save_as(os.path.join(root, "guide.dcm"), write_like_original=False)


# ------------------------------------------------------------------------------------------------------------
# Running the CLI
def run_cli(cfg, key_file, src, dst, report, jobs):
    cmd = [DV_BIN, "deidentify", "--config", cfg, "--key-file", key_file, "--jobs", str(jobs),
           "--report", report, "--quiet", src, dst]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return p, cmd


# ------------------------------------------------------------------------------------------------------------
# Comparison of one input instance with its output
class Ctx:
    def __init__(self, key, path):
        self.key = key
        self.path = path
        self.uid_pairs = []  # (in_uid, out_uid, where)


def is_empty(o):
    return (len(o.items) == 0) if (o.is_sq and not o.un_sq) else len(o.value or b"") == 0


def is_dummy_scalar(o, lvr):
    v = o.value or b""
    if lvr in TEXT_VRS:
        return v.rstrip(b" \0") == b"PLACEHOLDER"
    if lvr in DUMMY:
        return v.rstrip(b" \0") == DUMMY[lvr]
    if lvr in BIN_NUM:
        return len(v) > 0 and not any(v)
    if lvr in BULK:
        return len(v) == 0
    return False


def uid_regen_ok(ie, oe, ctx, where):
    ins = [u for u in sval(ie).split("\\")]
    outs = [u for u in sval(oe).split("\\")] if oe.value else []
    if len(ins) != len(outs):
        return False
    for a, b in zip(ins, outs):
        if b != hmac_uid(a, ctx.key):
            return False
        ctx.uid_pairs.append((a.rstrip("\0 "), b, where))
    return True


def check_reset(ii, oi, ctx, where):
    """D on a sequence: every nested element reset (dummy), or at least emptied / removed / regenerated."""
    if len(ii) != len(oi):
        C.bad("a.d-sequence-reset", f"{ctx.path} {where}: {len(ii)} items in, {len(oi)} out")
        return
    for n, (a, b) in enumerate(zip(ii, oi)):
        bm = {e.tag: e for e in b}
        for ie in a:
            w = f"{where}[{n}]{tstr(ie.tag)}"
            if ie.tag >> 16 & 1:
                continue
            oe = bm.get(ie.tag)
            if oe is None:
                C.ok("a.d-sequence-reset")  # removed: nothing survives
                continue
            if ie.is_sq and not ie.un_sq:
                if oe.is_sq:
                    check_reset(ie.items, oe.items, ctx, w)
                else:
                    C.expect("a.d-sequence-reset", is_empty(oe), f"{ctx.path} {w}: SQ became non-empty non-SQ")
                continue
            lvr = ie.lvr
            if lvr == "UI":
                okv = is_empty(oe) or uid_regen_ok(ie, oe, ctx, w)
            elif lvr in CODED_VRS and code_of(ie.tag) in (None, "", "K") and oe.value == ie.value:
                # docs/decisions.md "Reset sequences keep the IOD valid": a code or count the profile itself
                # keeps (ValueType, units, GraphicDimensions) stays; no dummy would be a valid enumerated value.
                okv = True
            else:
                okv = is_empty(oe) or is_dummy_scalar(oe, lvr)
            C.expect("a.d-sequence-reset", okv,
                     f"{ctx.path} {w} inside a D sequence: {lvr} {sval(ie)!r} -> {sval(oe)!r} (not reset)")
        for t in bm:
            if t not in {e.tag for e in a} and not (t >> 16 & 1):
                C.bad("a.d-sequence-reset", f"{ctx.path} {where}[{n}]: element {tstr(t)} added")


def compare(ii, oo, ctx, where="", top=False):
    """Profile mode: the Basic profile applies to every element of this item."""
    im = {e.tag: e for e in ii}
    om = {e.tag: e for e in oo}
    for tag, ie in im.items():
        if tag >> 16 & 1:
            continue  # private: must be gone, checked globally
        w = f"{where}{tstr(tag)}"
        oe = om.get(tag)
        code = code_of(tag)
        if code is None:
            # kept attribute
            if oe is None and (tag & 0xFF010000) == 0x60000000 and not where:
                # docs/decisions.md "Overlays": the Overlay Plane module goes with its OverlayData (X, Type 1)
                C.ok("b.overlay-module-removed")
                continue
            if oe is None:
                C.bad("b.kept-identical", f"{ctx.path} {w} ({ie.lvr}) not in the table but deleted")
                continue
            if ie.is_sq:
                if not oe.is_sq:
                    C.bad("b.kept-identical", f"{ctx.path} {w}: kept SQ is no longer a sequence")
                    continue
                if len(ie.items) != len(oe.items):
                    C.bad("b.kept-identical", f"{ctx.path} {w}: kept SQ {len(ie.items)} items -> {len(oe.items)}")
                    continue
                C.ok("b.kept-sequences")
                for n, (a, b) in enumerate(zip(ie.items, oe.items)):
                    compare(a, b, ctx, f"{w}[{n}]")
                continue
            if tag == 0x7FE00010:
                C.expect("c.pixeldata-identical", oe.value == ie.value,
                         f"{ctx.path}: PixelData differs ({len(ie.value)} -> {len(oe.value or b'')} bytes)")
                continue
            C.expect("b.kept-identical", oe.value == ie.value,
                     f"{ctx.path} {w} ({ie.lvr}) kept attribute changed: {ie.value[:40]!r} -> "
                     f"{(oe.value or b'')[:40]!r}")
            if ie.vr == "UN" and not ie.un_sq:
                C.ok("b.kept-un-identical")
            if where:
                C.ok("b.kept-nested")
            continue
        allowed = set(code.split("/"))
        if code == "X" and tag in X_EMPTIED_BY_IOD and not where:
            allowed.add("Z")
        outcome, why = classify(ie, oe, allowed, ctx, w)
        name = f"a.{code}"
        if outcome in allowed or (outcome == "U" and "U*" in allowed):
            C.ok(name)
            if where:
                C.ok("a.nested")
        else:
            C.bad(name, f"{ctx.path} {w} {NAMES.get(tag, '')} code {code}: {why}")
    for tag in om:
        if tag in im or (tag >> 16 & 1):
            continue
        if top and tag in ALLOWED_ADDED_TOP:
            continue
        C.bad("b.nothing-added", f"{ctx.path} {where}{tstr(tag)} added by the engine")


def classify(ie, oe, allowed, ctx, w):
    if oe is None:
        return "X", "deleted"
    lvr = ie.lvr
    if ie.is_sq:
        if not oe.is_sq:
            return ("Z", "") if is_empty(oe) else (None, "SQ replaced by a non-empty non-sequence")
        if len(oe.items) == 0:
            return "Z", ""
        if "U*" in allowed:
            if len(oe.items) != len(ie.items):
                return None, f"recursed SQ item count {len(ie.items)} -> {len(oe.items)}"
            for n, (a, b) in enumerate(zip(ie.items, oe.items)):
                compare(a, b, ctx, f"{w}[{n}]")
            return "U*", ""
        if "D" in allowed:
            check_reset(ie.items, oe.items, ctx, w)
            return "D", ""
        return None, f"sequence kept with {len(oe.items)} items"
    if is_empty(oe) and not allowed & {"Z", "X"} and not (lvr in BULK and "D" in allowed) \
            and not (ie.vr == "UN" and "U" in allowed):
        return "Z", f"emptied, but code {'/'.join(sorted(allowed))} does not allow an empty value"
    if is_empty(oe):
        if lvr in BULK and "D" in allowed:
            return "D", ""  # the D dummy of OB/OW/UN is the empty value (DECISIONS 4)
        if ie.vr == "UN" and "U" in allowed:
            return "U", ""  # UN-encoded UID emptied: tolerated (nothing survives)
        return "Z", ""
    if lvr == "UI":
        if uid_regen_ok(ie, oe, ctx, w):
            return ("U" if "U" in allowed else "D"), ""
        return None, f"UID {sval(ie)!r} -> {sval(oe)!r} (not the HMAC regeneration)"
    if is_dummy_scalar(oe, lvr):
        return "D", ""
    if ie.vr == "UN" and oe.vr not in (None, "UN") and is_dummy_scalar(oe, oe.vr):
        return "D", ""
    same = oe.value == ie.value
    return None, (f"value SURVIVED: {sval(ie)[:60]!r}" if same else
                  f"{lvr} {sval(ie)[:40]!r} -> {sval(oe)[:40]!r} is not a {'/'.join(sorted(allowed))} result")


UID_RE = dvcheck.UID_RE


def uid_valid(u):
    return 0 < len(u) <= 64 and bool(UID_RE.match(u))


# ------------------------------------------------------------------------------------------------------------
def main():
    print(f"test_privacy: DV_BIN={DV_BIN}\n  table={TABLE_CSV}")
    if not (os.path.isfile(DV_BIN) and os.access(DV_BIN, os.X_OK)):
        print(f"FAIL: dicomveil binary not found at {DV_BIN}")
        return 1
    load_ps36()
    load_table()
    base = os.environ.get("DV_BUILD_DIR")
    tmp = tempfile.mkdtemp(prefix="dv_privacy_", dir=base if base and os.path.isdir(base) else None)
    try:
        return run(tmp)
    finally:
        if os.environ.get("DV_KEEP_TMP"):
            print(f"(kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def outputs_of(dst):
    res = {}
    for r, _, fs in os.walk(dst):
        for f in fs:
            p = os.path.join(r, f)
            res[os.path.relpath(p, dst)] = p
    return res


def run(tmp):
    src = os.path.join(tmp, "in")
    g, insts = build_corpus(src)
    print(f"  generated {len(insts)} instances, {len(g.markers)} marker strings, {len(g.uids)} planted UIDs")
    for it in insts:
        assert not MARKER_RE.search(it["pixels"]) and ROOT.encode() not in it["pixels"]
        _, ids, its, _ = parse_file(it["path"])
        assert its == it["ts"], f"generator: {it['path']} written as {its}, not {it['ts']}"
        if it["un_ok"]:
            un = [e for e, _ in walk(ids) if e.vr == "UN" and not (e.tag >> 16 & 1)]
            assert len(un) >= 7 and any(e.un_sq for e in un), f"generator: UN elements not written as UN: {len(un)}"
    cfg = os.path.join(tmp, "config.json")
    with open(cfg, "w") as f:
        f.write("{}")
    ka, kb = os.path.join(tmp, "keyA"), os.path.join(tmp, "keyB")
    with open(ka, "wb") as f:
        f.write(KEY_A)
    with open(kb, "wb") as f:
        f.write(KEY_B)
    os.chmod(ka, 0o600)
    os.chmod(kb, 0o600)
    runs = {}
    for name, key, jobs in (("A1", ka, 1), ("A2", ka, 2), ("B", kb, 1)):
        dst = os.path.join(tmp, "out" + name)
        rep = os.path.join(tmp, f"report{name}.json")
        p, cmd = run_cli(cfg, key, src, dst, rep, jobs)
        print(f"  run {name}: exit {p.returncode}: {' '.join(cmd)}")
        if p.stderr.strip():
            print("    stderr: " + p.stderr.strip().replace("\n", "\n    ")[:2000])
        C.expect("run.exit-0", p.returncode == 0, f"run {name}: exit code {p.returncode}")
        C.expect("run.no-sanitizer-report", "Sanitizer" not in p.stderr and "runtime error:" not in p.stderr,
                 f"run {name}: sanitizer report on stderr")
        try:
            with open(rep) as f:
                report = json.load(f)
            st = Counter(x.get("status") for x in report.get("instances", []))
            C.expect("run.report-all-ok", st.get("ok", 0) == len(insts) and sum(st.values()) == len(insts),
                     f"run {name}: report statuses {dict(st)} for {len(insts)} inputs")
        except (OSError, ValueError) as e:
            C.bad("run.report-all-ok", f"run {name}: report unreadable: {e}")
        runs[name] = dst

    outA = outputs_of(runs["A1"])
    C.expect("run.one-output-per-input", len(outA) == len(insts), f"{len(outA)} outputs for {len(insts)} inputs")

    # Map every input to its output (layout DST/<study>/<series>/<sop>.dcm with HMAC UIDs)
    parsed = {}
    for it in insts:
        rel = os.path.join(hmac_uid(it["study_uid"], KEY_A), hmac_uid(it["series_uid"], KEY_A),
                           hmac_uid(it["sop"], KEY_A) + ".dcm")
        if not C.expect("d.layout", rel in outA, f"{it['path']}: expected output {rel} missing"):
            continue
        try:
            parsed[it["idx"]] = (parse_file(it["path"]), parse_file(outA[rel]), outA[rel])
        except Exception as e:  # noqa: BLE001 - any parse failure is a finding
            C.bad("run.output-parses", f"{outA[rel]}: {e}")
    if not parsed:
        return report_and_exit()

    # (a)(b)(c) element-by-element comparison; collect UID pairs
    all_pairs = []
    for it in insts:
        if it["idx"] not in parsed:
            continue
        (imeta, ids, its, _), (ometa, ods, ots, obuf), opath = parsed[it["idx"]]
        ctx = Ctx(KEY_A, os.path.relpath(it["path"], src))
        compare(ids, ods, ctx, top=True)
        all_pairs += ctx.uid_pairs
        # transfer syntax preserved
        C.expect("g.transfer-syntax-kept", its == ots, f"{ctx.path}: TS {its} -> {ots}")
        # no private element anywhere
        npriv_in = sum(1 for e, _ in walk(ids) if e.tag >> 16 & 1)
        npriv_out = [tstr(e.tag) for e, _ in walk(ods) if e.tag >> 16 & 1]
        C.expect("a.private-deleted", npriv_in > 0 and not npriv_out,
                 f"{ctx.path}: {len(npriv_out)} private elements remain ({', '.join(npriv_out[:8])}), "
                 f"{npriv_in} in input")
        # no planted marker or original UID anywhere in the output bytes
        with open(opath, "rb") as f:
            raw = f.read()
        hits = sorted({m.decode() for m in MARKER_RE.findall(raw)})
        hits += sorted({m.decode() for m in MARKER_RE.findall(obuf)} - set(hits))  # deflated content
        C.expect("a.no-marker-in-bytes", not hits, f"{ctx.path}: planted PHI in output bytes: {hits[:10]}")
        left = sorted({m.decode() for m in re.findall(re.escape(ROOT.encode()) + rb"[0-9.]*", raw + obuf)})
        C.expect("a.no-original-uid-in-bytes", not left,
                 f"{ctx.path}: original UIDs survive in the output bytes: {left[:6]}")
        # (f) UID syntax, everywhere incl. file meta
        for e, _ in list(walk(ometa)) + list(walk(ods)):
            if e.is_sq or e.tag >> 16 & 1:
                continue
            if (e.vr or dict_vr(e.tag)) == "UI" and e.value:
                for u in sval(e).split("\\"):
                    C.expect("f.uid-valid", uid_valid(u), f"{ctx.path} {tstr(e.tag)}: invalid UID {u!r}")
        # (g) file meta
        mm = {e.tag: sval(e) for e in ometa}
        dd = {e.tag: e for e in ods}
        C.expect("g.meta-sop-instance", mm.get(0x00020003) == sval(dd[0x00080018]) if 0x00080018 in dd else False,
                 f"{ctx.path}: MediaStorageSOPInstanceUID {mm.get(0x00020003)} != SOPInstanceUID")
        C.expect("g.meta-sop-class", mm.get(0x00020002) == sval(dd[0x00080016]) if 0x00080016 in dd else False,
                 f"{ctx.path}: MediaStorageSOPClassUID {mm.get(0x00020002)} != SOPClassUID")
        # (h) markers
        C.expect("h.patient-identity-removed", 0x00120062 in dd and sval(dd[0x00120062]) == "YES",
                 f"{ctx.path}: (0012,0062) missing or not YES")
        C.expect("h.deid-method", 0x00120063 in dd and len(sval(dd[0x00120063])) > 0,
                 f"{ctx.path}: (0012,0063) missing/empty")
        codes = []
        if 0x00120064 in dd and dd[0x00120064].is_sq:
            codes = [(sval(get(x, 0x00080100)) if get(x, 0x00080100) else "",
                      sval(get(x, 0x00080102)) if get(x, 0x00080102) else "") for x in dd[0x00120064].items]
        C.expect("h.deid-method-codes", ("113100", "DCM") in codes,
                 f"{ctx.path}: (0012,0064) lacks (113100, DCM): {codes}")

    # (d) grouping and references
    out_uids = {}
    for it in insts:
        if it["idx"] not in parsed:
            continue
        ods = parsed[it["idx"]][1][1]
        out_uids[it["idx"]] = {k: sval(get(ods, t)) if get(ods, t) else None for k, t in
                               (("sop", 0x00080018), ("study_uid", 0x0020000D), ("series_uid", 0x0020000E),
                                ("for_uid", 0x00200052))}
    for kind in ("study_uid", "series_uid", "for_uid"):
        for a in insts:
            for b in insts:
                if a["idx"] >= b["idx"] or a["idx"] not in out_uids or b["idx"] not in out_uids:
                    continue
                same_in = a[kind] == b[kind]
                same_out = out_uids[a["idx"]][kind] == out_uids[b["idx"]][kind]
                C.expect("d.grouping", same_in == same_out,
                         f"{kind}: inputs {a['idx']},{b['idx']} same={same_in} but outputs same={same_out}")
    for it in insts:
        if it["idx"] in out_uids:
            for kind in ("sop", "study_uid", "series_uid", "for_uid"):
                C.expect("d.hmac-formula", out_uids[it["idx"]][kind] == hmac_uid(it[kind], KEY_A),
                         f"instance {it['idx']} {kind}: {out_uids[it['idx']][kind]} != HMAC formula")
    target = {}
    for it in insts:
        if it["idx"] in out_uids:
            for kind in ("sop", "study_uid", "series_uid", "for_uid"):
                target[it[kind]] = out_uids[it["idx"]][kind]
    nref = Counter()
    primary = {"(0008,0018)", "(0020,000D)", "(0020,000E)", "(0020,0052)"}
    for a, b, where in all_pairs:
        if a in target:
            last = where[-11:]
            if where in primary:
                continue
            nref[last] += 1
            C.expect("d.references", b == target[a],
                     f"reference {where}: {a} -> {b}, but the referenced object is {target[a]}")
    print(f"  references checked by tag: {dict(nref)}")
    C.expect("d.reference-kinds", len(nref) >= 4, f"only {len(nref)} kinds of references were seen: {dict(nref)}")

    # (e) determinism and key dependence
    outA2, outB = outputs_of(runs["A2"]), outputs_of(runs["B"])
    C.expect("e.same-key-same-files", set(outA) == set(outA2),
             f"file sets differ between --jobs 1 and --jobs 2: {sorted(set(outA) ^ set(outA2))[:4]}")
    for rel in set(outA) & set(outA2):
        with open(outA[rel], "rb") as f1, open(outA2[rel], "rb") as f2:
            C.expect("e.same-key-same-bytes", f1.read() == f2.read(), f"{rel}: differs between two runs")
    C.expect("e.other-key-other-paths", not (set(outA) & set(outB)) and len(outB) == len(outA),
             f"key B shares {len(set(outA) & set(outB))} output paths with key A ({len(outB)} outputs)")
    for rel, p in outB.items():
        try:
            _, ods, _, _ = parse_file(p)
        except Exception as e:  # noqa: BLE001
            C.bad("e.other-key-other-uids", f"{p}: {e}")
            continue
        sop = sval(get(ods, 0x00080018))
        src_it = next((it for it in insts if hmac_uid(it["sop"], KEY_B) == sop), None)
        if not C.expect("e.other-key-other-uids", src_it is not None, f"{rel}: SOP {sop} is not HMAC(key B)"):
            continue
        for kind, t in (("study_uid", 0x0020000D), ("series_uid", 0x0020000E), ("for_uid", 0x00200052)):
            v = sval(get(ods, t))
            C.expect("e.other-key-other-uids", v == hmac_uid(src_it[kind], KEY_B) and v != hmac_uid(src_it[kind], KEY_A),
                     f"{rel}: {kind} {v} not HMAC(key B) / equal to key A's")

    # pydicom must read every output back, including all nested values
    for rel, p in outA.items():
        try:
            ds = pydicom.dcmread(p)
            for e in ds.iterall():
                _ = e.value
            C.ok("run.pydicom-reads-output")
        except Exception as e:  # noqa: BLE001
            C.bad("run.pydicom-reads-output", f"{rel}: {type(e).__name__}: {e}")

    # (i) the guide's recurseTag sample
    guide_check(tmp)
    return report_and_exit()


def guide_check(tmp):
    gsrc = os.path.join(tmp, "guide_in")
    build_guide_sample(gsrc)
    cfg = os.path.join(tmp, "guide.json")
    with open(cfg, "w") as f:
        json.dump({"dicomTagConfig": {"actions": [{"queries": ["PhysiciansReadingStudyIdentificationSequence"],
                                                   "recurseTag": {}}]}}, f)
    key = os.path.join(tmp, "keyA")
    dst = os.path.join(tmp, "guide_out")
    p, cmd = run_cli(cfg, key, gsrc, dst, os.path.join(tmp, "guide_report.json"), 1)
    if not C.expect("i.guide-recurse-sample", p.returncode == 0, f"guide sample: exit {p.returncode}: {p.stderr[:500]}"):
        return
    outs = list(outputs_of(dst).values())
    if not C.expect("i.guide-recurse-sample", len(outs) == 1, f"guide sample: {len(outs)} outputs"):
        return
    ds = pydicom.dcmread(outs[0])
    seq = ds.get("PhysiciansReadingStudyIdentificationSequence")
    vals = []
    if seq is not None:
        for item in seq:
            for inner in item.get("PersonIdentificationCodeSequence", []):
                vals.append((str(inner.get("CodeValue")), str(inner.get("CodingSchemeDesignator"))))
    C.expect("i.guide-recurse-sample", vals == [("PLACEHOLDER", "PLACEHOLDER")] * 2,
             f"guide sample: nested codes {vals}, expected PLACEHOLDER x2 (guide, RecurseTag section)")
    C.expect("i.guide-recurse-sample", str(ds.SOPInstanceUID) == hmac_uid("2222222", KEY_A),
             f"guide sample: SOPInstanceUID {ds.SOPInstanceUID} != HMAC('2222222')")


def report_and_exit():
    required = ["a.X", "a.Z", "a.D", "a.U", "a.nested", "a.d-sequence-reset", "a.private-deleted",
                "a.no-marker-in-bytes", "a.no-original-uid-in-bytes", "b.kept-identical", "b.kept-nested",
                "b.kept-sequences", "b.kept-un-identical", "c.pixeldata-identical", "d.grouping",
                "d.references", "d.hmac-formula", "e.same-key-same-bytes", "e.other-key-other-uids",
                "f.uid-valid", "g.meta-sop-instance", "g.meta-sop-class", "h.patient-identity-removed",
                "h.deid-method", "h.deid-method-codes", "i.guide-recurse-sample"]
    return C.report("test_privacy", required, 15)


if __name__ == "__main__":
    sys.exit(main())
