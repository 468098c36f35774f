#!/usr/bin/env python3
"""Concurrent STOW and QIDO on one store (issue 7's load bullet; docs/server.md "Durability"): the group commit
and the read connections of the SQLite index, seen from a client.

* group commit: 8 threads each STOW 12 tiny instances, one instance per request (so the requests meet in the
  server's put path and share commits); every STOW is acknowledged with 200, and right after each
  acknowledgement the instance is found by QIDO (a new connection of the client) and its file is present under
  DATA/stores/<id>/<keyed hash of the store id and SOPInstanceUID>.dcm with exactly the bytes sent;
* consistency: 2 threads QIDO the store's studies and instances all along; an instance acknowledged before a
  query started is in that query's answer, no query fails, and each study's NumberOfStudyRelatedInstances never
  shrinks from one query of a thread to its next;
* at the end every instance is listed once (QIDO and getDICOMStoreMetrics);
* one request's parts are committed together (in rounds of 32): a 40-part multipart STOW with a part that is
  not DICOM and a part repeating an earlier one answers 202 with the 38 others referenced in the parts' order
  and the two failures (0xC000, 0x0111), and all 38 are listed;
* load client (bench/load_client.c, the client of bench/server_load.sh): `fill` STOWs 60 generated instances in
  uneven batches (60 ok, 3 studies of 20 of patients 0-2, all found by the bench's PatientName wildcard), `stow-files` STOWs a
  folder of 5 files, `qido` queries under STOW load without a failure and reports p50/p99;
* the bench's CLI reference (bench/lib_server.sh dv_cli_run, docs/decisions.md "CLI reference of the server
  bench"): one run over 4 files prints the seconds until the CLI exits, until its outputs are on disk (at
  least the former: the sync is timed with the run) and its CPU per instance, removes its output, and
  bench/server_load.sh's STOW and operation verdicts compare against the disk-to-disk median.
The instances are built here (pydicom, 8x8 pixels); the whole test takes a few seconds.
"""
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, "/usr/lib/python3/dist-packages")

import test_server as ts  # noqa: E402  (its Server helper; its checks are not run)
from test_server import check  # noqa: E402

THREADS, PER_THREAD, STUDIES = 8, 12, 4
ROOT = "1.2.826.0.1.3680043.9.7433.77."


def instance(n):
    return ts.tiny_instance(ROOT, n, n % STUDIES, n % STUDIES, "Perf^Test", "PERF%d" % (n % STUDIES),
                            StudyDate="20200101", InstanceNumber=n)


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        srv = ts.Server(data, "--workers", "8")
        try:
            run(srv.port, data)
            load_client(srv.port, tmp)
            cli_reference(tmp)
        finally:
            srv.stop()
        early_writeback(tmp)
    if ts.fails:
        print(f"test_server_perf: {len(ts.fails)} check(s) failed", file=sys.stderr)
        return 1
    print("test_server_perf: all checks passed")
    return 0


