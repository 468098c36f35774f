#!/usr/bin/env python3
"""The web console's side channels carry no PHI (the console's canary test; test_side_channels.py does the CLI
and the server, not the console).

The console SHOWS PHI to its signed-in user (study lists, metadata, the review's diff): that is its job. What
must not happen is PHI reaching places that outlive the page or reach other parties: the URL (address bar,
history entries, hash: bookmarks, session restore), history.state (written to the profile for session
restore), the Referer, localStorage / sessionStorage / IndexedDB / cookies / Cache Storage, document.title
(history, tab titles), the browser's console log, the server's access / event log, and every file of the
browser's profile once the browser has quit (its History, session-restore files, HTTP cache, autofill, storage
databases: whatever the page wrote that outlives it, found by its bytes whatever API wrote it).

Instances with distinct canaries (PatientName, PatientID, OtherPatientNames, a private element,
StudyDescription, AccessionNumber), every UID under a canary root, in a folder whose name is a canary, are
uploaded with the console's file picker (and a non-DICOM file it refuses); the console is then driven through
its flows: sign-in, datasets -> stores -> studies (search by patient name and by patient ID, a search with a
reversed date range) -> series -> instance (metadata, rendered frame), Back / Forward, an error path (an
instance deleted under the page: 404), the de-identify wizard (filter tree, a ticked study), operations (error
log), the review (a study picked, pairs, diff, frames, the boxes' record, a mark), a reload and the sign-out.
After each step the page's channels are read;
the network (every request's URL and headers, from Chromium's performance log) and the server log at the end,
the profile after quitting.

Every captured string is searched for every canary (case-insensitively, as UTF-8 and UTF-16LE, hex, after undoing
JSON \\u / \\x escapes and percent-encoding) and for the canary UID root. ALLOWED is the whole allow-list, one
channel and one kind of value per entry, each with its reason. The search is tested first (self_test), and
controls show it finding a canary planted in sessionStorage, in the URL's hash and (through the profile) in
localStorage and History, and the allow-list's entries being used: a scanner that cannot find is no test.
It found (and fails on the code before the fix): the review's study picker's option values (source study UIDs)
and the file picker's paths (the canary folder) in the profile's session-restore file (Sessions/Session_*).

Chromium missing is a FAILURE, never a skip (`make deps`). Env (ctest): DV_BIN, DV_SOURCE_DIR, DV_BUILD_DIR;
DV_KEEP_TMP=1 keeps the profile and the server data (their folder is printed) to look at a hit.
"""
import io
import json
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, "/usr/lib/python3/dist-packages")  # Debian's selenium and pydicom
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_console as tc  # noqa: E402  (browser(), Page, Server, http, need_browser: one home)

from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian  # noqa: E402

TOKEN = tc.TOKEN
ROOT = "1.2.826.0.1.3680043.9.7778."  # every source UID is under it
ROOT_MARK = "3680043.9.7778"  # what is searched
# Distinct canaries, one per attribute: a hit names the attribute that leaked. Names carry no digit (the
# console's search box takes a text with a digit for a PatientID).
CANARIES = {
    "PatientName": ["QZXPHINAMEALPHA^ZED", "QZXPHINAMEBRAVO^YAN"],
    "PatientID": ["QZXPHI470011", "QZXPHI470022"],
    "OtherPatientNames": ["QZXPHIOTHERALPHA^X", "QZXPHIOTHERBRAVO^Y"],
    "Private": ["QZXPHIPRIVALPHA", "QZXPHIPRIVBRAVO"],
    "StudyDescription": ["QZXPHISTUDYALPHA", "QZXPHISTUDYBRAVO"],
    "AccessionNumber": ["QZXPHIACCA1", "QZXPHIACCB2"],
    "Path": ["QZXPHIFOLDER_Alpha_Zed"],  # the uploaded files' folder (no tag holds it)
}
CONTROL = "QZXCTRLCANARY"  # the controls' planted value: its own token, so a control never fails a real scan

