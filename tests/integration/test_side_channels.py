#!/usr/bin/python3
"""Side channels carry no PHI (the canary test): tag values and PHI-bearing paths may be in the de-identified
outputs (audited by the engine and by test_privacy.py) and in the files the user asked to hold PHI (--mapping,
--preview; not used here), and nowhere else: not on stdout or stderr, in the --report file, the --resume
journal, the server's log, an operation record, an operation's error log or an error body.

A corpus is generated in a temp dir (never committed): ~30 instances whose PHI attributes carry distinctive
canary strings (QZXPHI + 6 digits: PatientName, PatientID, OtherPatientIDs, AccessionNumber, InstitutionName,
ReferringPhysicianName, StudyDescription, ImageComments "seen by ...", a private element) and whose UIDs live
under a canary root (1.2.826.0.1.3680043.9.7777), plus the error paths: a file truncated mid-element after
PatientName, element lengths overrunning the file (StudyDescription, PatientName), a non-DICOM text file, a DA
and a UID that are no valid values, a SOPInstanceUID with a canary in it and one over 64 characters, an unknown
character set, invalid UTF-8 and an unknown ISO 2022 escape, a private creator carrying a canary, a DICOMDIR,
file and directory names carrying canaries (one not UTF-8), a duplicate SOPInstanceUID with other bytes,
PixelData too short for Rows x Columns, canaries burned into the pixels, junk "codestreams" of four transfer
syntaxes, a Pillow JPEG with COM/EXIF canaries and JPEG / JPEG 2000 codestreams cut short, a corrupt deflate
stream, and inputs over --max-metadata / --max-depth.

Driven: `deidentify` with six configs (profiles, cleanImage) at --jobs 1 and 2, --mapping, the limits, a
progress bar on a pty, a --resume run SIGKILLed midway and resumed; `serve` with STOW (broken parts, a duplicate,
a study mismatch), two datasets.deidentify (failures in their error logs), :import of the folder with canary
names, operation get/list/errors, failing requests naming canaries (QIDO values, UIDs in the path, filter files,
the extension endpoints). Captured: stdout, stderr, the report, the journal and lock, DST's file names, the
server's stderr (access and event log), every answer above, DATA/boxes and DATA/marks, the operation rows of
DATA/index.sqlite (operations, op_items; not the QIDO index, which holds PHI by design; an item of the deleted
source store may name no UID), and the TMPDIR the processes were given. test_side_channels_more.py runs the same
search on `deidentify --mpi` under mpirun and on this server sequence with a PostgreSQL index (run_server's pg).

Each captured byte stream is searched for every canary (case-insensitively, as UTF-8 and UTF-16LE, hex, after
undoing JSON \\u / \\x escapes and percent-encoding) and for the canary UID root; a JSON stream is also
decoded and every string in it searched by its JSON path. Every check counts what it looked at and fails on
nothing looked at; the search itself is tested first (self_test), and positive controls show it finding the
canaries where they belong (KEEP_ALL outputs, the --mapping crosswalk).

ALLOWED below is the whole allow-list: each entry is one channel, one field and one kind of value, with its
reason; a reason starting "FINDING:" is a leak this test found that awaits the product owner's decision.
Env (set by ctest): DV_BIN, DV_SHARED_DATA, DV_SOURCE_DIR, DV_BUILD_DIR. Run with /usr/bin/python3.
"""
import http.client
import io
import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, "/usr/lib/python3/dist-packages")
import test_server as ts  # noqa: E402  (Server, json_call, multipart_related: one home)

from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.sequence import Sequence  # noqa: E402
from pydicom.encaps import encapsulate  # noqa: E402
from pydicom.uid import (DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian, JPEG2000Lossless,  # noqa: E402
                         JPEGBaseline8Bit, JPEGLSLossless, RLELossless)
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

warnings.simplefilter("ignore")  # pydicom warns about the invalid values planted on purpose
BIN = ts.BIN
ROOT = "1.2.826.0.1.3680043.9.7777."  # the canary UID root: every source UID is under it
ROOT_MARK = "3680043.9.7777"  # what is searched (a UID cut at its start still shows it)
CANARY = "QZXPHI"
# Canaries that are in a file or directory NAME only (never in a tag value): the report may name them (ALLOWED).
PATH_CANARIES = set()

fails = []
looked = {}  # kind of check -> how many streams / values it searched


def check(cond, msg):
    if not cond:
        fails.append(msg)
        print("FAIL:", msg, file=sys.stderr)
    return cond


# ---------------------------------------------------------------- the corpus

_serial = [100000]


def canary(tag=""):
    """A new canary value: QZXPHI + 6 digits, unique in the run (a substring search has no false hit), then
    tag (never a digit): the token a hit is compared by is QZXPHI and its digits."""
    _serial[0] += 1
    return CANARY + str(_serial[0]) + tag


