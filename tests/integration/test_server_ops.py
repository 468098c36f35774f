#!/usr/bin/env python3
"""`dicomveil serve` long-running operations (issue 7 items 1, 4, 5), end to end, with the helpers of
test_server.py (Server, curl, api_error, multipart_related, check: imported, not copied):

* datasets.deidentify with each worked example config of the Google guide (../shared/seed/
  dicom-deidentify-guide.txt), over the guide's sample instance (built here) and corpus files, driven with curl
  and with Debian's python3-googleapi (build_from_document); every operation polled to done; the destination
  found with QIDO; every instance retrieved and compared with `dicomveil deidentify` of the same files with the
  same config and the dataset's key (--key-file DATA/keys/<n>.key): identical bytes;
* dicomStores.deidentify into an existing store with a filter file and a gcsConfigUri file;
* operations.list (done filter, paging), operations.cancel, the error log (logsUrl);
* refusals: existing destination 409, config errors naming the JSON path, file URIs outside --allow-root,
  malformed / traversing filter lines naming the line;
* :export to a folder and :import of a folder;
* crash safety: SIGTERM during a de-identification of 520 generated instances checkpoints it, kill -9 during
  it loses nothing either; after each restart the operation completes with each instance stored exactly
  once and counter.success = 520, the same SOP UIDs as the CLI's run.
"""
import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_server as ts  # noqa: E402  (the server helpers: one home)
from test_server import Server, api_error, check, curl, multipart_related  # noqa: E402

import pydicom  # noqa: E402  (test_server put Debian's dist-packages first)
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian  # noqa: E402

BIN = ts.BIN
GUIDE = os.path.join(ts.SRC_DIR, "..", "shared", "seed", "dicom-deidentify-guide.txt")
if not os.path.exists(GUIDE):
    GUIDE = os.path.join(os.path.dirname(ts.SHARED), "seed", "dicom-deidentify-guide.txt")
CORPUS = sorted(os.path.join(ts.SHARED, "dicom", "dcm_qa_ts", f)
                for f in os.listdir(os.path.join(ts.SHARED, "dicom", "dcm_qa_ts")))[:3] + [
    os.path.join(ts.SHARED, "dicom", "dicognito", "p01_s01_s01_i01.dcm")]
# Big enough that a signal sent once the first ~60 (SIGTERM) or ~200 (SIGKILL) items are done still lands while
# the operation runs on a loaded machine: at 520 a parallel ctest run once saw the operation finish between the
# poll and the signal (clean-clone make test, 2026-12-04: "SIGKILL arrives during the operation (520 of 520)").
CRASH_N = 2000


