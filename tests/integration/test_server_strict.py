#!/usr/bin/env python3
"""Red-team findings on `dicomveil serve`, each checked from a client (docs/server.md "Security model"):

* "duplicate Host": a request with two Host header lines, or two Origin lines, is 400 (RFC 9112 3.2; a lookup
  took the first, so the loopback and origin checks read one line while a proxy may have acted on the other),
  with a token or without; sent over a raw socket, since HTTP clients refuse to send two.
A few seconds; the servers started here are stopped here.
"""
import http.client
import json
import os
import shutil
import socket
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, "/usr/lib/python3/dist-packages")

import test_server as ts  # noqa: E402  (its Server helper and checks; its own checks are not run)
from test_server import api_error, check, fails  # noqa: E402

SRC_DIR = os.environ["DV_SOURCE_DIR"]
TOKEN = "strict-token-0123456789abcdef"
BASE = "/v1beta1/projects/p/locations/l"


def raw(port, head):
    """(status, body) of one request sent as the bytes given (head: request line and header lines, no blank
    line), read until the server closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(head.encode() + b"Connection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    top, _, body = data.partition(b"\r\n\r\n")
    return int(top.split()[1]), body


def duplicate_headers(port, auth=""):
    what = "with a token" if auth else "without a token"
    get = "GET %s/datasets HTTP/1.1\r\n%s" % (BASE, auth)
    st, b = raw(port, get + "Host: 127.0.0.1\r\n")
    check(st == 200, f"duplicate Host ({what}): one Host is answered ({st})")
    for hosts in (("127.0.0.1", "evil.example"), ("evil.example", "127.0.0.1"), ("127.0.0.1", "127.0.0.1")):
        st, b = raw(port, get + "".join("Host: %s\r\n" % h for h in hosts))
        check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT") and b"Host" in b,
              f"duplicate Host ({what}): {hosts} is 400 ({st} {b[:120]})")
    own = "http://127.0.0.1:%d" % port
    for origins in ((own, "http://evil.example"), ("http://evil.example", own), (own, own)):
        st, b = raw(port, get + "Host: 127.0.0.1:%d\r\n" % port + "".join("Origin: %s\r\n" % o for o in origins))
        check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT") and b"Origin" in b,
              f"duplicate Origin ({what}): {origins} is 400 ({st} {b[:120]})")
    st, b = raw(port, get + "Host: 127.0.0.1:%d\r\nOrigin: %s\r\n" % (port, own))
    check(st == 200, f"duplicate Origin ({what}): one Origin, the server's own, is answered ({st})")


def main():
    tmp = tempfile.mkdtemp(prefix="dv-strict-")
    servers = []
    try:
        srv = ts.Server(os.path.join(tmp, "data"), "--console-dir", os.path.join(SRC_DIR, "console"))
        servers.append(srv)
        duplicate_headers(srv.port)
        tok = os.path.join(tmp, "token")
        open(tok, "w").write(TOKEN + "\n")
        data = os.path.join(tmp, "data2")
        srv = ts.Server(data, "--token-file", tok)
        servers.append(srv)
        duplicate_headers(srv.port, "Authorization: Bearer %s\r\n" % TOKEN)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if fails:
        print(f"test_server_strict: {len(fails)} check(s) failed", file=sys.stderr)
        return 1
    print("test_server_strict: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
