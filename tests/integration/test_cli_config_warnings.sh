#!/bin/bash
# dicomveil CLI and real-world configs (issue 5 item 14; docs/decisions.md "FHIR-only fields", "NCI's MIDI
# config"): NCI's MIDI config runs whole (text, issue 6, and its cleanImageTag, issue 11, are built);
# a config carrying the FHIR-only fields runs, and each field gives one warning on stderr that names its
# JSON path and never its value.
set -u
. "$(dirname "$0")/cli_lib.sh"
NCI="${DV_SHARED_DATA:-/work/shared/data}/configs/nci-midi-gcp-deidentify.json"
SRC="$DATA/pydicom/CT_small.dcm"
head -c 32 /dev/urandom > "$T/key" && chmod 600 "$T/key"

"$DV_BIN" deidentify -q --config "$NCI" --key-file "$T/key" --report "$T/rep1.json" "$SRC" "$T/dst1" 2> "$T/err1"
rc=$?
# text (issue 6) and burned-in text (issue 11) are built: the whole config runs, its cleanImageTag
# (REDACT_SENSITIVE_TEXT) examining the pixels
[ "$rc" -eq 0 ] || fail "NCI config: exit $rc, want 0: $(cat "$T/err1")"
[ "$(find "$T/dst1" -name '*.dcm' | wc -l)" -eq 1 ] || fail "NCI config: want one output"
grep -q '"frames_examined": 1' "$T/rep1.json" || fail "NCI config: the pixel stage did not run: $(cat "$T/rep1.json")"
! grep -q "not implemented" "$T/err1" || fail "NCI config: something refused: $(cat "$T/err1")"

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

# A TextConfig with nothing that cleans text has no effect: one warning naming config.text; none once the
# profile cleans text (docs/decisions.md "A text block with no effect").
for prof in KEEP_ALL_PROFILE DEIDENTIFY_TAG_CONTENTS; do
    printf '{"dicomTagConfig": {"profileType": "%s"}, "text": {"transformations": [{"redactConfig": {}}]}}' \
        "$prof" > "$T/text-$prof.json"
    "$DV_BIN" deidentify -q --config "$T/text-$prof.json" --key-file "$T/key" "$SRC" "$T/dst-$prof" 2> "$T/err-$prof" ||
        fail "text block under $prof: exit $?: $(cat "$T/err-$prof")"
    n=$(grep -c '^dicomveil: warning: config .*: config.text: no effect: nothing in this config cleans text' \
        "$T/err-$prof")
    want=$([ "$prof" = KEEP_ALL_PROFILE ] && echo 1 || echo 0)
    [ "$n" -eq "$want" ] || fail "text block under $prof: $n warnings, want $want: $(cat "$T/err-$prof")"
done
finish test_cli_config_warnings
