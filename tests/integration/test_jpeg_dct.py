#!/usr/bin/python3
"""JPEG Baseline redaction in the DCT domain (dv_jpeg_dct_redact) on real streams, decoded by other decoders.

Inputs: every JPEG Baseline / Extended corpus file (frame 0; the 12-bit ones must be refused as unsupported),
streams dcmtk's dcmcjpeg makes from native corpus files (+eb with 4:2:2 YBR_FULL_422, 4:4:4 YBR_FULL, 4:2:2
YBR_FULL, RGB stored untransformed, greyscale) and a 4:2:0 stream Pillow makes, wrapped in DICOM here.
build/tests/dv_jpeg_dct redacts two boxes (one in a corner, one inside the image) and reports the MCU-aligned
rectangles it covered. Then:
  - Pillow opens the redacted codestream and decodes it at the right size;
  - pydicom (Pillow handler) decodes the instance with the redacted fragment: inside every covered rectangle
    the pixels are the darkest value (YBR: Y 0 and Cb, Cr 128; RGB and MONOCHROME2: 0; MONOCHROME1: 255;
    within 1), the outermost pixel ring excepted for colour (chroma upsampling blends in the neighbour);
    outside the covered rectangles (grown by 2 pixels for colour, for the same filter) every pixel equals
    pydicom's decode of the input exactly: the coefficients there are copied bit for bit;
  - our decoder (build/tests/dv_decode_frame) decodes the redacted instance identically to pydicom (<= 2, as
    integration.test_image_decode allows for lossy JPEG).
Env (set by ctest): DV_BUILD_DIR, DV_SHARED_DATA. Run with /usr/bin/python3.
"""
import io
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pydicom
from pydicom.encaps import encapsulate, generate_pixel_data_frame
from pydicom.uid import JPEGBaseline8Bit
from PIL import Image

from dvdecode import DecodeFrame

warnings.simplefilter("ignore")
SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("DV_BUILD_DIR") or os.path.join(SRC_DIR, "build")
HELPER = os.path.join(BUILD, "tests", "dv_jpeg_dct")
SHARED = os.path.abspath(os.environ.get("DV_SHARED_DATA") or os.path.join(SRC_DIR, "..", "shared", "data"))
CORPUS = os.path.join(SHARED, "dicom")
JPEG_TS = ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51")


