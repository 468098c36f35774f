#!/usr/bin/env python3
"""Two `dicomveil serve` processes sharing one PostgreSQL index (issue 7 item 3; docs/server.md "PostgreSQL").

The test starts its own PostgreSQL (tests/support/pg_cluster.sh: initdb into a temporary directory, a unix
socket there, as the 'postgres' user when run as root) and stops it at the end, also on failure. Missing
PostgreSQL binaries fail the test: it never skips. Then two servers run with `--index postgresql://...` and
one shared `--data` directory (the instance files must be shared: the index names them, it does not hold
them):

* resources made through A are seen by B (datasets.list, dicomStores.get);
* STOW through A, QIDO through B (matching, counts), WADO through B byte-identical, metrics through B;
* the same instance STOWed through A and B at the same moment: one is stored (200), the other is the
  duplicate failure (409, FailureReason 0x0111), repeated for several instances; one file per instance;
* a dicomStores:deidentify operation started through A, polled through B to done, its output QIDOed
  through B; the operations are listed by both;
* the index really is PostgreSQL: DATA holds no index.sqlite, and psql sees the rows;
* a file with an instance name and no row (what a kill between name and row leaves) is swept at the next start.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_server as ts  # noqa: E402  (its Server, curl and multipart helpers; its checks are not run)
from test_server import check, curl, multipart_related, split_multipart, header  # noqa: E402

SRC_DIR = os.environ["DV_SOURCE_DIR"]
PG_CLUSTER = os.path.join(SRC_DIR, "tests", "support", "pg_cluster.sh")


def pg_state(path):
    out = {}
    for line in open(path):
        k, _, v = line.rstrip("\n").partition("=")
        out[k] = v.replace("\\", "")  # printf %q escapes
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="dv-server-pg-")
    state = os.path.join(tmp, "pg.env")
    servers = []
    try:
        r = subprocess.run(["/bin/bash", PG_CLUSTER, "start", state], capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            print("test_server_postgresql: could not start PostgreSQL:\n" + r.stdout + r.stderr, file=sys.stderr)
            return 1
        run(tmp, pg_state(state), servers)
    finally:
        for s in servers:
            s.stop()
        subprocess.run(["/bin/bash", PG_CLUSTER, "stop", state], timeout=120)
        subprocess.run(["rm", "-rf", tmp])
    if ts.fails:
        print(f"test_server_postgresql: {len(ts.fails)} check(s) failed", file=sys.stderr)
        return 1
    print("test_server_postgresql: all checks passed")
    return 0


def run(tmp, pg, servers):
    url = pg["URL"]
    data = os.path.join(tmp, "data")
    allow = os.path.join(tmp, "allowed")
    os.makedirs(allow)
    a = ts.Server(data, "--index", url, "--allow-root", allow)
    servers.append(a)
    b = ts.Server(data, "--index", url, "--allow-root", allow)
    servers.append(b)
    base_a = f"http://127.0.0.1:{a.port}/v1beta1/projects/p/locations/l"
    base_b = f"http://127.0.0.1:{b.port}/v1beta1/projects/p/locations/l"

    # ---- resources: made through A, seen through B ----
    st, _, _ = curl("-X", "POST", base_a + "/datasets?datasetId=ds", "-d", "{}")
    check(st == 200, f"datasets.create through A ({st})")
    st, _, body = curl(base_b + "/datasets")
    check(st == 200 and [d["name"] for d in json.loads(body)["datasets"]] == ["projects/p/locations/l/datasets/ds"],
          f"datasets.list through B sees A's dataset ({st} {body[:200]})")
    st, _, _ = curl("-X", "POST", base_b + "/datasets?datasetId=ds", "-d", "{}")
    check(st == 409, f"datasets.create of the same id through B: 409 ({st})")
    for s in ("src", "dst"):
        st, _, _ = curl("-X", "POST", base_a + "/datasets/ds/dicomStores?dicomStoreId=" + s, "-d", "{}")
        check(st == 200, f"dicomStores.create {s} through A ({st})")
    st, _, _ = curl(base_b + "/datasets/ds/dicomStores/src")
    check(st == 200, f"dicomStores.get through B ({st})")

    # ---- STOW through A, QIDO / WADO / metrics through B ----
    files = ts.CORPUS[:6]
    meta = {f: ts.pydicom.dcmread(f, stop_before_pixels=True) for f in ts.CORPUS}
    body, ctype = multipart_related(files)
    bf = os.path.join(tmp, "stow.bin")
    open(bf, "wb").write(body)
    web_a = base_a + "/datasets/ds/dicomStores/src/dicomWeb"
    web_b = base_b + "/datasets/ds/dicomStores/src/dicomWeb"
    st, _, out = curl("-X", "POST", web_a + "/studies", "-H", "Content-Type: " + ctype, data_file=bf)
    check(st == 200, f"STOW of {len(files)} instances through A ({st} {out[:200]})")
    st, _, out = curl(web_b + "/instances?limit=100")
    got = sorted(x["00080018"]["Value"][0] for x in json.loads(out)) if st == 200 else []
    check(got == sorted(meta[f].SOPInstanceUID for f in files), f"QIDO instances through B: {len(got)}")
    study = meta[files[0]].StudyInstanceUID
    st, _, out = curl(web_b + "/studies?StudyInstanceUID=" + study)
    r = json.loads(out) if st == 200 else []
    check(len(r) == 1 and r[0]["00201208"]["Value"] == [len(files)] and r[0]["00080061"]["Value"] == ["MR"],
          f"QIDO study through B with counts and ModalitiesInStudy ({r and r[0].get('00201208')})")
    st, _, out = curl(web_b + "/studies?PatientID=cr*")
    check(st == 200 and len(json.loads(out)) == 1, "QIDO wildcard through B")
    st, h, out = curl(web_b + "/studies/" + study)
    parts = split_multipart(out, header(h, "Content-Type") or "") if st == 200 else []
    originals = {open(f, "rb").read() for f in files}
    check(len(parts) == len(files) and all(p[1] in originals for p in parts),
          f"WADO study through B: {len(parts)} parts byte-identical to the files STOWed through A")
    st, _, out = curl(base_b + "/datasets/ds/dicomStores/src:getDICOMStoreMetrics")
    check(st == 200 and json.loads(out).get("instanceCount") == str(len(files)), f"metrics through B ({out[:200]})")

    # ---- the same instance through A and B at once: one stored, one duplicate ----
    racers = ts.CORPUS[6:10]
    results = []
    for f in racers:
        go = threading.Barrier(2)
        res = [None, None]

        def send(i, web):
            go.wait()
            st, _, out = curl("-X", "POST", web + "/studies", "-H", "Content-Type: application/dicom", data_file=f)
            res[i] = (st, out)

        th = [threading.Thread(target=send, args=(0, web_a)), threading.Thread(target=send, args=(1, web_b))]
        for t in th:
            t.start()
        for t in th:
            t.join()
        results.append(res)
    for f, res in zip(racers, results):
        codes = sorted(st for st, _ in res)
        dup = [json.loads(out) for st, out in res if st == 409]
        reason = dup[0].get("00081198", {}).get("Value", [{}])[0].get("00081197", {}).get("Value") if dup else None
        check(codes == [200, 409] and reason == [0x0111],
              f"simultaneous STOW of one instance through A and B: one 200, one 409 0x0111 ({codes} {reason})")
    st, _, out = curl(web_a + "/instances?limit=100")
    check(st == 200 and len(json.loads(out)) == len(files) + len(racers), "each raced instance indexed once")
    names = []
    for _, _, fs in os.walk(os.path.join(data, "stores")):
        names += fs
    check(len(names) == len(files) + len(racers), f"one file per instance in the shared data directory ({len(names)})")

    # ---- a de-identify operation: started through A, followed through B ----
    cfg = {"dicomTagConfig": {"profileType": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}
    st, _, out = curl("-X", "POST", base_a + "/datasets/ds/dicomStores/src:deidentify", "-H",
                      "Content-Type: application/json", "-d",
                      json.dumps({"destinationStore": "projects/p/locations/l/datasets/ds/dicomStores/dst",
                                  "config": cfg}))
    op = json.loads(out) if st == 200 else {}
    check(st == 200 and "/operations/" in op.get("name", ""), f"dicomStores.deidentify through A ({st} {out[:300]})")
    done = {}
    deadline = time.time() + 120
    while op.get("name") and time.time() < deadline:
        st, _, out = curl(f"http://127.0.0.1:{b.port}/v1beta1/" + op["name"])
        done = json.loads(out) if st == 200 else {}
        if done.get("done"):
            break
        time.sleep(0.3)
    n = len(files) + len(racers)
    counter = done.get("metadata", {}).get("counter", {})
    check(done.get("done") is True and "response" in done and counter.get("success") == str(n),
          f"the operation polled through B is done with {n} successes ({done})")
    st, _, out = curl(base_b + "/datasets/ds/dicomStores/dst/dicomWeb/instances?limit=100")
    check(st == 200 and len(json.loads(out)) == n, f"QIDO of the destination through B: {n} instances")
    for base in (base_a, base_b):
        st, _, out = curl(base + "/datasets/ds/operations")
        ops = json.loads(out).get("operations", []) if st == 200 else []
        # (datasets.create's operation, done at once, and the de-identification)
        check(len(ops) == 2 and op.get("name") in [o["name"] for o in ops] and all(o.get("done") for o in ops),
              f"operations.list through both servers: the same two done operations ({st} {len(ops)})")

    # ---- the index is PostgreSQL's ----
    check(not os.path.exists(os.path.join(data, "index.sqlite")), "no index.sqlite in DATA with --index")
    r = subprocess.run([pg["PGBIN"] + "/psql", "-At", url, "-c",
                        "SELECT count(*) FROM instances; SELECT count(*) FROM operations WHERE done=1"],
                       capture_output=True, text=True)
    check(r.returncode == 0 and r.stdout.split() == [str(2 * n), "2"], f"psql sees the rows: {r.stdout.split()}")
    # ---- DELETE through one server while the other STOWs the same bytes (src/http/blob_lock.c) ----
    # The two servers order "name the file, index the row" against "remove the rows, unlink unreferenced files"
    # with an flock on DATA/blob.lock: whatever the interleaving, an indexed instance has its file and a
    # file left behind belongs to an indexed instance.
    st, _, _ = curl("-X", "POST", base_a + "/datasets/ds/dicomStores?dicomStoreId=dr", "-d", "{}")
    check(st == 200, f"dicomStores.create dr through A ({st})")
    f = ts.CORPUS[0]
    m = meta[f]
    inst = f"/studies/{m.StudyInstanceUID}/series/{m.SeriesInstanceUID}/instances/{m.SOPInstanceUID}"
    web_dr_a = base_a + "/datasets/ds/dicomStores/dr/dicomWeb"
    web_dr_b = base_b + "/datasets/ds/dicomStores/dr/dicomWeb"
    original = open(f, "rb").read()
    for _ in range(12):
        go = threading.Barrier(2)
        codes = [None, None]

        def stow_b():
            go.wait()
            codes[0] = curl("-X", "POST", web_dr_b + "/studies", "-H", "Content-Type: application/dicom",
                            data_file=f)[0]

        def delete_a():
            go.wait()
            codes[1] = curl("-X", "DELETE", web_dr_a + inst)[0]

        th = [threading.Thread(target=stow_b), threading.Thread(target=delete_a)]
        for t in th:
            t.start()
        for t in th:
            t.join()
        check(codes[0] in (200, 409) and codes[1] in (200, 404), f"STOW / DELETE race answers {codes}")
        st, _, out = curl(web_dr_a + "/instances?limit=10")
        indexed = st == 200 and len(json.loads(out or b"[]")) == 1
        st, _, got = curl(web_dr_b + inst, "-H", "Accept: application/dicom")
        if indexed:
            check(st == 200 and got == original, f"an indexed instance has its file after the race ({st})")
        else:
            check(st == 404, f"no instance indexed: WADO 404 ({st})")

    # ---- a store deleted through B is gone for A; its operations' items forget its UIDs in the same statement
    # (DVS_SQL_STORE_DELETE_FORGETTING; test_side_channels.py checks the error log with SQLite) ----
    st, _, _ = curl("-X", "POST", base_a + "/datasets/ds/dicomStores?dicomStoreId=gone", "-d", "{}")
    check(st == 200, f"dicomStores.create gone through A ({st})")
    st, _, out = curl("-X", "DELETE", base_b + "/datasets/ds/dicomStores/gone")
    check(st == 200, f"dicomStores.delete through B ({st} {out[:200]})")
    st, _, _ = curl(base_a + "/datasets/ds/dicomStores/gone")
    check(st == 404, f"the deleted store is gone through A ({st})")
    st, _, _ = curl("-X", "DELETE", base_a + "/datasets/ds/dicomStores/gone")
    check(st == 404, f"deleting it again: 404 ({st})")

    # ---- the logs hold no URL (it may carry a password) and no UID ----
    logs = "".join(a.lines + b.lines)
    check(pg["PGDIR"] not in logs and study not in logs, "the access logs name neither the index URL nor a UID")
    for s in (a, b):
        check(s.stop() == 0 and '"event":"stopped"' in "".join(s.lines), "SIGTERM: graceful stop with a PostgreSQL index")

    # ---- a file a kill left under an instance name with no row is swept at the next start, the indexed ones
    # stay (src/http/blob_sweep.c; test_server_names.py tests the lock guard) ----
    sdirs = [os.path.join(data, "stores", d) for d in os.listdir(os.path.join(data, "stores"))]
    before = {d: sorted(os.listdir(d)) for d in sdirs}
    some = next(d for d in sdirs if before[d])
    orphan = os.path.join(some, "%064x.dcm" % 0x5eed)
    with open(os.path.join(some, before[some][0]), "rb") as f, open(orphan, "wb") as g:
        g.write(f.read())
    c = ts.Server(data, "--index", url, "--allow-root", allow)
    servers.append(c)
    check(not os.path.exists(orphan) and {d: sorted(os.listdir(d)) for d in sdirs} == before,
          "PostgreSQL: an unindexed file is swept at start, the indexed ones stay")
    check(any('"unindexed files removed","files":1,' in line for line in c.lines), "PostgreSQL: the sweep is logged")


if __name__ == "__main__":
    sys.exit(main())