def guide_configs():
    """The `config` of every distinct request body the guide shows (dataset and store level)."""
    seen, out = set(), []
    for line in open(GUIDE, encoding="utf-8"):
        line = line.strip()
        if not (line.startswith('{ "destinationDataset"') or line.startswith('{ "destinationStore"')):
            continue
        cfg = json.loads(line)["config"]
        key = json.dumps(cfg, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(cfg)
    return out


def build_instance(path, study, series, sop, patient="Ann Johnson", rows=8, number=1):
    """A small secondary-capture instance (the guide's sample metadata, uncompressed 8-bit pixels)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = sop
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber = "20110909", "110032", ""
    ds.Modality, ds.Manufacturer = "OT", "Manufacturer"
    ds.ReferringPhysicianName, ds.StationName = "John Doe", "ABC1"
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = patient, "S1214223-1", "19880812", "F"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "", "1", str(number)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = rows
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = bytes((i * 7 + number) % 256 for i in range(rows * rows))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(path, write_like_original=False)


def jreq(method, url, body=None):
    """(status, JSON answer) of one API call (test_server.json_call)."""
    return ts.json_call(method, url, body)


def curl_json(method, url, body):
    """(status, JSON answer) of one call made with curl."""
    st, _, b = curl("-X", method, url, "-H", "Content-Type: application/json", "-d", json.dumps(body))
    try:
        return st, json.loads(b) if b else {}
    except ValueError:
        return st, {}


def stow(web, files, tmp):
    body, ctype = multipart_related(files)
    bf = os.path.join(tmp, "stow-body.bin")
    open(bf, "wb").write(body)
    st, _, _ = curl("-X", "POST", web + "/studies", "-H", "Content-Type: " + ctype, data_file=bf)
    return st


def poll(root, name, timeout=120):
    """GET the operation until done; returns it (or the last answer)."""
    t0, op = time.time(), {}
    while time.time() - t0 < timeout:
        st, op = jreq("GET", root + "/v1beta1/" + name)
        if st == 200 and op.get("done"):
            return op
        time.sleep(0.05)
    return op


def counter(op):
    c = op.get("metadata", {}).get("counter", {})
    return int(c.get("success", "0")), int(c.get("failure", "0")), int(c.get("pending", "0"))


def cli_deid(cfg, key, srcs, dst, tmp):
    """`dicomveil deidentify` of srcs with cfg and key: {SOPInstanceUID: bytes} of its outputs."""
    cf = os.path.join(tmp, "cli-cfg.json")
    open(cf, "w").write(json.dumps(cfg))
    shutil.rmtree(dst, ignore_errors=True)
    subprocess.run([BIN, "deidentify", "--config", cf, "--key-file", key, "--jobs", "2", "--", *srcs, dst],
                   capture_output=True, timeout=300)
    out = {}
    for dirpath, _, files in os.walk(dst):
        for f in files:
            out[f[:-4]] = open(os.path.join(dirpath, f), "rb").read()
    return out


def retrieve_store(port, store_name):
    """Every instance of a store (QIDO, then WADO as application/dicom): {SOPInstanceUID: bytes}."""
    st, rows = jreq("GET", "http://127.0.0.1:%d/v1beta1/%s/dicomWeb/instances?limit=5000" % (port, store_name))
    rows = rows if st == 200 else []
    out = {}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for r in rows:
        path = "/v1beta1/%s/dicomWeb/studies/%s/series/%s/instances/%s" % (
            store_name, r["0020000D"]["Value"][0], r["0020000E"]["Value"][0], r["00080018"]["Value"][0])
        c.request("GET", path, headers={"Accept": "application/dicom"})
        resp = c.getresponse()
        out[r["00080018"]["Value"][0]] = resp.read() if resp.status == 200 else None
    c.close()
    return out, len(rows)


def new_key(data, before):
    keys = set(os.listdir(os.path.join(data, "keys"))) - before
    return os.path.join(data, "keys", keys.pop()) if len(keys) == 1 else None


def main():
    tmp = tempfile.mkdtemp(prefix="dv-server-ops-")
    servers = []
    try:
        run(tmp, servers)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if ts.fails:
        print(f"test_server_ops: {len(ts.fails)} check(s) failed", file=sys.stderr)
        return 1
    print("test_server_ops: all checks passed")
    return 0


def run(tmp, servers):
    root_dir = os.path.join(tmp, "root")  # the one --allow-root
    os.makedirs(root_dir)
    data = os.path.join(tmp, "data")
    srv = Server(data, "--allow-root", root_dir, "--op-workers", "2")
    servers.append(srv)
    root = f"http://127.0.0.1:{srv.port}"
    loc = "projects/p/locations/l"
    base = root + "/v1beta1/" + loc

    # ---- the source: dataset src with stores a (the guide's sample + corpus files) and b (one file) ----
    inputs = os.path.join(tmp, "inputs")
    os.makedirs(os.path.join(inputs, "a"))
    os.makedirs(os.path.join(inputs, "b"))
    sample = os.path.join(inputs, "a", "sample.dcm")
    build_instance(sample, "2.25.70541616638819138568043293671559322355",
                   "1.2.276.0.7230010.3.1.3.8323329.78.1531234558.523694",
                   "1.2.276.0.7230010.3.1.4.8323329.78.1539083058.523695")
    for f in CORPUS[:-1]:
        shutil.copy(f, os.path.join(inputs, "a"))
    shutil.copy(CORPUS[-1], os.path.join(inputs, "b"))
    jreq("POST", base + "/datasets?datasetId=src", {})
    for s in ("a", "b"):
        jreq("POST", base + "/datasets/src/dicomStores?dicomStoreId=" + s, {})
        files = sorted(os.path.join(inputs, s, f) for f in os.listdir(os.path.join(inputs, s)))
        check(stow(base + "/datasets/src/dicomStores/%s/dicomWeb" % s, files, tmp) == 200, f"STOW into {s}")
    n_src = len(CORPUS) + 1

    # ---- datasets.deidentify with every worked example of the guide ----
    configs = guide_configs()
    check(len(configs) >= 9, f"the guide's worked examples: {len(configs)} configs")
    keys_before = {"naming.key"}  # there from the start; a dataset key comes with the first de-identification
    ops = []
    for i, cfg in enumerate(configs):
        st, op = curl_json("POST", base + "/datasets/src:deidentify",
                           {"destinationDataset": loc + "/datasets/out%d" % i, "config": cfg})
        check(st == 200 and op.get("name", "").startswith(loc + "/datasets/src/operations/") and op.get("done") is False
              and op["metadata"]["@type"] == "type.googleapis.com/google.cloud.healthcare.v1beta1.OperationMetadata"
              and op["metadata"]["apiMethodName"]
              == "google.cloud.healthcare.v1beta1.dataset.DatasetService.DeidentifyDataset",
              f"datasets.deidentify {i}: {st} {str(op)[:200]}")
        ops.append(op.get("name", ""))
    key = new_key(data, keys_before)
    check(key is not None and (os.stat(key).st_mode & 0o777) == 0o600
          and (os.stat(os.path.dirname(key)).st_mode & 0o777) == 0o700,
          "one key for the dataset, DATA/keys/<n>.key, mode 0600 in a 0700 directory")
    cli_dir = os.path.join(tmp, "cli")
    for i, (cfg, name) in enumerate(zip(configs, ops)):
        op = poll(root, name)
        ok, failed, pending = counter(op)
        check(op.get("done") is True and "response" in op and op["response"]["@type"]
              == "type.googleapis.com/google.cloud.healthcare.v1beta1.deidentify.DeidentifySummary"
              and "endTime" in op["metadata"] and pending == 0 and ok + failed == n_src,
              f"config {i}: done with a DeidentifySummary, counter {ok}/{failed}/{pending}")
        expect = cli_deid(cfg, key, [os.path.join(inputs, "a"), os.path.join(inputs, "b")], cli_dir, tmp)
        got, where = {}, {}
        for s in ("a", "b"):
            g, _ = retrieve_store(srv.port, loc + "/datasets/out%d/dicomStores/%s" % (i, s))
            got.update(g)
            where.update({k: s for k in g})
        check(len(got) == ok and len(expect) == ok and got == expect,
              f"config {i}: {len(got)} instances retrieved, byte-identical to the CLI's {len(expect)} "
              f"({sum(1 for k in got if got[k] == expect.get(k))} equal)")
        # metadata of every output: SOPInstanceUID and PatientName as the CLI's bytes hold them
        same_md = 0
        for sop, blob in got.items():
            d = pydicom.dcmread(__import__("io").BytesIO(blob), stop_before_pixels=True)
            st, md = jreq("GET", base + "/datasets/out%d/dicomStores/%s/dicomWeb/studies/%s/series/%s/instances/%s/"
                          "metadata" % (i, where[sop], d.StudyInstanceUID, d.SeriesInstanceUID, sop))
            pn = (md[0].get("00100010", {}).get("Value") or [{}])[0].get("Alphabetic") if st == 200 and md else "?"
            want = str(d.PatientName) if "PatientName" in d and str(d.PatientName) else None
            same_md += st == 200 and md[0]["00080018"]["Value"] == [sop] and pn == want
        check(same_md == len(got) > 0, f"config {i}: metadata of the outputs as the CLI wrote them ({same_md})")
        if failed:
            st, log = jreq("GET", op["metadata"]["logsUrl"])
            check(st == 200 and len(log.get("entries", [])) == failed
                  and all(e["resource"].startswith(loc + "/datasets/src/dicomStores/") for e in log["entries"]),
                  f"config {i}: the error log lists the {failed} failures ({log})")
    src_a, _ = retrieve_store(srv.port, loc + "/datasets/src/dicomStores/a")
    originals = {pydicom.dcmread(os.path.join(inputs, "a", f), stop_before_pixels=True).SOPInstanceUID:
                 open(os.path.join(inputs, "a", f), "rb").read() for f in os.listdir(os.path.join(inputs, "a"))}
    check(src_a == originals, "the source store is unchanged by its de-identifications")
    st, op = jreq("POST", base + "/datasets/src:deidentify", {"destinationDataset": loc + "/datasets/out0"})
    check(st == 409 and op.get("error", {}).get("status") == "ALREADY_EXISTS", f"existing destination: 409 ({st})")
    st, _ = jreq("GET", base + "/datasets/out0/dicomStores/a")
    check(st == 200, "the destination dataset holds the source's stores under the same IDs")

    # ---- operations.list: done filter and paging ----
    st, lst = jreq("GET", base + "/datasets/src/operations?filter=done%3Dtrue&pageSize=4")
    st2, rest = jreq("GET", base + "/datasets/src/operations?filter=done%3Dtrue&pageSize=100&pageToken="
                     + lst.get("nextPageToken", "x"))
    names = [o["name"] for o in lst.get("operations", []) + rest.get("operations", [])]
    creates = [n for n in names if n not in ops]  # datasets.create's own operation, done at once
    check(st == 200 and st2 == 200 and len(lst.get("operations", [])) == 4 and set(ops) <= set(names)
          and len(names) == len(set(names)) == len(ops) + 1 and len(creates) == 1,
          f"operations.list done=true, 4 per page: {len(names)} operations")
    st, op = jreq("GET", root + "/v1beta1/" + creates[0] if creates else base)
    check(st == 200 and op.get("done") is True and op["response"]["name"] == loc + "/datasets/src"
          and op["metadata"]["apiMethodName"] == "google.cloud.healthcare.v1beta1.dataset.DatasetService.CreateDataset",
          f"operations.get of datasets.create's operation: {st} {str(op)[:160]}")
    st, lst = jreq("GET", base + "/datasets/src/operations?filter=done%3Dfalse")
    check(st == 200 and lst.get("operations", []) == [], "operations.list done=false: none running")
    st, lst = jreq("GET", base + "/datasets/src/operations?filter=name%3Dx")
    check(st == 400, f"operations.list with another filter: 400 ({st})")
    st, _ = jreq("GET", base + "/datasets/src/operations/99999")
    check(st == 404, "operations.get of an unknown operation: 404")

    # ---- dicomStores.deidentify: filter file, gcsConfigUri, into an existing store ----
    jreq("POST", base + "/datasets?datasetId=sink", {})
    jreq("POST", base + "/datasets/sink/dicomStores?dicomStoreId=dst", {})
    m = [pydicom.dcmread(f, stop_before_pixels=True) for f in CORPUS[:3]]
    qa = m[0]
    filt = os.path.join(root_dir, "filter.txt")
    lines = ["/studies/2.25.70541616638819138568043293671559322355",
             "/studies/%s/series/%s/instances/%s" % (qa.StudyInstanceUID, qa.SeriesInstanceUID, m[1].SOPInstanceUID),
             "/studies/%s/series/%s/instances/%s" % (qa.StudyInstanceUID, qa.SeriesInstanceUID, m[2].SOPInstanceUID),
             "/studies/%s/series/%s/instances/%s" % (qa.StudyInstanceUID, qa.SeriesInstanceUID, m[2].SOPInstanceUID)]
    open(filt, "w", newline="").write("\r\n".join(lines) + "\n")
    cfgfile = os.path.join(root_dir, "cfg.json")
    store_cfg = configs[2]
    open(cfgfile, "w").write(json.dumps(store_cfg))
    st, op = curl_json("POST", base + "/datasets/src/dicomStores/a:deidentify",
                       {"destinationStore": loc + "/datasets/sink/dicomStores/dst", "gcsConfigUri": "file://" + cfgfile,
                        "filterConfig": {"resourcePathsGcsUri": "file://" + filt}})
    check(st == 200 and op["metadata"]["apiMethodName"]
          == "google.cloud.healthcare.v1beta1.deidentify.DeidentifyService.DeidentifyDicomStore",
          f"dicomStores.deidentify with a filter: {st}")
    op = poll(root, op.get("name", ""))
    check(op.get("done") and counter(op) == (3, 0, 0) and op["response"]["@type"]
          == "type.googleapis.com/google.cloud.healthcare.v1beta1.deidentify.DeidentifyDicomStoreSummary",
          f"filtered store deidentify: 3 instances once each ({counter(op)})")
    picked = os.path.join(tmp, "picked")
    os.makedirs(picked)
    for f in [sample] + CORPUS[1:3]:
        shutil.copy(f, picked)
    expect = cli_deid(store_cfg, key, [picked], cli_dir, tmp)
    got, nrows = retrieve_store(srv.port, loc + "/datasets/sink/dicomStores/dst")
    check(nrows == 3 and got == expect, f"filtered output: {nrows} instances, byte-identical to the CLI's")

    # ---- refusals ----
    dst = {"destinationStore": loc + "/datasets/sink/dicomStores/dst"}
    bad = [
        ({**dst, "config": {"dicomTagConfig": {"actions": [{"queries": ["PatientName"], "bogusTag": {}}]}}},
         400, "config.dicomTagConfig.actions[0].bogusTag: unknown field"),
        ({**dst, "config": {}, "gcsConfigUri": "file://" + cfgfile}, 400, "only one of"),
        ({**dst, "gcsConfigUri": "file:///etc/passwd"}, 400, "gcsConfigUri: no such file under an allowed root"),
        ({**dst, "gcsConfigUri": "file://" + root_dir + "/../../../etc/passwd"}, 400, "gcsConfigUri"),
        ({**dst, "gcsConfigUri": "gs://bucket/cfg.json"}, 400, "gcsConfigUri"),
        ({**dst, "gcsConfigUri": "cfg.json"}, 400, "gcsConfigUri"),
        ({**dst, "filterConfig": {"resourcePathsGcsUri": "file:///etc/hosts"}}, 400, "no such file under an allowed root"),
        ({"destinationStore": loc + "/datasets/sink/dicomStores/nope"}, 404, "destinationStore"),
        ({"destinationStore": loc + "/datasets/../dicomStores/dst"}, 400, "destinationStore"),
        ({"destinationStore": "projects/q/locations/l/datasets/sink/dicomStores/dst"}, 400, "project and location"),
        ({**dst, "unknown": 1}, 400, "unknown: unknown field"),
        # `config` is a DeidentifyConfig: a request body's fields inside it are unknown fields at their path, never
        # read as a request body wrapped once more ("config is a DeidentifyConfig"; the inner config was applied
        # and config.destinationDataset ignored)
        ({**dst, "config": {"config": {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE"}}}}, 400,
         "config.config: unknown field"),
        ({**dst, "config": {"destinationDataset": loc + "/datasets/zz"}}, 400, "config.destinationDataset: unknown field"),
        ({**dst, "config": {"gcsConfigUri": "file://" + cfgfile}}, 400, "config.gcsConfigUri: unknown field"),
        ({**dst, "config": {"filterConfig": {}}}, 400, "config.filterConfig: unknown field"),
    ]
    os.symlink("/etc", os.path.join(root_dir, "etc-link"))
    bad.append(({**dst, "gcsConfigUri": "file://" + root_dir + "/etc-link/passwd"}, 400, "no such file under an allowed root"))
    for i, (content, where) in enumerate([("/studies/1.2\n/studies/1.2/series/../../../etc\n", "line 2"),
                                           ("/studies/1.2\r\n\r\n/studies/1.2/series/3/frames/1\r\n", "line 3"),
                                           ("/studies/%2e%2e\n", "line 1")]):
        ff = os.path.join(root_dir, "bad-filter-%d.txt" % i)
        open(ff, "w", newline="").write(content)
        bad.append(({**dst, "filterConfig": {"resourcePathsGcsUri": "file://" + ff}}, 400,
                    "filterConfig.resourcePathsGcsUri: " + where + ":"))
    # A gcsConfigUri file that is not JSON (any file under an allowed root: an import folder's list of
    # patients, say): the 400 gives its line and column, never the text there (jansson's "near '...'").
    notjson = os.path.join(root_dir, "patients.txt")
    open(notjson, "w").write("ZZPHIMARK Doe, born 19700101\n")
    bad.append(({**dst, "gcsConfigUri": "file://" + notjson}, 400, "gcsConfigUri: invalid JSON at line 1 column"))
    # A gcsConfigUri file that is JSON but no DeidentifyConfig (a pseudonym map kept beside the imports, say): the
    # 400 names schema fields and positions, never a key or value of the file (red team round 4, finding 02).
    # [docs/decisions.md "A config file's errors quote nothing of it"]
    for name, content, text in [
            ("map.json", {"ZZPHIMARK^Doe": "RES-001"}, "gcsConfigUri: config.<key 1>: unknown field"),
            ("nested.json", {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE", "ZZPHIMARK": 1}},
             "gcsConfigUri: config.dicomTagConfig.<key 2>: unknown field"),
            ("enum.json", {"dicomTagConfig": {"profileType": "ZZPHIMARK"}},
             "gcsConfigUri: config.dicomTagConfig.profileType: unknown value; expected one of"),
            ("queries.json", {"dicomTagConfig": {"actions": [{"queries": ["ZZPHIMARK"], "removeTag": {}}]}},
             "gcsConfigUri: config.dicomTagConfig.actions[0].queries[0]: not a tag ID, DICOM keyword or VR"),
            ("infotypes.json", {"text": {"transformations": [{"infoTypes": ["ZZPHIMARK"], "redactConfig": {}}]}},
             "gcsConfigUri: config.text.transformations[0].infoTypes[0]: unknown infoType")]:
        f = os.path.join(root_dir, name)
        open(f, "w").write(json.dumps(content))
        bad.append(({**dst, "gcsConfigUri": "file://" + f}, 400, text))
    # The same in the request body is the client's own text: quoted as before.
    bad.append(({**dst, "config": {"dicomTagConfig": {"profileType": "PHIMARKZZ"}}}, 400,
                'config.dicomTagConfig.profileType: unknown value "PHIMARKZZ"'))
    # one answer for absent, outside and wrong type: a path outside every root (existing or not: nothing outside
    # is looked up), an absent one inside, a link out and a folder named as a file: no existence oracle (red team
    # round 4, finding 04). [docs/decisions.md "One answer for a file URI that names nothing usable"]
    outside = os.path.join(tmp, "share-ZZPHIMARK")
    os.makedirs(outside, exist_ok=True)
    open(os.path.join(outside, "report.txt"), "w").write("x")
    one = "gcsConfigUri: no such file under an allowed root (serve --allow-root)"
    for path in (os.path.join(outside, "report.txt"), os.path.join(outside, "absent.txt"),
                 os.path.join(tmp, "nothing-ZZPHIMARK", "x.json"), os.path.join(root_dir, "absent-ZZPHIMARK.json"),
                 root_dir, root_dir + "/../share-ZZPHIMARK/report.txt", root_dir + "/etc-link/hosts"):
        bad.append(({**dst, "gcsConfigUri": "file://" + path}, 400, one))
    for body, code, text in bad:
        st, r = jreq("POST", base + "/datasets/src/dicomStores/a:deidentify", body)
        msg = r.get("error", {}).get("message", "")
        check(st == code and text in msg and "passwd" not in msg and "etc" not in msg.replace("etc-link", "")
              and "ZZPHIMARK" not in msg,
              f"refused {str(body)[:90]}: {st} {msg}")
    # The dry run answers the plan's warnings (a setting accepted with no effect), as the CLI prints them; a body
    # that is JSON but no object is told so.
    st, r = jreq("POST", root + "/dicomveil/v1/deidentifyConfig:validate",
                 {"config": {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE"}, "text": {}}})
    check(st == 200 and r.get("valid") is True and len(r.get("warnings", [])) == 1
          and r["warnings"][0].startswith("config.text: no effect"), f"the dry run's warnings: {st} {r}")
    st, r = jreq("POST", root + "/dicomveil/v1/deidentifyConfig:validate",
                 {"config": {"config": {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE"}}}})
    check(st == 400 and "config.config: unknown field" in r.get("error", {}).get("message", ""),
          f"the dry run: config is a DeidentifyConfig: {st} {r}")
    st, r = jreq("POST", root + "/dicomveil/v1/deidentifyConfig:validate", b"1")
    check(st == 400 and r.get("error", {}).get("message") == "request body: must be a JSON object",
          f"a body that is no object: {st} {r}")
    # A repeated key: :deidentify and the console's dry run (which validates a config before it is submitted)
    # read a body alike, so the dry run cannot call valid what :deidentify refuses.
    dup = ('{"destinationDataset": "%s/datasets/x1", "config": {"dicom": {"filterProfile": "KEEP_ALL_PROFILE"}, '
           '"dicom": {}}}' % loc).encode()
    for url, body in ((base + "/datasets/src:deidentify", dup),
                      (root + "/dicomveil/v1/deidentifyConfig:validate",
                       dup.replace(b'"destinationDataset": "%s/datasets/x1", ' % loc.encode(), b""))):
        st, r = jreq("POST", url, body)
        msg = r.get("error", {}).get("message", "")
        check(st == 400 and msg.startswith("request body: invalid JSON at line 1 column ")
              and msg.endswith(": an object repeats a key"),
              f"a repeated key is refused by {url[len(root):]}: {st} {msg}")
    # ... and an operation started with such a config writes them to the server's log, one line each (its client
    # has no place to read them): JSON paths, never a value.
    st, op = jreq("POST", base + "/datasets/src:deidentify",
                  {"destinationDataset": loc + "/datasets/warned",
                   "config": {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE"}, "text": {}}})
    op = poll(root, op.get("name", "")) if st == 200 else op
    warned = [json.loads(x) for x in "".join(srv.lines).splitlines() if '"event":"config warning"' in x]
    check(op.get("done") and len(warned) == 1 and warned[0]["warning"].startswith("config.text: no effect")
          and warned[0]["operation"] == int(op["name"].rsplit("/", 1)[-1]),
          f"an operation's config warnings go to the server log: {warned}")
    st, r = jreq("POST", base + "/datasets/src:deidentify",
                 {"destinationDataset": loc + "/datasets/x1", "config": {"dicomTagConfig": {"profileType": "NOPE"}}})
    check(st == 400 and r["error"]["message"].startswith("config.dicomTagConfig.profileType"),
          f"a bad config names its JSON path: {r}")
    st, _ = jreq("GET", base + "/datasets/x1")
    check(st == 404, "a refused dataset de-identification creates nothing")

    proto_field_names(srv, base, loc, configs, n_src)

    # ---- the googleapi client: datasets.deidentify, operations.get / list, searchForInstances ----
    googleapi(root, loc, configs, root_dir)

    # ---- export to a folder, import it back ----
    exp = os.path.join(root_dir, "export-ZZFOLDERMARK")  # folders are often named after a patient
    os.makedirs(exp)
    st, op = jreq("POST", base + "/datasets/src/dicomStores/a:export",
                  {"gcsDestination": {"uriPrefix": "file://" + exp}})
    op = poll(root, op.get("name", ""))
    files = {}
    for dirpath, _, fs in os.walk(exp):
        for f in fs:
            files[f[:-4]] = open(os.path.join(dirpath, f), "rb").read()
    src_a, _ = retrieve_store(srv.port, loc + "/datasets/src/dicomStores/a")
    check(op.get("done") and counter(op) == (len(src_a), 0, 0) and files == src_a
          and op["response"]["@type"] == "type.googleapis.com/google.cloud.healthcare.v1beta1.dicom.ExportDicomDataResponse",
          f"export: {len(files)} files byte-identical to the store ({counter(op)})")
    # The export is for its reader: 0640 files and 0750 folders under the operator's umask, although the server's
    # own files are private (its umask is 077). [docs/decisions.md "The server's files are private"]
    um = os.umask(0)
    os.umask(um)
    modes = {os.stat(os.path.join(dp, n)).st_mode & 0o777 for dp, ds, fs in os.walk(exp) for n in fs}
    dmodes = {os.stat(os.path.join(dp, n)).st_mode & 0o777 for dp, ds, fs in os.walk(exp) for n in ds}
    check(modes == {0o640 & ~um} and dmodes == {0o750 & ~um},
          f"export modes under the operator's umask: files {sorted(map(oct, modes))}, "
          f"folders {sorted(map(oct, dmodes))}")
    st, r = jreq("POST", base + "/datasets/src/dicomStores/a:export", {"gcsDestination": {"uriPrefix": "file:///tmp"}})
    check(st == 400 and "no such folder under an allowed root" in r.get("error", {}).get("message", ""),
          f"export outside: {st}")
    open(os.path.join(exp, "zz-not-dicom.txt"), "w").write("hello")
    jreq("POST", base + "/datasets/src/dicomStores?dicomStoreId=imp", {})
    for attempt in range(2):  # the second import finds every instance stored already: counted, not stored twice
        st, op = jreq("POST", base + "/datasets/src/dicomStores/imp:import", {"gcsSource": {"uri": "file://" + exp + "/**"}})
        op = poll(root, op.get("name", ""))
        got, nrows = retrieve_store(srv.port, loc + "/datasets/src/dicomStores/imp")
        st, log = jreq("GET", op.get("metadata", {}).get("logsUrl", root))
        n = len(src_a)
        check(op.get("done") and counter(op) == (n, 1, 0) and got == src_a and nrows == n
              and log.get("entries") == [{"resource": "file #%d" % (n + 1), "errorClass": "not_dicom"}],
              f"import {attempt + 1}: {nrows} instances, counter {counter(op)}, log {log}")
    st, r = jreq("POST", base + "/datasets/src/dicomStores/imp:import", {"gcsSource": {"uri": "file:///etc"}})
    check(st == 400, f"import outside the roots: 400 ({st})")
    # Once done, an import's or export's folder is forgotten by the index (a resume is all it was kept for), out of
    # the WAL too, while the server runs; the operation still answers as before (Google's OperationMetadata names
    # no URI). [docs/decisions.md "What the index forgets"]
    held = [f for f in os.listdir(data) if f.startswith("index.sqlite")
            and b"ZZFOLDERMARK" in open(os.path.join(data, f), "rb").read()]
    st, again = jreq("GET", root + "/v1beta1/" + op.get("name", ""))
    check(held == [] and st == 200 and again == op, f"import/export folders forgotten at the end: {held}, {st}")

    crash(tmp, servers, srv, data, root_dir)


def proto_names(v):
    """v with every object key written as its proto field name (proto3 JSON: each capital X as `_x`)."""
    if isinstance(v, dict):
        return {re.sub(r"[A-Z]", lambda m: "_" + m.group().lower(), k): proto_names(x) for k, x in v.items()}
    return [proto_names(x) for x in v] if isinstance(v, list) else v


def proto_field_names(srv, base, loc, configs, n_src):
    """proto3 JSON: a request body's and its config's fields by their proto names (`destination_dataset`,
    `dicom_tag_config`) as by their JSON names; both names of one field refused; errors name the path as written;
    map keys (labels) are data, never renamed; responses keep the JSON names ("proto field names")."""
    root = f"http://127.0.0.1:{srv.port}"
    camel = lambda c: sum(bool(re.search("[A-Z]", k)) for k in re.findall(r'"(\w+)":', json.dumps(c)))  # noqa: E731
    i = max(range(len(configs)), key=lambda j: camel(configs[j]))
    st, op = jreq("POST", base + "/datasets/src:deidentify",
                  {"destination_dataset": loc + "/datasets/proto%d" % i, "config": proto_names(configs[i])})
    op = poll(root, op.get("name", "")) if st == 200 else op
    got, want = {}, {}
    for s in ("a", "b"):
        got.update(retrieve_store(srv.port, loc + "/datasets/proto%d/dicomStores/%s" % (i, s))[0])
        want.update(retrieve_store(srv.port, loc + "/datasets/out%d/dicomStores/%s" % (i, s))[0])
    check(camel(configs[i]) > 2 and op.get("done") and counter(op)[0] + counter(op)[1] == n_src and got == want
          and len(got) == counter(op)[0] > 0, f"proto field names: config {i} with proto names de-identifies as its "
          f"JSON-named twin ({len(got)} instances, {sum(1 for k in got if got[k] == want.get(k))} equal)")
    dst = loc + "/datasets/sink/dicomStores/dst"
    for url, body, code, text in [
            ("/datasets/src/dicomStores/a:deidentify", {"destinationStore": dst, "destination_store": dst}, 400,
             "destination_store: the same field as destinationStore"),
            ("/datasets/src/dicomStores/a:deidentify",
             {"destination_store": dst, "config": {"dicom_tag_config": {"profile_typ": "KEEP_ALL_PROFILE"}}}, 400,
             "config.dicom_tag_config.profile_typ: unknown field"),
            ("/datasets/src/dicomStores/a:deidentify",
             {"destination_store": dst, "config": {"dicom_tag_config": {"profile_type": 2}}}, 400,
             "config.dicom_tag_config.profile_type: must be a string"),
            ("/datasets/src/dicomStores/a:deidentify", {"destination_store": loc + "/datasets/sink/dicomStores/nope"},
             404, "destination_store: not found"),
            ("/datasets/src/dicomStores/a:deidentify", {"destination_store": dst, "gcs_config_uri": "gs://b/c.json"},
             400, "gcs_config_uri: "),
            ("/datasets/src/dicomStores/a:deidentify",
             {"destination_store": dst, "filter_config": {"resource_paths_gcs_uri": "file:///etc/hosts"}}, 400,
             "filter_config.resource_paths_gcs_uri: no such file under an allowed root"),
            ("/datasets/src/dicomStores/a:deidentify",
             {"destination_store": dst, "filter_config": {"resourcePathsGcsUri": "x", "resource_paths_gcs_uri": "x"}},
             400, "filter_config.resource_paths_gcs_uri: the same field as resourcePathsGcsUri"),
            ("/datasets/src/dicomStores/a:export", {"gcs_destination": {"uri_prefix": "file:///etc"}}, 400,
             "gcs_destination.uri_prefix: no such folder under an allowed root"),
            ("/datasets/src/dicomStores/a:import", {"gcs_source": {"uri": "file:///etc"}}, 400,
             "gcs_source.uri: no such folder under an allowed root"),
            ("/datasets?datasetId=tz1", {"time_zone": "Not a zone!"}, 400, "time_zone: must be an IANA time zone name"),
            ("/datasets?datasetId=tz2", {"timeZone": "UTC", "time_zone": "UTC"}, 400,
             "time_zone: the same field as timeZone"),
            # a label's key is data: written as given, matched as given (an upper-case one is refused, not renamed)
            ("/datasets/src/dicomStores?dicomStoreId=lab1", {"labels": {"sourceSystem": "pacs"}}, 400, "labels: "),
            ("/dicomveil/v1/deidentifyConfig:validate", {"config": {"dicom_tag_config": {"keep_tag": {}}}}, 400,
             "config: config.dicom_tag_config.keep_tag: unknown field")]:
        st, r = jreq("POST", (root if url.startswith("/dicomveil") else base) + url, body)
        msg = r.get("error", {}).get("message", "")
        check(st == code and msg.startswith(text), f"proto field names: {url} {str(body)[:80]}: {st} {msg}")
    st, r = jreq("POST", base + "/datasets?datasetId=tz3", {"time_zone": "UTC"})
    st2, d = jreq("GET", base + "/datasets/tz3")
    check(st == 200 and st2 == 200 and d.get("timeZone") == "UTC" and "time_zone" not in d,
          f"proto field names: datasets.create takes time_zone, answers timeZone: {st} {st2} {d}")
    labels = {"source_system": "pacs-1", "time_zone": "utc", "dicom_tag_config": "x"}
    st, r = jreq("POST", base + "/datasets/src/dicomStores?dicomStoreId=lab2", {"labels": labels})
    st2, g = jreq("GET", base + "/datasets/src/dicomStores/lab2")
    check(st == 200 and st2 == 200 and r.get("labels") == labels and g.get("labels") == labels,
          f"proto field names: labels' keys are kept as written: {st} {st2} {g}")
    st, r = jreq("POST", root + "/dicomveil/v1/deidentifyConfig:validate",
                 {"config": {"dicom_tag_config": {"profile_type": "KEEP_ALL_PROFILE"}, "text": {}}})
    check(st == 200 and r.get("valid") is True and r.get("warnings", [""])[0].startswith("config.text: no effect"),
          f"proto field names: the dry run takes them: {st} {r}")
    jreq("DELETE", base + "/datasets/src/dicomStores/lab2")


def googleapi(root, loc, configs, root_dir):
    import httplib2
    from googleapiclient.discovery import build_from_document

    doc = json.load(open(ts.DISCOVERY))
    doc["rootUrl"] = doc["baseUrl"] = root + "/"
    svc = build_from_document(doc, http=httplib2.Http(timeout=20))
    ds = svc.projects().locations().datasets()
    op = ds.deidentify(sourceDataset=loc + "/datasets/src",
                       body={"destinationDataset": loc + "/datasets/gout", "config": configs[3]}).execute()
    opsvc = ds.operations()
    t0 = time.time()
    while not op.get("done") and time.time() - t0 < 60:
        time.sleep(0.05)
        op = opsvc.get(name=op["name"]).execute()
    check(op.get("done") and int(op["metadata"]["counter"]["success"]) == len(CORPUS) + 1,
          f"googleapi datasets.deidentify polled with operations.get: {op.get('metadata', {}).get('counter')}")
    listed = opsvc.list(name=loc + "/datasets/src", filter="done=true", pageSize=1000).execute()
    check(op["name"] in [o["name"] for o in listed.get("operations", [])], "googleapi operations.list")
    found = ds.dicomStores().searchForInstances(parent=loc + "/datasets/gout/dicomStores/a",
                                                dicomWebPath="instances").execute()
    check(isinstance(found, list) and len(found) == len(CORPUS), f"googleapi QIDO of the destination: {len(found)}")
    op = ds.dicomStores().deidentify(sourceStore=loc + "/datasets/src/dicomStores/b",
                                     body={"destinationStore": loc + "/datasets/sink/dicomStores/dst",
                                           "config": configs[0]}).execute()
    while not op.get("done") and time.time() - t0 < 60:
        time.sleep(0.05)
        op = opsvc.get(name=op["name"]).execute()
    check(op.get("done") and op["metadata"]["counter"]["success"] == "1", "googleapi dicomStores.deidentify")
    md, hc = op["metadata"], "google.cloud.healthcare."
    check(md["@type"] == "type.googleapis.com/" + hc + "v1beta1.OperationMetadata"
          and md["apiMethodName"].startswith(hc + "v1beta1.") and "/v1beta1/" in md["logsUrl"]
          and op["response"]["@type"].startswith("type.googleapis.com/" + hc + "v1beta1."),
          f"a v1beta1 client reads v1beta1 names: {md} {op.get('response')}")

    # A client of the v1 API (its own discovery document) reads v1 names and links, as from Google's service:
    # the same operation through v1, and a new one started through v1.
    doc1 = json.load(open(ts.DISCOVERY.replace("healthcare.v1beta1.json", "healthcare.v1.json")))
    doc1["rootUrl"] = doc1["baseUrl"] = root + "/"
    ds1 = build_from_document(doc1, http=httplib2.Http(timeout=20)).projects().locations().datasets()
    ds1.dicomStores().create(parent=loc + "/datasets/sink", dicomStoreId="dst1", body={}).execute()
    again = ds1.operations().get(name=op["name"]).execute()
    # v1's DeidentifyConfig has no dicomTagConfig (its discovery document): refused as Google's v1 service
    # refuses an unknown field ("v1 refuses dicomTagConfig"); the v1 form (dicom.filterProfile) is taken.
    st, r = jreq("POST", root + "/v1/" + loc + "/datasets/src/dicomStores/b:deidentify",
                 {"destinationStore": loc + "/datasets/sink/dicomStores/dst1",
                  "config": {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE"}}})
    check(st == 400 and r["error"]["message"].startswith("config.dicomTagConfig: not a field of the v1 API"),
          f"v1 refuses dicomTagConfig: {st} {r}")
    # ... and so are the v1beta1-only fields and enum value inside the objects v1 has (the two discovery documents
    # differ there too: v1's ImageConfig has textRedactionMode only, without REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS,
    # and its TextConfig no profileType), inline or in a gcsConfigUri file of either shape ("v1 refuses nested
    # v1beta1 fields"; they were carried out as v1beta1's).
    v1cfg = os.path.join(root_dir, "v1-request-body.json")
    open(v1cfg, "w").write(json.dumps({"config": {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE"}}}))
    for body, text in [
            ({"config": {"image": {"additionalInfoTypes": ["PERSON_NAME"]}}}, "config.image.additionalInfoTypes: "),
            ({"config": {"image": {"textRedactionMode": "REDACT_SENSITIVE_TEXT", "excludeInfoTypes": ["AGE"]}}},
             "config.image.excludeInfoTypes: "),
            ({"config": {"image": {"textRedactionMode": "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS"}}},
             "config.image.textRedactionMode: "),
            ({"config": {"dicom": {"filterProfile": "DEIDENTIFY_TAG_CONTENTS"}, "text": {"profileType": "EMPTY"}}},
             "config.text.profileType: "),
            ({"gcsConfigUri": "file://" + v1cfg}, "gcsConfigUri: config.dicomTagConfig: "),
            # by their proto names too ("v1 refuses dicom_tag_config"): one rule, either name
            ({"config": {"dicom_tag_config": {"profile_type": "KEEP_ALL_PROFILE"}}}, "config.dicom_tag_config: "),
            ({"config": {"image": {"additional_info_types": ["PERSON_NAME"]}}}, "config.image.additional_info_types: "),
            ({"config": {"image": {"text_redaction_mode": "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS"}}},
             "config.image.text_redaction_mode: "),
            ({"gcs_config_uri": "file://" + v1cfg}, "gcs_config_uri: config.dicomTagConfig: ")]:
        st, r = jreq("POST", root + "/v1/" + loc + "/datasets/src/dicomStores/b:deidentify",
                     {"destinationStore": loc + "/datasets/sink/dicomStores/dst1", **body})
        msg = r.get("error", {}).get("message", "")
        check(st == 400 and msg.startswith(text) and "v1beta1 only" in msg, f"v1 refuses nested v1beta1 fields: {body} {st} {msg}")
    op1 = ds1.dicomStores().deidentify(sourceStore=loc + "/datasets/src/dicomStores/b",
                                       body={"destinationStore": loc + "/datasets/sink/dicomStores/dst1",
                                             "config": {"dicom": {"filterProfile":
                                                                  "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}}
                                       ).execute()
    t0 = time.time()
    while not op1.get("done") and time.time() - t0 < 60:
        time.sleep(0.05)
        op1 = ds1.operations().get(name=op1["name"]).execute()
    for what, o in (("the v1beta1 operation read through v1", again), ("an operation started through v1", op1)):
        md = o["metadata"]
        check(o.get("done") and md["@type"] == "type.googleapis.com/" + hc + "v1.OperationMetadata"
              and md["apiMethodName"] == hc + "v1.deidentify.DeidentifyService.DeidentifyDicomStore"
              and md["logsUrl"].startswith(root + "/v1/") and ds1.operations().get(name=o["name"]).execute()
              and o["response"]["@type"] == "type.googleapis.com/" + hc + "v1.deidentify.DeidentifyDicomStoreSummary",
              f"{what}: v1 names and links: {md} {o.get('response')}")
    st, r = jreq("GET", md["logsUrl"])
    check(st == 200 and ("entries" in r or r == {}), f"the v1 logsUrl answers: {st} {r}")
    web1 = root + "/v1/" + loc + "/datasets/sink/dicomStores/dst1/dicomWeb"
    st, found = jreq("GET", web1 + "/instances?includefield=all")
    urls = [x.get("00081190", {}).get("Value", [""])[0] for x in found] if st == 200 else []
    check(st == 200 and urls and all(u.startswith(web1 + "/studies/") for u in urls),
          f"QIDO through v1: RetrieveURLs under /v1/: {urls[:2]}")


def pipeline_phases(log, name, n):
    """The operation's "operation pipeline" log line (src/http/op_timing.c): its phases in their order (no chunk
    before the planning, the last item finished after the last chunk handed to the durability stage) and the
    stage's rounds (one syncfs each) between 1 and the chunks it carried: rounds merge chunks, never split one."""
    op_id = int(name.rsplit("/", 1)[-1])
    lines = [json.loads(x) for x in log.splitlines() if '"event":"operation pipeline"' in x]
    p = next((x for x in lines if x.get("operation") == op_id), None)
    check(p is not None, f"pipeline phases: the operation's pipeline line is logged ({len(lines)} lines)")
    chunks = p["chunks"]
    # (a resumed operation whose every item was finished before the crash hands nothing over: no handover)
    handed = p["last_handover_ms"] == 0 or p["first_chunk_ms"] <= p["last_handover_ms"] <= p["last_finish_ms"]
    check(p["setup_ms"] <= p["planned_ms"] <= p["first_chunk_ms"] and handed and p["last_finish_ms"] <= p["end_ms"]
          and 1 <= chunks <= (n + 31) // 32 and (p["rounds"] == 0) == (p["last_handover_ms"] == 0)
          and p["rounds"] <= chunks
          and p["room_wait_ms"] >= 0 and p["pool_ms"] > 0,
          f"pipeline phases: setup {p['setup_ms']} <= planned {p['planned_ms']} <= first chunk "
          f"{p['first_chunk_ms']} <= last handover {p['last_handover_ms']} <= last finish {p['last_finish_ms']} "
          f"<= end {p['end_ms']} ms; {p['rounds']} rounds for {chunks} chunks")


