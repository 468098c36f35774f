#!/usr/bin/python3
"""The pixel stage over every file of the shared corpus (issue 11 items 2-4), with detection replaced by a
fixed box (build/tests/dv_pixel_run, tests/helpers/dv_pixel_run.c), so this checks the stage on real files
whatever the detector finds:

  none  (REDACT_ALL_TEXT, nothing found): every output's PixelData is the input's, byte for byte, in the
        input's transfer syntax (lossless round trip: nothing is re-encoded when nothing is found);
  box   (one box per frame): no crash, every file ok / skipped / failed with an error class, and a failed
        file is never written (fail closed); the output transfer syntax follows the policy of docs/pixels.md;
        for inputs pydicom decodes losslessly, the output pixels differ from the input ONLY inside the box,
        on every frame, and the box differs (painted); colour stays colour (SamplesPerPixel kept, planar
        configuration 0 when re-written); BurnedInAnnotation is NO; dciodvfy reports no error on the output
        that it does not report on the input, for one file per output transfer syntax.

  cli   the real `dicomveil deidentify` with REDACT_ALL_TEXT (our detector) over the whole corpus: exit 0 or 1,
        no sanitizer report, every failure has an error class, and a failure of the pixel stage (message
        "pixels: ...") is an instance that was not written; every instance the stage ran on reports frames
        examined and its output transfer syntax, and nothing in the report is recognised text.

Under build-asan (ctest there) the same helper and CLI run with ASan+UBSan: no sanitizer report.
Env (set by ctest): DV_BUILD_DIR, DV_SHARED_DATA. Run with /usr/bin/python3.
"""
import os
import re
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pydicom

warnings.simplefilter("ignore")

SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("DV_BUILD_DIR") or os.path.join(SRC_DIR, "build")
HELPER = os.path.join(BUILD, "tests", "dv_pixel_run")
DV_BIN = os.environ.get("DV_BIN") or os.path.join(BUILD, "dicomveil")
SHARED = os.path.abspath(os.environ.get("DV_SHARED_DATA") or os.path.join(SRC_DIR, "..", "shared", "data"))
CORPUS = os.path.join(SHARED, "dicom")

EXPLICIT_LE = "1.2.840.10008.1.2.1"
KEPT = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99",  # native LE
        "1.2.840.10008.1.2.5",                                                  # RLE (ours)
        "1.2.840.10008.1.2.4.80",                                               # JPEG-LS lossless (CharLS)
        "1.2.840.10008.1.2.4.90",                                               # JPEG 2000 lossless (OpenJPEG)
        "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}                     # JPEG baseline (DCT domain)
LOSSLESS_IN = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2",
               "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.70",
               "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.90"}
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)


def run(mode, files, outdir):
    p = subprocess.run([HELPER, mode, outdir], input="\n".join(files) + "\n", capture_output=True, text=True,
                       timeout=900)
    if p.returncode != 0:
        print(p.stderr[-3000:])
        sys.exit(f"dv_pixel_run {mode} exited {p.returncode}")
    if "ERROR: AddressSanitizer" in p.stderr or "runtime error:" in p.stderr:
        print(p.stderr[-3000:])
        sys.exit(f"dv_pixel_run {mode}: sanitizer report")
    res = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        res[int(parts[0])] = parts[1:]
    check(len(res) == len(files), f"{mode}: {len(res)} results for {len(files)} files")
    return res


def ts_of(ds):
    return str(ds.file_meta.TransferSyntaxUID) if "TransferSyntaxUID" in getattr(ds, "file_meta", {}) else None


def expected_ts(in_ts, ds):
    if in_ts in ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"):
        return {in_ts, EXPLICIT_LE}  # DCT domain, or native when that path refuses the stream
    if in_ts == "1.2.840.10008.1.2.4.80":
        return {in_ts} if int(ds.BitsStored) >= 2 and int(ds.BitsAllocated) in (8, 16) else {EXPLICIT_LE}
    if in_ts == "1.2.840.10008.1.2.4.90":
        ok = 1 <= int(ds.BitsStored) <= 16 and int(ds.BitsAllocated) in (8, 16) and ds.PhotometricInterpretation != "YBR_ICT"
        return {in_ts} if ok else {EXPLICIT_LE}
    if in_ts in KEPT:
        return {in_ts}
    return {EXPLICIT_LE}


