// DeidentifyConfig presets: each worked example of the Healthcare API's DICOM de-identification guide
// (../shared/seed/dicom-deidentify-guide.txt, README "Worked examples", tests/unit/test_guide_examples.c)
// and the common profiles. test_console.py checks that the server accepts every one.
export const PRESETS = [
  {id: "default", label: "Defaults: Basic profile ({})", config: {}},
  {id: "basic", label: "Profile: Attribute Confidentiality Basic",
   config: {dicomTagConfig: {profileType: "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}},
  {id: "minimal", label: "Profile: Minimal keep list", config: {dicomTagConfig: {profileType: "MINIMAL_KEEP_LIST_PROFILE"}}},
  {id: "keep-all", label: "Profile: Keep all", config: {dicomTagConfig: {profileType: "KEEP_ALL_PROFILE"}}},
  {id: "tag-contents", label: "Profile: De-identify tag contents (text)",
   config: {dicomTagConfig: {profileType: "DEIDENTIFY_TAG_CONTENTS"}}},
  {id: "keep-name", label: "Guide: keepTag PatientName",
   config: {dicomTagConfig: {actions: [{queries: ["PatientName"], keepTag: {}}]}}},
  {id: "remove-name", label: "Guide: removeTag PatientName (emptied)",
   config: {dicomTagConfig: {actions: [{queries: ["PatientName"], removeTag: {}}]}}},
  {id: "delete-name", label: "Guide: deleteTag PatientName (removed)",
   config: {dicomTagConfig: {actions: [{queries: ["PatientName"], deleteTag: {}}]}}},
  {id: "reset-name", label: "Guide: resetTag PatientName",
   config: {dicomTagConfig: {actions: [{queries: ["PatientName"], resetTag: {}}]}}},
  {id: "regen-sop", label: "Guide: keep all, regenerate SOPInstanceUID",
   config: {dicomTagConfig: {profileType: "KEEP_ALL_PROFILE", options: {primaryIds: "KEEP"},
                             actions: [{queries: ["00080018"], regenUidTag: {}}]}}},
  {id: "recurse", label: "Guide: recurseTag PhysiciansReadingStudyIdentificationSequence",
   config: {dicomTagConfig: {actions: [{queries: ["PhysiciansReadingStudyIdentificationSequence"], recurseTag: {}}]}}},
  {id: "clean-image", label: "Basic profile + redact burned-in text (image)",
   config: {dicomTagConfig: {profileType: "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE",
                             options: {cleanImage: {textRedactionMode: "REDACT_SENSITIVE_TEXT"}}}}},
];
