#!/usr/bin/python3
"""dicomveil render: corpus frames of several transfer syntaxes rendered to PNG, compared with pydicom + numpy.

Expected 8-bit values are recomputed here from pydicom's pixels with the rules of src/image/render.c
(dv_render.h): monochrome through the first WindowCenter/WindowWidth after RescaleSlope/Intercept
(PS3.3 C.11.2.1.2 LINEAR), or the frame's min..max when there is no window, rounded half up; MONOCHROME1
inverted; RGB as is; YBR (pydicom keeps JPEG YBR as YCbCr) through pydicom's convert_color_space; PALETTE
COLOR through pydicom's apply_color_lut (16-bit entries: top byte). Monochrome must match exactly (windowed
values within 1: float rounding), colour within 1. Each PNG is re-read chunk by chunk with struct + zlib
(signature, IHDR, CRC of every chunk, IDAT concatenation, IEND last, filter bytes undone) and with Pillow.
The VOI LUT Sequence is preferred over the window when present (pydicom's apply_voi_lut, voi_lut_cases).
Also: --frame on a multi-frame file, a frame out of range, a non-DICOM input, an undecodable (12-bit JPEG)
input, usage errors, atomic replacement (no temp file left; a failed render leaves an existing OUT as it was)
and that no message names the input path.
Env (set by ctest): DV_BIN, DV_SHARED_DATA. Run with /usr/bin/python3.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
import zlib

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_color_lut, convert_color_space
from PIL import Image

warnings.simplefilter("ignore")
SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("DV_BIN") or os.path.join(SRC_DIR, "build", "dicomveil")
SHARED = os.path.abspath(os.environ.get("DV_SHARED_DATA") or os.path.join(SRC_DIR, "..", "shared", "data"))
CORPUS = os.path.join(SHARED, "dicom")

CASES = [  # (file, frame)
    ("pydicom/CT_small.dcm", 0),                      # explicit LE, signed 16-bit, window
    ("pydicom/MR_small.dcm", 0),                      # 16-bit, window
    ("pydicom/MR_small_RLE.dcm", 0),                  # RLE
    ("pydicom/MR_small_jpeg_ls_lossless.dcm", 0),     # JPEG-LS
    ("pydicom/MR_small_jp2klossless.dcm", 0),         # JPEG 2000
    ("pydicom/MR_small_bigendian.dcm", 0),            # explicit BE
    ("fo-dicom/GH184.dcm", 0),                        # JPEG lossless SV1
    ("pydicom-data/emri_small_RLE.dcm", 7),           # multi-frame RLE, --frame
    ("dwv/gdcm-CR-MONO1-10-chest.dcm", 0),            # MONOCHROME1
    ("highdicom/dx_image.dcm", 0),                    # MONOCHROME1
    ("pydicom/SC_rgb_rle.dcm", 0),                    # RGB
    ("pydicom/SC_rgb_jpeg_dcmtk.dcm", 0),             # JPEG baseline YBR_FULL
    ("pydicom/SC_rgb_dcmtk_+eb+cy+s2.dcm", 0),        # JPEG baseline YBR_FULL_422
    ("pydicom-data/OT-PAL-8-face.dcm", 0),            # PALETTE COLOR, no file meta
    ("pydicom/examples_palette.dcm", 0),              # PALETTE COLOR, explicit LE
    ("pydicom-data/OBXXXX1A_rle.dcm", 0),             # PALETTE COLOR, RLE
    ("dcm4che/US-PAL-8-10x-echo", 3),                 # PALETTE COLOR, multi-frame RLE
]


def read_png(path):
    """Parse a PNG with struct + zlib only; returns an (h, w, channels) uint8 array."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "signature"
    pos, chunks = 8, []
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        crc, = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert zlib.crc32(typ + body) & 0xFFFFFFFF == crc, "CRC of " + typ.decode()
        chunks.append((typ, body))
        pos += 12 + n
    assert pos == len(data), "trailing bytes"
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b""), "chunk order"
    w, h, depth, ctype, comp, filt, inter = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and ctype in (0, 2) and comp == 0 and filt == 0 and inter == 0, "IHDR fields"
    ch = 1 if ctype == 0 else 3
    raw = zlib.decompress(b"".join(b for t, b in chunks if t == b"IDAT"))
    stride = w * ch + 1
    assert len(raw) == stride * h, "IDAT size"
    out = np.zeros((h, w * ch), np.uint8)
    prev = np.zeros(w * ch, np.int64)
    for y in range(h):
        f = raw[y * stride]
        row = np.frombuffer(raw[y * stride + 1:(y + 1) * stride], np.uint8).astype(np.int64)
        if f == 0:
            cur = row
        elif f == 2:
            cur = (row + prev) % 256
        else:
            raise AssertionError("filter type %d not expected from our writer" % f)
        out[y] = cur
        prev = cur
    return out.reshape(h, w, ch)