def pixels(ds, normalise=True):
    a = ds.pixel_array
    n = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spp = int(ds.SamplesPerPixel)
    if n == 1:
        a = a[np.newaxis, ...]
    if spp == 1:
        a = a[..., np.newaxis]
    bs = int(ds.BitsStored)
    if normalise and a.dtype.kind in "ui" and bs < a.dtype.itemsize * 8:
        mask = (1 << bs) - 1
        a = a.astype(np.int64) & mask
        if int(ds.PixelRepresentation) == 1:
            a = np.where(a >= (1 << (bs - 1)), a - (1 << bs), a)
    return a.astype(np.int64)


def native_need(ds):
    """The bytes native PixelData's attributes say it holds (src/dicom/frames.c dv_native_pixels), or None."""
    try:
        spp = int(ds.get("SamplesPerPixel", 1))
        if spp == 3 and str(ds.get("PhotometricInterpretation", "")).strip() in ("YBR_FULL_422", "YBR_PARTIAL_422"):
            spp = 2
        bits = int(ds.Rows) * int(ds.Columns) * spp * int(ds.BitsAllocated) * int(ds.get("NumberOfFrames", 1) or 1)
        return (bits + 7) // 8
    except Exception:
        return None


def container_cleaned(src, before, after):
    """What the pixel data carries besides pixels is cleared even when the pixel stage finds nothing
    (docs/decisions.md "Codestream metadata", "Bytes past the last frame"): native data is cut to its frames;
    in a codestream every changed byte is now a zero, a comment marker (JPEG FFFE, JPEG 2000 FF64) or part of
    a JP2 'free' box type, and the value keeps its length. test_pixel_container checks the frames decode the
    same."""
    if not getattr(src, "file_meta", None) or not src.file_meta.get("TransferSyntaxUID"):
        return False
    native = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99")
    if str(src.file_meta.TransferSyntaxUID) in native:
        need = native_need(src)
        return need is not None and len(before) > need + (need & 1) and after == before[:need] + b"\0" * (need & 1)
    if len(after) != len(before):
        return False
    a, b = np.frombuffer(before, np.uint8), np.frombuffer(after, np.uint8)
    for i in np.nonzero(a != b)[0]:
        i = int(i)
        if b[i] == 0 or (i and b[i - 1] == 0xFF and b[i] in (0xFE, 0x64)):
            continue
        if any(after[j:j + 4] == b"free" for j in range(max(0, i - 3), i + 1)):
            continue
        return False
    return True


