/* dv_version (include/dicomveil/dicomveil.h): the library's own version at run time. */
#include "dicomveil/dicomveil.h"

const char *dv_version(void)
{
    return DICOMVEIL_VERSION;
}
