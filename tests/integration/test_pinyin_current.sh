#!/bin/bash
# The committed pinyin table (src/text/pinyin_data.c) is exactly what tools/gen_pinyin.py produces from
# Unihan_Readings.txt (Debian package unicode-data): nobody edited it by hand and nobody forgot to regenerate after
# changing the generator; the hand-written pinyin.h's constants are the table's.
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
size=$(stat -c %s src/text/pinyin_data.c)
echo "pinyin: 1 passed, 0 failed (generated source $size bytes)"
