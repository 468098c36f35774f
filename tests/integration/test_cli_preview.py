#!/usr/bin/python3
"""deidentify --preview DIR (src/cli/preview.c): before/after pictures of every redacted frame.

Pictures: build/tests/dv_preview_run runs the CLI's preview writer on the pixel stage with detection replaced
by a fixed box per frame (x = W/4, y = H/4, w = W/3, h = H/5), over corpus files: signed 16-bit CT,
MONOCHROME1, RGB (RLE), JPEG Baseline YBR (DCT-domain redaction), a 10-frame multi-frame, PALETTE COLOR.
  - one before and one after PNG per frame, named <new SOPInstanceUID>_frame<N>_{before,after}.png (the new
    UID, never the input's), mode 0600, in a directory of mode 0700; PNGs re-read with struct + zlib;
  - before: RGB, the box's 2-pixel inner ring is red (255, 0, 0); monochrome content windowed by the frame's
    min..max (pydicom + numpy, within 1);
  - after: the box is dark (JPEG: the covered MCUs, away from their outermost pixel); outside the box
    (JPEG: outside the MCU-aligned cover, grown by 2 pixels) after equals before, i.e. only the box changed
    and both use the same window.
Published with the output: a duplicate input (same SOPInstanceUID, flipped pixels) neither shows nor replaces
pictures (-j1 and -j2), a run writing nothing writes none, nor does a failed instance, and stderr counts
published frames only. A symbolic
link planted under a picture's name is replaced, its target untouched; a preview dir writable by group or others
is refused (exit 2, naming the option). Temporaries a killed run left (.preview-tmp-<pid>-<n>) are removed by
the next run that has the directory alone; look-alike names, links and directories stay.
CLI: --preview inside DST or a SRC, or naming a file, is a usage error (exit 2, nothing written); a run whose
config redacts no pixels creates the directory (0700), writes no picture and says "0 redacted frame(s)"; end to
end with the real detector (REDACT_ALL_TEXT on presidio/2_ORIGINAL.dcm, burned-in name and dates) one pair is
written, named by the output's SOPInstanceUID, outlined on before only.
Env (set by ctest): DV_BIN, DV_BUILD_DIR, DV_SHARED_DATA. Run with /usr/bin/python3.
"""
import fcntl
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pydicom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_render import read_png  # noqa: E402  (one PNG parser for both tests)

warnings.simplefilter("ignore")
SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("DV_BUILD_DIR") or os.path.join(SRC_DIR, "build")
BIN = os.environ.get("DV_BIN") or os.path.join(BUILD, "dicomveil")
HELPER = os.path.join(BUILD, "tests", "dv_preview_run")
SHARED = os.path.abspath(os.environ.get("DV_SHARED_DATA") or os.path.join(SRC_DIR, "..", "shared", "data"))
CORPUS = os.path.join(SHARED, "dicom")

FILES = ["pydicom/CT_small.dcm", "highdicom/dx_image.dcm", "pydicom/SC_rgb_rle.dcm", "pydicom/SC_rgb_jpeg_dcmtk.dcm",
         "pydicom-data/emri_small_RLE.dcm", "pydicom-data/OT-PAL-8-face.dcm"]
NAME = re.compile(r"^([0-9.]+)_frame([0-9]+)_(before|after)\.png$")