def run(port, data):
    base = "/v1beta1/projects/p/locations/l/datasets"
    check(request(port, "POST", base + "?datasetId=d", b"{}")[0] == 200, "dataset created")
    st, body = request(port, "POST", base + "/d/dicomStores?dicomStoreId=s", b"{}")
    check(st == 200, "store created")
    web = base + "/d/dicomStores/s/dicomWeb"

    acked = {}            # sop -> time of its acknowledgement
    mu = threading.Lock()
    problems = []
    stop = threading.Event()

    def stower(t):
        for k in range(PER_THREAD):
            n = t * PER_THREAD + k
            b = instance(n)
            st, resp = request(port, "POST", web + "/studies", b, {"Content-Type": "application/dicom"})
            sop = ROOT + "3.%d" % n
            if st != 200:
                problems.append("STOW %d answered %s" % (n, st))
                continue
            with mu:
                acked[sop] = time.monotonic()
            # Acknowledged: indexed (found by a new connection) and its file present with these bytes.
            st, found = request(port, "GET", web + "/instances?SOPInstanceUID=" + sop,
                                headers={"Accept": "application/dicom+json"})
            rows = json.loads(found) if st == 200 else []
            if len(rows) != 1:
                problems.append("acknowledged instance %d not found by QIDO (%s, %d rows)" % (n, st, len(rows)))
            dirs = os.listdir(os.path.join(data, "stores"))
            key = open(os.path.join(data, "keys", "naming.key"), "rb").read()
            path = os.path.join(data, "stores", dirs[0], ts.instance_name(key, dirs[0], sop)) if len(dirs) == 1 else ""
            if not path or not os.path.exists(path) or open(path, "rb").read() != b:
                problems.append("acknowledged instance %d: its file is missing or differs" % n)

    queries = [0]

    def querier():
        seen_counts = {}  # per thread: its own queries are in order, the other thread's are not
        while not stop.is_set():
            with mu:
                before = set(sop for sop, _ in acked.items())
            st, body = request(port, "GET", web + "/instances?limit=5000", headers={"Accept": "application/dicom+json"})
            if st not in (200, 204):
                problems.append("QIDO instances answered %s" % st)
                continue
            listed = set(r["00080018"]["Value"][0] for r in json.loads(body)) if st == 200 else set()
            if not before <= listed:
                problems.append("QIDO missed %d acknowledged instance(s)" % len(before - listed))
            st, body = request(port, "GET", web + "/studies", headers={"Accept": "application/dicom+json"})
            if st == 200:
                for r in json.loads(body):
                    uid, n = r["0020000D"]["Value"][0], int(r["00201208"]["Value"][0])
                    if n < seen_counts.get(uid, 0):
                        problems.append("NumberOfStudyRelatedInstances shrank")
                    seen_counts[uid] = n
            elif st != 204:
                problems.append("QIDO studies answered %s" % st)
            with mu:
                queries[0] += 1

    qs = [threading.Thread(target=querier) for _ in range(2)]
    ws = [threading.Thread(target=stower, args=(t,)) for t in range(THREADS)]
    for t in qs + ws:
        t.start()
    for t in ws:
        t.join()
    stop.set()
    for t in qs:
        t.join()
    check(not problems, "group commit: %d problems: %s" % (len(problems), "; ".join(problems[:5])))
    total = THREADS * PER_THREAD
    check(len(acked) == total, "group commit: all %d concurrent STOWs acknowledged (%d)" % (total, len(acked)))
    check(queries[0] > 0, "QIDO ran during the STOWs")
    st, body = request(port, "GET", web + "/instances?limit=5000", headers={"Accept": "application/dicom+json"})
    listed = [r["00080018"]["Value"][0] for r in json.loads(body)] if st == 200 else []
    check(len(listed) == total and set(listed) == set(acked), "every acknowledged instance listed once (%d)" % len(listed))
    st, body = request(port, "GET", base + "/d/dicomStores/s:getDICOMStoreMetrics")
    m = json.loads(body) if st == 200 else {}
    check(m.get("instanceCount") == str(total) and m.get("studyCount") == str(STUDIES),
          "metrics: %s instances, %s studies" % (m.get("instanceCount"), m.get("studyCount")))

    # One request, 40 parts: committed in rounds of 32, answered in the parts' order.
    ns = list(range(1000, 1038))
    parts = [instance(n) for n in ns]
    parts.insert(5, b"not DICOM at all")
    parts.insert(36, parts[0])
    bnd = "dvperf0123"
    body = b"".join(b"--" + bnd.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n" for p in parts)
    body += b"--" + bnd.encode() + b"--\r\n"
    st, resp = request(port, "POST", web + "/studies", body,
                       {"Content-Type": 'multipart/related; type="application/dicom"; boundary=' + bnd})
    r = json.loads(resp) if resp else {}
    refd = [x["00081155"]["Value"][0] for x in r.get("00081199", {}).get("Value", [])]
    failed = [x["00081197"]["Value"][0] for x in r.get("00081198", {}).get("Value", [])]
    check(st == 202 and refd == [ROOT + "3.%d" % n for n in ns] and sorted(failed) == [0x0111, 0xC000],
          "40-part STOW: %s, %d referenced in order, failures %s" % (st, len(refd), failed))
    st, body = request(port, "GET", web + "/instances?limit=5000", headers={"Accept": "application/dicom+json"})
    listed = set(x["00080018"]["Value"][0] for x in json.loads(body)) if st == 200 else set()
    check(set(refd) <= listed and len(listed) == total + len(ns), "40-part STOW: every stored part listed")


def load_client(port, tmp):
    """The bench's C load client against this server: its counts agree with what the server holds."""
    exe = os.path.join(os.environ.get("DV_BUILD_DIR", ""), "dv_load_client")
    if not os.access(exe, os.X_OK):
        check(False, "load client: %s is built" % exe)
        return
    base = "/v1beta1/projects/p/locations/l/datasets"
    for sid in ("lc", "lf"):
        check(request(port, "POST", base + "/d/dicomStores?dicomStoreId=" + sid, b"{}")[0] == 200, "store " + sid)
    url = "http://127.0.0.1:%d%s/d/dicomStores/lc/dicomWeb" % (port, base)

    def run_client(*args):
        r = subprocess.run([exe, args[0], url] + list(args[1:]), capture_output=True, text=True, timeout=60)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return {"rc": r.returncode, "stderr": r.stderr[-300:]}

    j = run_client("fill", "--count", "60", "--clients", "4", "--batch", "7")
    check(j.get("ok") == 60 and j.get("failed") == 0 and j.get("lost") == 0 and j.get("requests") == 9,
          "load client fill: 60 ok in 9 requests (%s)" % j)
    st, body = request(port, "GET", url.split(str(port), 1)[1] + "/studies", headers={"Accept": "application/dicom+json"})
    studies = json.loads(body) if st == 200 else []
    counts = sorted(x["00201208"]["Value"][0] for x in studies)
    check(counts == [20, 20, 20], "load client fill: 3 studies of 20 instances (%s)" % counts)
    st, body = request(port, "GET", url.split(str(port), 1)[1] + "/studies?PatientName=NAME%5E000000%2A")
    names = [x["00100010"]["Value"][0]["Alphabetic"] for x in json.loads(body)] if st == 200 else []
    check(sorted(names) == ["NAME^0000000%d" % p for p in range(3)],
          "load client fill: the PatientName wildcard NAME^000000* finds the 3 patients (%s)" % names)
    j = run_client("qido", "--indexed", "60", "--first", "60", "--clients", "1", "--load-clients", "1",
                   "--batch", "5", "--seconds", "0.5")
    check(j.get("failed") == 0 and j.get("queries", 0) > 0 and j.get("p50_ms") is not None
          and j.get("stow_under_load", {}).get("failed") == 0 and j["stow_under_load"]["ok"] > 0,
          "load client qido: queries and STOWs under load, none failed (%s)" % j)
    folder = os.path.join(tmp, "files")
    os.mkdir(folder)
    for n in range(5):
        with open(os.path.join(folder, "f%d.dcm" % n), "wb") as f:
            f.write(instance(5000 + n))
    url = url.replace("/lc/", "/lf/")
    j = run_client("stow-files", folder, "--clients", "2", "--batch", "2")
    check(j.get("ok") == 5 and j.get("failed") == 0 and j.get("requests") == 3 and j.get("bytes") ==
          sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)),
          "load client stow-files: 5 files in 3 requests (%s)" % j)
    st, body = request(port, "GET", base + "/d/dicomStores/lf:getDICOMStoreMetrics")
    check(st == 200 and json.loads(body).get("instanceCount") == "5", "load client stow-files: 5 stored")