def instance(n, study, series, rows=0, pixels=None, cols=0, **attrs):
    """An Explicit VR LE Secondary Capture with canaries in every PHI attribute of the brief; UIDs under ROOT."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = ROOT + "3.%d" % n
    ds.StudyInstanceUID = ROOT + "1.%d" % study
    ds.SeriesInstanceUID = ROOT + "2.%d" % series
    ds.FrameOfReferenceUID = ROOT + "4.%d" % study
    ds.StudyDate, ds.StudyTime, ds.Modality = "20200102", "101010", "OT"
    ds.PatientName = canary() + "^" + canary()
    ds.PatientID = canary()
    ds.OtherPatientIDs = [canary(), canary()]
    ds.AccessionNumber = canary()
    ds.InstitutionName = canary() + " Hospital"
    ds.ReferringPhysicianName = canary() + "^Dr"
    ds.StudyDescription = canary() + " chest"
    ds.ImageComments = "seen by " + canary() + " at noon"
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    ref.ReferencedSOPInstanceUID = ROOT + "5.%d" % n
    ds.ReferencedStudySequence = Sequence([ref])
    block = ds.private_block(0x0011, "QZXTEST 1.0", create=True)
    block.add_new(0x01, "LO", canary())
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", "1", str(n)
    for k, v in attrs.items():
        setattr(ds, k, v)
    if rows:
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = rows, cols or rows
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.PixelData = pixels if pixels is not None else bytes((i * 7 + n) % 256 for i in range(rows * ds.Columns))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.preamble = b"\0" * 128
    return ds


def to_bytes(ds):
    buf = io.BytesIO()
    ds.save_as(buf, write_like_original=False)
    return buf.getvalue()


def element_at(b, group, elem, vr):
    """Offset of an Explicit VR LE top-level element header (tag + VR) in b (the first one)."""
    i = b.find(struct.pack("<HH", group, elem) + vr.encode(), 132)
    assert i > 0, "element (%04x,%04x) not found" % (group, elem)
    return i


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").write(data)


def make_corpus(src):
    """SRC with 3 studies of good instances and every error path of the brief; returns what was made."""
    made = {"good": [], "broken": [], "pixels_short": None}
    n = 0
    for study in range(3):
        for series in range(2):
            for _ in range(4):
                n += 1
                ds = instance(n, study, study * 10 + series, rows=16 if n % 3 == 0 else 0)
                made["with_pixels"] = made.get("with_pixels", 0) + (n % 3 == 0)
                p = os.path.join(src, "s%d" % study, "x%d" % series, "i%03d.dcm" % n)
                write(p, to_bytes(ds))
                made["good"].append(p)
    # A file and a directory whose NAMES carry canaries (valid instances inside; one name not UTF-8).
    cn, cd, cx = canary("_smith"), canary("_jones"), canary("_")
    PATH_CANARIES.update({cn[:12], cd[:12], cx[:12]})
    n += 1
    p = os.path.join(src, cn + ".dcm")
    write(p, to_bytes(instance(n, 5, 50)))
    made["good"].append(p)
    n += 1
    p = os.path.join(src, cd, "a.dcm")
    write(p, to_bytes(instance(n, 5, 50)))
    made["good"].append(p)
    # ---- the broken ones ----
    n += 1
    b = to_bytes(instance(n, 6, 60))
    cut = element_at(b, 0x0010, 0x0020, "LO") + 8 + 3  # inside PatientID's value, after PatientName
    p = os.path.join(src, "broken", "truncated.dcm")
    write(p, b[:cut])
    made["broken"].append(p)
    n += 1
    b = bytearray(to_bytes(instance(n, 6, 60)))
    i = element_at(b, 0x0008, 0x1030, "LO")  # StudyDescription: its 2-byte length made to run past the end
    b[i + 6:i + 8] = struct.pack("<H", 0xFFF0)
    p = os.path.join(src, "broken", "overrun.dcm")
    write(p, bytes(b))
    made["broken"].append(p)
    n += 1
    b = bytearray(to_bytes(instance(n, 6, 60)))
    i = element_at(b, 0x0010, 0x0010, "PN")  # PatientName's own length past the end
    b[i + 6:i + 8] = struct.pack("<H", 0xFFF0)
    p = os.path.join(src, "broken", "overrun_pn.dcm")
    write(p, bytes(b))
    made["broken"].append(p)
    n += 1
    p = os.path.join(src, "broken", "notes.dcm")  # no DICOM at all, but full of PHI
    write(p, ("Patient %s, MRN %s, referred by %s\n" % (canary(), canary(), canary())).encode() * 20)
    made["broken"].append(p)
    n += 1
    p = os.path.join(src, cd, "cut_" + cx).encode() + b"\xff.dcm"  # a broken file under both canary names
    write(p, to_bytes(instance(n, 6, 60))[:300])
    made["broken"].append(p)
    n += 1
    # a value that is no valid DA, and a UID value with a canary in it (invalid characters)
    ds = instance(n, 6, 61, StudyDate=canary(), PatientBirthDate=canary())
    ds.ReferencedStudySequence[0].ReferencedSOPInstanceUID = ROOT + "5." + canary()
    p = os.path.join(src, "odd", "bad_values.dcm")
    write(p, to_bytes(ds))
    made["odd"] = p
    n += 1
    ds = instance(n, 6, 61, SpecificCharacterSet=canary())  # an unknown character set term
    p = os.path.join(src, "odd", "bad_charset.dcm")
    write(p, to_bytes(ds))
    made["charset"] = p
    # a SOPInstanceUID that is no valid UID (a canary in it), one longer than 64 characters, a private creator
    # carrying a canary
    n += 1
    ds = instance(n, 6, 62)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = ROOT + "3." + canary()
    p = os.path.join(src, "odd", "bad_sop_uid.dcm")
    write(p, to_bytes(ds))
    made["bad_uid"] = p
    n += 1
    ds = instance(n, 6, 62)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = ROOT + "3." + "1234567890" * 5
    p = os.path.join(src, "odd", "long_sop_uid.dcm")
    write(p, to_bytes(ds))
    made["long_uid"] = p
    n += 1
    ds = instance(n, 6, 62)
    ds.private_block(0x0013, canary("CORP"), create=True).add_new(0x10, "LO", canary())
    p = os.path.join(src, "odd", "creator.dcm")
    write(p, to_bytes(ds))
    # a DICOMDIR (skipped by the CLI) whose records name a patient and files by canary names
    n += 1
    dd = instance(n, 6, 63)
    rec = Dataset()
    rec.DirectoryRecordType, rec.PatientName, rec.PatientID = "PATIENT", canary(), canary()
    rec.ReferencedFileID = ["DIR", canary()]
    dd.DirectoryRecordSequence = Sequence([rec])
    dd.SOPClassUID = dd.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
    p = os.path.join(src, "odd", "DICOMDIR")
    write(p, to_bytes(dd))
    # values that do not decode in their character set: invalid UTF-8 under ISO_IR 192, an unknown ISO 2022
    # escape (the text stage and the mapping decode values: their error paths)
    n += 1
    ds = instance(n, 6, 64, SpecificCharacterSet="ISO_IR 192")
    ds.add_new(0x00204000, "LT", ("bad %s " % canary()).encode() + b"\xff\xfe" + canary().encode())
    ds.add_new(0x00100010, "PN", canary().encode() + b"\xc3^" + canary().encode())
    write(os.path.join(src, "odd", "bad_utf8.dcm"), to_bytes(ds))
    n += 1
    ds = instance(n, 6, 64, SpecificCharacterSet=["", "ISO 2022 IR 87"])
    ds.add_new(0x00100010, "PN", b"\x1b$Z" + canary().encode() + b"^\x1b(B" + canary().encode())
    write(os.path.join(src, "odd", "bad_iso2022.dcm"), to_bytes(ds))
    # a duplicate SOPInstanceUID with other bytes (another PatientName)
    dup = instance(1, 0, 0)
    p = os.path.join(src, "dup", "dup_of_1.dcm")
    write(p, to_bytes(dup))
    made["dup"] = p
    # pixel data too short for Rows x Columns: the pixel stage must fail (under cleanImage)
    n += 1
    p = os.path.join(src, "pix", "short.dcm")
    write(p, to_bytes(instance(n, 7, 70, rows=64, pixels=bytes(100))))
    made["pixels_short"] = p
    # burned-in text: canaries drawn into the pixels (OCR reads them under cleanImage; what it reads must stay in)
    n += 1
    im = Image.new("L", (320, 64), 0)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf", 22)
    ImageDraw.Draw(im).text((10, 18), canary() + " SMITH", font=font, fill=255)
    p = os.path.join(src, "pix", "burned.dcm")
    write(p, to_bytes(instance(n, 7, 71, rows=64, cols=320, pixels=im.tobytes(), BurnedInAnnotation="YES")))
    made["burned"] = p
    # compressed pixel data that is no codestream at all but text with canaries: every decoder's error path
    for ts in (JPEGBaseline8Bit, JPEG2000Lossless, JPEGLSLossless, RLELossless):
        n += 1
        ds = instance(n, 7, 72, rows=16)
        junk = ("junk %s %s " % (canary(), canary())).encode()
        if ts == JPEGBaseline8Bit:  # a JPEG start, then text in a COM-like run: libjpeg reads past the SOI
            junk = b"\xff\xd8\xff\xfe\x00\x20" + junk
        ds.PixelData = encapsulate([junk + bytes(len(junk) % 2)])
        ds["PixelData"].VR, ds["PixelData"].is_undefined_length = "OB", True
        ds.file_meta.TransferSyntaxUID = ts
        p = os.path.join(src, "pix", "junk_%s.dcm" % ts)
        write(p, to_bytes(ds))
        made.setdefault("codestreams", []).append(p)
    # real codestreams made by Pillow: a JPEG carrying canaries in a COM segment and an EXIF Artist (the engine
    # blanks them in the output), the same cut short inside its scan, and a JPEG 2000 codestream cut short: the
    # decoders' own error paths (libjpeg, OpenJPEG) under cleanImage
    gray = Image.frombytes("L", (64, 64), bytes((x * 37 + y * 11 + (x * y) % 7) % 256 for y in range(64)
                                                 for x in range(64)))
    exif = Image.Exif()
    exif[0x013B] = canary() + " artist"
    buf = io.BytesIO()
    gray.save(buf, "JPEG", quality=95, comment=("by " + canary()).encode(), exif=exif.tobytes())
    jpeg = buf.getvalue()
    buf = io.BytesIO()
    gray.save(buf, "JPEG2000", no_jp2=True, irreversible=False)
    j2k = buf.getvalue()
    for name, ts, cs in (("jpeg_ok", JPEGBaseline8Bit, jpeg), ("jpeg_cut", JPEGBaseline8Bit, jpeg[:-200] + b"\xff\xd9"),
                         ("j2k_cut", JPEG2000Lossless, j2k[: len(j2k) * 2 // 3] + b"\xff\xd9")):
        n += 1
        ds = instance(n, 7, 74, rows=64)
        ds.PixelData = encapsulate([cs + bytes(len(cs) % 2)])
        ds["PixelData"].VR, ds["PixelData"].is_undefined_length = "OB", True
        ds.file_meta.TransferSyntaxUID = ts
        p = os.path.join(src, "pix", name + ".dcm")
        write(p, to_bytes(ds))
        made.setdefault("codecs", []).append(p)
    # a Deflated Explicit VR LE file whose deflate stream is text with canaries
    n += 1
    ds = instance(n, 7, 73)
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    b = to_bytes(ds)
    meta_end = 144 + struct.unpack("<I", b[140:144])[0]
    p = os.path.join(src, "pix", "deflate_junk.dcm")
    write(p, b[:meta_end] + ("inflate me %s %s\n" % (canary(), canary())).encode() * 4)
    made["broken"].append(p)
    made["n"] = n
    return made


def make_limits(d, base):
    """Inputs over the run's limits (limit errors): metadata over --max-metadata 1M (200 items of 8 KB text),
    sequences nested past --max-depth 4 with PHI at the bottom."""
    ds = instance(base, 9, 90)
    items = []
    for _ in range(200):  # values over 16 KiB are streamed, not held: many 8 KB ones are
        it = Dataset()
        it.TextValue = (canary() + " ") * 700
        items.append(it)
    ds.ContentSequence = Sequence(items)
    write(os.path.join(d, "big.dcm"), to_bytes(ds))
    ds = instance(base + 1, 9, 90)
    inner = Dataset()
    inner.PatientName, inner.CodeMeaning = canary(), canary()
    for _ in range(8):
        outer = Dataset()
        outer.ContentSequence = Sequence([inner])
        outer.CodeValue = canary()
        inner = outer
    ds.ContentSequence = Sequence([inner])
    write(os.path.join(d, "deep.dcm"), to_bytes(ds))


def fillers(dst, count, base):
    """count more small instances (pixels, canaries) so a run lasts long enough to be killed midway."""
    for k in range(count):
        write(os.path.join(dst, "f%04d.dcm" % k), to_bytes(instance(base + k, 8, 80, rows=64)))


# ---------------------------------------------------------------- the search

def _unescape(text):
    """JSON \\uXXXX, C \\xHH and percent escapes undone (a value escaped on its way out is still a leak)."""
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    text = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text)
    return urllib.parse.unquote(text)


def hits_in_text(text):
    """[(form, hit)] of canaries and the UID root in one decoded text."""
    out = []
    for form, t in (("text", text), ("unescaped", _unescape(text))):
        out += [(form, m.group(0)) for m in re.finditer(r"(?i)qzxphi\d*", t)]
        out += [(form, "UID root") for _ in re.finditer(re.escape(ROOT_MARK), t)]
        # hex of the canary prefix (e.g. a path's bytes printed as hex)
        out += [(form + "/hex", m.group(0)) for m in re.finditer(r"(?i)515a58504849(?:3[0-9])*", t)]
        out += [(form + "/hex", m.group(0)) for m in re.finditer(r"(?i)717a78706869", t)]
    return out


def hits_in_bytes(data):
    out = hits_in_text(data.decode("utf-8", "replace"))
    for a in (0, 1):
        u16 = data[a:]
        u16 = u16[: len(u16) // 2 * 2].decode("utf-16-le", "replace")
        out += [("utf-16le", m.group(0)) for m in re.finditer(r"(?i)qzxphi\d*", u16)]
        out += [("utf-16le", "UID root") for _ in re.finditer(re.escape(ROOT_MARK), u16)]
    return out


def json_strings(node, path=()):
    """(path, string) of every string in a decoded JSON tree; path: the object keys from the root (list
    positions left out), an object key itself is yielded with "<key>" appended."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k, "<key>"), k
            yield from json_strings(v, path + (k,))
    elif isinstance(node, list):
        for v in node:
            yield from json_strings(v, path)
    elif isinstance(node, str):
        yield path, node


