#!/usr/bin/python3
"""Pixel decoding against independent decoders, over every file of the shared corpus with PixelData.

For each corpus file pydicom can parse that has (7FE0,0010): our test helper build/tests/dv_decode_frame
decodes frames 0, the middle one and the last one to raw canonical samples (src/image/dv_image.h; one helper
process, in its batch mode, serves every frame), and the samples are compared with an independent decoder:
  native (LE, BE, deflated dataset), RLE      pydicom's numpy / RLE handlers
  JPEG baseline / extended 8-bit              pydicom's Pillow handler (Pillow's own libjpeg build)
  JPEG lossless, JPEG-LS, JPEG 2000           pydicom's GDCM handler (python3-gdcm: GDCM's own codecs
                                              and its bundled CharLS / OpenJPEG)
  HTJ2K                                       Pillow opening the codestream (pydicom 2.3 has no HTJ2K
                                              handler; Pillow shares the OpenJPEG library, so this checks
                                              our wrapper, not the library's maths)
  Deflated Image Frame Compression            Python's zlib + numpy (pydicom 2.3 predates the syntax)
Equality is exact for lossless syntaxes. For lossy JPEG Baseline the reference is also libjpeg-based but
its IDCT/upsampling build may differ, so |diff| <= 2 per sample is allowed (and the maximum is printed).
Both sides are compared after the canonical normalisation: bits above BitsStored masked, signed values
sign-extended (that IS the decoded value; pydicom leaves high bits as stored for some handlers).

Every frame (BitsStored 2..16) is also encoded with our lossless JPEG-LS encoder (CharLS): our re-decode is
identical, and for MONOCHROME/RGB frames GDCM decodes it to the same samples; the same for our lossless
JPEG 2000 encoder (OpenJPEG, reversible 5/3; BitsAllocated 8/16).
PALETTE COLOR files: the three lookup tables our dv_palette_read returns equal pydicom's raw table data
(segmented tables are refused by dv_palette_read: the helper then writes none and nothing is compared).
Also, per file and decoded frame (when the frame is RLE-encodable, i.e. BitsAllocated >= 8): our RLE
encoder's output re-decodes identically with our decoder (the helper checks, exit 3), and decodes to the
same samples with pydicom's own RLE decoder (RLE round trip of issue 11).

Files whose decode is expected to fail are listed in EXPECTED_FAILURES with the error class our helper
must report and why; any other failure, and any listed file that decodes, fails the test.

Env (set by ctest): DV_BUILD_DIR, DV_SHARED_DATA. Run with /usr/bin/python3.
"""
import os
import sys
import tempfile
import warnings
import zlib

import numpy as np
import pydicom
from pydicom.encaps import generate_pixel_data_frame

from dvdecode import DecodeFrame

warnings.simplefilter("ignore")

SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("DV_BUILD_DIR") or os.path.join(SRC_DIR, "build")
HELPER = os.path.join(BUILD, "tests", "dv_decode_frame")  # run through dvdecode.DecodeFrame
SHARED = os.path.abspath(os.environ.get("DV_SHARED_DATA") or os.path.join(SRC_DIR, "..", "shared", "data"))
CORPUS = os.path.join(SHARED, "dicom")

