/* dv_error: the one error type shared by every layer (see include/dicomveil/dv_error.h). */
#include "dicomveil/dv_error.h"

#include <stdarg.h>
#include <stdio.h>

const char *dv_code_name(dv_code code)
{
    switch (code) {
    case DV_OK: return "ok";
    case DV_ERR_IO: return "io";
    case DV_ERR_NOT_DICOM: return "not_dicom";
    case DV_ERR_MALFORMED: return "malformed";
    case DV_ERR_LIMIT: return "limit";
    case DV_ERR_UNSUPPORTED: return "unsupported";
    case DV_ERR_CONFIG: return "config";
    case DV_ERR_NOMEM: return "nomem";
    case DV_ERR_INVALID: return "invalid";
    case DV_ERR_USAGE: return "usage";
    }
    return "unknown";
}

int dv_fail(dv_error *err, dv_code code, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->code = code;
    err->message[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        if (n < 0)
            err->message[0] = '\0';
    }
    return -1;
}

void dv_error_clear(dv_error *err)
{
    if (!err)
        return;
    err->code = DV_OK;
    err->message[0] = '\0';
}