def path_canary(hit):
    """True when the hit is a canary that only a file or directory name carries (in text or hex form)."""
    if re.fullmatch(r"(?i)515a58504849(3[0-9])*", hit):
        hit = bytes.fromhex(hit).decode()
    return hit.upper() in PATH_CANARIES


def uid_root(hit):
    return hit == "UID root"


# The allow-list: (channel kind, JSON path of the string, predicate on the hit, reason). Nothing else is allowed
# anywhere: a hit of another kind of value, in another field or in another channel fails.
ALLOWED = [
    # (a) PO question 3, src/cli/report.c: the CLI's --report names each source by its path, so a canary in a
    # FILE or DIRECTORY NAME may be in its "source" field (or "source_hex", the same bytes when not UTF-8).
    ("cli-report", ("instances", "source"), path_canary, "report names sources by path (report.c, PO question 3)"),
    ("cli-report", ("instances", "source_hex"), path_canary, "the same path as hex when it is not UTF-8"),
    # (b) docs/server.md "The error log": an entry names a failed de-identified instance by its source resource
    # path <store>/dicomWeb/studies/<uid>/series/<uid>/instances/<uid>: source UIDs in "resource" only.
    ("op-errors", ("entries", "resource"), uid_root, "error log names the source resource (docs/server.md)"),
    # op_items (DATA/index.sqlite, or PostgreSQL's) hold the source UIDs of a de-identify operation's items: the error log (b)
    # is built from them, and they are the keys of the source store's own index, which holds PHI by design.
    ("srv-db-study_uid", (), uid_root, "operation items name their source instance (the error log's resource)"),
    ("srv-db-series_uid", (), uid_root, "operation items name their source instance (the error log's resource)"),
    ("srv-db-sop_uid", (), uid_root, "operation items name their source instance (the error log's resource)"),
    # No entry for srv-db-gone-uid: once the source store is deleted its items' UIDs are cleared in the same
    # statement (DVS_SQL_STORE_FORGET_ITEMS), so an item of a deleted store naming one fails.
    # No entry for op_items.path: an :import's file names are cleared once it is done (dvs_sx_op_finish); the
    # database is read after every operation ended, so a name left there fails.
    # (c) PS3.18 10.5.3: a refused STOW part is answered with FailedSOPSequence > ReferencedSOPInstanceUID, the
    # UID the client itself sent, and a STOW to /studies/{uid} with the RetrieveURL of the study the client named.
    # The answer goes to the uploader only, never to a log or a record; the standard requires it.
    ("srv-stow", ("00081198", "Value", "00081155", "Value"), uid_root,
     "STOW failure answer names the refused SOPInstanceUID (PS3.18 FailedSOPSequence), to its uploader only"),
    ("srv-stow", ("00081190", "Value"), uid_root,
     "STOW to /studies/{uid} answers RetrieveURL = the study URL the client sent (PS3.18), to its uploader only"),
]