JPEG_LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}
LOSSLESS_GDCM = {"1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80",
                 "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}
HTJ2K = {"1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"}
DEFLATE_FRAME = "1.2.840.10008.1.2.8.1"
LOSSY_TOLERANCE = 2

# path -> (error class our helper reports, why)
EXPECTED_FAILURES = {
    "pydicom/JPEG-lossy.dcm": ("unsupported", "12-bit JPEG Extended: Debian's libjpeg-turbo 2.1.5 is 8-bit only"),
    "pydicom/JPGExtended.dcm": ("unsupported", "12-bit JPEG Extended (libjpeg-turbo 2.1.5 is 8-bit only)"),
    "orthanc-tests/TransferSyntaxes_1.2.840.10008.1.2.4.51.dcm":
        ("unsupported", "12-bit JPEG Extended (libjpeg-turbo 2.1.5 is 8-bit only)"),
    "dcm4che/will-jxl.dcm": ("unsupported", "JPEG XL: no decoder"),
    "fo-dicom/GH340.dcm": ("malformed", "no PhotometricInterpretation / SamplesPerPixel, BitsAllocated 12"),
    "fo-dicom/GH364.dcm": ("malformed", "the reader refuses the dataset (MANIFEST: malformed trap)"),
    "pydicom/MR_truncated.dcm": ("malformed", "PixelData truncated (the reader refuses it)"),
    "pydicom/badVR.dcm": ("malformed", "NumberOfFrames '1A' is not an IS value"),
    "pydicom/JPEG2000-embedded-sequence-delimiter.dcm":
        ("malformed", "pydicom's fragment-parser test: the 250-byte codestream's SIZ is (FFFE,E0DD) bytes"),
    "fo-dicom/multiframe.dcm#139":
        ("malformed", "whole-slide edge tile: the JPEG is 121x55, not the 240x240 the attributes say"),
}


def normalise(arr, bits_stored, signed, container_bits):
    a = arr.astype(np.int64)
    if bits_stored < container_bits:
        a &= (1 << bits_stored) - 1
        if signed:
            a = np.where(a & (1 << (bits_stored - 1)), a - (1 << bits_stored), a)
    elif signed:
        a = np.where(a >= (1 << (container_bits - 1)), a - (1 << container_bits), a)
    return a


def run_helper(helper, path, frame, tmp, rle=True):
    raw = os.path.join(tmp, "f.raw")
    jls = os.path.join(tmp, "f.jls")
    j2k = os.path.join(tmp, "f.j2k")
    for old in (jls, j2k):
        if os.path.exists(old):
            os.unlink(old)
    if os.path.exists(raw + ".lut"):
        os.unlink(raw + ".lut")
    rle_out = os.path.join(tmp, "f.rle")
    rc, msg = helper.decode(path, frame, raw, rle_out if rle else "", jls, j2k)
    if rc != 0:
        return None, rc, msg
    rows, cols, spp, sb, signed, nframes, calls, photo = msg.split(" ", 7)
    info = dict(rows=int(rows), cols=int(cols), spp=int(spp), sb=int(sb), signed=int(signed), photo=photo,
                nframes=int(nframes), calls=int(calls))
    dtype = {1: np.uint8, 2: np.uint16, 4: np.uint32}[info["sb"]]
    with open(raw, "rb") as f:
        info["pixels"] = np.frombuffer(f.read(), dtype=dtype).reshape(info["rows"], info["cols"], info["spp"])
    info["jls"] = None
    if os.path.exists(jls):
        with open(jls, "rb") as f:
            info["jls"] = f.read()
    info["j2k"] = None
    if os.path.exists(j2k):
        with open(j2k, "rb") as f:
            info["j2k"] = f.read()
    info["rle"] = None
    if rle and os.path.exists(rle_out):
        with open(rle_out, "rb") as f:
            info["rle"] = f.read()
    return info, 0, ""


def frames_of(arr, nframes, rows, cols, spp):
    """pydicom's pixel_array -> (nframes, rows, cols, spp)."""
    return arr.reshape(nframes, rows, cols, spp)


def reference_frame(ds, ts, frame, nframes):
    rows, cols, spp = int(ds.Rows), int(ds.Columns), int(ds.get("SamplesPerPixel", 1))
    if ts in HTJ2K:
        from io import BytesIO
        from PIL import Image
        data = next(f for i, f in enumerate(generate_pixel_data_frame(ds.PixelData, nframes)) if i == frame)
        return np.asarray(Image.open(BytesIO(data))).reshape(rows, cols, spp), "pillow-openjpeg"
    if ts == DEFLATE_FRAME:
        data = next(f for i, f in enumerate(generate_pixel_data_frame(ds.PixelData, nframes)) if i == frame)
        raw = zlib.decompress(data, -15)
        ba = int(ds.BitsAllocated)
        if ba == 1:
            bits = np.unpackbits(np.frombuffer(raw, np.uint8), bitorder="little")[: rows * cols * spp]
            return bits.reshape(rows, cols, spp), "zlib"
        dt = {8: np.uint8, 16: "<u2", 32: "<u4"}[ba]
        return np.frombuffer(raw, dt)[: rows * cols * spp].reshape(rows, cols, spp), "zlib"
    if ts in JPEG_LOSSY:
        # pydicom's Pillow path, one frame at a time (its whole-dataset path assumes every frame has the
        # same size); GDCM (its own libjpeg) when Pillow refuses the stream
        from io import BytesIO
        from pydicom.pixel_data_handlers.pillow_handler import _decompress_single_frame
        photo = str(ds.PhotometricInterpretation).strip()
        data = next(f for i, f in enumerate(generate_pixel_data_frame(ds.PixelData, nframes)) if i == frame)
        try:
            im = _decompress_single_frame(data, ts, photo)
            if "YBR" in photo:
                im.draft("YCbCr", (rows, cols))
            return np.asarray(im).reshape(rows, cols, spp), "pillow"
        except Exception:
            if nframes != 1:
                raise
            pydicom.config.pixel_data_handlers = [pydicom.pixel_data_handlers.gdcm_handler]
            name = "gdcm"
    elif ts in LOSSLESS_GDCM:
        pydicom.config.pixel_data_handlers = [pydicom.pixel_data_handlers.gdcm_handler]
        name = "gdcm"
    else:
        pydicom.config.pixel_data_handlers = [pydicom.pixel_data_handlers.numpy_handler,
                                              pydicom.pixel_data_handlers.rle_handler]
        name = "pydicom"
    arr = ds.pixel_array
    if str(ds.get("PhotometricInterpretation", "")).strip() == "YBR_FULL_422" and ts not in JPEG_LOSSY \
            and ts != "1.2.840.10008.1.2.5":
        name += "(422)"
    return frames_of(arr, nframes, rows, cols, spp)[frame], name


def pydicom_rle_decode(data, rows, cols, spp, bits):
    from pydicom.pixel_data_handlers.rle_handler import _rle_decode_frame
    # pydicom returns the samples planar (all of sample 0, then 1, ...), each little endian
    dt = {8: np.uint8, 16: "<u2", 32: "<u4"}[bits]
    out = np.frombuffer(_rle_decode_frame(data, rows, cols, spp, bits), dtype=dt)
    return out.reshape(spp, rows * cols).T.reshape(rows, cols, spp)


def gdcm_decode_jls(ds, info, key="jls", ts="1.2.840.10008.1.2.4.80"):
    """Our lossless JPEG-LS (or, key "j2k", JPEG 2000) frame, wrapped in a one-frame copy of the dataset,
    decoded by pydicom + GDCM."""
    from pydicom.encaps import encapsulate
    d = pydicom.Dataset()
    d.file_meta = pydicom.dataset.FileMetaDataset()
    d.file_meta.TransferSyntaxUID = ts
    d.is_little_endian, d.is_implicit_VR = True, False
    d.Rows, d.Columns, d.SamplesPerPixel = info["rows"], info["cols"], info["spp"]
    d.BitsAllocated = int(ds.BitsAllocated)
    d.BitsStored = int(ds.get("BitsStored", ds.BitsAllocated))
    d.HighBit = d.BitsStored - 1
    d.PixelRepresentation = info["signed"]
    d.PhotometricInterpretation = info["photo"]
    if info["spp"] == 3:
        d.PlanarConfiguration = 0
    d.PixelData = encapsulate([info[key]])
    d["PixelData"].VR = "OB"
    pydicom.config.pixel_data_handlers = [pydicom.pixel_data_handlers.gdcm_handler]
    return d.pixel_array.reshape(info["rows"], info["cols"], info["spp"])


def main():
    if not os.access(HELPER, os.X_OK):
        print(f"FAIL: helper not built: {HELPER}")
        return 1
    failures, checked, per_ts, rle_checked, palettes, jls_checked = [], 0, {}, 0, 0, 0
    j2k_checked = 0
    tmp = tempfile.mkdtemp(prefix="dv-img-")
    helper = DecodeFrame(BUILD, tmp)
    seen_expected = set()
    for root, _, files in os.walk(CORPUS):
        for fn in sorted(files):
            path = os.path.join(root, fn)
            rel = os.path.relpath(path, CORPUS)
            try:
                ds = pydicom.dcmread(path, force=True)
            except Exception:
                continue
            if "PixelData" not in ds or "Rows" not in ds:
                continue
            ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
            if not ts:  # raw dataset without file meta: tell pydicom's handlers what the parser found
                ts = "1.2.840.10008.1.2" if ds.is_implicit_VR else (
                    "1.2.840.10008.1.2.1" if ds.is_little_endian else "1.2.840.10008.1.2.2")
                ds.file_meta = getattr(ds, "file_meta", None) or pydicom.dataset.FileMetaDataset()
                ds.file_meta.TransferSyntaxUID = ts
            try:
                nframes = int(ds.get("NumberOfFrames", 1) or 1)
            except (TypeError, ValueError):
                nframes = 1
            frames = sorted({0, nframes // 2, nframes - 1})
            for fr in frames:
                info, rc, msg = run_helper(helper, path, fr, tmp, rle=True)
                if info is None:
                    if rc == 3:
                        failures.append(f"{rel} frame {fr}: encode round trip differs ({msg})")
                        break
                    key = rel if rel in EXPECTED_FAILURES else f"{rel}#{fr}"
                    if key in EXPECTED_FAILURES:
                        want = EXPECTED_FAILURES[key][0]
                        if not msg.startswith(f"error {want}:"):
                            failures.append(f"{key}: expected error class {want}, got: {msg}")
                        seen_expected.add(key)
                        break
                    if "RLE encode" in msg:  # BitsAllocated 1: decode only
                        info, rc, msg = run_helper(helper, path, fr, tmp, rle=False)
                    if info is None:
                        failures.append(f"{rel} frame {fr}: our decoder failed: {msg}")
                        break
                for key in (rel, f"{rel}#{fr}"):
                    if key in EXPECTED_FAILURES:
                        failures.append(f"{key}: listed as expected failure but decodes")
                        seen_expected.add(key)
                if rel in EXPECTED_FAILURES:
                    break
                try:
                    ref, refname = reference_frame(ds, ts, fr, nframes)
                except Exception as e:  # no independent decoder for this file
                    failures.append(f"{rel} frame {fr}: reference decoder failed ({type(e).__name__}: {e})")
                    break
                ours = info["pixels"]
                bs = int(ds.BitsStored) if "BitsStored" in ds else int(ds.BitsAllocated)
                cont = info["sb"] * 8
                if ref.shape != ours.shape:
                    failures.append(f"{rel} frame {fr}: shape {ours.shape} vs {refname} {ref.shape}")
                    break
                a = normalise(ours, bs, info["signed"], cont)
                ref_bits = ref.dtype.itemsize * 8
                b = normalise(ref, bs, info["signed"], ref_bits)
                diff = int(np.abs(a - b).max()) if a.size else 0
                tol = LOSSY_TOLERANCE if ts in JPEG_LOSSY else 0
                per_ts.setdefault(ts or "(raw)", [0, 0])
                per_ts[ts or "(raw)"][0] += 1
                per_ts[ts or "(raw)"][1] = max(per_ts[ts or "(raw)"][1], diff)
                if diff > tol:
                    n = int((np.abs(a - b) > tol).sum())
                    failures.append(f"{rel} frame {fr}: {n} samples differ from {refname} (max {diff}, tolerance {tol})")
                    break
                checked += 1
                lut_path = os.path.join(tmp, "f.raw.lut")
                if info["photo"] == "PALETTE COLOR" and fr == 0 and os.path.exists(lut_path):
                    lut = np.fromfile(lut_path, dtype=np.uint16)
                    n = len(lut) // 3
                    parts = []
                    for c in ("Red", "Green", "Blue"):
                        raw = ds[f"{c}PaletteColorLookupTableData"].value
                        # 8-bit tables written one byte per entry (PS3.3 allows it for OW? pydicom reads them so)
                        parts.append(np.frombuffer(raw, np.uint8)[:n].astype(np.uint16) if len(raw) < 2 * n
                                     else np.frombuffer(raw, "<u2")[:n])
                    if not np.array_equal(lut, np.concatenate(parts)):
                        failures.append(f"{rel}: palette lookup tables differ from pydicom's")
                    palettes += 1
                if info["jls"] is not None and info["photo"] in ("MONOCHROME1", "MONOCHROME2", "RGB"):
                    got = gdcm_decode_jls(ds, info)
                    ref_j = normalise(got, bs, info["signed"], got.dtype.itemsize * 8)
                    if not np.array_equal(ref_j, a):
                        failures.append(f"{rel} frame {fr}: GDCM decodes our JPEG-LS output differently")
                        break
                    jls_checked += 1
                if info["j2k"] is not None and info["photo"] in ("MONOCHROME1", "MONOCHROME2", "RGB"):
                    got = gdcm_decode_jls(ds, info, "j2k", "1.2.840.10008.1.2.4.90")
                    ref_k = normalise(got, bs, info["signed"], got.dtype.itemsize * 8)
                    if not np.array_equal(ref_k, a):
                        failures.append(f"{rel} frame {fr}: GDCM decodes our JPEG 2000 output differently")
                        break
                    j2k_checked += 1
                if info["rle"] is not None and int(ds.BitsAllocated) >= 8:
                    got = pydicom_rle_decode(info["rle"], info["rows"], info["cols"], info["spp"], cont)
                    if not np.array_equal(got.astype(np.uint64), ours.astype(np.uint64)):
                        failures.append(f"{rel} frame {fr}: pydicom decodes our RLE output differently")
                        break
                    rle_checked += 1
    left = helper.close()
    if left:  # e.g. a leak LeakSanitizer reports at the helper's exit
        failures.append(f"the helper's stderr at exit: {left[-2000:]}")
    if j2k_checked < 150:
        failures.append(f"only {j2k_checked} JPEG 2000 re-encodes checked with GDCM (>= 150 expected)")
    for rel in sorted(set(EXPECTED_FAILURES) - seen_expected):
        if os.path.exists(os.path.join(CORPUS, rel.split("#")[0])):
            failures.append(f"{rel}: expected failure entry not exercised")
    for ts, (n, mx) in sorted(per_ts.items()):
        print(f"  {ts:28s} frames {n:4d}  max |diff| {mx}")
    print(f"frames compared: {checked}; RLE re-encodes checked with pydicom: {rle_checked}; "
          f"JPEG-LS re-encodes checked with GDCM: {jls_checked}; JPEG 2000 re-encodes: {j2k_checked}; "
          f"expected failures: {len(seen_expected)}; palettes compared: {palettes}")
    for f in failures:
        print("FAIL:", f)
    print("PASS" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