def corpus_jpegs():
    out = []
    for root, _dirs, files in os.walk(CORPUS):
        for f in sorted(files):
            p = os.path.join(root, f)
            try:
                ds = pydicom.dcmread(p, stop_before_pixels=True)
            except Exception:
                continue
            ts = str(getattr(ds.file_meta, "TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""
            if ts in JPEG_TS and os.path.getsize(p) < 8_000_000:
                out.append(p)
    return sorted(out)


def made_inputs(tmp):
    """dcmtk- and Pillow-made JPEG Baseline instances (name, path)."""
    made = []
    rgb = os.path.join(tmp, "rgb-native.dcm")  # native 8-bit RGB, 2 frames
    subprocess.run(["dcmdrle", os.path.join(CORPUS, "pydicom", "SC_rgb_rle_2frame.dcm"), rgb], check=True)
    grey = os.path.join(CORPUS, "pydicom", "CT_small.dcm")  # 16-bit: dcmcjpeg +eb scales it to 8 bits
    for name, src, opts in [("dcmtk-422", rgb, ["+s2"]), ("dcmtk-444", rgb, ["+s4"]), ("dcmtk-422-full", rgb, ["+n2"]),
                            ("dcmtk-rgb", rgb, ["+cr"]), ("dcmtk-grey", grey, [])]:
        out = os.path.join(tmp, name + ".dcm")
        subprocess.run(["dcmcjpeg", "+eb", *opts, src, out], check=True, capture_output=True)
        made.append((name, out))
    # 4:2:0 (dcmcjpeg has no 4:2:0): Pillow's encoder, wrapped in the SC_rgb instance
    ds = pydicom.dcmread(rgb)
    im = Image.fromarray(ds.pixel_array[0].astype(np.uint8), "RGB")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80, subsampling=2)
    ds.PixelData = encapsulate([buf.getvalue()])
    ds.NumberOfFrames = 1
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.is_implicit_VR, ds.is_little_endian = False, True
    out = os.path.join(tmp, "pillow-420.dcm")
    ds.save_as(out)
    made.append(("pillow-420", out))
    return made


def with_fragment(ds, jpeg, path):
    """A minimal single-frame JPEG Baseline instance holding jpeg with ds's Image Pixel attributes (a fresh
    dataset: some corpus files do not survive pydicom's writer), written to path and read back."""
    from pydicom.dataset import Dataset, FileMetaDataset
    out = Dataset()
    for kw in ("Rows", "Columns", "SamplesPerPixel", "PhotometricInterpretation", "BitsAllocated", "BitsStored",
               "HighBit", "PixelRepresentation", "PlanarConfiguration"):
        if kw in ds:
            setattr(out, kw, ds.get(kw))
    out.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    out.SOPInstanceUID = "2.25.1"
    out.PixelData = encapsulate([jpeg])
    out["PixelData"].VR = "OB"
    out.file_meta = FileMetaDataset()
    out.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    out.file_meta.MediaStorageSOPClassUID = out.SOPClassUID
    out.file_meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    out.is_implicit_VR, out.is_little_endian = False, True
    out.save_as(path, write_like_original=False)
    return pydicom.dcmread(path)


def check(name, path, tmp, decoder):
    ds = pydicom.dcmread(path)
    rows, cols = int(ds.Rows), int(ds.Columns)
    boxes = [(0, 0, max(1, cols // 5), max(1, rows // 8)), (cols // 3, rows // 2, max(1, cols // 4), max(1, rows // 6))]
    inj, outj = os.path.join(tmp, "in.jpg"), os.path.join(tmp, "out.jpg")
    p = subprocess.run([HELPER, path, "0", inj, outj] + ["%d,%d,%d,%d" % b for b in boxes],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return "refused", p.stderr.strip()
    cov = [tuple(int(v) for v in line.split()[1:]) for line in p.stdout.splitlines() if line.startswith("covered")]
    with open(outj, "rb") as f:
        red = f.read()
    im = Image.open(io.BytesIO(red))
    im.load()
    if im.size != (cols, rows):
        return "fail", "Pillow decodes %s, want %dx%d" % (im.size, cols, rows)
    # the reference is the input frame's own stream decoded the same way (frame 0 as our frame index splits
    # the fragments; pydicom splits some multi-frame files differently)
    with open(inj, "rb") as f:
        a = with_fragment(ds, f.read(), os.path.join(tmp, "orig.dcm")).pixel_array.astype(np.int64)
    red_path = os.path.join(tmp, "red.dcm")
    b = with_fragment(ds, red, red_path).pixel_array.astype(np.int64)
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    photo = str(ds.PhotometricInterpretation).strip()
    colour = a.shape[2] == 3
    inside = np.zeros((rows, cols), bool)
    near = np.zeros((rows, cols), bool)
    g = 2 if colour else 0
    for (x, y, w, h), (bx, by, bw, bh) in zip(cov, boxes):
        if w == 0 or h == 0:
            return "fail", "box %s covered nothing" % ((bx, by, bw, bh),)
        if x > bx or y > by or x + w < min(bx + bw, cols) or y + h < min(by + bh, rows):
            return "fail", "covered %s does not contain box %s" % ((x, y, w, h), (bx, by, bw, bh))
        e = 1 if colour else 0
        inside[y + e:y + h - e, x + e:x + w - e] = True
        near[max(0, y - g):y + h + g, max(0, x - g):x + w + g] = True
    if photo.startswith("YBR"):
        want = np.array([0, 128, 128])
    elif photo == "MONOCHROME1":
        want = np.array([255])
    else:
        want = np.zeros(a.shape[2], np.int64)
    d_in = np.abs(b[inside] - want).max()
    if d_in > 1:
        return "fail", "covered pixels differ from the darkest value by %d" % d_in
    d_out = np.abs(b[~near] - a[~near]).max() if (~near).any() else 0
    if d_out != 0:
        return "fail", "pixels outside the covered rectangles changed by up to %d" % d_out
    raw = os.path.join(tmp, "ours.raw")
    rc, msg = decoder.decode(red_path, 0, raw)
    if rc != 0:
        return "fail", "our decoder refuses the output: " + msg
    ours = np.frombuffer(open(raw, "rb").read(), np.uint8).astype(np.int64).reshape(b.shape)
    if np.abs(ours - b).max() > 2:
        return "fail", "our decode differs from pydicom's by %d" % np.abs(ours - b).max()
    return "ok", "%dx%d %s, %d px covered" % (cols, rows, photo, int(inside.sum()))


def main():
    if not os.access(HELPER, os.X_OK) or not shutil.which("dcmcjpeg"):
        print("FAIL: helper or dcmtk missing")
        return 1
    tmp = tempfile.mkdtemp(prefix="dv-jpeg-dct-")
    bad = 0
    ok = refused = 0
    decoder = DecodeFrame(BUILD, tmp)
    try:
        cases = [(os.path.relpath(p, CORPUS), p) for p in corpus_jpegs()] + made_inputs(tmp)
        for name, path in cases:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            twelve = int(ds.get("BitsStored", 8)) > 8
            try:
                status, msg = check(name, path, tmp, decoder)
            except Exception as e:  # pydicom/Pillow refusing our output is a failure
                status, msg = "fail", "%s: %s" % (type(e).__name__, e)
            if status == "refused" and twelve and "unsupported" in msg:
                refused += 1
                print("ok   %s: 12-bit refused as unsupported" % name)
                continue
            if status != "ok":
                bad += 1
                print("FAIL %s: %s" % (name, msg))
            else:
                ok += 1
                print("ok   %s: %s" % (name, msg))
        left = decoder.close()
        if left:  # e.g. a leak LeakSanitizer reports at the helper's exit
            bad += 1
            print("FAIL the decode helper's stderr at exit: %s" % left[-2000:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d redacted and checked, %d 12-bit refused, %d failed" % (ok, refused, bad))
    if ok < 30:
        print("FAIL: expected at least 30 checked inputs")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