def allowed(kind, path, hit):
    return any(k == kind and path == ap and pred(hit) for k, ap, pred, _ in ALLOWED)


def find(kind, data):
    """The hits of one captured stream (bytes) that the allow-list does not allow; kind selects its entries."""
    looked[kind] = looked.get(kind, 0) + 1
    looked["bytes"] = looked.get("bytes", 0) + len(data)
    bad = []
    try:
        tree = json.loads(data) if data.strip()[:1] in (b"{", b"[") else None
    except ValueError:
        tree = None
    if tree is not None:
        for path, s in json_strings(tree):
            looked["json strings"] = looked.get("json strings", 0) + 1
            for form, hit in hits_in_text(s):
                if not allowed(kind, path, hit):
                    bad.append("%s in %s %s: %s" % (hit, form, "/".join(path), s[:160]))
                else:
                    looked["allowed " + kind] = looked.get("allowed " + kind, 0) + 1
        # the raw bytes may only hold what the decoded strings held, in an allowed place
        for form, hit in hits_in_bytes(data):
            if not any(k == kind and pred(hit) for k, _, pred, _ in ALLOWED):
                bad.append("%s in the raw bytes (%s)" % (hit, form))
    else:
        for line in data.splitlines() or [data]:
            for form, hit in hits_in_bytes(line):
                if allowed(kind, (), hit):  # a text channel's entries name the path ()
                    looked["allowed " + kind] = looked.get("allowed " + kind, 0) + 1
                else:
                    bad.append("%s (%s): %s" % (hit, form, line[:200].decode("utf-8", "replace")))
    return bad


def scan(name, kind, data):
    bad = find(kind, data)
    check(not bad, "%s: %d PHI hit(s):\n  %s" % (name, len(bad), "\n  ".join(sorted(set(bad))[:20])))
    return bad


def scan_jsonl(name, kind, data):
    """A stream of one JSON object a line (the server's log): every line searched as JSON, or as text."""
    for line in data.splitlines():
        if line.strip():
            scan(name, kind, line)
    looked[kind + " lines"] = looked.get(kind + " lines", 0) + len(data.splitlines())


def self_test():
    """The search finds what it must (a test that cannot fail is a defect): every form of a planted hit."""
    c = CANARY + "123456"
    forms = [c.encode(), c.lower().encode(), c.encode("utf-16-le"), b"x" + c.encode("utf-16-le"),
             json.dumps("\u0051ZXPHI123456").encode().replace(b"Q", b"\\u0051"), c.encode().hex().encode(),
             urllib.parse.quote("%" + c).encode().replace(b"Q", b"%51"), (ROOT + "1.2").encode(),
             (ROOT + "1").encode("utf-16-le"), b"\\x51ZXPHI1"]
    found = sum(1 for f in forms if hits_in_bytes(f))
    check(found == len(forms), "self-test: the search finds each planted form (%d of %d)" % (found, len(forms)))
    PATH_CANARIES.add("QZXPHI999999")
    rep = json.dumps({"instances": [{"source": "/x/QZXPHI999999_a.dcm", "error": "QZXPHI111111",
                                     "note": "/x/QZXPHI999999_a.dcm"}]}).encode()
    bad = find("cli-report", rep)
    check(any("QZXPHI111111 in text instances/error" in b for b in bad)
          and any("QZXPHI999999 in text instances/note" in b for b in bad)
          and not any("instances/source" in b for b in bad),
          "self-test: an attribute canary in the report's error field fails, a path canary fails outside the "
          "source field and passes in it (%s)" % bad)
    PATH_CANARIES.discard("QZXPHI999999")
    looked.clear()


# ---------------------------------------------------------------- the CLI

def no_sanitizer(label, err):
    """build-asan: a sanitizer report on stderr fails the run it came from (its exit status may not show it)."""
    check(b"Sanitizer" not in err and b"runtime error" not in err, "%s: sanitizer report: %s" % (label, err[-600:]))


def cli(args, timeout=120):
    r = subprocess.run([BIN, "deidentify", *args], capture_output=True, timeout=timeout)
    no_sanitizer("deidentify " + " ".join(args[-2:]), r.stderr)
    return r.returncode, r.stdout, r.stderr


def side_files(d):
    """{name: bytes} of every file in d (the report's directory: report, journal, lock, temp files)."""
    out = {}
    for dirpath, _, files in os.walk(d):
        for f in files:
            out[os.path.join(dirpath, f)] = open(os.path.join(dirpath, f), "rb").read()
    return out


def tree_names(d):
    """The relative paths of everything under d, one a line (names are a channel too: DST must be named by
    new UIDs and temp names only)."""
    return "\n".join(os.path.relpath(os.path.join(p, f), d) for p, ds, fs in os.walk(d) for f in ds + fs).encode()


def scan_side(label, side, report_name):
    files = side_files(side)
    check(report_name in files, "%s: the report was written (%s)" % (label, sorted(files)))
    for path, data in files.items():
        kind = "cli-report" if path == report_name else "cli-side-file"
        scan("%s: %s" % (label, os.path.basename(path)), kind, data)
    return files