def first(v):
    return float(v[0]) if isinstance(v, pydicom.multival.MultiValue) else float(v)


def expected(ds, frame):
    if "TransferSyntaxUID" not in ds.file_meta:  # files without file meta: as pydicom read them
        ds.file_meta.TransferSyntaxUID = (pydicom.uid.ImplicitVRLittleEndian if ds.is_implicit_VR
                                          else pydicom.uid.ExplicitVRLittleEndian)
    arr = ds.pixel_array
    n = int(ds.get("NumberOfFrames", 1) or 1)
    if n > 1:
        arr = arr[frame]
    photo = str(ds.PhotometricInterpretation).strip()
    if photo in ("MONOCHROME1", "MONOCHROME2"):
        x = arr.astype(np.float64)
        if "WindowCenter" in ds and "WindowWidth" in ds and first(ds.WindowWidth) >= 1:
            c, w = first(ds.WindowCenter), first(ds.WindowWidth)
            v = x * float(ds.get("RescaleSlope", 1) or 1) + float(ds.get("RescaleIntercept", 0) or 0)
            y = ((v - (c - 0.5)) / (w - 1) + 0.5) * 255
            y = np.where(v <= c - 0.5 - (w - 1) / 2, 0, np.where(v > c - 0.5 + (w - 1) / 2, 255, y))
            out, tol = np.clip(np.floor(y + 0.5), 0, 255), 1
        else:
            a = arr.astype(np.int64)
            lo, hi = a.min(), a.max()
            out, tol = (((a - lo) * 510 + (hi - lo)) // (2 * (hi - lo)) if hi > lo else a * 0), 0
        if photo == "MONOCHROME1":
            out = 255 - out
        return out.astype(np.int64)[..., None], tol
    if photo == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        return (rgb >> 8 if rgb.max() > 255 else rgb).astype(np.int64), 0
    if photo.startswith("YBR"):
        return convert_color_space(arr, "YBR_FULL", "RGB").astype(np.int64), 1
    return arr.astype(np.int64), 0


def voi_lut_cases(tmp):
    """VOI LUT Sequence (0028,3010): corpus files given a first item (a gamma curve of 16-bit entries over part
    of the value range, so values below and above it clamp), rendered through it in preference to their
    window; the reference is pydicom's apply_modality_lut + apply_voi_lut (prefer_lut), scaled to 8 bits.
    Without the sequence the same file renders through its window (the first loop), so a render that ignores
    the LUT fails here."""
    from pydicom.dataelem import DataElement
    from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut
    bad = []
    for rel, first_q, signed_desc in (("pydicom/CT_small.dcm", 0.2, True), ("pydicom/MR_small.dcm", 0.1, False)):
        ds = pydicom.dcmread(os.path.join(CORPUS, rel))
        mod = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
        first_v = int(np.quantile(mod, first_q))
        n = int(np.quantile(mod, 1 - first_q)) - first_v + 1  # the top first_q of the values clamp
        lut = np.round(65535 * (np.arange(n) / (n - 1)) ** 0.5).astype(np.uint16)
        item = pydicom.Dataset()
        item.add(DataElement(0x00283002, "SS" if signed_desc else "US", [n, first_v, 16]))
        item.add(DataElement(0x00283006, "OW", lut.tobytes()))
        item.LUTExplanation = "TEST GAMMA"
        ds.VOILUTSequence = pydicom.Sequence([item])
        path = os.path.join(tmp, "voilut.dcm")
        ds.save_as(path, write_like_original=False)
        out = os.path.join(tmp, "f.png")
        p = run("render", path, out)
        os.unlink(path)
        if p.returncode != 0:
            bad.append("VOI LUT %s: exit %d: %s" % (rel, p.returncode, p.stderr.strip()))
            continue
        got = read_png(out).astype(np.int64)[..., 0]
        voi = apply_voi_lut(apply_modality_lut(ds.pixel_array, ds), ds, prefer_lut=True).astype(np.float64)
        want = np.clip(np.floor(voi * 255 / 65535 + 0.5), 0, 255).astype(np.int64)
        if str(ds.PhotometricInterpretation).strip() == "MONOCHROME1":
            want = 255 - want
        d = int(np.abs(want - got).max())
        print("%s VOI LUT %s (%d entries from %d): max |diff| %d" % ("ok  " if d <= 1 else "FAIL", rel, n, first_v, d))
        if d > 1:
            bad.append("VOI LUT %s: max |diff| %d > 1" % (rel, d))
        if int(want.min()) != 0 or int(want.max()) != 255:
            bad.append("VOI LUT %s: the test LUT does not clamp at both ends" % rel)
    return bad


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)


