#!/bin/bash
# The committed PS3.3 IOD tables (src/dict/iod_table.c) are exactly what tools/gen_iod_tables.py produces from
# GDCM's Part3.xml / Part4.xml (Debian libgdcm3.0): nobody edited them by hand and nobody forgot `make tables`.
set -euo pipefail
SRC=${DV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
XML=${DV_GDCM_XML:-/usr/share/gdcm-3.0/XML}
cd "$SRC"
if [ ! -f "$XML/Part3.xml" ]; then
    echo "FAIL: $XML/Part3.xml missing: install libgdcm3.0 (make deps)" >&2
    exit 1
fi
if ! /usr/bin/python3 tools/gen_iod_tables.py --xml "$XML" --out src/dict --check; then
    echo "FAIL: src/dict/iod_table.c is stale or edited by hand; run 'make tables'" >&2
    exit 1
fi
echo "iod tables: 1 passed, 0 failed"