def run_cli(tmp, src, made, key):
    configs = {
        "empty": {},
        "basic": {"dicomTagConfig": {"profileType": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}},
        "keepall": {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE"}},
        "contents": {"dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"}},
        "redact": {"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_ALL_TEXT"}}}},
        "sensitive": {"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_SENSITIVE_TEXT"}}}},
    }
    classes_seen = set()
    runs = 0
    for name, cfg in configs.items():
        cf = os.path.join(tmp, "cfg-%s.json" % name)
        open(cf, "w").write(json.dumps(cfg))
        for jobs in ("1", "2"):
            side = os.path.join(tmp, "side-%s-%s" % (name, jobs))
            os.makedirs(side)
            rep = os.path.join(side, "report.json")
            dst = os.path.join(tmp, "dst-%s-%s" % (name, jobs))
            rc, out, err = cli(["--config", cf, "--key-file", key, "--jobs", jobs, "--report", rep, src, dst])
            label = "cli %s --jobs %s" % (name, jobs)
            check(rc == 1, "%s: exit 1 (some inputs fail) (%d: %s)" % (label, rc, err[-300:]))
            runs += 1
            scan(label + ": stdout", "cli-stdout", out)
            scan(label + ": stderr", "cli-stderr", err)
            check(err.count(b"instance #") >= len(made["broken"]) - 1,
                  "%s: stderr has a line per failed instance (%d)" % (label, err.count(b"instance #")))
            scan_side(label, side, rep)
            scan(label + ": DST file names", "cli-dst-names", tree_names(dst))
            if name == "keepall" and jobs == "1":
                # the positive control: KEEP_ALL_PROFILE keeps the canaries in the outputs, where the search
                # must see them (a search that finds nothing in PHI-holding bytes proves nothing elsewhere)
                outs = [os.path.join(d, f) for d, _, fs in os.walk(dst) for f in fs]
                seen = sum(1 for o in outs if len(find("output", open(o, "rb").read())) >= 10)
                check(len(outs) > 20 and seen == len(outs),
                      "positive control: the search sees the canaries in every KEEP_ALL output (%d of %d)"
                      % (seen, len(outs)))
            try:
                report = json.load(open(rep))
                for it in report.get("instances", []):
                    classes_seen.add(it.get("status", "?") + "/" + str(it.get("error_class", it.get("error", ""))))
            except (OSError, ValueError):
                check(False, "%s: the report is JSON" % label)
    check(runs == 2 * len(configs), "cli: %d runs" % runs)
    # --mapping: the crosswalk holds the original UIDs and PatientIDs by design (not a side channel: the second
    # positive control), everything else of that run must not
    side = os.path.join(tmp, "side-mapping")
    os.makedirs(side)
    mdir = os.path.join(tmp, "mapping")
    os.makedirs(mdir)
    rep, mp = os.path.join(side, "report.json"), os.path.join(mdir, "map.csv")
    rc, out, err = cli(["--config", os.path.join(tmp, "cfg-basic.json"), "--key-file", key, "--jobs", "2",
                        "--report", rep, "--mapping", mp, src, os.path.join(tmp, "dst-mapping")])
    check(rc == 1, "cli --mapping: exit 1 (%d: %s)" % (rc, err[-300:]))
    scan("cli --mapping: stdout", "cli-stdout", out)
    scan("cli --mapping: stderr", "cli-stderr", err)
    scan_side("cli --mapping", side, rep)
    m = open(mp, "rb").read() if os.path.exists(mp) else b""
    check(sum(1 for _, h in hits_in_bytes(m) if h == "UID root") >= 3 * len(made["good"]),
          "positive control: the mapping file's original UIDs are seen by the search")
    return classes_seen


def run_cli_limits(tmp, made, key):
    """The limit error paths: --max-metadata, --max-depth (each input fails, class limit). (--pixel-frame-ms is
    left out: whether 1 ms is enough for a frame depends on the machine's load.)"""
    d = os.path.join(tmp, "limits")
    make_limits(d, made["n"] + 1000)
    side = os.path.join(tmp, "side-limits")
    os.makedirs(side)
    rep = os.path.join(side, "report.json")
    rc, out, err = cli(["--config", os.path.join(tmp, "cfg-redact.json"), "--key-file", key, "--report", rep,
                        "--max-metadata", "1M", "--max-depth", "4", d,
                        os.path.join(tmp, "dst-limits")])
    failed = err.count(b"instance #")
    check(rc == 1 and failed == 2 and err.count(b": limit: ") == 2,
          "cli limits: the 2 inputs fail as limit (%d, %d failed: %s)" % (rc, failed, err[-400:]))
    scan("cli limits: stdout", "cli-stdout", out)
    scan("cli limits: stderr", "cli-stderr", err)
    scan_side("cli limits", side, rep)


def pty_run(args, timeout=120):
    """(rc, bytes) of a run whose stderr (and stdout) is a terminal: the progress bar is drawn."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(BIN, [BIN, "deidentify", *args])
    out, t0 = b"", time.time()
    while time.time() - t0 < timeout:
        r, _, _ = select.select([fd], [], [], 1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


def run_cli_tty(tmp, src, key):
    cf = os.path.join(tmp, "cfg-redact.json")
    side = os.path.join(tmp, "side-tty")
    os.makedirs(side)
    rep = os.path.join(side, "report.json")
    rc, out = pty_run(["--config", cf, "--key-file", key, "--jobs", "2", "--report", rep, src,
                       os.path.join(tmp, "dst-tty")])
    check(rc == 1 and len(out) > 0, "cli on a terminal: exit 1 and output (%d, %d bytes)" % (rc, len(out)))
    no_sanitizer("cli on a terminal", out)
    check(b"\x1b[K" in out, "cli on a terminal: the progress bar was drawn (it clears its line)")
    scan("cli on a terminal: the progress bar and summary", "cli-tty", out)
    scan_side("cli on a terminal", side, rep)


def kill_when_journaled(p, journal, timeout, kill):
    """Call kill() once the resume journal holds 5 finished instances (D lines), while p runs; True if it did."""
    t0 = time.time()
    while time.time() - t0 < timeout and p.poll() is None:
        try:
            if open(journal, "rb").read().count(b"\nD ") >= 5:
                kill()
                return True
        except OSError:
            pass
        time.sleep(0.005)
    return False


def resume_run(tmp, name, key, src):
    """A --resume run's places (its side folder, report, DST, journal) and arguments, BASIC, one job."""
    side = os.path.join(tmp, "side-" + name)
    os.makedirs(side)
    rep = os.path.join(side, "report.json")
    dst = os.path.join(tmp, "dst-" + name)
    args = ["--config", os.path.join(tmp, "cfg-basic.json"), "--key-file", key, "--jobs", "1", "--resume", "-q",
            "--report", rep, src, dst]
    return side, rep, dst, rep + ".journal", args