def crash(tmp, servers, srv, data, root_dir):
    """SIGTERM, then kill -9, during a de-identification of CRASH_N instances; each restart completes it."""
    gen = os.path.join(tmp, "gen")
    os.makedirs(gen)
    files = []
    for i in range(CRASH_N):
        f = os.path.join(gen, "%04d.dcm" % i)
        build_instance(f, "1.2.826.0.1.3680043.10.1187.9.%d" % (i // 40), "1.2.826.0.1.3680043.10.1187.9.%d.1" % (i // 40),
                       "1.2.826.0.1.3680043.10.1187.9.%d.1.%d" % (i // 40, i), patient="Doe^%d" % i, number=i)
        files.append(f)
    base = f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l"
    jreq("POST", base + "/datasets?datasetId=big", {})
    jreq("POST", base + "/datasets/big/dicomStores?dicomStoreId=s", {})
    for k in range(0, CRASH_N, 130):
        check(stow(base + "/datasets/big/dicomStores/s/dicomWeb", files[k:k + 130], tmp) == 200, "STOW the generated")

    # cancel: a running operation stops, finished with CANCELLED; what was stored stays
    keys_before = set(os.listdir(os.path.join(data, "keys")))
    st, op = jreq("POST", base + "/datasets/big:deidentify", {"destinationDataset": "projects/p/locations/l/datasets/c1"})
    key = new_key(data, keys_before)
    st, r = jreq("POST", f"http://127.0.0.1:{srv.port}/v1beta1/" + op["name"] + ":cancel", {})
    check(st == 200 and r == {}, f"operations.cancel: 200 {{}} ({st})")
    op = poll(f"http://127.0.0.1:{srv.port}", op["name"])
    ok, failed, pending = counter(op)
    # The cancel lands while the operation plans (no item listed yet: counter 0/0/0) or while it runs (every
    # item listed, some left pending); on a loaded machine either happens.
    planned = ok + failed + pending == CRASH_N and pending > 0
    before_planning = ok + failed + pending == 0
    check(op.get("done") and op.get("error", {}).get("code") == 1 and op["metadata"].get("cancelRequested") is True
          and (planned or before_planning), f"cancelled: error code 1, counter {ok}/{failed}/{pending}")

    expect = set(cli_deid({}, key, [gen], os.path.join(tmp, "cli-big"), tmp))
    check(len(expect) == CRASH_N, f"the CLI's run of the generated instances: {len(expect)}")
    name = None
    for how in ("SIGTERM", "SIGKILL"):
        port = srv.port
        if name is None:
            st, op = jreq("POST", f"http://127.0.0.1:{port}/v1beta1/projects/p/locations/l/datasets/big:deidentify",
                          {"destinationDataset": "projects/p/locations/l/datasets/crash"})
            name = op.get("name", "")
        t0, done_before = time.time(), 0
        while time.time() - t0 < 30:
            st, op = jreq("GET", f"http://127.0.0.1:{port}/v1beta1/" + name)
            done_before = counter(op)[0]
            if done_before >= (60 if how == "SIGTERM" else 200) or op.get("done"):
                break
            time.sleep(0.01)
        check(not op.get("done"), f"{how} arrives during the operation ({done_before} of {CRASH_N} done)")
        if how == "SIGTERM":
            # A stop's syncfs flushes all of the file system's dirty data (other tests', a background build's):
            # seconds on a slow CI disk, not a property of the server; the stop's time is printed.
            srv.wait_s = 60
            t_stop = time.time()
            rc = srv.stop()
            print(f"SIGTERM during the operation: stopped in {time.time() - t_stop:.1f} s")
            check(rc == 0 and '"event":"operation checkpointed"' in "".join(srv.lines), f"SIGTERM: checkpointed, exit {rc}")
        else:
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
        srv = Server(data, "--allow-root", root_dir, "--op-workers", "2")
        servers.append(srv)
    op = poll(f"http://127.0.0.1:{srv.port}", name, timeout=300)
    check(op.get("done") and "response" in op and counter(op) == (CRASH_N, 0, 0),
          f"after SIGTERM and kill -9 the operation completes: counter {counter(op)}")
    st, mt = jreq("GET", f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l/datasets/crash/dicomStores/s"
                  ":getDICOMStoreMetrics")
    st, rows = jreq("GET", f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l/datasets/crash/dicomStores/s"
                    "/dicomWeb/instances?limit=5000")
    sops = [r["00080018"]["Value"][0] for r in rows] if st == 200 else []
    check(mt.get("instanceCount") == str(CRASH_N) and len(sops) == CRASH_N and set(sops) == expect,
          f"the destination holds each instance once: {mt.get('instanceCount')} instances, "
          f"{len(set(sops))} distinct SOP UIDs, {len(set(sops) & expect)} the CLI's")
    log = "".join(srv.lines)
    check('"event":"operation resumed"' in log, "the restarted server resumed the operation")
    pipeline_phases(log, name, CRASH_N)
    for secret in ["Doe^", "1.2.826.0.1.3680043.10.1187.9", "Ann Johnson"]:
        check(secret not in log, f"the server's log holds '{secret}'")
    srv = export_sweeps_after_kill(servers, srv, data, root_dir)
    srv = export_outside_roots(servers, srv, data, root_dir)
    rc = srv.stop()  # (under ASan a leak makes the exit status non-zero)
    check(rc == 0 and "Sanitizer" not in "".join(srv.lines), f"the last server stops cleanly ({rc})")


def export_killed(servers, srv, data, root_dir, tag):
    """An export killed once planned, before it ends: (folder, operation name, id, pending rows), no server
    running (None when every try ended before its kill; the server in servers[-1] then). The kill waits for the
    plan only (the copies the sweep must find are planted by the caller), not for items done: an export item is a
    file copy, and with 2,000 of them a loaded machine could still see it end between the poll and the kill; then
    it is tried again (a new export, a new folder)."""
    for attempt in range(3):
        base = f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l/datasets/big"
        exp = os.path.join(root_dir, f"export-{tag}-{attempt}")
        os.makedirs(exp)
        st, op = jreq("POST", base + "/dicomStores/s:export", {"gcsDestination": {"uriPrefix": "file://" + exp}})
        name = op.get("name", "")
        t0 = time.time()
        while time.time() - t0 < 30:
            st, op = jreq("GET", f"http://127.0.0.1:{srv.port}/v1beta1/" + name)
            if sum(counter(op)) == CRASH_N or op.get("done"):
                break
            time.sleep(0.002)
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        op_id = int(name.rsplit("/", 1)[-1])
        db = sqlite3.connect(os.path.join(data, "index.sqlite"))
        pending = db.execute("SELECT seq, study_uid, series_uid FROM op_items WHERE op_id=? AND state=0 ORDER BY seq",
                             (op_id,)).fetchall()
        db.close()
        if len(pending) >= 300:  # more than a sweep page (256)
            return exp, name, op_id, pending
        print(f"export ({tag}): the kill came after {CRASH_N - len(pending)} of {CRASH_N} items: again")
        srv = Server(data, "--allow-root", root_dir, "--op-workers", "2")
        servers.append(srv)
        poll(f"http://127.0.0.1:{srv.port}", name, timeout=120)
    check(False, f"an export killed while it runs ({tag}): it ended before the kill three times")
    return None


def files_under(folder, keep=lambda name: True):
    """The paths of the files under folder whose names keep accepts, sorted."""
    return sorted(os.path.join(dp, f) for dp, _, fs in os.walk(folder) for f in fs if keep(f))


def plant(exp, op_id, seq, study, series):
    """A temporary copy as a kill leaves it, for item seq of operation op_id: its path."""
    d = os.path.join(exp, study, series)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, ".tmp-%d-%d" % (op_id, seq))
    open(path, "wb").write(b"DICM half an instance")
    return path


def sweep_log(srv, op_id):
    """The count of the sweep's log line for op_id, waited for (the server's stderr is read by a thread that a
    loaded machine may run after the poll saw the operation done); None without the line."""
    pat = r'"event":"unfinished export copies removed","operation":%d,"files":(\d+)' % op_id
    t0 = time.time()
    while time.time() - t0 < 10:
        m = re.search(pat, "".join(srv.lines))
        if m:
            return int(m.group(1))
        time.sleep(0.05)
    return None


def export_sweeps_after_kill(servers, srv, data, root_dir):
    """The copies a kill leaves in the export folder. A cancelled export leaves no temporary copy: a resume redoes
    a pending item under its `.tmp-<operation>-<item>` name, but a cancel recorded before the restart (by another
    server sharing the index, or just before the kill) ends the operation without redoing it, and the copies of
    its pending items must go then; a completed export leaves no temporary copy either: an item whose redo failed
    (recorded failed here, as a redo that cannot open the instance's file records it) is never redone, and its
    copy must go as the operation ends. Neither removes a copy a writer holds (locked here by the test), another
    operation's copy, or an exported instance. The copies are planted (which item a kill catches mid-write is
    chance), with the index written as op_cancel / op_item_finish write it. The one server of a test answers with
    the returned server."""
    import fcntl
    for cancel in (True, False):
        tag = "cancelled" if cancel else "completed"
        what = "a cancelled export leaves no temporary copy" if cancel else "a completed export leaves no temporary copy"
        killed = export_killed(servers, srv, data, root_dir, tag)
        if killed is None:
            return servers[-1]
        exp, name, op_id, pending = killed
        db = sqlite3.connect(os.path.join(data, "index.sqlite"))
        failed = pending[2]
        db.execute("UPDATE op_items SET state=2, error_class='io' WHERE op_id=? AND seq=?", (op_id, failed[0]))
        db.execute("UPDATE operations SET failure=failure+1, pending=pending-1 WHERE id=?", (op_id,))
        if cancel:
            db.execute("UPDATE operations SET cancel_requested=1 WHERE id=?", (op_id,))
        db.commit()
        db.close()
        for seq, study, series in pending[:3] + pending[-1:]:  # the last in a page of its own (the sweep pages)
            plant(exp, op_id, seq, study, series)
        seq, study, series = pending[0]
        other = plant(exp, op_id + 1000, seq, study, series)  # another operation's
        held = plant(exp, op_id, *pending[3]) if cancel else None  # a live writer's (a resume would wait for it)
        lock = open(held, "rb") if held else None
        if lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
        dcm = files_under(exp, lambda f: f.endswith(".dcm"))
        srv = Server(data, "--allow-root", root_dir, "--op-workers", "2")
        servers.append(srv)
        op = poll(f"http://127.0.0.1:{srv.port}", name, timeout=120)
        left = files_under(exp, lambda f: f.startswith(".tmp-"))
        dcm_after = files_under(exp, lambda f: f.endswith(".dcm"))
        if lock:
            lock.close()
        n = sweep_log(srv, op_id)
        expect_left = sorted(p for p in (other, held) if p)
        if cancel:
            ended = op.get("error", {}).get("code") == 1 and dcm_after == dcm
            removed = n is not None and n >= 4  # three pending copies, one failed item's
        else:
            ended = "response" in op and counter(op) == (CRASH_N - 1, 1, 0) and set(dcm) <= set(dcm_after)
            removed = n is not None and n >= 1  # the failed item's (the pending ones' copies are redone)
        check(ended and left == expect_left and removed,
              f"{what}: {op.get('error', {}).get('code')} {counter(op)}, "
              f"{len(left)} left ({len(expect_left)} expected: a held one, another operation's), "
              f"{n} removed, {len(dcm)} -> {len(dcm_after)} exported")
        for secret in ["Doe^", "1.2.826.0.1.3680043.10.1187.9"]:
            check(secret not in "".join(srv.lines), f"the server's log holds '{secret}' ({tag} export)")
    return srv


def export_outside_roots(servers, srv, data, root_dir):
    """A resumed export outside the allowed roots: an export killed while it runs, its server restarted with
    another --allow-root (the operator narrowed it), must end FAILED_PRECONDITION without writing another file into
    its folder; before, it resumed and wrote there whatever the new roots said. The one server of a test answers
    with the returned server (it allows only the other root)."""
    killed = export_killed(servers, srv, data, root_dir, "moved")
    if killed is None:
        return servers[-1]
    exp, name, op_id, pending = killed
    files = files_under(exp)
    other = os.path.join(os.path.dirname(root_dir), "other-root")
    os.makedirs(other, exist_ok=True)
    srv = Server(data, "--allow-root", other, "--op-workers", "2")
    servers.append(srv)
    op = poll(f"http://127.0.0.1:{srv.port}", name, timeout=120)
    after = files_under(exp)
    err = op.get("error", {})
    check(op.get("done") and err.get("code") == 9 and "no longer under an allowed root" in err.get("message", "")
          and after == files and counter(op)[2] == len(pending),
          f"a resumed export outside the allowed roots: error {err.get('code')} {err.get('message', '')!r}, "
          f"{len(files)} -> {len(after)} files in its folder, counter {counter(op)} ({len(pending)} pending)")
    return srv


if __name__ == "__main__":
    sys.exit(main())
