/* The attributes the index keeps for QIDO-RS (see dvs_query.h). */
#include "store/dvs_query.h"

#include <stdio.h>
#include <string.h>

/* PS3.18 Table 10.6.1-5 (required matching attributes) plus common return attributes, with the column that
 * holds each one. The SQL schema (sql_build.c) has exactly these columns; a column added later names the schema
 * version that adds it (since), so that an index made before gets it when opened (dvs_sql_add_column). */
const dvs_attr dvs_attrs[] = {
    {0x00080005, "SpecificCharacterSet", "CS", DVS_STUDY, NULL, 1, 0},
    {0x00080020, "StudyDate", "DA", DVS_STUDY, "study_date", 0, 0},
    {0x00080030, "StudyTime", "TM", DVS_STUDY, "study_time", 0, 0},
    {0x00080050, "AccessionNumber", "SH", DVS_STUDY, "accession_number", 0, 0},
    {0x00080061, "ModalitiesInStudy", "CS", DVS_STUDY, NULL, 1, 0},
    {0x00080090, "ReferringPhysicianName", "PN", DVS_STUDY, "referring_physician_name", 0, 0},
    /* PS3.18 Tables 10.6.3-3 and 10.6.3-5, "shall be present if known": the study's first instance's, as the
     * other study attributes (returned at every level) */
    {0x00080201, "TimezoneOffsetFromUTC", "SH", DVS_STUDY, "timezone_offset", 0, 2},
    {0x00081030, "StudyDescription", "LO", DVS_STUDY, "study_description", 0, 0},
    {0x00100010, "PatientName", "PN", DVS_STUDY, "patient_name", 0, 0},
    {0x00100020, "PatientID", "LO", DVS_STUDY, "patient_id", 0, 0},
    {0x00100030, "PatientBirthDate", "DA", DVS_STUDY, "patient_birth_date", 0, 0},
    {0x00100040, "PatientSex", "CS", DVS_STUDY, "patient_sex", 0, 0},
    {0x0020000D, "StudyInstanceUID", "UI", DVS_STUDY, "study_uid", 0, 0},
    {0x00200010, "StudyID", "SH", DVS_STUDY, "study_id", 0, 0},
    {0x00201206, "NumberOfStudyRelatedSeries", "IS", DVS_STUDY, NULL, 1, 0},
    {0x00201208, "NumberOfStudyRelatedInstances", "IS", DVS_STUDY, NULL, 1, 0},
    {0x00080060, "Modality", "CS", DVS_SERIES, "modality", 0, 0},
    {0x0008103E, "SeriesDescription", "LO", DVS_SERIES, "series_description", 0, 0},
    {0x0020000E, "SeriesInstanceUID", "UI", DVS_SERIES, "series_uid", 0, 0},
    {0x00200011, "SeriesNumber", "IS", DVS_SERIES, "series_number", 0, 0},
    {0x00201209, "NumberOfSeriesRelatedInstances", "IS", DVS_SERIES, NULL, 1, 0},
    {0x00400244, "PerformedProcedureStepStartDate", "DA", DVS_SERIES, "pps_start_date", 0, 0},
    {0x00400245, "PerformedProcedureStepStartTime", "TM", DVS_SERIES, "pps_start_time", 0, 0},
    {0x00080016, "SOPClassUID", "UI", DVS_INSTANCE, "sop_class_uid", 0, 0},
    {0x00080018, "SOPInstanceUID", "UI", DVS_INSTANCE, "sop_uid", 0, 0},
    {0x00200013, "InstanceNumber", "IS", DVS_INSTANCE, "instance_number", 0, 0},
    {0x00280008, "NumberOfFrames", "IS", DVS_INSTANCE, "number_of_frames", 0, 0},
    {0x00280010, "Rows", "US", DVS_INSTANCE, "rows", 0, 0},
    {0x00280011, "Columns", "US", DVS_INSTANCE, "columns", 0, 0},
    /* PS3.18 Table 10.6.3-5, "shall be present if known"; instances indexed before schema 2 have none. */
    {0x00280100, "BitsAllocated", "US", DVS_INSTANCE, "bits_allocated", 0, 2},
};
const size_t dvs_nattrs = sizeof dvs_attrs / sizeof dvs_attrs[0];

const dvs_attr *dvs_attr_by_tag(uint32_t tag)
{
    for (size_t i = 0; i < dvs_nattrs; i++)
        if (dvs_attrs[i].tag == tag)
            return &dvs_attrs[i];
    return NULL;
}

const dvs_attr *dvs_attr_by_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 8 && strspn(name, "0123456789abcdefABCDEF") == 8) {
        unsigned tag = 0;
        if (sscanf(name, "%8x", &tag) == 1)
            return dvs_attr_by_tag(tag);
        return NULL;
    }
    for (size_t i = 0; i < dvs_nattrs; i++)
        if (strcmp(dvs_attrs[i].keyword, name) == 0)
            return &dvs_attrs[i];
    return NULL;
}

int dvs_attr_folded(const dvs_attr *a)
{
    return a->column != NULL && strcmp(a->vr, "PN") == 0;
}