def run_cli_resume(tmp, src, key):
    """--resume: a run SIGKILLed once its journal holds lines, its journal and lock scanned, then resumed."""
    side, rep, dst, jr, args = resume_run(tmp, "resume", key, src)
    # --fsync (outputs and the journal on disk one by one) makes the first run last seconds, not 60 ms: the
    # SIGKILL lands midway on a loaded machine too; the resumed run goes without it (not part of the run's id)
    p = subprocess.Popen([BIN, "deidentify", "--fsync", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    midway = kill_when_journaled(p, jr, 60, lambda: p.send_signal(signal.SIGKILL))
    out, err = p.communicate(timeout=60)
    midway = midway and p.returncode == -signal.SIGKILL
    check(midway, "resume: the first run was SIGKILLed midway (rc %s)" % p.returncode)
    no_sanitizer("resume killed", err)
    scan("resume killed: stdout", "cli-stdout", out)
    scan("resume killed: stderr", "cli-stderr", err)
    files = side_files(side)
    check(jr in files and files[jr].count(b"\nD ") >= 5, "resume killed: a journal with lines beside the report")
    for path, data in files.items():
        scan("resume killed: %s" % os.path.basename(path), "cli-side-file", data)
    scan("resume killed: DST file names (temp names too)", "cli-dst-names", tree_names(dst))
    rc, out, err = cli(args)
    check(rc == 1, "resume: the resumed run ends, some inputs failing (%d: %s)" % (rc, err[-300:]))
    scan("resume resumed: stdout", "cli-stdout", out)
    scan("resume resumed: stderr", "cli-stderr", err)
    files = scan_side("resume resumed", side, rep)
    check(b"restored" in err or b"resum" in err.lower() or jr in files,
          "resume: the resumed run used the journal")


# ---------------------------------------------------------------- the server

def run_server(tmp, src, made, pg=None):
    """The server's sequence, with its index in DATA/index.sqlite, or in PostgreSQL when pg is the state of a
    tests/support/pg_cluster.sh cluster (its URL, PGBIN: test_side_channels_more.py): the same requests, the
    same channels, the operation records read from whichever database holds them."""
    label = "server" if pg is None else "server[pg]"
    root_dir = os.path.join(tmp, "root" if pg is None else "root-pg")
    imp = os.path.join(root_dir, "import")
    shutil.copytree(src, imp)  # the canary file and directory names, the broken files and all
    # The import holds a file name that is not UTF-8 with PostgreSQL too: op_items.path is text in a UTF8
    # database, and such a path is stored in a marked hex form (pg_ops.c path_stored); before, the planning's insert
    # was refused and the import never finished.
    data = os.path.join(tmp, "data" if pg is None else "data-pg")
    srv = ts.Server(data, "--allow-root", root_dir, "--op-workers", "2", *(["--index", pg["URL"]] if pg else []))
    bodies = []  # (name, kind, bytes) of what the server answered on the side channels

    def call(name, kind, method, path, body=None, ctype=None):
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        hdr = {"Content-Type": ctype} if ctype else ({"Content-Type": "application/json"} if body is not None else {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        c.request(method, path, body=body, headers=hdr)
        r = c.getresponse()
        b = r.read()
        c.close()
        if kind:
            bodies.append((name, kind, b))
        return r.status, b

    base = "/v1beta1/projects/p/locations/l"
    try:
        call("", None, "POST", base + "/datasets?datasetId=src", {})
        call("", None, "POST", base + "/datasets/src/dicomStores?dicomStoreId=st", {})
        web = base + "/datasets/src/dicomStores/st/dicomWeb"
        stowed = made["good"] + made["codecs"] + [made["pixels_short"], made["odd"], made["charset"], made["burned"]]
        for p in (made["bad_uid"], made["long_uid"]):  # each alone: a refused part must not refuse the rest
            body, ctype = ts.multipart_related([p])
            call("STOW of %s" % os.path.basename(p), "srv-stow", "POST", web + "/studies", body, ctype)
        body, ctype = ts.multipart_related(stowed)
        st, b = call("", None, "POST", web + "/studies", body, ctype)
        check(st == 200, label + ": STOW of %d instances (%d %s)" % (len(stowed), st, b[:200]))
        # broken parts: the answer of a refused STOW is an error channel
        for p in made["broken"] + [made["dup"]]:
            body, ctype = ts.multipart_related([p])
            st, b = call("STOW of %s" % os.path.basename(p)[-12:], "srv-stow", "POST", web + "/studies", body, ctype)
            check(st >= 400 or b"FailedSOPSequence" in b or b"00081198" in b,
                  label + ": STOW of a broken or duplicate file is refused (%d)" % st)
        st, b = call("STOW single broken", "srv-stow", "POST", web + "/studies",
                     open(made["broken"][0], "rb").read(), "application/dicom")
        # a STOW to a study that is not the instance's (PS3.18: refused, RetrieveURL = the study URL given)
        body, ctype = ts.multipart_related([made["good"][0]])
        st, b = call("STOW to another study", "srv-stow", "POST", web + "/studies/%s1.99" % ROOT, body, ctype)
        check(st == 409, label + ": STOW to another study is 409 (%d)" % st)
        # failing requests that name canaries
        sop = ROOT + "3.1"
        for path in ["/studies/%s9/series" % ROOT,
                     "/studies/%s1.0/series/%s2.99/instances/%s3.1/metadata" % (ROOT, ROOT, ROOT),
                     "/studies/%s1.0/series/%s2.0/instances/%s3.999" % (ROOT, ROOT, ROOT),
                     "/studies/%s" % canary(), "/studies/%s.%s/series" % (ROOT, canary()),
                     "/studies?PatientName=%s&limit=%s" % (canary(), canary()),
                     "/studies?includefield=%s" % canary(), "/studies?%s=1" % canary(),
                     "/studies?StudyDate=%s" % canary(), "/instances?SOPInstanceUID=%s&offset=%s" % (sop, canary()),
                     "/studies?StudyInstanceUID=%s1.%s" % (ROOT, canary())]:
            st, b = call("GET " + path, "srv-error", "GET", web + path)
            if st == 200:  # a search that matched: the answer is the store's own data, not a side channel
                bodies.pop()
        check(sum(1 for b in bodies if b[1] == "srv-error") >= 8, label + ": failing requests answered")
        # de-identify the dataset (cleanImage: the short pixel data fails), into a new dataset
        cfg = {"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_ALL_TEXT"}}}}
        st, b = call("deidentify start", "srv-op", "POST", base + "/datasets/src:deidentify",
                     {"destinationDataset": "projects/p/locations/l/datasets/out", "config": cfg})
        check(st == 200, label + ": datasets.deidentify started (%d %s)" % (st, b[:200]))
        name = json.loads(b).get("name", "") if st == 200 else ""
        op = poll(srv, name)
        ok, failed = counter(op)
        check(op.get("done") and ok >= len(made["good"]) and failed >= 1,
              label + ": the de-identification is done with failures (%d ok, %d failed)" % (ok, failed))
        # the text stage and OCR too (DEIDENTIFY_TAG_CONTENTS, REDACT_SENSITIVE_TEXT), into a second dataset
        cfg2 = {"dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS",
                                   "options": {"cleanImage": {"textRedactionMode": "REDACT_SENSITIVE_TEXT"}}}}
        st, b = call("deidentify 2 start", "srv-op", "POST", base + "/datasets/src:deidentify",
                     {"destinationDataset": "projects/p/locations/l/datasets/out2", "config": cfg2})
        name2 = json.loads(b).get("name", "") if st == 200 else ""
        op2 = poll(srv, name2)
        check(op2.get("done") and counter(op2)[1] >= 1, label + ": the second de-identification is done (%s)"
              % (counter(op2),))
        call("operation 2 get", "srv-op", "GET", "/v1beta1/" + name2)
        call("operation 2 errors", "op-errors", "GET", "/v1beta1/" + name2 + "/errors")
        st, b = call("operation get", "srv-op", "GET", "/v1beta1/" + name)
        st, b = call("operation errors", "op-errors", "GET", "/v1beta1/" + name + "/errors")
        entries = json.loads(b).get("entries", []) if st == 200 else []
        check(len(entries) == failed and all(ROOT_MARK in e.get("resource", "") for e in entries),
              label + ": the error log lists %d failure(s) by source resource (%s)" % (failed, b[:300]))
        looked["op-errors entries"] = len(entries)
        # a store-level de-identification with a filter file naming canaries (one line malformed)
        filt = os.path.join(root_dir, "filter.txt")
        open(filt, "w").write("/studies/%s1.0\n/studies/%s1.0/series/%s\n/%s/%s\n" % (ROOT, ROOT, canary(), canary(),
                                                                                         canary()))
        call("", None, "POST", base + "/datasets?datasetId=sink", {})
        call("", None, "POST", base + "/datasets/sink/dicomStores?dicomStoreId=d", {})
        st, b = call("store deidentify, bad filter", "srv-error", "POST",
                     base + "/datasets/src/dicomStores/st:deidentify",
                     {"destinationStore": "projects/p/locations/l/datasets/sink/dicomStores/d",
                      "filterConfig": {"resourcePathsGcsUri": "file://" + filt}})
        if st == 200:
            op2 = poll(srv, json.loads(b).get("name", ""))
            bodies.append(("store deidentify op", "srv-op", json.dumps(op2).encode()))
        # a gcsConfigUri / import source whose NAME carries a canary and is missing
        st, b = call("import missing canary folder", "srv-error", "POST",
                     base + "/datasets/src/dicomStores/st:import",
                     {"gcsSource": {"uri": "file://" + root_dir + "/" + canary() + "/**"}})
        if st == 200:
            op3 = poll(srv, json.loads(b).get("name", ""))
            bodies.append(("import of a missing folder op", "srv-op", json.dumps(op3).encode()))
        # :import of the folder with the canary names, the broken files, the non-DICOM one
        call("", None, "POST", base + "/datasets/src/dicomStores?dicomStoreId=imp", {})
        st, b = call("import start", "srv-op", "POST", base + "/datasets/src/dicomStores/imp:import",
                     {"gcsSource": {"uri": "file://" + imp + "/**"}})
        check(st == 200, label + ": :import started (%d %s)" % (st, b[:200]))
        iname = json.loads(b).get("name", "") if st == 200 else ""
        iop = poll(srv, iname)
        iok, ifailed = counter(iop)
        check(iop.get("done") and ifailed >= len(made["broken"]) - 1,
              label + ": the import is done with failures (%d ok, %d failed)" % (iok, ifailed))
        st, b = call("import get", "srv-op", "GET", "/v1beta1/" + iname)
        # an import's error log names files by position ("file #n"): no allowance at all (kind srv-op)
        st, b = call("import errors", "srv-op", "GET", "/v1beta1/" + iname + "/errors")
        ientries = json.loads(b).get("entries", []) if st == 200 else []
        check(len(ientries) == ifailed,
              label + ": the import's error log lists %d failure(s) (%s)" % (ifailed, b[:300]))
        st, b = call("operations list", "srv-op", "GET", base + "/datasets/src/operations?pageSize=100")
        check(st == 200 and len(json.loads(b).get("operations", [])) >= 3, label + ": operations.list (%d)" % st)
        st, b = call("operations list done", "srv-op", "GET", base + "/datasets/src/operations?filter=done%3Dtrue")
        st, b = call("missing operation", "srv-error", "GET", base + "/datasets/src/operations/" + canary())
        st, b = call("metrics", "srv-op", "GET", base + "/datasets/src/dicomStores/st:getDICOMStoreMetrics")
        # the extension endpoints (docs/server.md): a filter file with a malformed canary line, the boxes of a
        # source instance (404: boxes are kept for outputs only)
        ext = "/dicomveil/v1/"
        st, b = call("filterFiles malformed", "srv-error", "POST", ext + "filterFiles",
                     ("/studies/%s1.0\n/studies/%s/x\n" % (ROOT, canary())).encode(), "text/plain")
        check(st == 400, label + ": a malformed filter file is refused (%d %s)" % (st, b[:200]))
        st, b = call("filterFiles", "srv-op", "POST", ext + "filterFiles", ("/studies/%s1.0\n" % ROOT).encode(),
                     "text/plain")
        q = urllib.parse.urlencode({"operation": name, "instance": "/studies/%s1.0/series/%s2.0/instances/%s3.1"
                                    % (ROOT, ROOT, ROOT)})
        st, b = call("redactionBoxes of a source instance", "srv-error", "GET", ext + "redactionBoxes?" + q)
        check(st == 404, label + ": redactionBoxes of a source instance is 404 (%d)" % st)
        st, b = call("reviewMarks", "srv-op", "GET", ext + "reviewMarks?" + urllib.parse.urlencode({"operation": name}))
        # Once the source store is deleted, its instances' UIDs go from the operations' records too: the error
        # log names them by position (kind srv-op: no allowance at all) and op_items forget them.
        st, b = call("delete the source store", "srv-op", "DELETE", base + "/datasets/src/dicomStores/st")
        check(st == 200, label + ": the source store is deleted (%d %s)" % (st, b[:200]))
        st, b = call("operation errors after the delete", "srv-op", "GET", "/v1beta1/" + name + "/errors")
        after = json.loads(b).get("entries", []) if st == 200 else []
        check(len(after) == failed and all("(store deleted)" in e.get("resource", "") for e in after),
              label + ": after the delete the error log still lists %d failure(s), by position (%s)"
              % (failed, b[:300]))
    finally:
        rc = srv.stop()
    sanitizer = [ln for ln in srv.lines if "Sanitizer" in ln or "runtime error" in ln]
    check(rc == 0 and not sanitizer, label + ": stopped cleanly (exit %s; %s)" % (rc, "".join(sanitizer)[:300]))
    for name, kind, b in bodies:
        if os.environ.get("DV_SIDE_KEEP"):
            print("== %s [%s]: %s" % (name, kind, b[:600]))
        scan("%s %s" % (label, name), kind, b)
    # files the server keeps beside the stores: the redaction boxes of outputs (DATA/boxes/<op>/*.json), the
    # reviewers' marks, the filter files handed over (DATA/filters: they name source UIDs by design, not scanned)
    nboxes = redacted = 0
    for sub in ("boxes", "marks"):
        for dirpath, _, files in os.walk(os.path.join(data, sub)):
            for f in files:
                b = open(os.path.join(dirpath, f), "rb").read()
                nboxes += sub == "boxes"
                redacted += sub == "boxes" and b'"boxCount":0' not in b  # the burned-in canary's box
                scan("%s DATA/%s/%s" % (label, sub, f[:12]), "srv-data-file", b)
    # two de-identifications clean pixels: a record per output with pixels each; REDACT_ALL_TEXT boxes the
    # burned-in canary (REDACT_SENSITIVE_TEXT too, as long as OCR reads SMITH as a name: not required)
    check(nboxes >= 2 * made["with_pixels"] and redacted >= 1,
          label + ": the de-identification recorded boxes (%d files, %d with a box)" % (nboxes, redacted))
    if pg is None:
        scan_index(os.path.join(data, "index.sqlite"))
    else:
        check(not os.path.exists(os.path.join(data, "index.sqlite")), label + ": no index.sqlite with --index")
        scan_index_pg(pg)
    log = "".join(srv.lines).encode()
    check(len(srv.lines) >= 20, label + ": its log has the requests (%d lines)" % len(srv.lines))
    scan_jsonl(label + " stderr", "srv-log", log)


