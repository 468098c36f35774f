/* Doubling array growth (see dv_grow.h). */
#include "util/dv_grow.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t dv_grow_capacity(size_t cap, size_t need, size_t first)
{
    size_t nc = cap ? cap : first ? first : 1;
    while (nc < need) {
        if (nc > SIZE_MAX / 2)
            return need; /* doubling would wrap: exactly what is needed (the caller checks its bytes) */
        nc *= 2;
    }
    return nc;
}

int dv_grow(void *arrayp, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t nc = dv_grow_capacity(*cap, need, first);
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