def cli_reference(tmp):
    """bench/server_load.sh's CLI reference: disk-to-disk = the run plus the sync of its outputs."""
    src, w = os.path.join(tmp, "ref-src"), os.path.join(tmp, "ref-w")
    os.makedirs(src)
    os.makedirs(w)
    for n in range(4):
        with open(os.path.join(src, "f%d.dcm" % n), "wb") as f:
            f.write(instance(1000 + n))
    with open(os.path.join(w, "key"), "wb") as f:
        f.write(os.urandom(32))
    os.chmod(os.path.join(w, "key"), 0o600)
    with open(os.path.join(w, "config.json"), "w") as f:
        f.write("{}")
    lib = os.path.join(ts.SRC_DIR, "bench", "lib_server.sh")
    script = ('set -euo pipefail; W="$1"; BIN="$2"; . "$3"; dv_cli_run "$4" 4; dv_cli_run "$4" 4 --fsync; '
              'dv_median 3 1 2; dv_median 4 1 3 2; test ! -e "$W/cli-out"')
    r = subprocess.run(["bash", "-c", script, "ref", w, ts.BIN, lib, src], capture_output=True, text=True,
                       timeout=120)
    lines = r.stdout.split("\n")
    try:
        runs = [[float(x) for x in lines[i].split()] for i in (0, 1)]
    except (ValueError, IndexError):
        runs = []
    check(r.returncode == 0 and len(runs) == 2 and all(len(t) == 3 and 0 < t[0] <= t[1] and t[2] >= 0 for t in runs),
          "disk-to-disk: the CLI reference times exit <= on disk, output removed (%r %r)" % (r.stdout, r.stderr[-300:]))
    check(lines[2:4] == ["2", "3"], "disk-to-disk: dv_median of 3 and of 4 numbers (%r)" % lines[2:4])
    with open(lib) as f:
        check(re.search(r'deidentify .*\n.*"\$W/cli-out".*\n\s*t1=.*\n\s*sync -f "\$W/cli-out"\n\s*t2=', f.read())
              is not None, "disk-to-disk: dv_cli_run times the sync -f of the output right after the CLI")
    with open(os.path.join(ts.SRC_DIR, "bench", "server_load.sh")) as f:
        bench = f.read()
    # STOW's verdict: the median of per-round ratios, each STOW to the disk-to-disk runs adjacent to it
    # (dv_stow_rounds, checked on a fixture by test_bench_scripts.sh); the operation's: the disk-to-disk median.
    check('CLI_RATE=$(rate "$(dv_median "${CLI_DISK_S[@]}")")' in bench
          and 'V_STOW=$(verdict "$STOW_RATIO_MED >= 80")' in bench
          and 'ROUND_OUT=$(dv_stow_rounds "${REF_RATES[*]}" "${STOW_RATES[*]}")' in bench
          and 'V_OP=$(verdict "$OP_RATE >= 0.9 * $CLI_RATE")' in bench,
          "disk-to-disk: server_load.sh's STOW verdict uses the per-round ratios, the operation's the median")


