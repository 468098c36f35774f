#!/bin/bash
# dicomveil CLI and real-world configs (issue 5 item 14; docs/decisions.md "FHIR-only fields", "NCI's MIDI
# config"): NCI's MIDI config is refused (exit 2, nothing written) with a message naming its one unbuilt part
# (cleanImageTag; text is built, issue 6);
# a config carrying the FHIR-only fields runs, and each field gives one warning on stderr that names its
# JSON path and never its value.
set -u
. "$(dirname "$0")/cli_lib.sh"
NCI="${DV_SHARED_DATA:-/work/shared/data}/configs/nci-midi-gcp-deidentify.json"
SRC="$DATA/pydicom/CT_small.dcm"
head -c 32 /dev/urandom > "$T/key" && chmod 600 "$T/key"

"$DV_BIN" deidentify -q --config "$NCI" --key-file "$T/key" "$SRC" "$T/dst1" 2> "$T/err1"
rc=$?
[ "$rc" -eq 2 ] || fail "NCI config: exit $rc, want 2"
[ ! -e "$T/dst1" ] || fail "NCI config: DST created"
# text is built (issue 6): only its cleanImageTag action is refused, until pixel redaction exists
grep -q "config.dicomTagConfig.actions\[4\].cleanImageTag: not implemented yet" "$T/err1" ||
    fail "NCI config: refusal does not name cleanImageTag: $(cat "$T/err1")"
for p in 'profileType' 'cleanTextTag' 'config.text'; do
    ! grep -q "$p" "$T/err1" || fail "NCI config: refusal names $p (text is built)"
done

cat > "$T/fhir.json" <<'JSON'
{"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE"},
 "fhirFieldConfig": {"fieldMetadataList": [{"paths": ["Patient.name.Doe"]}]},
 "operationMetadata": {"fhirOutput": {"fhirStore": "projects/p/fhirStores/Store-Of-Jane-Doe"}}}
JSON
"$DV_BIN" deidentify -q --config "$T/fhir.json" --key-file "$T/key" "$SRC" "$T/dst2" 2> "$T/err2"
rc=$?
[ "$rc" -eq 0 ] || fail "FHIR fields: exit $rc, want 0: $(cat "$T/err2")"
[ "$(find "$T/dst2" -name '*.dcm' | wc -l)" -eq 1 ] || fail "FHIR fields: want one output"
[ "$(grep -c '^dicomveil: warning: config .*: ignored: FHIR-only setting' "$T/err2")" -eq 2 ] ||
    fail "FHIR fields: want 2 warnings: $(cat "$T/err2")"
grep -q "config.operationMetadata: ignored" "$T/err2" || fail "FHIR fields: operationMetadata not named"
grep -q "config.fhirFieldConfig: ignored" "$T/err2" || fail "FHIR fields: fhirFieldConfig not named"
! grep -q "Doe" "$T/err2" || fail "FHIR fields: a value reached stderr"
finish test_cli_config_warnings
