/* dicomveil: self-hosted DICOM de-identification (Google Cloud Healthcare API DeidentifyConfig compatible). */
#ifndef DICOMVEIL_H
#define DICOMVEIL_H

/* The version's one home: CMake reads it from here for the library's SONAME, dicomveil.pc and the Debian
 * package (docs/decisions.md "Version"). */
#define DICOMVEIL_VERSION "0.1.0"

#include "dv_error.h"
#include "dv_io.h"
#include "dv_instance.h"
#include "dv_engine.h"
#include "dv_budget.h"
#include "dv_pixel_budget.h"
#include "dv_run.h"
#include "dv_frames.h"

/* The version of the library linked at run time ("X.Y.Z"; static storage, never freed). A program built
 * against DICOMVEIL_VERSION can compare the two when it loads libdicomveil.so. */
const char *dv_version(void);

#endif
