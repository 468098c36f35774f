#!/usr/bin/env python3
"""Redaction boxes of a server de-identification (issue 9 item 4; docs/console.md "Redaction boxes"): a
`dicomveil serve` with a token de-identifies burned-in corpus files with cleanImage REDACT_ALL_TEXT, and
GET /dicomveil/v1/redactionBoxes answers, for each OUTPUT instance, the boxes `dicomveil deidentify` reports
for the same file with the same config and the dataset's key (--key-file DATA/keys/<n>.key): the report's
frames_examined and boxes_redacted, the --preview pictures' frames, and every box's corners on the red
outline of the preview's before picture. Native output (Explicit VR LE) and JPEG Baseline kept (DCT-domain
redaction: the covered MCUs) both. An instance examined with nothing found has an empty list; one the
pixel stage never saw (an SR) is 404; so are an unknown operation and the original's path (the record is
keyed by the destination instance). The operation and instance are checked like every ID (400 for a
traversal), the token like every route (401), the method (405). The records hold coordinates and counts only.
Deleting the dataset the operation is listed under deletes its boxes and its review marks.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_server as ts  # noqa: E402  (the server helpers: one home)
from test_server import Server, check, multipart_related  # noqa: E402

from PIL import Image  # noqa: E402  (Debian's python3-pil, after test_server's dist-packages path)

BIN = ts.BIN
DICOM = os.path.join(ts.SHARED, "dicom")
FILES = {  # name -> (corpus file, what the pixel stage does with it)
    "dx": ("jsl-burned-in/339833062_07-05-2001-19638_3001578_000000-60758_1-2.dcm", "boxes"),      # native
    "jpeg": ("orthanc-tests/TransferSyntaxes_1.2.840.10008.1.2.4.50.dcm", "boxes"),                # DCT kept
    "nm": ("dicognito/burned_in_yes.dcm", "examined"),                                              # J2K, nothing found
    "sr": ("dwv/sr-rectangle.dcm", "none"),                                                         # no pixels
}
CONFIG = {"dicomTagConfig": {"profileType": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE",
                             "options": {"cleanImage": {"textRedactionMode": "REDACT_ALL_TEXT"}}}}
TOKEN = "boxes-test-token-0123456789abcdef"
AUTH = {"Authorization": "Bearer " + TOKEN}


def req(method, url, body=None, headers=AUTH):
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    h = dict(headers)
    if data is not None and "Content-Type" not in h:
        h["Content-Type"] = "application/json"
    r = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def jbody(b):
    try:
        return json.loads(b)
    except ValueError:
        return {}


def cli_one(src, key, tmp, name):
    """`dicomveil deidentify --report --preview` of one file: (report's pixels, output SOP UID, preview dir)."""
    cfg = os.path.join(tmp, "config.json")
    json.dump(CONFIG, open(cfg, "w"))
    out, pv, rep = (os.path.join(tmp, "cli-" + name + x) for x in ("-out", "-preview", "-report.json"))
    r = subprocess.run([BIN, "deidentify", "--config", cfg, "--key-file", key, "--report", rep, "--preview", pv,
                        "--", src, out], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "CLI de-identified %s (%s)" % (name, r.stderr.strip()[-200:]))
    inst = json.load(open(rep))["instances"][0]
    sops = [f[:-4] for _, _, fs in os.walk(out) for f in fs if f.endswith(".dcm")]
    return inst.get("pixels"), sops[0] if len(sops) == 1 else None, pv


def main():
    tmp = tempfile.mkdtemp(prefix="dv-server-boxes-")
    srv = None
    try:
        tok = os.path.join(tmp, "token")
        open(tok, "w").write(TOKEN + "\n")
        os.chmod(tok, 0o600)
        data = os.path.join(tmp, "data")
        srv = Server(data, "--token-file", tok, "--op-workers", "2")
        run(srv, data, tmp)
    finally:
        if srv:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if ts.fails:
        print("test_server_boxes: %d check(s) failed" % len(ts.fails), file=sys.stderr)
        return 1
    print("test_server_boxes: all checks passed")
    return 0


def run(srv, data, tmp):
    root = "http://127.0.0.1:%d" % srv.port
    loc = "projects/p/locations/l"
    base = root + "/v1beta1/" + loc
    req("POST", base + "/datasets?datasetId=src", {})
    req("POST", base + "/datasets/src/dicomStores?dicomStoreId=a", {})
    srcs = {k: os.path.join(DICOM, f) for k, (f, _) in FILES.items()}
    body, ctype = multipart_related(list(srcs.values()))
    st, _ = req("POST", base + "/datasets/src/dicomStores/a/dicomWeb/studies", body,
                {**AUTH, "Content-Type": ctype})
    check(st == 200, "STOW of the burned-in files (%s)" % st)
    st, op = req("POST", base + "/datasets/src:deidentify", {"destinationDataset": loc + "/datasets/out",
                                                            "config": CONFIG})
    name = jbody(op).get("name", "")
    for _ in range(1200):
        st, op = req("GET", root + "/v1beta1/" + name)
        if jbody(op).get("done"):
            break
        time.sleep(0.05)
    op = jbody(op)
    check(op.get("done") and op.get("metadata", {}).get("counter", {}).get("success") == str(len(FILES)),
          "the cleanImage operation is done with every instance: %s" % op.get("metadata", {}).get("counter"))
    keys = [k for k in os.listdir(os.path.join(data, "keys")) if k != "naming.key"]  # the dataset's key
    key = os.path.join(data, "keys", keys[0]) if len(keys) == 1 else ""

    def boxes(instance, operation=name, headers=AUTH, method="GET"):
        q = urllib.parse.urlencode({"operation": operation, "instance": instance})
        st, b = req(method, root + "/dicomveil/v1/redactionBoxes?" + q, headers=headers,
                    body=b"{}" if method == "POST" else None)
        return st, jbody(b)

    st, rows = req("GET", base + "/datasets/out/dicomStores/a/dicomWeb/instances?limit=100")
    outs = {r["00080018"]["Value"][0]: "/studies/%s/series/%s/instances/%s" % (
        r["0020000D"]["Value"][0], r["0020000E"]["Value"][0], r["00080018"]["Value"][0]) for r in jbody(rows)}
    check(len(outs) == len(FILES), "every output instance listed (%d)" % len(outs))

    for k, (f, kind) in FILES.items():
        pixels, sop, pv = cli_one(srcs[k], key, tmp, k)
        path = outs.get(sop)
        if not check(path is not None, "%s: the CLI's output UID is the server's (same key, same config)" % k):
            continue
        st, rec = boxes(path)
        if kind == "none":
            check(pixels is None and st == 404 and rec.get("error", {}).get("status") == "NOT_FOUND",
                  "%s: no pixel stage, no record: 404 (%s)" % (k, st))
            continue
        bx = rec.get("boxes", [])
        check(st == 200 and rec.get("instance") == path and rec.get("framesExamined") == pixels["frames_examined"]
              and rec.get("boxCount") == pixels["boxes_redacted"] == len(bx) and rec.get("truncated") is False,
              "%s: %d box(es) over %s frame(s), as the CLI's report says (%s)" % (
                  k, len(bx), rec.get("framesExamined"), pixels))
        check(all(sorted(b) == ["frame", "h", "w", "x", "y"] for b in bx), "%s: boxes hold coordinates only" % k)
        if kind == "examined":
            check(bx == [] and (not os.path.exists(pv) or os.listdir(pv) == []),
                  "%s: examined, nothing found: an empty list and no preview picture" % k)
            continue
        check(len(bx) > 0, "%s: burned-in text found" % k)
        # The preview's pictures: one pair per frame with boxes (N from 0; the record's frames from 1), the
        # boxes outlined red inside their edge on the before picture: each box's four corners are red.
        pics = sorted(os.listdir(pv))
        frames = {int(re.search(r"_frame(\d+)_", p).group(1)) + 1 for p in pics}
        check(frames == {b["frame"] for b in bx} and all(p.startswith(sop + "_") for p in pics),
              "%s: the record's frames are the preview's (%s)" % (k, sorted(frames)))
        red, total = 0, 0
        for b in bx:
            im = Image.open(os.path.join(pv, "%s_frame%d_before.png" % (sop, b["frame"] - 1))).convert("RGB")
            for x, y in ((b["x"], b["y"]), (b["x"] + b["w"] - 1, b["y"]), (b["x"], b["y"] + b["h"] - 1),
                         (b["x"] + b["w"] - 1, b["y"] + b["h"] - 1)):
                total += 1
                red += 0 <= x < im.width and 0 <= y < im.height and im.getpixel((x, y)) == (255, 0, 0)
        check(total and red == total, "%s: every box corner lies on the preview's red outline (%d/%d)" % (k, red, total))

    # Refusals: the same checks as every route and every ID.
    some = next(iter(outs.values()))
    st, _ = boxes(some, headers={})
    check(st == 401, "no token: 401 (%s)" % st)
    st, _ = boxes(some, method="POST")
    check(st == 405, "POST: 405 (%s)" % st)
    st, r = boxes(some, operation=name.rsplit("/", 1)[0] + "/99999")
    check(st == 404 and r.get("error", {}).get("status") == "NOT_FOUND", "an unknown operation: 404 (%s)" % st)
    for bad_op in (name.replace("/datasets/src/", "/datasets/../"), "operations/1", ""):
        st, r = boxes(some, operation=bad_op)
        check(st == 400 and "operation" in r.get("error", {}).get("message", ""), "operation %r: 400 (%s)" % (bad_op, st))
    for bad in ("/studies/1.2/series/../../etc/instances/1", "/studies/1.2/series/3.4", "/studies/1.2/series/3/"
                "instances/%2e%2e", "../../../etc/passwd", ""):
        st, r = boxes(bad)
        msg = r.get("error", {}).get("message", "")
        check(st == 400 and msg.startswith("instance") and "passwd" not in msg, "instance %r: 400 (%s %s)" % (bad, st, msg))
    # The original's path names no record: boxes are kept by the destination instance.
    st, rows = req("GET", base + "/datasets/src/dicomStores/a/dicomWeb/instances?limit=100")
    orig = ["/studies/%s/series/%s/instances/%s" % (r["0020000D"]["Value"][0], r["0020000E"]["Value"][0],
                                                     r["00080018"]["Value"][0]) for r in jbody(rows)]
    check(orig and all(boxes(p)[0] == 404 for p in orig), "the originals' paths: 404")
    # What is kept: one record per examined instance under DATA/boxes/<operation>/, coordinates and counts.
    recs = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(data, "boxes")) for f in fs]
    texts = [open(p).read() for p in recs]
    words = {w for t in texts for w in re.findall(r"[A-Za-z]+", re.sub(r'"/studies/[0-9./a-z]+"', "", t))}
    check(len(recs) == 3 and words <= {"instance", "framesExamined", "boxCount", "truncated", "false", "boxes",
                                       "frame", "x", "y", "w", "h"},
          "records hold coordinates and counts only (%d files, words %s)" % (len(recs), sorted(words)))
    # Deleting the dataset the operation is listed under deletes its review records with it: the boxes
    # (DATA/boxes/<operation>/) and the review marks (DATA/marks/<operation>.json).
    st, _ = req("POST", root + "/dicomveil/v1/reviewMarks", {"operation": name, "instance": some,
                                                             "needsAttention": True})
    op_row = name.rsplit("/", 1)[1]
    marks = os.path.join(data, "marks", op_row + ".json")
    box_dir = os.path.join(data, "boxes", op_row)
    check(st == 200 and os.path.exists(marks) and os.path.isdir(box_dir), "a review mark and the boxes are kept (%s)" % st)
    st, _ = req("DELETE", base + "/datasets/src")
    check(st == 200 and not os.path.exists(marks) and not os.path.exists(box_dir)
          and os.listdir(os.path.join(data, "boxes")) == [],
          "deleting the dataset removes its operations' boxes and review marks (%s)" % st)
    st, _ = boxes(some)
    check(st == 404, "the deleted dataset's operation has no boxes: 404 (%s)" % st)
    log = "".join(srv.lines)
    check('"route":"dicomveil.redactionBoxes"' in log and "redaction boxes not recorded" not in log,
          "the access log names the route; every record was written")


if __name__ == "__main__":
    sys.exit(main())