fails = []
looked = {}  # channel -> how many strings / bytes it searched (a check that looked at nothing fails)


def check(cond, msg):
    if not cond:
        fails.append(msg)
        print("FAIL:", msg, file=sys.stderr)
    else:
        print("ok:", msg)
    return cond


# ---------------------------------------------------------------- the corpus

def instance(patient, study, series, number):
    """Secondary Capture, 64x32 8-bit MONOCHROME2 (renderable), canaries of patient (0 or 1) everywhere."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    sop = "%s%d.%d.%d.%d" % (ROOT, patient + 1, study, series, number)
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = "%s%d.%d" % (ROOT, patient + 1, study)
    ds.SeriesInstanceUID = "%s%d.%d.%d" % (ROOT, patient + 1, study, series)
    ds.FrameOfReferenceUID = "%s%d.%d.99" % (ROOT, patient + 1, study)
    ds.PatientName = CANARIES["PatientName"][patient]
    ds.PatientID = CANARIES["PatientID"][patient]
    ds.OtherPatientNames = CANARIES["OtherPatientNames"][patient]
    ds.StudyDescription = CANARIES["StudyDescription"][patient]
    ds.AccessionNumber = CANARIES["AccessionNumber"][patient]
    ds.add_new(0x00090010, "LO", "DVTEST")  # a private creator and its element
    ds.add_new(0x00091001, "LO", CANARIES["Private"][patient])
    ds.StudyDate = "2019010%d" % (patient + 1)
    ds.Modality = "OT"
    ds.SeriesNumber = str(series)
    ds.InstanceNumber = str(number)
    ds.Rows, ds.Columns = 32, 64
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes((x * 4 + y) & 0xFF for y in range(32) for x in range(64))
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.preamble = b"\0" * 128
    buf = io.BytesIO()
    ds.save_as(buf, write_like_original=False)
    return buf.getvalue()


def make_corpus(d):
    os.makedirs(d)
    files = []
    for patient, study, series, number in ((0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 1), (1, 2, 1, 1), (1, 2, 1, 2)):
        path = os.path.join(d, "i%d%d%d%d.dcm" % (patient, study, series, number))
        with open(path, "wb") as f:
            f.write(instance(patient, study, series, number))
        files.append(path)
    return files


# ---------------------------------------------------------------- the search

def _unescape(text):
    """JSON \\uXXXX, C \\xHH and percent escapes undone ('+' too: a query string's space)."""
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    text = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text)
    return urllib.parse.unquote_plus(text)


def hits_in_text(text, token="QZXPHI", root=ROOT_MARK):
    """[(form, hit)]: the canary token (with what follows it) and the UID root in one text, as it is and unescaped;
    the token's hex (either case) too."""
    out = []
    hx = token.encode().hex()
    for form, t in (("text", text), ("unescaped", _unescape(text))):
        out += [(form, m.group(0)) for m in re.finditer(r"(?i)%s[A-Z0-9^]*" % token, t)]
        if root:
            out += [(form, "UID root") for _ in re.finditer(re.escape(root), t)]
        out += [(form + "/hex", m.group(0)) for m in re.finditer(r"(?i)(?:%s|%s)" % (hx, token.lower().encode().hex()), t)]
    return out