def unused_bits_cleared(src, before, after):
    """Native pixel data whose bits outside the stored ones were cleared (sign-extended when signed) and nothing
    else changed: the stage clears them whenever it redacts, and an overlay group of a redacted image goes with
    its embedded planes (docs/decisions.md "Overlays embedded in pixel data", "Overlays go with a redacted
    image"; dcm4che's ovly_p01.dcm)."""
    native = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99")
    if not getattr(src, "file_meta", None) or str(src.file_meta.get("TransferSyntaxUID", "")) not in native:
        return False
    ba, bs, hb = int(src.get("BitsAllocated", 0)), int(src.get("BitsStored", 0)), int(src.get("HighBit", -1))
    if ba not in (8, 16, 32) or not 0 < bs <= ba or hb != bs - 1 or bs == ba:
        return False
    dt = {8: np.uint8, 16: np.uint16, 32: np.uint32}[ba]
    n = min(len(before), len(after)) // (ba // 8)
    a = np.frombuffer(before[:n * (ba // 8)], "<" + np.dtype(dt).str[1:])
    b = np.frombuffer(after[:n * (ba // 8)], "<" + np.dtype(dt).str[1:])
    mask = dt((1 << bs) - 1)
    if not np.array_equal(a & mask, b & mask):
        return False
    high = b & ~mask
    if int(src.get("PixelRepresentation", 0)) == 1:
        sign = (a >> (bs - 1)) & 1
        return bool(np.all(high == np.where(sign == 1, dt(~mask), dt(0))))
    return bool(np.all(high == 0))


def dciodvfy_errors(path):
    """dciodvfy's error lines with the values (<...>) taken out: a regenerated UID is not a new error."""
    p = subprocess.run(["dciodvfy", path], capture_output=True, text=True, timeout=120)
    return {re.sub(r"<[^>]*>", "<>", l.strip()) for l in (p.stdout + p.stderr).splitlines() if l.startswith("Error")}


def run_cli():
    import json
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "all.json")
        with open(cfg, "w") as f:
            json.dump({"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_ALL_TEXT"}}}}, f)
        key = os.path.join(tmp, "key")
        with open(key, "wb") as f:
            f.write(b"k" * 32)
        os.chmod(key, 0o600)
        rep = os.path.join(tmp, "rep.json")
        p = subprocess.run([DV_BIN, "deidentify", "-q", "-c", cfg, "-k", key, "-j", "2", "-r", rep, CORPUS,
                            os.path.join(tmp, "out")], capture_output=True, text=True, timeout=1500)
        check(p.returncode in (0, 1), f"cli: exit {p.returncode}: {p.stderr[-500:]}")
        check("ERROR: AddressSanitizer" not in p.stderr and "runtime error:" not in p.stderr,
              f"cli: sanitizer report: {p.stderr[-1500:]}")
        r = json.load(open(rep))
        outputs = sum(len(fs) for _, _, fs in os.walk(os.path.join(tmp, "out")))
        ran = pixel_failed = 0
        for e in r["instances"]:
            if e["status"] == "failed":
                check(e["error_class"] in ("malformed", "unsupported", "limit", "invalid", "io"),
                      f"cli: {e['source']}: error class {e['error_class']}")
                pixel_failed += (e.get("error") or "").startswith("pixels:")
            px = e.get("pixels")
            if px and "frames_examined" in px:
                ran += 1
                check(px["frames_examined"] >= 1 and px["transfer_syntax"].startswith("1.2.840.10008.1.2"),
                      f"cli: {e['source']}: pixels entry {px}")
                check(set(px) <= {"frames_examined", "boxes_redacted", "transfer_syntax", "nested_pixel_data_kept"},
                      f"cli: pixels entry has more than counts: {sorted(px)}")
        check(outputs == r["counts"]["ok"], f"cli: {outputs} files written, {r['counts']['ok']} ok")
        check(ran >= 120, f"cli: the pixel stage ran on {ran} instances only")
        print(f"cli REDACT_ALL_TEXT: {r['counts']}; stage ran on {ran}; {pixel_failed} failed closed in the stage")


def ocr_missing():
    """REDACT_SENSITIVE_TEXT without an OCR model (TESSDATA_PREFIX at an empty directory): the instance fails
    closed (unsupported) and nothing is written."""
    import json
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "sens.json")
        with open(cfg, "w") as f:
            json.dump({"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_SENSITIVE_TEXT"}}}}, f)
        key = os.path.join(tmp, "key")
        with open(key, "wb") as f:
            f.write(b"k" * 32)
        os.chmod(key, 0o600)
        os.mkdir(os.path.join(tmp, "empty"))
        rep = os.path.join(tmp, "rep.json")
        env = dict(os.environ, TESSDATA_PREFIX=os.path.join(tmp, "empty"))
        p = subprocess.run([DV_BIN, "deidentify", "-q", "-c", cfg, "-k", key, "-r", rep,
                            os.path.join(CORPUS, "presidio", "2_ORIGINAL.dcm"), os.path.join(tmp, "out")],
                           capture_output=True, text=True, timeout=300, env=env)
        check(p.returncode == 1, f"ocr missing: exit {p.returncode}, want 1")
        e = json.load(open(rep))["instances"][0]
        check(e["status"] == "failed" and e["error_class"] == "unsupported" and "OCR" in (e["error"] or ""),
              f"ocr missing: {e}")
        out = os.path.join(tmp, "out")
        check(not os.path.exists(out) or not any(fs for _, _, fs in os.walk(out)), "ocr missing: an output was written")


def pixel_value(ds):
    """The instance's pixel data value: PixelData, else FloatPixelData / DoubleFloatPixelData (the stage's too)."""
    for kw in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"):
        if kw in ds:
            return ds[kw].value
    return None


