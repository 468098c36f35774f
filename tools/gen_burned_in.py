#!/usr/bin/python3
"""Synthetic burned-in text: DICOM files plus a JSON answer key each (issue 11 benchmark, bench/redact.sh).

    gen_burned_in.py --seed N --out DIR [--set small|full|cine|big] [--limit N] [--metadata fixed|consistent]

Deterministic for a seed. Scenes: ultrasound-like (black frame, speckle sector, RGB or MONOCHROME2, top
bar of PHI, side column of settings, markers, sometimes a label over the sector), secondary-capture-like
(CT-like 16-bit anatomy, corner text, black bars with text, text over the body), small MR-like (256x256,
small text). Text: DejaVu fonts 10-28 px (8-9 px on the small MR scene), white, yellow, green, grey, with or
without a dark outline; PHI (names, IDs, dates, institutions) and non-PHI (L, R, 5 cm, TIS 0.4, GAIN 52,
FR 30Hz). Native or JPEG Baseline; single frame, cine with a constant overlay, cine whose overlay changes
(a running clock); about one file in five carries no text at all.

Metadata: `fixed` (the default; what every seed was generated and scored with before wp-sens3) writes one
fixed PatientName / PatientID unrelated to the burned-in text. `consistent` writes, as a scanner does, the
header values the burned-in PHI shows: PatientName (caret form whatever the overlay shows; sometimes title
case, a middle initial or name, a second family name the overlay truncated), PatientID (the overlay's digits),
the overlay's date as PatientBirthDate or StudyDate (the other one drawn), InstitutionName (sometimes in
capitals or with Ctr spelled out), an AccessionNumber and ReferringPhysicianName the overlay does not show.
The pixels and answer keys are the same in both (the header's variations come from their own random stream),
so one seed scores the OCR and detectors alone (`fixed`) and with the instance's own values (`consistent`).

Answer key (FILE.json next to FILE.dcm):
  {"rows", "cols", "frames", "scene", "transfer_syntax", "photometric",
   "boxes": [{"frames": [i...], "x", "y", "w", "h", "text", "phi", "ink": HEX}]}
ink is the box's w x h mask of ink pixels (glyph alpha >= 50 %, outline included), row-major, packed 8
pixels per byte MSB first, hex. No real person's data: names and IDs are drawn from small made-up lists.
"""
import argparse
import json
import os
import random

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid
from PIL import Image, ImageDraw, ImageFont
import io
import zlib

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FONTS = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSansCondensed.ttf",
         "DejaVuSansMono-Bold.ttf"]
FIRST = ["ANNA", "JOHN", "MARIA", "PETER", "LINDA", "OMAR", "YUKI", "CARLOS", "EMMA", "IVAN"]
LAST = ["SMITHSON", "NAKAMURA", "OKAFOR", "LINDQVIST", "MORENO", "KOWALSKI", "DUBOIS", "HARTLEY"]
INST = ["St. Elsewhere General", "Northfield Clinic", "Riverside Imaging Ctr", "Lakeview Hospital"]
NONPHI = ["L", "R", "5 cm", "TIS 0.4", "GAIN 52", "FR 30Hz", "MI 1.1", "DR 60", "C5-1", "Abd"]
COLOURS = {"white": (255, 255, 255), "yellow": (255, 230, 0), "green": (60, 230, 60), "grey": (170, 170, 170)}


def font(name, size):
    return ImageFont.truetype(os.path.join(FONT_DIR, name), size)


def phi_texts(rng):
    name = f"{rng.choice(LAST)}^{rng.choice(FIRST)}" if rng.random() < 0.3 else \
        f"{rng.choice(LAST)}, {rng.choice(FIRST)}"
    pid = "".join(rng.choice("0123456789") for _ in range(rng.choice([7, 8, 10])))
    if rng.random() < 0.4:
        pid = "MRN " + pid
    y, m, d = rng.randint(1930, 2024), rng.randint(1, 12), rng.randint(1, 28)
    date = rng.choice([f"{y:04d}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y:04d}", f"{d:02d}.{m:02d}.{y:04d}"])
    return [name, pid, date, rng.choice(INST)]


# ---------------------------------------------------------------- scenes (float arrays 0..1)

def smooth(a, k):
    """Box blur by k (separable cumulative sums)."""
    if k <= 1:
        return a
    p = k // 2
    b = np.pad(a, ((p, k - 1 - p), (0, 0)), mode="edge")
    c = np.cumsum(b, axis=0)
    c = np.vstack([c[k - 1:k], c[k:] - c[:-k]]) / k
    b = np.pad(c, ((0, 0), (p, k - 1 - p)), mode="edge")
    c = np.cumsum(b, axis=1)
    return np.hstack([c[:, k - 1:k], c[:, k:] - c[:, :-k]]) / k


