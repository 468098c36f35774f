#!/usr/bin/python3
"""Render burned-in overlay text lines for the OCR and sensitive-box tests (issue 11 items 2b, 3).

    render_overlays.py OUTDIR [--count N] [--seed S]

Writes OUTDIR/lines.tsv and one 8-bit PGM per line (what dv_gray8 would show: the brightest of R, G, B),
nothing committed. Each line is a phrase an ultrasound / secondary-capture overlay carries, drawn with a
DejaVu font (fonts-dejavu-core) at 10-28 px, in white, yellow, green or grey, plain or outlined, on black,
on ultrasound-like speckle or on a grey gradient. Every line belongs to a synthetic patient whose header
values are in the manifest, so a scorer can build the instance's deny-list from them.

lines.tsv columns (tab-separated, header row):
  file  x y w h (the text's box, padded 3 px like the detector's)  cls (phi / nonphi)  kind  size  font
  colour  background  text  family  given  patient_id  birth_date  study_date  institution
"""
import argparse
import os
import random

import numpy

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FONTS = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
         "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"]
COLOURS = {"white": (255, 255, 255), "yellow": (255, 255, 0), "green": (0, 255, 0), "grey": (190, 190, 190)}
FAMILIES = ["JOHNSON", "GARCIA", "MILLER", "NGUYEN", "OKAFOR", "SCHMIDT", "ROSSI", "KOWALSKI", "TANAKA",
            "MURPHY", "PETERSEN", "DUBOIS", "HERNANDEZ", "WILLIAMS", "ANDERSSON", "BROWN", "OLIVEIRA",
            "FITZGERALD", "LINDQVIST", "ABERNATHY", "MORALES", "SULLIVAN", "KIM", "CHEN", "WOJCIK"]
GIVENS = ["ANNA", "JOHN", "MARIA", "DAVID", "FATIMA", "PETER", "SOFIA", "JAMES", "LUCIA", "AHMED",
          "ELENA", "ROBERT", "GRACE", "THOMAS", "OLIVIA", "MARTIN", "CLAIRE", "SAMUEL", "NORA", "VICTOR"]
INSTITUTIONS = ["ST MARY HOSPITAL", "Mercy Medical Center", "RIVERSIDE CLINIC", "General Hospital Boston",
                "Northfield Imaging Centre", "UNIVERSITY HOSPITAL ULM", "Lakeside Radiology",
                "Children's Hospital Denver", "SAINT LUKE MEDICAL CENTER", "Westbrook Diagnostic Imaging"]
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
MONTHS_LONG = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December"]
NON_PHI = ["L", "R", "5 cm", "12 cm", "TIS 0.4", "TIB 0.3", "GAIN 52", "Gain 60%", "FR 30Hz", "FR 25 Hz",
           "MI 1.2", "MI 0.8", "C5-1", "L12-5", "P4-2", "DR 60", "2D", "PWR 100%", "Abd", "CHEST PA", "AP",
           "Z 1.0", "HR 72 bpm", "Gen", "Res", "F 3.5 MHz", "WL 40 WW 400", "kV 120 mA 250", "Se: 3 Im: 12",
           "THK 5.0 mm", "Mag 1.0", "LOGIQ E9", "ACUSON S2000", "Probe C1-5-D", "ABD 4C", "CF 4.0MHz",
           "PRF 1.5kHz", "WF 150Hz", "Depth 16 cm", "Focus 8 cm", "PORTABLE", "SUPINE", "UPRIGHT", "LAT",
           "HD Zoom", "Harm", "DYN R 3", "M5S-D", "THI", "CPA", "Color", "PW", "-10.0", "+20.0", "S 1.0"]


def rand_date(rng, y0, y1):
    return "%04d%02d%02d" % (rng.randint(y0, y1), rng.randint(1, 12), rng.randint(1, 28))


def written_date(rng, da):
    y, m, d = int(da[:4]), int(da[4:6]), int(da[6:])
    forms = ["%02d/%02d/%04d" % (m, d, y), "%04d-%02d-%02d" % (y, m, d), "%02d-%s-%04d" % (d, MONTHS[m - 1], y),
             "%02d.%02d.%04d" % (d, m, y), "%04d/%02d/%02d" % (y, m, d), "%s %d, %d" % (MONTHS_LONG[m - 1], d, y),
             "%d %s %d" % (d, MONTHS[m - 1].title(), y), da]
    return rng.choice(forms)