def main():
    if not os.path.exists(HELPER):
        sys.exit(f"missing helper {HELPER}")
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(CORPUS) for f in fs)
    with tempfile.TemporaryDirectory() as none_dir, tempfile.TemporaryDirectory() as box_dir:
        none = run("none", files, none_dir)
        box = run("box", files, box_dir)
        ran = compared = 0
        compared_out = {}  # output transfer syntax -> files compared inside/outside the box
        vfy_done = set()
        for i, path in enumerate(files):
            rel = os.path.relpath(path, CORPUS)
            r0, r1 = none.get(i, ["?"]), box.get(i, ["?"])
            out0, out1 = os.path.join(none_dir, f"{i}.dcm"), os.path.join(box_dir, f"{i}.dcm")
            check(r0[0] in ("ok", "skip", "fail") and r1[0] in ("ok", "skip", "fail"), f"{rel}: {r0} {r1}")
            if r1[0] == "fail":
                check(len(r1) == 2 and r1[1] in ("malformed", "unsupported", "invalid", "limit"),
                      f"{rel}: failure without a clear class {r1}")
                check(not os.path.exists(out1), f"{rel}: failed but written")
            if r0[0] == "fail":
                check(not os.path.exists(out0), f"{rel}: failed but written (none)")
            if r1[0] != "ok" or r1[3] == "-":
                continue
            ran += 1
            try:
                src = pydicom.dcmread(path, force=True)
            except Exception:
                continue
            in_ts = ts_of(src)
            # none: PixelData byte for byte, transfer syntax kept
            if r0[0] == "ok" and r0[3] != "-":
                o0 = pydicom.dcmread(out0, force=True)
                check(r0[2] == "0", f"{rel}: none found boxes")
                # (an odd-length value gets the writer's one pad byte: that is the writer's rule, not ours)
                pd0, pds = pixel_value(o0), pixel_value(src)
                check(pd0 == pds or (len(pds) % 2 == 1 and pd0[:-1] == pds and len(pd0) == len(pds) + 1)
                      or container_cleaned(src, pds, pd0) or unused_bits_cleared(src, pds, pd0),
                      f"{rel}: PixelData changed although nothing was found")
                if in_ts and in_ts != "1.2.840.10008.1.2.2":
                    check(ts_of(o0) == in_ts, f"{rel}: transfer syntax changed although nothing was found")
            o1 = pydicom.dcmread(out1, force=True)
            out_ts = ts_of(o1)
            if in_ts:
                check(out_ts in expected_ts(in_ts, src), f"{rel}: {in_ts} -> {out_ts}, policy says {expected_ts(in_ts, src)}")
                check(r1[3] == out_ts, f"{rel}: reported {r1[3]}, file has {out_ts}")
            check(int(o1.SamplesPerPixel) == int(src.SamplesPerPixel), f"{rel}: SamplesPerPixel changed")
            if int(o1.SamplesPerPixel) == 3 and out_ts == EXPLICIT_LE and in_ts != EXPLICIT_LE:
                check(int(getattr(o1, "PlanarConfiguration", 0)) == 0, f"{rel}: planar configuration not 0")
            check(str(getattr(o1, "BurnedInAnnotation", "")) == "NO", f"{rel}: BurnedInAnnotation not NO")
            # only inside the box, every frame (lossless inputs pydicom decodes)
            if in_ts in LOSSLESS_IN:
                try:
                    a, b = pixels(src), pixels(o1)
                except Exception:
                    a = b = None
                if a is not None and a.shape == b.shape:
                    rows, cols = a.shape[1], a.shape[2]
                    x, y = cols // 4, rows // 4
                    w, h = max(cols // 3, 1), max(rows // 5, 1)
                    inside = np.zeros(a.shape, dtype=bool)
                    inside[:, y:y + h, x:x + w, :] = True
                    # as pydicom returns them, or after the canonical normalisation (bits above BitsStored
                    # masked, sign extended): pydicom's handlers differ in what they leave in the high bits
                    same = np.array_equal(a[~inside], b[~inside]) or np.array_equal(
                        pixels(src, False)[~inside], pixels(o1, False)[~inside])
                    check(same, f"{rel}: pixels changed outside the box")
                    flat = b[:, y:y + h, x:x + w, :]
                    check(bool((flat == flat.reshape(flat.shape[0], -1, flat.shape[-1])[:, :1, np.newaxis, :]).all()),
                          f"{rel}: the box is not one flat value per frame")
                    compared += 1
                    compared_out[out_ts] = compared_out.get(out_ts, 0) + 1
            if out_ts not in vfy_done and in_ts:
                vfy_done.add(out_ts)
                new = dciodvfy_errors(out1) - dciodvfy_errors(path)
                check(not new, f"{rel}: dciodvfy errors on the output only: {sorted(new)[:3]}")
        print(f"pixel stage ran on {ran} files; {compared} compared inside/outside the box; "
              f"dciodvfy on {len(vfy_done)} output transfer syntaxes")
        check(ran >= 150, f"the stage ran on only {ran} files")
        check(compared >= 100, f"only {compared} files compared")
        print(f"compared per output transfer syntax: {dict(sorted(compared_out.items()))}")
        # every lossless re-encoder is exercised on real files and read back by pydicom (its GDCM handler
        # for JPEG-LS / JPEG 2000)
        for uid, least in (("1.2.840.10008.1.2.5", 10), ("1.2.840.10008.1.2.4.80", 5), ("1.2.840.10008.1.2.4.90", 5)):
            check(compared_out.get(uid, 0) >= least, f"only {compared_out.get(uid, 0)} {uid} outputs compared")
    run_cli()
    ocr_missing()
    if FAILS:
        for f in FAILS[:40]:
            print("FAIL:", f)
        sys.exit(f"{len(FAILS)} failures")
    print("ok")


if __name__ == "__main__":
    main()
