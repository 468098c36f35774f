#!/bin/bash
# The web console's tag dictionary (console/js/dict.js) is exactly what tools/gen_console_dict.py makes of the
# engine's generated PS3.6 table (src/dict/dict_table.c): one dictionary, reshaped, never edited by hand.
set -euo pipefail
SRC=${DV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$SRC"
if ! /usr/bin/python3 tools/gen_console_dict.py --check; then
    echo "FAIL: console/js/dict.js is stale; run python3 tools/gen_console_dict.py" >&2
    exit 1
fi
grep -q '00100010PNPatientName' console/js/dict.js || { echo "FAIL: PatientName missing from dict.js" >&2; exit 1; }
echo "console dict: 1 passed, 0 failed"
