/* dicomveil: self-hosted DICOM de-identification (Google Cloud Healthcare API DeidentifyConfig compatible). */
#ifndef DICOMVEIL_H
#define DICOMVEIL_H

#define DICOMVEIL_VERSION "0.1.0"

#include "dv_error.h"
#include "dv_io.h"
#include "dv_instance.h"
#include "dv_engine.h"
#include "dv_budget.h"
#include "dv_run.h"
#include "dv_frames.h"

#endif