# The op_items columns read, in this order, after "gone" (1 when the item's source store was deleted).
ITEM_COLS = ("study_uid", "series_uid", "sop_uid", "blob", "path", "error_class")


def scan_op_records(label, ops, items):
    """The operation records the server keeps in its index, as rows of bytes: ops (api_method, request, result:
    what operations.get answers from) and items (gone, then ITEM_COLS: each item of an operation; the error log
    is built from them). An item of a store that still exists may name its source instance (the srv-db-<col>
    entries of ALLOWED); one whose source store was deleted names it no more (DVS_SQL_STORE_FORGET_ITEMS), so
    its UIDs are scanned with no allowance at all."""
    for r in ops:
        for col, v in zip(("api_method", "request", "result"), r):
            scan("%s index operations.%s" % (label, col), "srv-db", v or b"")
    check(len(ops) >= 4, "%s index: %d operation rows" % (label, len(ops)))
    gone = 0
    for r in items:
        gone += r[0] == b"1"
        for col, v in zip(ITEM_COLS, r[1:]):
            kind = "srv-db-" + col
            if r[0] == b"1" and col.endswith("_uid"):
                kind = "srv-db-gone-uid"
            scan("%s index op_items.%s%s" % (label, col, " (store deleted)" if r[0] == b"1" else ""), kind, v or b"")
    check(len(items) >= len(PATH_CANARIES), "%s index: %d operation items" % (label, len(items)))
    # the source store is deleted at the end: the de-identifications' items are those of a deleted store
    check(gone >= 2 * len(PATH_CANARIES), "%s index: %d items of the deleted source store" % (label, gone))