def early_writeback(tmp):
    """Each stored instance's file has its writeback started as soon as it is parsed (dvh_store_prepare:
    sync_file_range(SYNC_FILE_RANGE_WRITE), docs/decisions.md "STOW starts each file's writeback at once"): the
    server under strace, one STOW of 5 instances and one of 1, then 6 such calls (strace is a make deps
    package; ptrace as root works on this kind of machine)."""
    data, trace = os.path.join(tmp, "wb-data"), os.path.join(tmp, "wb.trace")
    srv = ts.Server(data, wrapper=("strace", "-f", "-qq", "-e", "trace=sync_file_range", "-o", trace), wait_s=30)
    try:
        base = "/v1beta1/projects/p/locations/l/datasets"
        check(request(srv.port, "POST", base + "?datasetId=w", b"{}")[0] == 200, "writeback: dataset created")
        st, _ = request(srv.port, "POST", base + "/w/dicomStores?dicomStoreId=s", b"{}")
        check(st == 200, "writeback: store created")
        web = base + "/w/dicomStores/s/dicomWeb/studies"
        files = []
        for n in range(6):
            f = os.path.join(tmp, "wb%d.dcm" % n)
            with open(f, "wb") as out:
                out.write(instance(1000 + n))
            files.append(f)
        body, ctype = ts.multipart_related(files[:5])
        st5, _ = request(srv.port, "POST", web, body, {"Content-Type": ctype})
        with open(files[5], "rb") as f:
            st1, _ = request(srv.port, "POST", web, f.read(), {"Content-Type": "application/dicom"})
        check(st5 == 200 and st1 == 200, "writeback: 6 instances stored (%s, %s)" % (st5, st1))
    finally:
        srv.stop()
    with open(trace) as f:
        calls = [l for l in f if "sync_file_range(" in l and "SYNC_FILE_RANGE_WRITE" in l and "= 0" in l]
    check(len(calls) == 6, "writeback: one sync_file_range(SYNC_FILE_RANGE_WRITE) per stored instance (%d)" % len(calls))


if __name__ == "__main__":
    sys.exit(main())