def hits_in_bytes(data, token="QZXPHI", root=ROOT_MARK):
    out = hits_in_text(data.decode("utf-8", "replace"), token, root)
    low = data.lower()
    for a in (0, 1):  # UTF-16LE at either alignment (Chromium's storage databases keep strings so)
        u16 = data[a:]
        u16 = u16[: len(u16) // 2 * 2].decode("utf-16-le", "replace")
        out += [("utf-16le", m.group(0)) for m in re.finditer(r"(?i)%s[A-Z0-9^]*" % token, u16)]
        if root:
            out += [("utf-16le", "UID root") for _ in re.finditer(re.escape(root), u16)]
    if token.lower().encode() in low and not out:  # belt and braces: a raw byte match the forms above missed
        out.append(("bytes", token))
    return out


def self_test():
    """The search finds each form of a planted canary (a search that cannot find is no test)."""
    c = "QZXPHINAMEALPHA"
    forms = [c.encode(), c.lower().encode(), c.encode("utf-16-le"), b"x" + c.encode("utf-16-le"),
             json.dumps(c).encode().replace(b"Q", b"\\u0051"), c.encode().hex().encode(), c.encode().hex().upper().encode(),
             urllib.parse.quote(c + "^ZED").encode().replace(b"Q", b"%51"), (ROOT + "1.2").encode(),
             (ROOT + "1").encode("utf-16-le"), urllib.parse.quote(ROOT + "1", safe="").encode(), b"\\x51ZXPHI1"]
    found = sum(1 for f in forms if hits_in_bytes(f))
    check(found == len(forms), "self-test: the search finds each planted form (%d of %d)" % (found, len(forms)))
    clean = [b"dicomveil console", b"1.2.826.0.1.3680043.9.7433.1", b"QZXCTRLCANARY"]
    check(not any(hits_in_bytes(f) for f in clean), "self-test: no false hit on clean text (another root, the control)")


# ---------------------------------------------------------------- the allow-list

def typed_search(hit, url):
    """A QIDO search URL's PatientName / PatientID value that the user typed into the search box (this test
    types the patient's name and ID: the hit is that canary)."""
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    vals = [v for k in ("PatientName", "PatientID") for v in q.get(k, [])]
    return any(hit.upper().rstrip("^*") in v.upper() for v in vals)


def uid_in_path(hit, url):
    """The UID root in the path of a DICOMweb resource (PS3.18: /studies/{uid}/series/{uid}/instances/{uid})."""
    return hit == "UID root" and ROOT_MARK in urllib.parse.urlsplit(url).path and \
        ROOT_MARK not in urllib.parse.unquote(urllib.parse.urlsplit(url).query)


# (channel, predicate(hit, the string it was found in), reason). Nothing else anywhere: a hit of another kind, or
# in another channel, fails.
ALLOWED = [
    # The requests the page makes go to its own server only (no third party: the CSP's connect-src 'self'). A
    # DICOMweb resource's UIDs are its address (PS3.18); the server never logs a path (its log is scanned).
    ("request-url", uid_in_path, "a DICOMweb resource path names its UIDs (PS3.18); the server logs no path"),
    # A search by patient is a QIDO query with the value the user typed (PS3.18 10.6); it goes to the server only,
    # which logs the route's name and never the query (the server log is scanned below).
    ("request-url", typed_search, "the user's own QIDO search value, to the server only; never logged there"),
    # Chromium itself writes "<url> - Failed to load resource: the server responded with a status of 404" to the
    # tab's console for every failed request (source "network"): no page can suppress or reword it. It names the
    # request URL allowed above (a DICOMweb path's UIDs, a typed search) and nothing else; it lives in the
    # tab's memory (DevTools), not in the profile (scanned below). The page's own console output (source
    # "console-api", "javascript") has no entry: nothing of it may hold PHI.
    ("console-network", lambda hit, s: uid_in_path(hit, failed_url(s)),
     "Chromium's failed-request line names the request URL: a DICOMweb path's UIDs"),
    ("console-network", lambda hit, s: typed_search(hit, failed_url(s)),
     "Chromium's failed-request line names the request URL: the user's own search"),
]


def failed_url(entry):
    """The URL of Chromium's failed-request console line ("<url> - Failed to load resource: ..."), else ""."""
    try:
        e = json.loads(entry)
    except ValueError:
        return ""
    m = re.match(r"(\S+) - Failed to load resource: ", e.get("message", "")) if e.get("source") == "network" else None
    return m.group(1) if m else ""


def allowed(channel, hit, s):
    return any(ch == channel and pred(hit, s) for ch, pred, _ in ALLOWED)


def scan(channel, items, token="QZXPHI", root=ROOT_MARK, record=True):
    """items: strings or bytes of one channel. Returns the hits the allow-list does not allow."""
    bad = []
    for s in items:
        data = s if isinstance(s, bytes) else str(s).encode("utf-8", "surrogatepass")
        if record:
            looked[channel] = looked.get(channel, 0) + 1
        text = data.decode("utf-8", "replace")
        for form, hit in hits_in_bytes(data, token, root):
            if record and allowed(channel, hit, text):
                looked["allowed " + channel] = looked.get("allowed " + channel, 0) + 1
            else:
                bad.append("%s (%s) in %s" % (hit, form, text[:240].replace("\n", " ")))
    return bad


def check_scan(channel, items, what):
    bad = scan(channel, items)
    check(not bad, "%s: no PHI (%d searched)%s" % (what, len(items), "" if not bad else
                                                   ":\n  " + "\n  ".join(sorted(set(bad))[:12])))
    return bad


# ---------------------------------------------------------------- the page's channels

PAGE_STATE = """
const done = arguments[arguments.length - 1];
(async () => {
  const out = {url: location.href, title: document.title, referrer: document.referrer,
               historyState: JSON.stringify(history.state), historyLength: history.length,
               cookie: document.cookie, message: document.getElementById("message").textContent, session: {}, local: {}, idb: [], caches: []};
  for (let i = 0; i < sessionStorage.length; i++) { const k = sessionStorage.key(i); out.session[k] = sessionStorage.getItem(k); }
  for (let i = 0; i < localStorage.length; i++) { const k = localStorage.key(i); out.local[k] = localStorage.getItem(k); }
  try { out.idb = (await indexedDB.databases()).map((d) => d.name); } catch (e) { out.idb = ["error " + e]; }
  try {
    for (const n of await caches.keys()) {
      const c = await caches.open(n);
      out.caches.push(n, ...(await c.keys()).map((r) => r.url));
    }
  } catch (e) { out.caches.push("error " + e); }
  return out;
})().then(done, (e) => done({error: String(e)}));
"""


class Channels:
    """What the page holds after each step (read in the page), and the browser's console log (drained)."""

    def __init__(self, p):
        self.p = p
        self.snaps = []  # (step, state dict)
        self.console = []  # log entries
        self.base = None

    def read(self, step):
        st = self.p.d.execute_async_script(PAGE_STATE)
        self.snaps.append((step, st))
        self.console += self.p.d.get_log("browser")
        return st

    def check(self):
        n = len(self.snaps)
        check(n >= 10, "page channels read after %d steps" % n)
        urls = [st["url"] for _, st in self.snaps]
        check_scan("url", urls, "the URL after each step (address bar, hash, bookmarks)")
        check(all(u == self.base for u in urls), "the URL stays %s at every step: %r" % (self.base, sorted(set(urls))))
        check_scan("history", [st["historyState"] for _, st in self.snaps], "history.state after each step")
        check_scan("title", [st["title"] for _, st in self.snaps], "document.title after each step")
        check_scan("referrer", [st["referrer"] for _, st in self.snaps], "document.referrer")
        check_scan("storage", [json.dumps(st["session"]) for _, st in self.snaps], "sessionStorage after each step")
        check(all(set(st["session"]) <= {"dicomveil.token"} for _, st in self.snaps),
              "sessionStorage holds the token only: %r" % sorted({k for _, st in self.snaps for k in st["session"]}))
        check_scan("storage", [json.dumps(st["local"]) for _, st in self.snaps], "localStorage after each step")
        check(all(not st["local"] for _, st in self.snaps), "localStorage stays empty")
        check_scan("storage", [st["cookie"] for _, st in self.snaps], "document.cookie after each step")
        # The alert region shows the API's error messages (and the console's own): the server's error bodies name
        # no PHI (test_side_channels.py), nor may the console's wording add any.
        msgs = [st["message"] for _, st in self.snaps]
        check(any("404" in m for m in msgs), "error messages were shown: %r" % sorted(set(m for m in msgs if m))[:4])
        check_scan("error-message", msgs, "the error messages shown after each step")
        check_scan("storage", [json.dumps(st["idb"]) + json.dumps(st["caches"]) for _, st in self.snaps],
                   "IndexedDB databases and Cache Storage after each step")
        net = [json.dumps(e) for e in self.console if e.get("source") == "network"]
        own = [json.dumps(e) for e in self.console if e.get("source") != "network"]
        check_scan("console-network", net, "the browser console's failed-request lines (%d)" % len(net))
        check(any("Failed to load resource" in m and "404" in m and ROOT_MARK in m for m in net),
              "control: the deleted instance's 404 line was seen (the allow-list's entry is used)")
        check_scan("console", own, "the browser console log, the page's own entries (%d)" % len(own))


# ---------------------------------------------------------------- the browser

def browser(profile):
    """test_console's browser, with its profile in a folder of this test (scanned after quitting) and the
    performance log (every request's URL and headers)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800",
              "--disable-extensions", "--no-first-run", "--disable-background-networking", "--lang=en-US",
              "--user-data-dir=" + profile):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    opts.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True, "enablePage": False})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def network(drv, reqs):
    """Requests the page sent (Network.requestWillBeSent): [(url, headers)], appended to reqs."""
    for e in drv.get_log("performance"):
        try:
            m = json.loads(e["message"])["message"]
        except (ValueError, KeyError):
            continue
        if m.get("method") == "Network.requestWillBeSent":
            r = m["params"]["request"]
            reqs.append((r["url"], r.get("headers", {})))
        elif m.get("method") == "Network.requestWillBeSentExtraInfo":
            reqs.append(("", m["params"].get("headers", {})))


def profile_files(profile):
    """(relative path, bytes) of every file of the browser's profile (after the browser quit)."""
    out = []
    for dirpath, _, files in os.walk(profile):
        for f in files:
            path = os.path.join(dirpath, f)
            try:
                with open(path, "rb") as fh:
                    out.append((os.path.relpath(path, profile), fh.read()))
            except OSError:
                pass
    return out


# ---------------------------------------------------------------- the flows

def numbered(p, table, number):
    """The row of table whose first cell (Number) is number."""
    return p.wait(lambda: [r for r in tc.rows(p, table) if r.find_elements("css selector", "td")[0].text == number][0],
                  what="%s row %s" % (table, number))


def flows(p, srv, ch, files):
    from selenium.webdriver.support.ui import Select
    drv = p.d
    rows = tc.rows
    drv.get(srv.url + "/console/")
    ch.base = srv.url + "/console/"
    p.visible("#signin")
    p.css("#token-input").send_keys(TOKEN + "\n")
    p.view("datasets")
    ch.read("signed in")

    # Controls: a canary planted in sessionStorage, and in the URL's hash, is found by the same reading and the
    # same search (of the control's own token: what the control plants must not fail the real scans; the hash
    # also goes to the profile's History, which the profile's control below finds).
    p.js("sessionStorage.setItem('control', arguments[0])", CONTROL + "NAME^ZED")
    st = p.d.execute_async_script(PAGE_STATE)
    check(scan("storage", [json.dumps(st["session"])], token=CONTROL, record=False),
          "control: a canary planted in sessionStorage is found")
    p.js("sessionStorage.removeItem('control'); history.replaceState(history.state, '', '#' + encodeURIComponent(arguments[0]))",
         CONTROL + "ID^4711")
    st = p.d.execute_async_script(PAGE_STATE)
    check(scan("url", [st["url"]], token=CONTROL, record=False),
          "control: a canary planted in the URL's hash is found (%s)" % st["url"])
    p.js("history.replaceState(history.state, '', location.pathname)")
    p.css("#new-dataset").send_keys("research\n")
    p.wait(lambda: len(rows(p, "datasets")) == 1, what="dataset row")
    rows(p, "datasets")[0].click()
    p.view("stores")
    p.css("#new-store").send_keys("incoming\n")
    p.wait(lambda: len(rows(p, "stores")) == 1, what="store row")
    rows(p, "stores")[0].send_keys("\n")
    p.view("studies")
    p.css("#upload-input").send_keys("\n".join(files))
    p.wait(lambda: p.css("#upload-status").get_attribute("data-done") == "true", 60, "upload done")
    check(("%d stored, 0 failed" % len(files)) in p.css("#upload-status").text, "the canary instances uploaded: %r"
          % p.css("#upload-status").text)
    p.view("studies")
    p.wait(lambda: len(rows(p, "studies")) == 2, what="two studies")
    check(CANARIES["PatientName"][0] in p.css("#studies").text, "the study list shows the patient (the console's job)")
    ch.read("studies listed")
    # A refused upload (not DICOM): nothing stored, so the view is not drawn again and the file input keeps
    # its file until the next view (whose history entry Chromium saves with the form's state).
    junk = os.path.join(os.path.dirname(files[0]), "notes.txt")
    with open(junk, "w") as f:
        f.write("not DICOM\n")
    p.css("#upload-input").send_keys(junk)
    p.wait(lambda: p.css("#upload-status").get_attribute("data-done") == "true"
           and "0 stored, 1 failed" in p.css("#upload-status").text, 30, "refused upload")
    ch.read("a refused upload")

    def search(text):
        p.rerender(lambda: p.css("#search-clear").click(), "studies")
        p.css("#patient").send_keys(text)
        p.rerender(lambda: p.css("#search-go").click(), "studies")
        return len(rows(p, "studies"))
    n = search(CANARIES["PatientName"][0].split("^")[0].lower())
    check(n == 1, "search by patient name: %d row" % n)
    ch.read("search by name")
    n = search(CANARIES["PatientID"][1])
    check(n == 1, "search by patient ID: %d row" % n)
    ch.read("search by ID")
    # A search with a reversed date range: the server refuses it (400) and the page keeps the form with the
    # reason in place of the table; the page's channels are read either way.
    p.rerender(lambda: p.css("#search-clear").click(), "studies")
    p.css("#patient").send_keys(CANARIES["PatientName"][1].split("^")[0])
    p.js("arguments[0].value = '2020-01-01'; arguments[1].value = '2019-01-01'", p.css("#dateFrom"), p.css("#dateTo"))
    p.css("#search-go").click()
    p.wait(lambda: p.css("#main").get_attribute("aria-busy") is None and p.css("#main").get_attribute("data-view"),
           what="search answered")
    time.sleep(0.3)
    check("range ends before it starts" in p.css("#search-refused").text and p.all("#search-clear"),
          "a reversed date range: the server's reason beside the search form")
    ch.read("a search with a reversed date range")

    # Study -> series -> instance, the metadata and the rendered frame; Back and Forward.
    search(CANARIES["PatientName"][0].split("^")[0])
    rows(p, "studies")[0].send_keys("\n")
    p.view("series")
    ch.read("series")
    numbered(p, "series", "1").send_keys("\n")  # series 1: two instances
    p.view("instances")
    ch.read("instances")
    rows(p, "instances")[0].send_keys("\n")
    p.view("instance")
    p.wait(lambda: p.css('table.meta tr[data-tag="00091001"]'), what="the private element's row")
    p.wait(lambda: p.css("#frame").get_attribute("data-loaded") == "true", 30, "the rendered frame")
    check(CANARIES["OtherPatientNames"][0].split("^")[0] in p.css("table.meta").text, "metadata shows the patient's data")
    ch.read("instance metadata")
    drv.back()
    p.view("instances")
    drv.back()
    p.view("series")
    ch.read("back")
    drv.forward()
    p.view("instances")
    ch.read("forward")

    # An error path: an instance deleted under the page (its metadata 404s) is opened from the list.
    sop = "%s1.1.1.2" % ROOT
    st, _, _ = tc.http(srv.url + "/v1beta1/projects/local/locations/local/datasets/research/dicomStores/incoming/"
                       "dicomWeb/studies/%s1.1/series/%s1.1.1/instances/%s" % (ROOT, ROOT, sop), "DELETE",
                       headers={"Authorization": "Bearer " + TOKEN})
    check(st == 200, "an instance deleted behind the page's back (%s)" % st)
    numbered(p, "instances", "2").send_keys("\n")
    msg = p.wait(lambda: p.css("#message").text if p.css("#message").is_displayed() else None, what="error shown")
    check("404" in msg, "opening the deleted instance shows the API's error: %r" % msg)
    ch.read("error: a deleted instance")


    # The de-identify wizard: a store, a ticked study (a filter file of source UIDs), the default profile.
    p.css("#nav-deidentify").click()
    p.view("deidentify")
    Select(p.css("#src-dataset")).select_by_value("research")
    p.wait(lambda: p.css("#src-store"), what="store select")
    Select(p.css("#src-store")).select_by_value("incoming")
    p.wait(lambda: p.css("#dst-new-store") and len(p.all("#filter-tree > li")) == 2, what="filter tree")
    [l for l in p.all("#filter-tree > li > label") if CANARIES["PatientName"][0] in l.text][0].click()
    Select(p.css("#preset")).select_by_value("basic")
    p.wait(lambda: "accepts" in p.css("#config-status").text, what="preset valid")
    p.css("#dst-new-store").send_keys("deid")
    ch.read("wizard")
    p.css("#deid-start").click()
    p.view("operations")
    cells = tc.op_row_state(p, "done")
    check(cells[3] == "2" and cells[4] == "0", "the filtered de-identification: %r" % cells)
    p.all("#operations tbody tr")[0].find_element("css selector", "button[data-action=errors]").click()
    p.wait(lambda: "Error log" in p.css("#ops-detail").text, what="error log")
    ch.read("operations")

    # The review: pairs by study, the diff, both frames, the boxes' record (none: no cleanImage), a mark.
    p.all("#operations tbody tr")[0].find_element("css selector", "button[data-action=review]").click()
    p.view("review")
    p.wait(lambda: len(p.all("#review-study option")) == 2, what="review studies")
    opt = [o for o in p.all("#review-study option") if CANARIES["PatientName"][0] in o.text]
    Select(p.css("#review-study")).select_by_value(opt[0].get_attribute("value"))
    p.css("#review-by-study").click()
    p.wait(lambda: p.all("#review-pairs tbody tr"), what="review pairs")
    p.all("#review-pairs tbody tr")[0].send_keys("\n")
    row = p.wait(lambda: p.css('#diff tr[data-path="(0010,0010)"]'), what="diff PatientName")
    check(row.get_attribute("data-status") in ("emptied", "removed", "replaced"), "review: PatientName changed (%s)"
          % row.get_attribute("data-status"))
    p.wait(lambda: p.css("#review-boxes").get_attribute("data-recorded") == "false", what="no boxes record")
    p.wait(lambda: p.css("#frame-deid").get_attribute("data-loaded") == "true"
           and p.css("#frame-original").get_attribute("data-loaded") == "true", 30, "review frames")
    p.css("#mark-attention").click()
    p.wait(lambda: "Needs attention (1)" in p.css("#review-marks").text, what="mark listed")
    ch.read("review")
    # Leave the review by a new history entry: the review's entry stays in the tab's history, with the state
    # Chromium keeps of its form controls (written to the profile's session-restore file).
    p.css("#nav-operations").click()
    p.view("operations")
    ch.read("operations again")

    # A reload: the page starts again at the datasets, nothing of before kept.
    drv.refresh()
    p.view("datasets")
    ch.read("reload")
    p.css("#signout").click()
    p.visible("#signin")
    ch.read("signed out")
    # The profile's control (after the last reading): a value of its own token in localStorage, which the scan
    # of the profile must find once the browser has quit.
    p.js("localStorage.setItem('control', arguments[0])", CONTROL)


def main():
    tc.need_browser()
    t0 = time.time()
    self_test()
    tmp = tempfile.mkdtemp(prefix="dv-console-sc-")
    profile = os.path.join(tmp, "profile")
    # A PHI-bearing folder name (folders named after the patient are common): the file picker's paths must go
    # nowhere (Chromium keeps a file input's paths in the session-restore file unless told not to).
    files = make_corpus(os.path.join(tmp, CANARIES["Path"][0]))
    srv = tc.Server(os.path.join(tmp, "data"), "--token-file", tc.token_file(tmp))
    drv = browser(profile)
    drv.set_script_timeout(30)
    p = tc.Page(drv)
    ch = Channels(p)
    reqs = []
    try:
        try:
            flows(p, srv, ch, files)
        except Exception as e:  # a wait that timed out, an element missing: a failure (channels still checked)
            import traceback
            traceback.print_exc()
            check(False, "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
        network(drv, reqs)
        ch.check()
    finally:
        drv.quit()
        rc = srv.stop()
    try:
        # The network: every request's URL (QIDO searches, DICOMweb paths) and headers (no Referer naming a page
        # with PHI: the page's URL holds none, and fetch sends none).
        urls = [u for u, _ in reqs if u]
        check(len(urls) >= 30, "requests seen in the performance log: %d" % len(urls))
        check_scan("request-url", urls, "request URLs (only DICOMweb paths' UIDs and the typed search allowed)")
        check(any(allowed("request-url", "QZXPHINAMEALPHA", u) for u in urls)
              and any(allowed("request-url", "QZXPHI470022", u) for u in urls),
              "control: the typed searches were seen in request URLs (the allow-list's entries are used)")
        hdrs = [json.dumps(h) for _, h in reqs]
        check_scan("request-headers", hdrs, "request headers (Referer and all)")
        refs = {v for _, h in reqs for k, v in h.items() if k.lower() == "referer"}
        check(all(not r or urllib.parse.urlsplit(r).path in ("/console/", "/console/style.css", "/console/js/app.js")
                  or r.endswith(".js") for r in refs), "Referer headers name the console's files only: %r" % refs)
        # The server's log (access lines and events).
        log = "".join(srv.lines)
        check(log.count('"route"') >= 30, "server log lines: %d" % log.count('"route"'))
        check_scan("server-log", srv.lines, "the server's access and event log")
        check("Sanitizer" not in log and "runtime error" not in log and rc == 0,
              "the server stopped cleanly (exit %s, no sanitizer report)" % rc)
        # The profile once the browser quit: everything the page left behind, whatever API wrote it.
        pf = profile_files(profile)
        check(len(pf) > 20, "profile files: %d" % len(pf))
        bad = []
        for rel, data in pf:
            bad += ["%s: %s" % (rel, b) for b in scan("profile", [data])]
        check(not bad, "the browser profile after quitting: no PHI (%d files, %d bytes)%s"
              % (len(pf), sum(len(d) for _, d in pf), "" if not bad else ":\n  " + "\n  ".join(sorted(set(bad))[:12])))
        ctl = [rel for rel, data in pf if hits_in_bytes(data, CONTROL, None)]
        check(any("Local Storage" in c for c in ctl) and any(c.endswith("History") for c in ctl),
              "control: the values planted in localStorage and in the URL's hash are found in the profile (%s)" % ctl)
    finally:
        if not os.environ.get("DV_KEEP_TMP"):  # debugging: keep the profile and the server's data
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept: " + tmp)
    print("looked at: %s" % json.dumps(looked, sort_keys=True))
    print("console side channels: %.1f s" % (time.time() - t0))
    if fails:
        print("%d FAILED" % len(fails), file=sys.stderr)
        return 1
    print("console side channels: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