# "1" for an item whose source store was deleted (src_store no longer in stores; an :import's items have none).
GONE = "CASE WHEN src_store <> 0 AND src_store NOT IN (SELECT id FROM stores) THEN '1' ELSE '0' END"
OP_COLS = ("api_method", "request", "result")


def scan_index(db):
    """DATA/index.sqlite's operation rows (scan_op_records). The store's own tables (studies, series, instances:
    the QIDO index) hold PHI by design and are not read."""
    import sqlite3
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    c.text_factory = bytes  # a path that is not UTF-8 is read as its bytes
    ops = c.execute("SELECT %s FROM operations" % ", ".join(OP_COLS)).fetchall()
    items = c.execute("SELECT %s, %s FROM op_items" % (GONE, ", ".join(ITEM_COLS))).fetchall()
    c.close()
    scan_op_records("server", ops, items)


def scan_index_pg(pg):
    """The same rows read from PostgreSQL with psql through the index URL: every column as the hex of its bytes
    (a value with a newline or a separator in it is still one field), decoded here."""
    def rows(exprs, table):
        hexed = ", ".join("encode(convert_to(coalesce((%s)::text, ''), 'UTF8'), 'hex')" % e for e in exprs)
        q = "SELECT %s FROM %s" % (hexed, table)
        r = subprocess.run([os.path.join(pg["PGBIN"], "psql"), "-X", "-At", "-F", ",", "-d", pg["URL"], "-c", q],
                           capture_output=True, timeout=60)
        check(r.returncode == 0, "server[pg] index: psql %s (%s)" % (q[:80], r.stderr[-300:]))
        return [tuple(bytes.fromhex(f.decode()) for f in ln.split(b",")) for ln in r.stdout.splitlines() if ln]
    scan_op_records("server[pg]", rows(OP_COLS, "operations"), rows((GONE,) + ITEM_COLS, "op_items"))


def poll(srv, name, timeout=60):
    t0, op = time.time(), {}
    while time.time() - t0 < timeout:
        st, op = ts.json_call("GET", srv.url + "/v1beta1/" + name)
        if st == 200 and op.get("done"):
            return op
        time.sleep(0.05)
    return op


def counter(op):
    c = op.get("metadata", {}).get("counter", {})
    return int(c.get("success", "0")), int(c.get("failure", "0"))


def main():
    self_test()
    tmp = tempfile.mkdtemp(prefix="dv-side-")
    try:
        src = os.path.join(tmp, "src")
        made = make_corpus(src)
        key = os.path.join(tmp, "key")
        open(key, "wb").write(os.urandom(32))
        os.chmod(key, 0o600)
        # the processes' TMPDIR (OCR, decoders, libraries): whatever is left there is a side channel too
        tmpdir = os.path.join(tmp, "tmpdir")
        os.makedirs(tmpdir)
        os.environ["TMPDIR"] = tmpdir
        classes = run_cli(tmp, src, made, key)
        print("cli outcomes seen:", sorted(classes))
        run_cli_tty(tmp, src, key)
        run_cli_limits(tmp, made, key)
        rsrc = os.path.join(tmp, "rsrc")
        shutil.copytree(src, os.path.join(rsrc, "main"))
        fillers(os.path.join(rsrc, "fill"), 300, made["n"] + 1)
        run_cli_resume(tmp, rsrc, key)
        run_server(tmp, src, made)
        scan("TMPDIR file names", "tmpdir", tree_names(tmpdir))
        for p, _, fs in os.walk(tmpdir):
            for f in fs:
                scan("TMPDIR file " + f, "tmpdir", open(os.path.join(p, f), "rb").read())
    finally:
        if os.environ.get("DV_SIDE_KEEP"):  # debugging: keep the corpus and every captured file
            print("kept:", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for kind in ("cli-stdout", "cli-stderr", "cli-report", "cli-side-file", "cli-tty", "cli-dst-names", "srv-error",
                 "srv-op", "srv-stow", "op-errors", "srv-log", "srv-data-file", "srv-db", "srv-db-path",
                 "srv-db-gone-uid", "tmpdir",
                 "json strings", "allowed cli-report", "allowed op-errors"):
        check(looked.get(kind, 0) > 0, "looked at no %s: the check proves nothing" % kind)
    print("looked at:", json.dumps(looked, sort_keys=True))
    if fails:
        print("test_side_channels: %d check(s) failed" % len(fails), file=sys.stderr)
        return 1
    print("test_side_channels: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
