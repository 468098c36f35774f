#!/usr/bin/python3
"""Our decoders on streams made by an independent encoder (dcmtk), compared with the native source pixels.

The corpus has JPEG lossless only with selection value 1 (and one .57 file), JPEG-LS mostly line-interleaved,
and no point transform. dcmtk's encoders make the rest from native corpus files:
  dcmcjpeg +el +sv 1..7 [+pt 2]   JPEG lossless process 14, every predictor, and a point transform
                                  (expected pixels: the source with the low pt bits cleared, T.81 H.1.2.3)
  dcmcjpls +il / +is / +in [+en]  JPEG-LS line / sample / no interleave; near-lossless (|diff| <= NEAR 2)
  dcmcrle                         RLE from another encoder
  dcmcjpeg +eb                    JPEG baseline; compared with dcmtk's own decoder (dcmdjpeg), |diff| <= 2
Sources: a 16-bit signed MR, a 16-bit CT, and an 8-bit RGB (native, made with dcmdrle from the corpus),
2 frames where the source has them. Our side: build/tests/dv_decode_frame (frame by frame).

Env (set by ctest): DV_BUILD_DIR, DV_SHARED_DATA. Run with /usr/bin/python3.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pydicom

from dvdecode import DecodeFrame

warnings.simplefilter("ignore")
SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("DV_BUILD_DIR") or os.path.join(SRC_DIR, "build")
HELPER = os.path.join(BUILD, "tests", "dv_decode_frame")
SHARED = os.path.abspath(os.environ.get("DV_SHARED_DATA") or os.path.join(SRC_DIR, "..", "shared", "data"))
CORPUS = os.path.join(SHARED, "dicom")


def ours(helper, path, frame, tmp):
    raw = os.path.join(tmp, "o.raw")
    rc, msg = helper.decode(path, frame, raw)
    if rc != 0:
        raise RuntimeError(msg)
    rows, cols, spp, sb, signed, nframes, _calls, _photo = msg.split(" ", 7)
    dt = {1: np.uint8, 2: np.uint16, 4: np.uint32}[int(sb)]
    if int(signed):
        dt = {1: np.int8, 2: np.int16, 4: np.int32}[int(sb)]
    with open(raw, "rb") as f:
        a = np.frombuffer(f.read(), dtype=dt).reshape(int(rows), int(cols), int(spp))
    return a.astype(np.int64), int(nframes)


def native_frames(path):
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    n = int(ds.get("NumberOfFrames", 1) or 1)
    spp = int(ds.get("SamplesPerPixel", 1))
    return arr.reshape(n, int(ds.Rows), int(ds.Columns), spp).astype(np.int64), ds


def main():
    if not os.access(HELPER, os.X_OK) or not shutil.which("dcmcjpeg"):
        print("FAIL: helper or dcmtk missing")
        return 1
    tmp = tempfile.mkdtemp(prefix="dv-codecs-")
    rgb = os.path.join(tmp, "rgb.dcm")
    subprocess.run(["dcmdrle", os.path.join(CORPUS, "pydicom", "SC_rgb_rle_2frame.dcm"), rgb], check=True)
    sources = {"mr16s": os.path.join(CORPUS, "pydicom", "MR_small.dcm"),
               "ct16": os.path.join(CORPUS, "pydicom", "CT_small.dcm"),
               "rgb8x2": rgb}
    cases = []  # (name, command args, tolerance, point transform)
    for sv in range(1, 8):
        cases.append((f"jpeg-lossless-sv{sv}", ["dcmcjpeg", "+el", "+sv", str(sv)], 0, 0))
    cases.append(("jpeg-lossless-sv1-pt2", ["dcmcjpeg", "+el", "+sv", "1", "+pt", "2"], 0, 2))
    for il in ("+il", "+is", "+in"):
        cases.append((f"jpegls{il}", ["dcmcjpls", il], 0, 0))
    cases.append(("jpegls-near2", ["dcmcjpls", "+en", "+md", "2"], 2, 0))
    cases.append(("rle-dcmtk", ["dcmcrle"], 0, 0))
    cases.append(("jpeg-baseline", ["dcmcjpeg", "+eb"], "dcmdjpeg", 0))
    failures, checked = [], 0
    helper = DecodeFrame(BUILD, tmp)
    for sname, spath in sources.items():
        ref, ds = native_frames(spath)
        bs = int(ds.BitsStored)
        for name, cmd, tol, pt in cases:
            if name == "jpeg-baseline" and int(ds.BitsAllocated) != 8:
                continue  # 8-bit baseline only (12-bit is unsupported, see docs/pixels.md)
            if name == "jpegls-near2" and int(ds.PixelRepresentation):
                continue  # dcmcjpls refuses near-lossless for signed pixel data
            enc = os.path.join(tmp, f"{sname}-{name}.dcm")
            p = subprocess.run(cmd + [spath, enc], capture_output=True, text=True)
            if p.returncode != 0:
                failures.append(f"{sname} {name}: dcmtk encoder failed: {p.stderr.strip()[:200]}")
                continue
            want = ref
            tolerance = tol
            if tol == "dcmdjpeg":  # lossy: compare with dcmtk's own decode of the same stream
                dec = os.path.join(tmp, f"{sname}-{name}-dec.dcm")
                subprocess.run(["dcmdjpeg", "+cn", enc, dec], check=True)
                want, _ = native_frames(dec)
                tolerance = 2
            if pt:
                mask = ~((1 << pt) - 1) & ((1 << bs) - 1)
                want = np.where(want < 0, want + (1 << bs), want) & mask
                if int(ds.PixelRepresentation):
                    want = np.where(want >= (1 << (bs - 1)), want - (1 << bs), want)
            for fr in range(want.shape[0]):
                try:
                    got, _ = ours(helper, enc, fr, tmp)
                except RuntimeError as e:
                    failures.append(f"{sname} {name} frame {fr}: our decoder failed: {e}")
                    break
                if got.shape != want[fr].shape:
                    failures.append(f"{sname} {name} frame {fr}: shape {got.shape} vs {want[fr].shape}")
                    break
                d = int(np.abs(got - want[fr]).max())
                if d > tolerance:
                    failures.append(f"{sname} {name} frame {fr}: max |diff| {d} > {tolerance}")
                    break
                checked += 1
    left = helper.close()
    if left:  # e.g. a leak LeakSanitizer reports at the helper's exit
        failures.append(f"the helper's stderr at exit: {left[-2000:]}")
    print(f"frames checked: {checked} ({len(sources)} sources x {len(cases)} encodings)")
    for f in failures:
        print("FAIL:", f)
    shutil.rmtree(tmp, ignore_errors=True)
    print("PASS" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