def us_background(nprng, w, h, phase=0.0):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ax, ay = w / 2, 50
    r = np.hypot(xx - ax, yy - ay)
    ang = np.arctan2(xx - ax, yy - ay)
    sector = (r > 30) & (r < h - 25) & (np.abs(ang) < 0.62)
    tissue = smooth(nprng.random((h, w)).astype(np.float32), 41) * 1.6
    tissue += 0.5 * np.sin(r / 23.0 + phase) ** 2
    speck = nprng.rayleigh(0.45, (h, w)).astype(np.float32)
    speck = smooth(speck, 2)
    img = np.clip(tissue * speck * 0.55, 0, 1)
    # a bright reflector band (bright anatomy)
    band = np.abs(r - (h * 0.55 + 10 * np.sin(phase))) < 6
    img = np.where(band, np.clip(img + 0.55, 0, 1), img)
    return np.where(sector, img, 0.0), sector


def ct_background(nprng, w, h):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w / 2, h / 2
    body = ((xx - cx) / (0.42 * w)) ** 2 + ((yy - cy) / (0.36 * h)) ** 2 < 1
    img = np.where(body, 0.45, 0.0).astype(np.float32)
    for _ in range(6):
        ox, oy = nprng.uniform(0.3, 0.7) * w, nprng.uniform(0.35, 0.65) * h
        rx, ry = nprng.uniform(0.03, 0.12) * w, nprng.uniform(0.03, 0.1) * h
        organ = ((xx - ox) / rx) ** 2 + ((yy - oy) / ry) ** 2 < 1
        img = np.where(organ, nprng.uniform(0.3, 0.8), img)  # text over it stays >= 50 levels brighter
    img += smooth(nprng.normal(0, 0.05, (h, w)).astype(np.float32), 2) * body
    return np.clip(img, 0, 1), body


# ---------------------------------------------------------------- text

class Canvas:
    """An RGB float canvas plus the answer key's boxes."""

    def __init__(self, base_rgb):
        self.img = base_rgb  # h x w x 3 float 0..1
        self.h, self.w = base_rgb.shape[:2]
        self.boxes = []

    def text(self, x, y, s, fnt, colour, phi, outline, frames):
        fill = Image.new("L", (self.w, self.h), 0)
        full = Image.new("L", (self.w, self.h), 0)
        ImageDraw.Draw(fill).text((x, y), s, font=fnt, fill=255)
        if outline:
            ImageDraw.Draw(full).text((x, y), s, font=fnt, fill=255, stroke_width=1, stroke_fill=255)
        else:
            full = fill
        # Only the rectangle the text was drawn in is read and blended: outside it both masks are 0, where the
        # whole-frame arithmetic this replaces left each pixel as it was (x * 1 + c * 0), so the result is the
        # same to the bit at a fraction of the cost (test_textdetect_score generates two sets per build).
        boxes = [b for b in (fill.getbbox(), full.getbbox()) if b]
        if not boxes:
            return False
        bx0, by0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        bx1, by1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
        fa = np.asarray(fill.crop((bx0, by0, bx1, by1)), dtype=np.float32) / 255.0
        oa = np.asarray(full.crop((bx0, by0, bx1, by1)), dtype=np.float32) / 255.0
        ink = oa >= 0.5
        ys, xs = np.nonzero(ink)
        if len(xs) == 0:
            return False
        xs, ys = xs + bx0, ys + by0
        if xs.min() < 0 or xs.max() >= self.w or ys.max() >= self.h:
            return False
        x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
        # keep lines apart (one answer box per line)
        for b in self.boxes:
            if x0 < b["x"] + b["w"] + 4 and b["x"] < x1 + 4 and y0 < b["y"] + b["h"] + 4 and b["y"] < y1 + 4:
                return False
        region = self.img[by0:by1, bx0:bx1]
        if outline:
            region *= (1 - oa)[..., None]
        c = np.array(COLOURS[colour], dtype=np.float32) / 255.0
        self.img[by0:by1, bx0:bx1] = region * (1 - fa)[..., None] + c * fa[..., None]
        sub = ink[y0 - by0:y1 - by0, x0 - bx0:x1 - bx0]
        self.boxes.append({"frames": list(frames), "x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0, "text": s,
                           "phi": phi, "ink": np.packbits(sub.reshape(-1)).tobytes().hex()})
        return True


