/* Doubling array growth (see dv_grow.h). */
#include "util/dv_grow.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int dv_grow(void *arrayp, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : first ? first : 1;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) {
            nc = need; /* doubling would wrap: exactly what is needed, checked below */
            break;
        }
        nc *= 2;
    }
    if (elem == 0 || nc > SIZE_MAX / elem) {
        errno = ENOMEM;
        return -1;
    }
    /* arrayp points at some T *: every object pointer has the representation of void * on the platforms we
     * build for (POSIX requires it of dlsym's result too), and memcpy avoids aliasing it through void **. */
    void *old;
    memcpy(&old, arrayp, sizeof old);
    void *nv = realloc(old, nc * elem);
    if (!nv) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(arrayp, &nv, sizeof nv);
    *cap = nc;
    return 0;
}