def patient(rng):
    return {"family": rng.choice(FAMILIES), "given": rng.choice(GIVENS),
            "patient_id": rng.choice(["%08d" % rng.randint(0, 99999999), "%07d" % rng.randint(0, 9999999),
                                      "A%07d" % rng.randint(0, 9999999), "MR%06d" % rng.randint(0, 999999)]),
            "birth_date": rand_date(rng, 1930, 2015), "study_date": rand_date(rng, 2010, 2026),
            "institution": rng.choice(INSTITUTIONS)}


def phi_line(rng, p):
    kind = rng.choice(["name", "name", "id", "date", "date", "institution"])
    f, g = p["family"], p["given"]
    if kind == "name":
        text = rng.choice([f + "^" + g, f + ", " + g, g.title() + " " + f.title(), "Name: " + f + " " + g,
                           "Pt: " + f.title() + ", " + g.title(), f + "^" + g + "^^^", g + " " + f])
    elif kind == "id":
        text = rng.choice(["ID: " + p["patient_id"], "MRN " + p["patient_id"], p["patient_id"],
                           "Patient ID: " + p["patient_id"], "PID " + p["patient_id"]])
    elif kind == "date":
        da = rng.choice([p["birth_date"], p["study_date"]])
        text = written_date(rng, da)
        if da == p["birth_date"] and rng.random() < 0.5:
            text = "DOB " + text
        elif rng.random() < 0.3:
            text += " %02d:%02d:%02d" % (rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
    else:
        text = p["institution"]
    return kind, text


def background(rng, w, h, kind):
    if kind == "black":
        return Image.new("RGB", (w, h), (0, 0, 0))
    if kind == "speckle":  # ultrasound-like: dark grainy tissue
        im = Image.effect_noise((w, h), 40).convert("L")
        im = im.point(lambda v: max(0, min(255, (v - 128) // 2 + 45)))
        im = im.filter(ImageFilter.GaussianBlur(0.8))
        return Image.merge("RGB", (im, im, im))
    im = Image.linear_gradient("L").resize((w, h)).point(lambda v: 30 + v * 70 // 255)
    return Image.merge("RGB", (im, im, im))


def render(rng, text, size, font_name, colour, bg, outline):
    font = ImageFont.truetype(os.path.join(FONT_DIR, font_name), size)
    sw = 1 if outline else 0
    l, t, r, b = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), text, font=font, stroke_width=sw)
    mx, my = rng.randint(8, 30), rng.randint(6, 20)
    w, h = (r - l) + 2 * mx, (b - t) + 2 * my
    im = background(rng, w, h, bg)
    d = ImageDraw.Draw(im)
    d.text((mx - l, my - t), text, font=font, fill=COLOURS[colour], stroke_width=sw,
           stroke_fill=(0, 0, 0))
    # What dv_gray8 shows for colour: the brightest channel.
    rgb = numpy.asarray(im)
    gray = Image.fromarray(rgb.max(axis=2).astype(numpy.uint8))
    pad = 3
    x0, y0 = max(0, mx - pad), max(0, my - pad)
    x1, y1 = min(w, mx + (r - l) + pad), min(h, my + (b - t) + pad)
    return gray, (x0, y0, x1 - x0, y1 - y0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--count", type=int, default=240, help="lines to render (about 60 %% PHI)")
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.outdir, exist_ok=True)
    rows = []
    sizes = list(range(10, 29))
    for i in range(a.count):
        p = patient(rng)
        if i % 5 < 3:
            cls = "phi"
            kind, text = phi_line(rng, p)
        else:
            cls, kind, text = "nonphi", "label", rng.choice(NON_PHI)
        size = sizes[i % len(sizes)]
        font = FONTS[(i // 3) % len(FONTS)]
        colour = rng.choice(list(COLOURS))
        bg = rng.choice(["black", "black", "speckle", "gradient"])
        outline = rng.random() < 0.3
        gray, (x, y, w, h) = render(rng, text, size, font, colour, bg, outline)
        name = "line%04d.pgm" % i
        gray.save(os.path.join(a.outdir, name))
        rows.append([name, x, y, w, h, cls, kind, size, font, colour + ("+outline" if outline else ""), bg,
                     text, p["family"], p["given"], p["patient_id"], p["birth_date"], p["study_date"],
                     p["institution"]])
    with open(os.path.join(a.outdir, "lines.tsv"), "w", encoding="utf-8") as f:
        f.write("file\tx\ty\tw\th\tcls\tkind\tsize\tfont\tcolour\tbackground\ttext\tfamily\tgiven\tpatient_id"
                "\tbirth_date\tstudy_date\tinstitution\n")
        for r in rows:
            f.write("\t".join(str(v) for v in r) + "\n")


if __name__ == "__main__":
    main()