def main():
    tmp = tempfile.mkdtemp(prefix="dv-render-")
    bad = []
    try:
        for rel, frame in CASES:
            src = os.path.join(CORPUS, rel)
            out = os.path.join(tmp, "f.png")
            p = run("render", "--frame", str(frame), src, out)
            if p.returncode != 0:
                bad.append("%s: exit %d: %s" % (rel, p.returncode, p.stderr.strip()))
                continue
            got = read_png(out).astype(np.int64)
            pil = np.asarray(Image.open(out)).astype(np.int64)
            if pil.reshape(got.shape).tolist() != got.tolist():
                bad.append("%s: Pillow reads different pixels than our PNG parser" % rel)
            want, tol = expected(pydicom.dcmread(src, force=True), frame)
            if want.shape != got.shape:
                bad.append("%s: shape %s, want %s" % (rel, got.shape, want.shape))
                continue
            d = int(np.abs(want - got).max())
            print("%s %s frame %d: %s max |diff| %d" % ("ok  " if d <= tol else "FAIL", rel, frame, got.shape, d))
            if d > tol:
                bad.append("%s: max |diff| %d > %d" % (rel, d, tol))
        bad += voi_lut_cases(tmp)
        leftovers = [f for f in os.listdir(tmp) if f != "f.png"]
        if leftovers:
            bad.append("temp files left: %s" % leftovers)

        # failures: exit 1 (input) or 2 (usage); an existing OUT stays as it was; no path in messages
        out = os.path.join(tmp, "keep.png")
        open(out, "wb").write(b"previous")
        notdicom = os.path.join(tmp, "PATIENT-NAME-notdicom.txt")
        open(notdicom, "w").write("hello")
        checks = [
            (["render", "--frame", "10", os.path.join(CORPUS, "pydicom/CT_small.dcm"), out], 1, "out of range"),
            (["render", notdicom, out], 1, "not_dicom"),
            (["render", os.path.join(CORPUS, "pydicom/JPGExtended.dcm"), out], 1, "unsupported"),
            (["render", os.path.join(tmp, "PATIENT-NAME-missing.dcm"), out], 1, "input"),
            (["render", os.path.join(CORPUS, "pydicom/CT_small.dcm")], 2, "want IN.dcm and OUT.png"),
            (["render", "--frame", "x", os.path.join(CORPUS, "pydicom/CT_small.dcm"), out], 2, "--frame"),
            (["render", os.path.join(CORPUS, "pydicom/CT_small.dcm"), tmp], 2, "directory"),
        ]
        # decoded-frame cap (stop 40 finding 4): a few KB of deflated zeros that decode past the 128 MiB default
        # are refused as limit before the frame is allocated (the library's 512 MiB cap let a 522 KB file take
        # 1 GB); --max-frame-bytes moves the cap both ways
        gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen_dfr_frame.py")
        big, small = os.path.join(tmp, "over128m.dcm"), os.path.join(tmp, "dfr8m.dcm")
        subprocess.run([sys.executable, gen, "8192", "8200", big], check=True)
        subprocess.run([sys.executable, gen, "2048", "2048", small], check=True)
        checks += [
            (["render", big, out], 1, "limit"),
            (["render", "--max-frame-bytes", "8M", "--frame", "1", small, out], 1, "out of range"),
            (["render", "--max-frame-bytes", "8191K", small, out], 1,
             "render: pixel data: limit: one frame of 8388608 bytes exceeds 8387584"),  # the class said once
            (["render", "--max-frame-bytes", "5G", small, out], 2, "--max-frame-bytes"),
            (["render", "--max-frame-bytes", "0", small, out], 2, "--max-frame-bytes"),
        ]
        for args, code, text in checks:
            p = run(*args)
            if p.returncode != code or text not in p.stderr or "PATIENT-NAME" in p.stderr:
                bad.append("%s: exit %d (want %d), stderr %r" % (args[1:], p.returncode, code, p.stderr.strip()))
            if open(out, "rb").read() != b"previous":
                bad.append("%s: a failed render touched the existing output" % (args[1:],))
        # OUT naming IN (itself, a link to it) is refused and IN stays as it was; a FIFO as IN is refused, not
        # waited on (stop 40's red team: the source became a PNG; render blocked for ever)
        src = os.path.join(tmp, "PATIENT-NAME-src.dcm")
        shutil.copyfile(os.path.join(CORPUS, "pydicom/CT_small.dcm"), src)
        before = open(src, "rb").read()
        link = os.path.join(tmp, "PATIENT-NAME-link.png")
        os.symlink(src, link)
        for target in (src, link):
            p = run("render", src, target)
            if p.returncode != 2 or "is the input file" not in p.stderr or "PATIENT-NAME" in p.stderr:
                bad.append("render IN %s: exit %d, stderr %r" % (os.path.basename(target), p.returncode, p.stderr))
            if open(src, "rb").read() != before:
                bad.append("render IN %s: the input file was changed" % os.path.basename(target))
        fifo = os.path.join(tmp, "PATIENT-NAME-fifo")
        os.mkfifo(fifo)
        try:
            p = subprocess.run([BIN, "render", fifo, out], capture_output=True, text=True, timeout=20)
            if p.returncode != 1 or "not a regular file" not in p.stderr or "PATIENT-NAME" in p.stderr:
                bad.append("render FIFO: exit %d, stderr %r" % (p.returncode, p.stderr))
        except subprocess.TimeoutExpired:
            bad.append("render FIFO: still waiting after 20 s")
        for f in (src, link, fifo):
            os.unlink(f)
        p = run("render", "--max-frame-bytes", "8M", small, os.path.join(tmp, "f.png"))
        if p.returncode != 0:
            bad.append("--max-frame-bytes 8M: a frame of 8 MiB was not rendered: %r" % p.stderr.strip())
        p = run("render", "--help")
        if p.returncode != 0 or "--frame N" not in p.stdout:
            bad.append("render --help")
        p = run("--help")
        if "render" not in p.stdout:
            bad.append("dicomveil --help does not list render")
        keep = ("f.png", "keep.png", os.path.basename(notdicom), os.path.basename(big), os.path.basename(small))
        leftovers = sorted(f for f in os.listdir(tmp) if f not in keep)
        if leftovers:
            bad.append("temp files left after failures: %s" % leftovers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for b in bad:
        print("FAIL", b)
    print("%d case(s), %d failure(s)" % (len(CASES), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