def check_pictures(tmp, bad):
    pdir = os.path.join(tmp, "preview")
    p = subprocess.run([HELPER, pdir] + [os.path.join(CORPUS, f) for f in FILES], capture_output=True, text=True,
                       timeout=300)
    lines = p.stdout.split("\n")
    uids = {}
    for i, f in enumerate(FILES):
        parts = lines[i].split()
        if parts[1] != "ok":
            bad.append("%s: %s" % (f, lines[i]))
            continue
        uids[parts[2]] = f
    if stat.S_IMODE(os.stat(pdir).st_mode) != 0o700:
        bad.append("preview dir mode %o" % stat.S_IMODE(os.stat(pdir).st_mode))
    names = sorted(os.listdir(pdir))
    for n in names:
        m = NAME.match(n)
        if not m or m.group(1) not in uids:
            bad.append("unexpected file name %s" % n)
        elif stat.S_IMODE(os.stat(os.path.join(pdir, n)).st_mode) != 0o600:
            bad.append("%s: mode not 0600" % n)
    checked = 0
    for uid, f in uids.items():
        ds = pydicom.dcmread(os.path.join(CORPUS, f), force=True)
        if uid == str(ds.SOPInstanceUID):
            bad.append("%s: pictures named by the input SOPInstanceUID" % f)
        nframes = int(ds.get("NumberOfFrames", 1) or 1)
        rows, cols = int(ds.Rows), int(ds.Columns)
        x, y, w, h = cols // 4, rows // 4, max(1, cols // 3), max(1, rows // 5)
        jpeg = "1.2.840.10008.1.2.4.5" in str(ds.file_meta.get("TransferSyntaxUID", ""))
        photo = str(ds.PhotometricInterpretation).strip()
        if "TransferSyntaxUID" not in ds.file_meta:
            ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
        px = ds.pixel_array.reshape(nframes, rows, cols, -1)
        for k in range(nframes):
            bp = os.path.join(pdir, "%s_frame%d_before.png" % (uid, k))
            ap = os.path.join(pdir, "%s_frame%d_after.png" % (uid, k))
            if not (os.path.exists(bp) and os.path.exists(ap)):
                bad.append("%s frame %d: pictures missing" % (f, k))
                continue
            before = read_png(bp).astype(np.int64)
            after = read_png(ap).astype(np.int64)
            if before.shape != (rows, cols, 3):
                bad.append("%s frame %d: before is %s, want RGB %dx%d" % (f, k, before.shape, cols, rows))
                continue
            rx, ry, rw, rh = x, y, w, h
            if jpeg:  # the outline shows what was covered: the box widened to the MCU grid (8 or 16 px)
                red = np.argwhere((before == [255, 0, 0]).all(axis=2))
                if len(red):
                    ry, rx = red.min(axis=0)
                    rh, rw = red.max(axis=0) - (ry, rx) + 1
                if not (rx % 8 == 0 and ry % 8 == 0 and rx <= x and ry <= y and rx + rw >= x + w and
                        ry + rh >= y + h and rx + rw - x - w < 16 and ry + rh - y - h < 16):
                    bad.append("%s frame %d: outline %s is not the MCU-aligned cover of the box" %
                               (f, k, (rx, ry, rw, rh)))
            ring = np.zeros((rows, cols), bool)
            ring[ry:ry + rh, rx:rx + rw] = True
            ring[ry + 2:ry + rh - 2, rx + 2:rx + rw - 2] = False
            if not (before[ring] == [255, 0, 0]).all():
                bad.append("%s frame %d: the box outline is not red" % (f, k))
            aft = np.repeat(after, 3, axis=2) if after.shape[2] == 1 else after
            inner = np.zeros((rows, cols), bool)
            inner[y + 1:y + h - 1, x + 1:x + w - 1] = True
            if inner.any() and aft[inner].max() > 2:
                bad.append("%s frame %d: box not dark after (max %d)" % (f, k, aft[inner].max()))
            keep = np.ones((rows, cols), bool)
            if jpeg:  # the cover is MCU-aligned (16 px at most here) plus the chroma filter's reach
                x0, y0 = (x // 16) * 16 - 2, (y // 16) * 16 - 2
                x1, y1 = -(-(x + w) // 16) * 16 + 2, -(-(y + h) // 16) * 16 + 2
                keep[max(0, y0):y1, max(0, x0):x1] = False
            else:
                keep[y:y + h, x:x + w] = False
            if np.abs(aft[keep] - before[keep]).max() != 0:
                bad.append("%s frame %d: pixels outside the box differ between before and after" % (f, k))
            if photo.startswith("MONOCHROME"):
                a = px[k, ..., 0].astype(np.float64)
                lo, hi = a.min(), a.max()
                want = np.floor((a - lo) / (hi - lo) * 255 + 0.5) if hi > lo else a * 0
                if photo == "MONOCHROME1":
                    want = 255 - want
                d = np.abs(want[keep] - before[..., 0][keep]).max()
                if d > 1:
                    bad.append("%s frame %d: before windowing differs from min..max by %d" % (f, k, d))
            if not (before[inner] != aft[inner]).any():
                bad.append("%s frame %d: before shows no content in the box" % (f, k))
            checked += 1
    want_pairs = sum(int(pydicom.dcmread(os.path.join(CORPUS, f), stop_before_pixels=True, force=True)
                         .get("NumberOfFrames", 1) or 1) for f in FILES)
    if checked != want_pairs or len(names) != 2 * want_pairs:
        bad.append("checked %d frame pairs, %d files; want %d pairs" % (checked, len(names), want_pairs))
    if ("pictured %d failed 0" % want_pairs) not in p.stdout:
        bad.append("helper summary: %r" % p.stdout.strip().split("\n")[-1])
    print("pictures: %d frame pairs checked" % checked)


def check_cli(tmp, bad):
    src = os.path.join(tmp, "src")
    os.makedirs(src)
    shutil.copy(os.path.join(CORPUS, "pydicom", "CT_small.dcm"), src)
    key = os.path.join(tmp, "key")
    open(key, "wb").write(b"k" * 32)
    cfg = os.path.join(tmp, "cfg.json")
    open(cfg, "w").write('{"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE"}}')
    dst = os.path.join(tmp, "dst")
    base = [BIN, "deidentify", "-q", "--config", cfg, "--key-file", key]
    for pv, why in [(os.path.join(dst, "pv"), "inside DST"), (os.path.join(src, "pv"), "inside a SRC"),
                    (cfg, "a file")]:
        p = subprocess.run(base + ["--preview", pv, src, dst], capture_output=True, text=True, timeout=60)
        if p.returncode != 2 or os.path.exists(dst) or (pv != cfg and os.path.exists(pv)):
            bad.append("--preview %s: exit %d, stderr %r" % (why, p.returncode, p.stderr.strip()))
    pv = os.path.join(tmp, "pv")
    p = subprocess.run(base + ["--preview", pv, src, dst], capture_output=True, text=True, timeout=60)
    if p.returncode != 0 or "0 redacted frame(s) pictured" not in p.stderr or os.listdir(pv) or \
            stat.S_IMODE(os.stat(pv).st_mode) != 0o700:
        bad.append("--preview without pixel redaction: exit %d, stderr %r" % (p.returncode, p.stderr.strip()))
    # end to end with the real detector: presidio/2_ORIGINAL.dcm carries a burned-in name and dates
    src2, dst2, pv2 = os.path.join(tmp, "src2"), os.path.join(tmp, "dst2"), os.path.join(tmp, "pv2")
    os.makedirs(src2)
    shutil.copy(os.path.join(CORPUS, "presidio", "2_ORIGINAL.dcm"), src2)
    cfg2 = os.path.join(tmp, "cfg2.json")
    open(cfg2, "w").write('{"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_ALL_TEXT"}}}}')
    p = subprocess.run([BIN, "deidentify", "-q", "--config", cfg2, "--key-file", key, "--preview", pv2, src2, dst2],
                       capture_output=True, text=True, timeout=120)
    outs = [os.path.join(r, f) for r, _d, fs in os.walk(dst2) for f in fs]
    names = sorted(os.listdir(pv2)) if os.path.isdir(pv2) else []
    if p.returncode != 0 or len(outs) != 1 or "1 redacted frame(s) pictured" not in p.stderr:
        bad.append("end to end: exit %d, %d outputs, stderr %r" % (p.returncode, len(outs), p.stderr.strip()))
    else:
        uid = str(pydicom.dcmread(outs[0], stop_before_pixels=True).SOPInstanceUID)
        want = [uid + "_frame0_after.png", uid + "_frame0_before.png"]
        if names != want:
            bad.append("end to end: pictures %s, want %s" % (names, want))
        else:
            before = read_png(os.path.join(pv2, want[1]))
            if not (before == [255, 0, 0]).all(axis=2).any():
                bad.append("end to end: no outline on the before picture")
            if (read_png(os.path.join(pv2, want[0])) == [255, 0, 0]).all(axis=2).any():
                bad.append("end to end: outline on the after picture")
    p = subprocess.run([BIN, "deidentify", "--help"], capture_output=True, text=True)
    if "--preview DIR" not in p.stdout:
        bad.append("deidentify --help does not document --preview")
    check_duplicate(tmp, key, cfg2, bad)
    check_planted_link(tmp, key, bad)
    check_stale_temporaries(tmp, key, cfg2, bad)


def run_cli(args, timeout=180):
    return subprocess.run([BIN, "deidentify", "-q"] + args, capture_output=True, text=True, timeout=timeout)


def pictures(pdir):
    return {n: open(os.path.join(pdir, n), "rb").read() for n in sorted(os.listdir(pdir))} \
        if os.path.isdir(pdir) else {}


def check_duplicate(tmp, key, cfg, bad):
    """Pictures are published only for a written instance: a duplicate (same SOPInstanceUID as an input written
    before it, other pixels: here flipped) neither shows nor replaces pictures, a run writing nothing writes
    none, and the stderr count is of published frames."""
    d = pydicom.dcmread(os.path.join(CORPUS, "presidio", "2_ORIGINAL.dcm"))
    only_a, dup = os.path.join(tmp, "dup_only_a"), os.path.join(tmp, "dup_src")
    os.makedirs(only_a)
    os.makedirs(dup)
    d.save_as(os.path.join(only_a, "a.dcm"))
    d.save_as(os.path.join(dup, "a.dcm"))
    d.PixelData = np.ascontiguousarray(d.pixel_array[::-1, :]).tobytes()
    d.save_as(os.path.join(dup, "b.dcm"))
    pv_a, pv, dst = os.path.join(tmp, "dup_pv_a"), os.path.join(tmp, "dup_pv"), os.path.join(tmp, "dup_dst")
    p = run_cli(["-j1", "--config", cfg, "--key-file", key, "--preview", pv_a, only_a, os.path.join(tmp, "dup_a")])
    want = pictures(pv_a)
    if p.returncode != 0 or not want:
        bad.append("duplicate: reference run: exit %d, %d pictures" % (p.returncode, len(want)))
        return
    for j in ("-j1", "-j2"):
        shutil.rmtree(pv, ignore_errors=True)
        shutil.rmtree(dst, ignore_errors=True)
        p = run_cli([j, "--config", cfg, "--key-file", key, "--preview", pv, dup, dst])
        got = pictures(pv)
        if p.returncode != 0 or got != want or "%d redacted frame(s) pictured" % (len(want) // 2) not in p.stderr:
            bad.append("duplicate %s: exit %d, pictures %s (want a's %s), stderr %r" %
                       (j, p.returncode, sorted(got), sorted(want), p.stderr.strip()[-300:]))
    # again over the same DST: nothing is written (both duplicates), so no picture is (re)written
    pv2 = os.path.join(tmp, "dup_pv2")
    p = run_cli(["-j1", "--config", cfg, "--key-file", key, "--preview", pv2, dup, dst])
    if p.returncode != 0 or pictures(pv2) or "0 redacted frame(s) pictured" not in p.stderr:
        bad.append("run writing nothing: exit %d, pictures %s, stderr %r" %
                   (p.returncode, sorted(pictures(pv2)), p.stderr.strip()[-300:]))


def check_planted_link(tmp, key, bad):
    """A symbolic link planted under a picture's name is replaced, never written through; a failed instance
    leaves no pictures; a preview dir writable by group or others is refused (exit 2, naming the option,
    nothing written)."""
    src, pv, dst = os.path.join(tmp, "ln_src"), os.path.join(tmp, "ln_pv"), os.path.join(tmp, "ln_dst")
    os.makedirs(src)
    os.makedirs(pv, 0o700)
    shutil.copy(os.path.join(CORPUS, "presidio", "2_ORIGINAL.dcm"), src)
    cfg = os.path.join(tmp, "ln_cfg.json")
    open(cfg, "w").write('{"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE", "options": {"primaryIds": "KEEP", '
                         '"cleanImage": {"textRedactionMode": "REDACT_ALL_TEXT"}}}}')
    uid = str(pydicom.dcmread(os.path.join(src, "2_ORIGINAL.dcm"), stop_before_pixels=True).SOPInstanceUID)
    victim = os.path.join(tmp, "victim.txt")
    open(victim, "w").write("victim file\n")
    link = os.path.join(pv, uid + "_frame0_before.png")
    os.symlink(victim, link)
    p = run_cli(["--config", cfg, "--key-file", key, "--preview", pv, src, dst])
    kept = open(victim, "rb").read() == b"victim file\n"
    if p.returncode != 0 or not kept or os.path.islink(link) or not os.path.isfile(link) or \
            stat.S_IMODE(os.stat(link).st_mode) != 0o600:
        bad.append("planted link: exit %d, link target kept: %s, link still a link: %s, stderr %r" %
                   (p.returncode, kept, os.path.islink(link), p.stderr.strip()[-300:]))
    if [n for n in os.listdir(pv) if n.startswith(".preview-tmp")]:
        bad.append("planted link: temporary pictures left behind")
    # a failed instance leaves no pictures: its output cannot be named (the study folder is a file), which is
    # found after the pixel stage showed its frames
    study = str(pydicom.dcmread(os.path.join(src, "2_ORIGINAL.dcm"), stop_before_pixels=True).StudyInstanceUID)
    pvf, dstf = os.path.join(tmp, "ln_pvf"), os.path.join(tmp, "ln_dstf")
    os.makedirs(dstf)
    open(os.path.join(dstf, study), "w").close()
    p = run_cli(["--config", cfg, "--key-file", key, "--preview", pvf, src, dstf])
    if p.returncode != 1 or pictures(pvf) or "0 redacted frame(s) pictured" not in p.stderr:
        bad.append("failed instance: exit %d, pictures %s, stderr %r" %
                   (p.returncode, sorted(pictures(pvf)), p.stderr.strip()[-300:]))
    for mode in (0o770, 0o1777, 0o702):
        pvw, dstw = os.path.join(tmp, "ln_pvw"), os.path.join(tmp, "ln_dstw")
        shutil.rmtree(pvw, ignore_errors=True)
        os.makedirs(pvw)
        os.chmod(pvw, mode)
        p = run_cli(["--config", cfg, "--key-file", key, "--preview", pvw, src, dstw])
        if p.returncode != 2 or os.listdir(pvw) or os.path.exists(dstw) or "--preview" not in p.stderr or \
                pvw in p.stderr:
            bad.append("preview dir mode %o: exit %d, stderr %r" % (mode, p.returncode, p.stderr.strip()))


def check_stale_temporaries(tmp, key, cfg, bad):
    """stale temporaries: what a run killed between staging and settling left (.preview-tmp-<pid>-<n>, regular,
    0600: PHI pictures) is removed by the next run on the directory, which then writes its own pictures as
    usual; names that only resemble ours, a link under our pattern (its target untouched) and a directory stay.
    While another run holds the directory (its shared flock, here taken by this test) nothing is swept: that
    run's temporaries are about to be renamed."""
    src, pv, dst = os.path.join(tmp, "st_src"), os.path.join(tmp, "st_pv"), os.path.join(tmp, "st_dst")
    os.makedirs(src)
    os.makedirs(pv, 0o700)
    shutil.copy(os.path.join(CORPUS, "presidio", "2_ORIGINAL.dcm"), src)
    stale = [".preview-tmp-999999-0", ".preview-tmp-1-17"]
    victim = os.path.join(tmp, "st_victim.txt")
    open(victim, "w").write("victim file\n")
    os.symlink(victim, os.path.join(pv, ".preview-tmp-2-3"))
    os.makedirs(os.path.join(pv, ".preview-tmp-4-5"))
    decoys = [".preview-tmp-notours.txt", ".preview-tmp-6-7.png", ".preview-tmp-8", ".preview-tmp--9"]

    def plant():
        for n in stale + decoys:
            fd = os.open(os.path.join(pv, n), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, b"a PHI picture")
            os.close(fd)

    kept = sorted(decoys + [".preview-tmp-2-3", ".preview-tmp-4-5"])
    plant()
    held = os.open(pv, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(held, fcntl.LOCK_SH)  # another run on the directory
    p = run_cli(["--config", cfg, "--key-file", key, "--preview", pv, src, dst])
    fcntl.flock(held, fcntl.LOCK_UN)
    os.close(held)
    left = sorted(n for n in os.listdir(pv) if n.startswith(".preview-tmp"))
    if p.returncode != 0 or left != sorted(kept + stale):
        bad.append("stale temporaries, another run holding the directory: exit %d, left %s (want %s), stderr %r" %
                   (p.returncode, left, sorted(kept + stale), p.stderr.strip()[-300:]))
    shutil.rmtree(dst, ignore_errors=True)
    for n in os.listdir(pv):
        if not n.startswith(".preview-tmp"):
            os.unlink(os.path.join(pv, n))
    p = run_cli(["--config", cfg, "--key-file", key, "--preview", pv, src, dst])
    left = sorted(n for n in os.listdir(pv) if n.startswith(".preview-tmp"))
    outs = [os.path.join(r, f) for r, _d, fs in os.walk(dst) for f in fs]
    if p.returncode != 0 or left != kept or len(outs) != 1 or open(victim, "rb").read() != b"victim file\n" or \
            not os.path.islink(os.path.join(pv, ".preview-tmp-2-3")):
        bad.append("stale temporaries: exit %d, left %s (want %s), %d outputs, stderr %r" %
                   (p.returncode, left, kept, len(outs), p.stderr.strip()[-300:]))
        return
    uid = str(pydicom.dcmread(outs[0], stop_before_pixels=True).SOPInstanceUID)
    names = sorted(n for n in os.listdir(pv) if not n.startswith(".preview-tmp"))
    want = [uid + "_frame0_after.png", uid + "_frame0_before.png"]
    if names != want or not (read_png(os.path.join(pv, want[1])) == [255, 0, 0]).all(axis=2).any() or \
            "1 redacted frame(s) pictured" not in p.stderr:
        bad.append("stale temporaries: pictures %s (want %s), stderr %r" % (names, want, p.stderr.strip()[-300:]))


def main():
    if not os.access(HELPER, os.X_OK):
        print("FAIL: helper missing")
        return 1
    tmp = tempfile.mkdtemp(prefix="dv-preview-")
    bad = []
    try:
        check_pictures(tmp, bad)
        check_cli(tmp, bad)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for b in bad:
        print("FAIL", b)
    print("%d failure(s)" % len(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
