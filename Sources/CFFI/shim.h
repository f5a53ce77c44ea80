/* libffi for Swift: the type objects are globals that Swift should not touch
 * directly, so they are read through these accessors. */
#ifndef CROCHET_CFFI_SHIM_H
#define CROCHET_CFFI_SHIM_H
#include <ffi.h>

static inline ffi_type *cffi_type_void(void)    { return &ffi_type_void; }
static inline ffi_type *cffi_type_sint8(void)   { return &ffi_type_sint8; }
static inline ffi_type *cffi_type_uint8(void)   { return &ffi_type_uint8; }
static inline ffi_type *cffi_type_sint16(void)  { return &ffi_type_sint16; }
static inline ffi_type *cffi_type_uint16(void)  { return &ffi_type_uint16; }
static inline ffi_type *cffi_type_sint32(void)  { return &ffi_type_sint32; }
static inline ffi_type *cffi_type_uint32(void)  { return &ffi_type_uint32; }
static inline ffi_type *cffi_type_sint64(void)  { return &ffi_type_sint64; }
static inline ffi_type *cffi_type_uint64(void)  { return &ffi_type_uint64; }
static inline ffi_type *cffi_type_float(void)   { return &ffi_type_float; }
static inline ffi_type *cffi_type_double(void)  { return &ffi_type_double; }
static inline ffi_type *cffi_type_pointer(void) { return &ffi_type_pointer; }

/* ffi_prep_cif with the platform's default ABI. */
static inline int cffi_prep(ffi_cif *cif, unsigned nargs, ffi_type *rtype, ffi_type **atypes) {
    return ffi_prep_cif(cif, FFI_DEFAULT_ABI, nargs, rtype, atypes) == FFI_OK ? 0 : -1;
}

/* Calls fn through cif; rvalue must hold at least 8 bytes. */
static inline void cffi_call(ffi_cif *cif, void *fn, void *rvalue, void **avalue) {
    ffi_call(cif, (void (*)(void))fn, rvalue, avalue);
}
#endif
