#!/bin/bash
# The committed pinyin and Hanja tables (src/text/pinyin_data.c, hanja_data.c) are exactly what tools/gen_pinyin.py
# and tools/gen_hanja.py produce from Unihan_Readings.txt (Debian package unicode-data): nobody edited them by hand
# and nobody forgot to regenerate after changing a generator; the hand-written pinyin.h's and hanja.h's constants
# are the tables'.
set -euo pipefail
SRC=${DV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
UNIHAN=${DV_UNIHAN_READINGS:-/usr/share/unicode/Unihan_Readings.txt.bz2}
cd "$SRC"
if [ ! -e "$UNIHAN" ]; then
    echo "FAIL: $UNIHAN missing: \`make deps\` installs unicode-data" >&2
    exit 1
fi
if ! /usr/bin/python3 tools/gen_pinyin.py --unihan "$UNIHAN" --out src/text --check; then
    echo "FAIL: src/text/pinyin_data.c is stale or edited by hand; run 'python3 tools/gen_pinyin.py'" >&2
    exit 1
fi
if ! /usr/bin/python3 tools/gen_hanja.py --unihan "$UNIHAN" --out src/text --check; then
    echo "FAIL: src/text/hanja_data.c is stale or edited by hand; run 'python3 tools/gen_hanja.py'" >&2
    exit 1
fi
size=$(stat -c %s src/text/pinyin_data.c)
hsize=$(stat -c %s src/text/hanja_data.c)
echo "pinyin: 2 passed, 0 failed (generated sources $size and $hsize bytes)"