def place(canvas, rng, s, x, y, size, colour, phi, outline, frames, fonts=FONTS):
    f = font(rng.choice(fonts), size)
    for _ in range(20):
        if canvas.text(x, y, s, f, colour, phi, outline, frames):
            return True
        x += rng.randint(-8, 8)
        y += size + 2
    return False


def us_overlay(canvas, rng, frames, mono):
    w, h = canvas.w, canvas.h
    cols = ["white", "grey"] if mono else list(COLOURS)
    size = rng.randint(10, 20)
    phi = phi_texts(rng)
    col = rng.choice(cols)
    x = rng.randint(4, 20)
    place(canvas, rng, phi[3], x, 4, size, col, True, False, frames)
    place(canvas, rng, phi[0], x, 6 + size + 2, size, col, True, False, frames)
    place(canvas, rng, phi[1], w // 2 + rng.randint(40, 90), 4, size, col, True, False, frames)
    place(canvas, rng, phi[2], w // 2 + rng.randint(40, 90), 6 + size + 2, size, col, True, False, frames)
    y = h // 3
    for s in rng.sample(NONPHI[2:], 3):
        sz = rng.randint(10, 16)
        place(canvas, rng, s, rng.randint(4, 12), y, sz, rng.choice(cols), False, False, frames)
        y += sz + 8
    place(canvas, rng, rng.choice(["L", "R"]), w - 60, h // 4, rng.randint(16, 28), rng.choice(cols), False, False,
          frames)
    if rng.random() < 0.7:  # a label over the speckle sector (noisy anatomy): saturated, or outlined
        col = rng.choice(["white", "yellow", "green"] if not mono else ["white"])
        s = rng.choice(["RT KIDNEY", "LIVER LONG", "GB", phi[0]])
        size = rng.randint(12, 24)
        rng.random()  # was a random PHI flag; drawn still so every seed keeps its pictures
        # PHI only when the label is the patient's name: RT KIDNEY / LIVER LONG / GB are anatomy labels
        place(canvas, rng, s, w // 2 - 40, h // 2, size, col, s == phi[0], rng.random() < 0.5, frames)
    return phi


def sc_overlay(canvas, rng, frames, mono, small=False):
    w, h = canvas.w, canvas.h
    cols = ["white", "grey"] if mono else list(COLOURS)
    phi = phi_texts(rng)
    lo, hi = (8, 10) if small else (10, 28)
    if small:
        fonts = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"]
    else:
        fonts = FONTS
    outline = rng.random() < 0.5
    if not small and rng.random() < 0.4:  # a black bar with text (bars)
        bh = rng.randint(30, 44)
        canvas.img[:bh] = 0
        size = min(hi, bh - 10)
        place(canvas, rng, f"{phi[0]}  {phi[1]}", 6, (bh - size) // 2 - 2, size, rng.choice(cols), True, False,
              frames, fonts)
    size = rng.randint(lo, hi)
    y = h - 4 * (size + 6) - 6
    for s in (phi[3], phi[2], "W 400 L 40", "5 mm"):
        place(canvas, rng, s, 6, y, size, rng.choice(cols), s in phi, outline, frames, fonts)
        y += size + 6
    size = rng.randint(lo, hi)
    x = w - int(size * 0.7 * len(phi[1])) - 8
    place(canvas, rng, phi[1], x, h // 3 if small else 60, size, rng.choice(cols), True, outline, frames, fonts)
    if rng.random() < 0.8:  # over the body (bright anatomy): near-saturated ink (a grey label on grey
        # anatomy would be unreadable to a person too), half of the time outlined
        size = rng.randint(lo, hi)
        s = phi[0] if rng.random() < 0.5 else "AX T2 FS"
        place(canvas, rng, s, w // 3, int(h * 0.45), size, rng.choice(["white", "yellow", "green"] if not mono else
              ["white"]), s == phi[0], outline or rng.random() < 0.5, frames, fonts)
    return phi


# ---------------------------------------------------------------- header values (--metadata consistent)

MIDDLE = ["J", "M", "A", "K", "ROSE", "LEE", "MARIE"]
FAMILY2 = ["BAKER", "ORTIZ", "WEST", "NOLAN"]


def consistent_header(mrng, phi):
    """The header a scanner writes for the overlay's PHI phi ([name, id, date, institution]; None: an image
    without text, its header values drawn alike). Variations as real headers differ from their overlays."""
    if phi is None:
        phi = phi_texts(mrng)
    name = phi[0]
    last, first = (name.split("^", 1) if "^" in name else [p.strip() for p in name.split(",", 1)])
    if mrng.random() < 0.15:  # a second family name the overlay truncated / left out
        last = f"{last}-{mrng.choice(FAMILY2)}"
    comps = [last, first]
    if mrng.random() < 0.35:  # a middle initial or name
        comps.append(mrng.choice(MIDDLE))
    pn = "^".join(comps)
    if mrng.random() < 0.3:  # title case (the overlay prints capitals)
        pn = "^".join(c.capitalize() if "-" not in c else "-".join(x.capitalize() for x in c.split("-"))
                      for c in comps)
    digits = "".join(c for c in phi[1] if c.isdigit())
    d = phi[2]
    if "-" in d:
        y, m, dd = d.split("-")
    elif "/" in d:
        m, dd, y = d.split("/")
    else:
        dd, m, y = d.split(".")
    da = f"{y}{m}{dd}"
    other = f"{mrng.randint(1930, 2024):04d}{mrng.randint(1, 12):02d}{mrng.randint(1, 28):02d}"
    birth, study = (da, other) if mrng.random() < 0.5 else (other, da)
    inst = phi[3]
    r = mrng.random()
    if r < 0.3:
        inst = inst.upper()
    elif r < 0.45:
        inst = inst.replace("Ctr", "Center")
    return {"PatientName": pn, "PatientID": digits, "PatientBirthDate": birth, "StudyDate": study,
            "InstitutionName": inst, "AccessionNumber": "A" + "".join(mrng.choice("0123456789") for _ in range(8)),
            "ReferringPhysicianName": f"{mrng.choice(LAST)}^{mrng.choice(FIRST)}"}


# ---------------------------------------------------------------- DICOM output

def to_dicom(path, frames_rgb, mono, bits16, jpeg, rng, modality, header=None):
    """frames_rgb: list of h x w x 3 float arrays; header: consistent_header's values (None: the fixed ones)."""
    h, w = frames_rgb[0].shape[:2]
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7" if modality != "US" else "1.2.840.10008.5.1.4.1.1.6.1"
    if len(frames_rgb) > 1:
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.3.1" if modality == "US" else \
            "1.2.840.10008.5.1.4.1.1.7.4"
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[os.path.basename(path)])
    meta.TransferSyntaxUID = JPEGBaseline8Bit if jpeg else ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[os.path.basename(path), "st"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[os.path.basename(path), "se"])
    ds.Modality = modality
    ds.PatientName = "SYNTHETIC^BURNEDIN"
    ds.PatientID = "SYN0001"
    for k, v in (header or {}).items():
        setattr(ds, k, v)
    ds.BurnedInAnnotation = "YES"
    ds.Rows, ds.Columns = h, w
    if len(frames_rgb) > 1:
        ds.NumberOfFrames = len(frames_rgb)
    ds.SamplesPerPixel = 1 if mono else 3
    if not mono:
        ds.PlanarConfiguration = 0
    ds.PixelRepresentation = 0
    if mono:
        g = [np.max(f, axis=2) for f in frames_rgb]
        if bits16:
            ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
            arr = [np.round(x * 4095).astype(np.uint16) for x in g]
        else:
            ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
            arr = [np.round(x * 255).astype(np.uint8) for x in g]
        ds.PhotometricInterpretation = "MONOCHROME2"
    else:
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        arr = [np.round(np.clip(f, 0, 1) * 255).astype(np.uint8) for f in frames_rgb]
        ds.PhotometricInterpretation = "RGB"
    if jpeg:
        q = rng.choice([80, 88, 95])
        parts = []
        for a in arr:
            b = io.BytesIO()
            if mono:
                Image.fromarray(a, "L").save(b, "JPEG", quality=q)
            else:
                Image.fromarray(a, "RGB").save(b, "JPEG", quality=q, subsampling=1)
            parts.append(b.getvalue())
        ds.PixelData = encapsulate(parts)
        ds["PixelData"].is_undefined_length = True
        ds["PixelData"].VR = "OB"
        if not mono:
            ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.LossyImageCompression = "01"
        ds.is_little_endian, ds.is_implicit_VR = True, False
    else:
        ds.PixelData = b"".join(a.tobytes() for a in arr)
        ds["PixelData"].VR = "OW" if bits16 else "OB"
        ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.preamble = b"\0" * 128
    pydicom.dcmwrite(path, ds, write_like_original=False)
    return meta.TransferSyntaxUID, ds.PhotometricInterpretation


def make_case(out, name, rng, nprng, scene, nframes=1, text=True, jpeg=False, changing=False, size=None,
              metadata="fixed"):
    mono = scene in ("us_mono", "sc_mono", "mr_small")
    bits16 = scene in ("sc_mono", "mr_small") and not jpeg
    if scene.startswith("us"):
        w, h = size or rng.choice([(640, 480), (800, 600), (1024, 768)])
    elif scene == "mr_small":
        w, h = 256, 256
    else:
        w, h = size or rng.choice([(512, 512), (768, 768), (1024, 1024)])
    all_frames = range(nframes)
    frames, boxes = [], []
    phi = None
    for i in range(nframes):
        if scene.startswith("us"):
            bg, _ = us_background(nprng, w, h, phase=i * 0.35)
        else:
            bg, _ = ct_background(np.random.default_rng(zlib.crc32(name.encode())), w, h)
            if i:
                bg = np.clip(bg + nprng.normal(0, 0.02, bg.shape).astype(np.float32), 0, 1)
        c = Canvas(np.repeat(bg[..., None], 3, axis=2).astype(np.float32))
        if text:
            # same random choices for each frame: a fresh rng from a fixed seed per case
            orng = random.Random(f"{name}-overlay")
            if scene.startswith("us"):
                phi = us_overlay(c, orng, all_frames, mono)
            else:
                phi = sc_overlay(c, orng, all_frames, mono, small=scene == "mr_small")
            if changing:  # a running clock that changes every 3rd frame
                t = 10 * 60 + i // 3
                clock = f"{t // 60:02d}:{t % 60:02d}:{(i * 7) % 60:02d}"
                c.text(w - 120, h - 30, clock, font("DejaVuSansMono.ttf", 16), "white", False, False, [i])
        frames.append(c.img)
        for b in c.boxes:  # the constant overlay's boxes once (they list every frame), the clock's per frame
            if i == 0 or len(b["frames"]) == 1:
                boxes.append(b)
    modality = "US" if scene.startswith("us") else ("MR" if scene == "mr_small" else "OT")
    # the header's variations draw from their own stream: rng, nprng and the pixels are those of `fixed`
    header = consistent_header(random.Random(f"{name}-meta"), phi) if metadata == "consistent" else None
    ts, photo = to_dicom(os.path.join(out, name + ".dcm"), frames, mono, bits16, jpeg, rng, modality, header)
    key = {"rows": h, "cols": w, "frames": nframes, "scene": scene, "transfer_syntax": str(ts),
           "photometric": photo, "boxes": boxes}
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(key, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--set", default="small", choices=["small", "full", "cine", "big"])
    ap.add_argument("--limit", type=int, default=0, help="only the first N cases of the set (0: all)")
    ap.add_argument("--metadata", default="fixed", choices=["fixed", "consistent"],
                    help="fixed: one PatientName/ID unrelated to the text (default, as before); consistent: the "
                         "header values the burned-in PHI shows, with realistic differences")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    nprng = np.random.default_rng(a.seed)
    if a.set == "cine":  # the timing case: 100-frame 640x480 cine, constant overlay
        make_case(a.out, f"s{a.seed}_cine100", rng, nprng, "us_rgb", nframes=100, size=(640, 480), metadata=a.metadata)
        return
    if a.set == "big":  # the timing case: 1024x1024 frames
        for i in range(4):
            make_case(a.out, f"s{a.seed}_big{i}", rng, nprng, rng.choice(["sc_mono", "us_mono"]), size=(1024, 1024),
                      text=i < 3, metadata=a.metadata)
        return
    n = 14 if a.set == "small" else 60
    scenes = ["us_rgb", "us_mono", "sc_mono", "sc_rgb", "mr_small"]
    for i in range(n):
        if a.limit and i >= a.limit:
            break
        scene = scenes[i % len(scenes)]
        text = (i % 6) != 5  # about one file in six carries no text
        jpeg = (scene in ("us_rgb", "us_mono", "sc_rgb") and rng.random() < 0.4) or (scene == "sc_mono" and i % 4 == 3)
        nframes, changing = 1, False
        if i % 7 == 2:
            nframes = 6
        if i % 13 == 6:
            nframes, changing = 6, True
            scene = "us_rgb"
        if scene == "mr_small":
            jpeg = False
        make_case(a.out, f"s{a.seed}_{i:03d}_{scene}", rng, nprng, scene, nframes=nframes, text=text or changing,
                  jpeg=jpeg, changing=changing, metadata=a.metadata)


if __name__ == "__main__":
    main()
