#!/bin/bash
# The committed PS3.6 / PS3.15 tables (src/dict/*_table.c) and tag constants (src/dict/dv_tags.h) are exactly what tools/gen_tables.py produces from
# ../shared/data: nobody edited them by hand and nobody forgot `make tables` after changing the generator.
set -euo pipefail
SRC=${DV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SHARED=${DV_SHARED_DATA:-$SRC/../shared/data}
cd "$SRC"
if ! /usr/bin/python3 tools/gen_tables.py --shared "$SHARED" --out src/dict --check; then
    echo "FAIL: src/dict tables are stale or edited by hand; run 'make tables'" >&2
    exit 1
fi
echo "tables: 1 passed, 0 failed"
