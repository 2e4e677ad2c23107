/* grow: room for one more element at index n of a malloc'd array *arr of *cap elements
 * of size bytes, doubling it (from 64) when full. False, with *arr untouched, when the
 * memory is not there or the size would overflow. */
#ifndef PB_GROW_H
#define PB_GROW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

static inline bool pb_grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 64;
    if (nc < *cap || nc > SIZE_MAX / size)
        return false;
    void *p = realloc(*arr, nc * size);
    if (!p)
        return false;
    *arr = p;
    *cap = nc;
    return true;
}

#endif
