/* crochet_submit and CROCHET_SUBMIT: every argument and return type, up to
 * CROCHET_MAX_ARGS arguments of mixed classes, argument copying, ordering and
 * concurrency. */
#include "harness.h"

/* Expected argument values by position: negative where the type is signed, so
 * sign and zero extension are both exercised. */
#define EXP_I8(i)  ((int8_t)(-1 - (i)))
#define EXP_U8(i)  ((uint8_t)(200 + (i)))
#define EXP_I16(i) ((int16_t)(-1000 * (i) - 1))
#define EXP_U16(i) ((uint16_t)(60000 + (i)))
#define EXP_I32(i) ((int32_t)(-100000 * (i) - 7))
#define EXP_U32(i) ((uint32_t)(4000000000u + (unsigned)(i)))
#define EXP_I64(i) ((int64_t)(-1000000000000000LL * (i) - 3))
#define EXP_U64(i) ((uint64_t)(0xF000000000000000ULL + (uint64_t)(i)))
#define EXP_F32(i) ((float)(i) * -1.5f + 0.25f)
#define EXP_F64(i) ((double)(i) * -1.25 - 0.125)
#define EXP_PTR(i) ((void *)(uintptr_t)(0x1000 + (i) * 16))

/* ---- functions the reactor calls (generated shapes, each returns a mask of
 * the argument positions that arrived wrong) ---- */
uint32_t mixed32(int8_t a0, uint8_t a1, int16_t a2, uint16_t a3, int32_t a4, uint32_t a5, int64_t a6, uint64_t a7, float a8, double a9, void * a10, int8_t a11, uint8_t a12, int16_t a13, uint16_t a14, int32_t a15, uint32_t a16, int64_t a17, uint64_t a18, float a19, double a20, void * a21, int8_t a22, uint8_t a23, int16_t a24, uint16_t a25, int32_t a26, uint32_t a27, int64_t a28, uint64_t a29, float a30, double a31) {
    uint32_t bad = 0;
    if (a0 != EXP_I8(0)) bad |= 1u << 0;
    if (a1 != EXP_U8(1)) bad |= 1u << 1;
    if (a2 != EXP_I16(2)) bad |= 1u << 2;
    if (a3 != EXP_U16(3)) bad |= 1u << 3;
    if (a4 != EXP_I32(4)) bad |= 1u << 4;
    if (a5 != EXP_U32(5)) bad |= 1u << 5;
    if (a6 != EXP_I64(6)) bad |= 1u << 6;
    if (a7 != EXP_U64(7)) bad |= 1u << 7;
    if (a8 != EXP_F32(8)) bad |= 1u << 8;
    if (a9 != EXP_F64(9)) bad |= 1u << 9;
    if (a10 != EXP_PTR(10)) bad |= 1u << 10;
    if (a11 != EXP_I8(11)) bad |= 1u << 11;
    if (a12 != EXP_U8(12)) bad |= 1u << 12;
    if (a13 != EXP_I16(13)) bad |= 1u << 13;
    if (a14 != EXP_U16(14)) bad |= 1u << 14;
    if (a15 != EXP_I32(15)) bad |= 1u << 15;
    if (a16 != EXP_U32(16)) bad |= 1u << 16;
    if (a17 != EXP_I64(17)) bad |= 1u << 17;
    if (a18 != EXP_U64(18)) bad |= 1u << 18;
    if (a19 != EXP_F32(19)) bad |= 1u << 19;
    if (a20 != EXP_F64(20)) bad |= 1u << 20;
    if (a21 != EXP_PTR(21)) bad |= 1u << 21;
    if (a22 != EXP_I8(22)) bad |= 1u << 22;
    if (a23 != EXP_U8(23)) bad |= 1u << 23;
    if (a24 != EXP_I16(24)) bad |= 1u << 24;
    if (a25 != EXP_U16(25)) bad |= 1u << 25;
    if (a26 != EXP_I32(26)) bad |= 1u << 26;
    if (a27 != EXP_U32(27)) bad |= 1u << 27;
    if (a28 != EXP_I64(28)) bad |= 1u << 28;
    if (a29 != EXP_U64(29)) bad |= 1u << 29;
    if (a30 != EXP_F32(30)) bad |= 1u << 30;
    if (a31 != EXP_F64(31)) bad |= 1u << 31;
    return bad;
}

static void fill_mixed32(crochet_value *a) {
    a[0] = crochet_int8(EXP_I8(0));
    a[1] = crochet_uint8(EXP_U8(1));
    a[2] = crochet_int16(EXP_I16(2));
    a[3] = crochet_uint16(EXP_U16(3));
    a[4] = crochet_int32(EXP_I32(4));
    a[5] = crochet_uint32(EXP_U32(5));
    a[6] = crochet_int64(EXP_I64(6));
    a[7] = crochet_uint64(EXP_U64(7));
    a[8] = crochet_float(EXP_F32(8));
    a[9] = crochet_double(EXP_F64(9));
    a[10] = crochet_pointer(EXP_PTR(10));
    a[11] = crochet_int8(EXP_I8(11));
    a[12] = crochet_uint8(EXP_U8(12));
    a[13] = crochet_int16(EXP_I16(13));
    a[14] = crochet_uint16(EXP_U16(14));
    a[15] = crochet_int32(EXP_I32(15));
    a[16] = crochet_uint32(EXP_U32(16));
    a[17] = crochet_int64(EXP_I64(17));
    a[18] = crochet_uint64(EXP_U64(18));
    a[19] = crochet_float(EXP_F32(19));
    a[20] = crochet_double(EXP_F64(20));
    a[21] = crochet_pointer(EXP_PTR(21));
    a[22] = crochet_int8(EXP_I8(22));
    a[23] = crochet_uint8(EXP_U8(23));
    a[24] = crochet_int16(EXP_I16(24));
    a[25] = crochet_uint16(EXP_U16(25));
    a[26] = crochet_int32(EXP_I32(26));
    a[27] = crochet_uint32(EXP_U32(27));
    a[28] = crochet_int64(EXP_I64(28));
    a[29] = crochet_uint64(EXP_U64(29));
    a[30] = crochet_float(EXP_F32(30));
    a[31] = crochet_double(EXP_F64(31));
}
uint32_t mixed22(double a0, int32_t a1, double a2, int32_t a3, int32_t a4, double a5, int32_t a6, double a7, double a8, int32_t a9, double a10, double a11, int32_t a12, double a13, int32_t a14, int32_t a15, double a16, double a17, double a18, int32_t a19, int32_t a20, double a21) {
    uint32_t bad = 0;
    if (a0 != EXP_F64(0)) bad |= 1u << 0;
    if (a1 != EXP_I32(1)) bad |= 1u << 1;
    if (a2 != EXP_F64(2)) bad |= 1u << 2;
    if (a3 != EXP_I32(3)) bad |= 1u << 3;
    if (a4 != EXP_I32(4)) bad |= 1u << 4;
    if (a5 != EXP_F64(5)) bad |= 1u << 5;
    if (a6 != EXP_I32(6)) bad |= 1u << 6;
    if (a7 != EXP_F64(7)) bad |= 1u << 7;
    if (a8 != EXP_F64(8)) bad |= 1u << 8;
    if (a9 != EXP_I32(9)) bad |= 1u << 9;
    if (a10 != EXP_F64(10)) bad |= 1u << 10;
    if (a11 != EXP_F64(11)) bad |= 1u << 11;
    if (a12 != EXP_I32(12)) bad |= 1u << 12;
    if (a13 != EXP_F64(13)) bad |= 1u << 13;
    if (a14 != EXP_I32(14)) bad |= 1u << 14;
    if (a15 != EXP_I32(15)) bad |= 1u << 15;
    if (a16 != EXP_F64(16)) bad |= 1u << 16;
    if (a17 != EXP_F64(17)) bad |= 1u << 17;
    if (a18 != EXP_F64(18)) bad |= 1u << 18;
    if (a19 != EXP_I32(19)) bad |= 1u << 19;
    if (a20 != EXP_I32(20)) bad |= 1u << 20;
    if (a21 != EXP_F64(21)) bad |= 1u << 21;
    return bad;
}

static void fill_mixed22(crochet_value *a) {
    a[0] = crochet_double(EXP_F64(0));
    a[1] = crochet_int32(EXP_I32(1));
    a[2] = crochet_double(EXP_F64(2));
    a[3] = crochet_int32(EXP_I32(3));
    a[4] = crochet_int32(EXP_I32(4));
    a[5] = crochet_double(EXP_F64(5));
    a[6] = crochet_int32(EXP_I32(6));
    a[7] = crochet_double(EXP_F64(7));
    a[8] = crochet_double(EXP_F64(8));
    a[9] = crochet_int32(EXP_I32(9));
    a[10] = crochet_double(EXP_F64(10));
    a[11] = crochet_double(EXP_F64(11));
    a[12] = crochet_int32(EXP_I32(12));
    a[13] = crochet_double(EXP_F64(13));
    a[14] = crochet_int32(EXP_I32(14));
    a[15] = crochet_int32(EXP_I32(15));
    a[16] = crochet_double(EXP_F64(16));
    a[17] = crochet_double(EXP_F64(17));
    a[18] = crochet_double(EXP_F64(18));
    a[19] = crochet_int32(EXP_I32(19));
    a[20] = crochet_int32(EXP_I32(20));
    a[21] = crochet_double(EXP_F64(21));
}
uint32_t i64x32(int64_t a0, int64_t a1, int64_t a2, int64_t a3, int64_t a4, int64_t a5, int64_t a6, int64_t a7, int64_t a8, int64_t a9, int64_t a10, int64_t a11, int64_t a12, int64_t a13, int64_t a14, int64_t a15, int64_t a16, int64_t a17, int64_t a18, int64_t a19, int64_t a20, int64_t a21, int64_t a22, int64_t a23, int64_t a24, int64_t a25, int64_t a26, int64_t a27, int64_t a28, int64_t a29, int64_t a30, int64_t a31) {
    uint32_t bad = 0;
    if (a0 != EXP_I64(0)) bad |= 1u << 0;
    if (a1 != EXP_I64(1)) bad |= 1u << 1;
    if (a2 != EXP_I64(2)) bad |= 1u << 2;
    if (a3 != EXP_I64(3)) bad |= 1u << 3;
    if (a4 != EXP_I64(4)) bad |= 1u << 4;
    if (a5 != EXP_I64(5)) bad |= 1u << 5;
    if (a6 != EXP_I64(6)) bad |= 1u << 6;
    if (a7 != EXP_I64(7)) bad |= 1u << 7;
    if (a8 != EXP_I64(8)) bad |= 1u << 8;
    if (a9 != EXP_I64(9)) bad |= 1u << 9;
    if (a10 != EXP_I64(10)) bad |= 1u << 10;
    if (a11 != EXP_I64(11)) bad |= 1u << 11;
    if (a12 != EXP_I64(12)) bad |= 1u << 12;
    if (a13 != EXP_I64(13)) bad |= 1u << 13;
    if (a14 != EXP_I64(14)) bad |= 1u << 14;
    if (a15 != EXP_I64(15)) bad |= 1u << 15;
    if (a16 != EXP_I64(16)) bad |= 1u << 16;
    if (a17 != EXP_I64(17)) bad |= 1u << 17;
    if (a18 != EXP_I64(18)) bad |= 1u << 18;
    if (a19 != EXP_I64(19)) bad |= 1u << 19;
    if (a20 != EXP_I64(20)) bad |= 1u << 20;
    if (a21 != EXP_I64(21)) bad |= 1u << 21;
    if (a22 != EXP_I64(22)) bad |= 1u << 22;
    if (a23 != EXP_I64(23)) bad |= 1u << 23;
    if (a24 != EXP_I64(24)) bad |= 1u << 24;
    if (a25 != EXP_I64(25)) bad |= 1u << 25;
    if (a26 != EXP_I64(26)) bad |= 1u << 26;
    if (a27 != EXP_I64(27)) bad |= 1u << 27;
    if (a28 != EXP_I64(28)) bad |= 1u << 28;
    if (a29 != EXP_I64(29)) bad |= 1u << 29;
    if (a30 != EXP_I64(30)) bad |= 1u << 30;
    if (a31 != EXP_I64(31)) bad |= 1u << 31;
    return bad;
}

static void fill_i64x32(crochet_value *a) {
    a[0] = crochet_int64(EXP_I64(0));
    a[1] = crochet_int64(EXP_I64(1));
    a[2] = crochet_int64(EXP_I64(2));
    a[3] = crochet_int64(EXP_I64(3));
    a[4] = crochet_int64(EXP_I64(4));
    a[5] = crochet_int64(EXP_I64(5));
    a[6] = crochet_int64(EXP_I64(6));
    a[7] = crochet_int64(EXP_I64(7));
    a[8] = crochet_int64(EXP_I64(8));
    a[9] = crochet_int64(EXP_I64(9));
    a[10] = crochet_int64(EXP_I64(10));
    a[11] = crochet_int64(EXP_I64(11));
    a[12] = crochet_int64(EXP_I64(12));
    a[13] = crochet_int64(EXP_I64(13));
    a[14] = crochet_int64(EXP_I64(14));
    a[15] = crochet_int64(EXP_I64(15));
    a[16] = crochet_int64(EXP_I64(16));
    a[17] = crochet_int64(EXP_I64(17));
    a[18] = crochet_int64(EXP_I64(18));
    a[19] = crochet_int64(EXP_I64(19));
    a[20] = crochet_int64(EXP_I64(20));
    a[21] = crochet_int64(EXP_I64(21));
    a[22] = crochet_int64(EXP_I64(22));
    a[23] = crochet_int64(EXP_I64(23));
    a[24] = crochet_int64(EXP_I64(24));
    a[25] = crochet_int64(EXP_I64(25));
    a[26] = crochet_int64(EXP_I64(26));
    a[27] = crochet_int64(EXP_I64(27));
    a[28] = crochet_int64(EXP_I64(28));
    a[29] = crochet_int64(EXP_I64(29));
    a[30] = crochet_int64(EXP_I64(30));
    a[31] = crochet_int64(EXP_I64(31));
}
uint32_t f64x32(double a0, double a1, double a2, double a3, double a4, double a5, double a6, double a7, double a8, double a9, double a10, double a11, double a12, double a13, double a14, double a15, double a16, double a17, double a18, double a19, double a20, double a21, double a22, double a23, double a24, double a25, double a26, double a27, double a28, double a29, double a30, double a31) {
    uint32_t bad = 0;
    if (a0 != EXP_F64(0)) bad |= 1u << 0;
    if (a1 != EXP_F64(1)) bad |= 1u << 1;
    if (a2 != EXP_F64(2)) bad |= 1u << 2;
    if (a3 != EXP_F64(3)) bad |= 1u << 3;
    if (a4 != EXP_F64(4)) bad |= 1u << 4;
    if (a5 != EXP_F64(5)) bad |= 1u << 5;
    if (a6 != EXP_F64(6)) bad |= 1u << 6;
    if (a7 != EXP_F64(7)) bad |= 1u << 7;
    if (a8 != EXP_F64(8)) bad |= 1u << 8;
    if (a9 != EXP_F64(9)) bad |= 1u << 9;
    if (a10 != EXP_F64(10)) bad |= 1u << 10;
    if (a11 != EXP_F64(11)) bad |= 1u << 11;
    if (a12 != EXP_F64(12)) bad |= 1u << 12;
    if (a13 != EXP_F64(13)) bad |= 1u << 13;
    if (a14 != EXP_F64(14)) bad |= 1u << 14;
    if (a15 != EXP_F64(15)) bad |= 1u << 15;
    if (a16 != EXP_F64(16)) bad |= 1u << 16;
    if (a17 != EXP_F64(17)) bad |= 1u << 17;
    if (a18 != EXP_F64(18)) bad |= 1u << 18;
    if (a19 != EXP_F64(19)) bad |= 1u << 19;
    if (a20 != EXP_F64(20)) bad |= 1u << 20;
    if (a21 != EXP_F64(21)) bad |= 1u << 21;
    if (a22 != EXP_F64(22)) bad |= 1u << 22;
    if (a23 != EXP_F64(23)) bad |= 1u << 23;
    if (a24 != EXP_F64(24)) bad |= 1u << 24;
    if (a25 != EXP_F64(25)) bad |= 1u << 25;
    if (a26 != EXP_F64(26)) bad |= 1u << 26;
    if (a27 != EXP_F64(27)) bad |= 1u << 27;
    if (a28 != EXP_F64(28)) bad |= 1u << 28;
    if (a29 != EXP_F64(29)) bad |= 1u << 29;
    if (a30 != EXP_F64(30)) bad |= 1u << 30;
    if (a31 != EXP_F64(31)) bad |= 1u << 31;
    return bad;
}

static void fill_f64x32(crochet_value *a) {
    a[0] = crochet_double(EXP_F64(0));
    a[1] = crochet_double(EXP_F64(1));
    a[2] = crochet_double(EXP_F64(2));
    a[3] = crochet_double(EXP_F64(3));
    a[4] = crochet_double(EXP_F64(4));
    a[5] = crochet_double(EXP_F64(5));
    a[6] = crochet_double(EXP_F64(6));
    a[7] = crochet_double(EXP_F64(7));
    a[8] = crochet_double(EXP_F64(8));
    a[9] = crochet_double(EXP_F64(9));
    a[10] = crochet_double(EXP_F64(10));
    a[11] = crochet_double(EXP_F64(11));
    a[12] = crochet_double(EXP_F64(12));
    a[13] = crochet_double(EXP_F64(13));
    a[14] = crochet_double(EXP_F64(14));
    a[15] = crochet_double(EXP_F64(15));
    a[16] = crochet_double(EXP_F64(16));
    a[17] = crochet_double(EXP_F64(17));
    a[18] = crochet_double(EXP_F64(18));
    a[19] = crochet_double(EXP_F64(19));
    a[20] = crochet_double(EXP_F64(20));
    a[21] = crochet_double(EXP_F64(21));
    a[22] = crochet_double(EXP_F64(22));
    a[23] = crochet_double(EXP_F64(23));
    a[24] = crochet_double(EXP_F64(24));
    a[25] = crochet_double(EXP_F64(25));
    a[26] = crochet_double(EXP_F64(26));
    a[27] = crochet_double(EXP_F64(27));
    a[28] = crochet_double(EXP_F64(28));
    a[29] = crochet_double(EXP_F64(29));
    a[30] = crochet_double(EXP_F64(30));
    a[31] = crochet_double(EXP_F64(31));
}
uint32_t f32x32(float a0, float a1, float a2, float a3, float a4, float a5, float a6, float a7, float a8, float a9, float a10, float a11, float a12, float a13, float a14, float a15, float a16, float a17, float a18, float a19, float a20, float a21, float a22, float a23, float a24, float a25, float a26, float a27, float a28, float a29, float a30, float a31) {
    uint32_t bad = 0;
    if (a0 != EXP_F32(0)) bad |= 1u << 0;
    if (a1 != EXP_F32(1)) bad |= 1u << 1;
    if (a2 != EXP_F32(2)) bad |= 1u << 2;
    if (a3 != EXP_F32(3)) bad |= 1u << 3;
    if (a4 != EXP_F32(4)) bad |= 1u << 4;
    if (a5 != EXP_F32(5)) bad |= 1u << 5;
    if (a6 != EXP_F32(6)) bad |= 1u << 6;
    if (a7 != EXP_F32(7)) bad |= 1u << 7;
    if (a8 != EXP_F32(8)) bad |= 1u << 8;
    if (a9 != EXP_F32(9)) bad |= 1u << 9;
    if (a10 != EXP_F32(10)) bad |= 1u << 10;
    if (a11 != EXP_F32(11)) bad |= 1u << 11;
    if (a12 != EXP_F32(12)) bad |= 1u << 12;
    if (a13 != EXP_F32(13)) bad |= 1u << 13;
    if (a14 != EXP_F32(14)) bad |= 1u << 14;
    if (a15 != EXP_F32(15)) bad |= 1u << 15;
    if (a16 != EXP_F32(16)) bad |= 1u << 16;
    if (a17 != EXP_F32(17)) bad |= 1u << 17;
    if (a18 != EXP_F32(18)) bad |= 1u << 18;
    if (a19 != EXP_F32(19)) bad |= 1u << 19;
    if (a20 != EXP_F32(20)) bad |= 1u << 20;
    if (a21 != EXP_F32(21)) bad |= 1u << 21;
    if (a22 != EXP_F32(22)) bad |= 1u << 22;
    if (a23 != EXP_F32(23)) bad |= 1u << 23;
    if (a24 != EXP_F32(24)) bad |= 1u << 24;
    if (a25 != EXP_F32(25)) bad |= 1u << 25;
    if (a26 != EXP_F32(26)) bad |= 1u << 26;
    if (a27 != EXP_F32(27)) bad |= 1u << 27;
    if (a28 != EXP_F32(28)) bad |= 1u << 28;
    if (a29 != EXP_F32(29)) bad |= 1u << 29;
    if (a30 != EXP_F32(30)) bad |= 1u << 30;
    if (a31 != EXP_F32(31)) bad |= 1u << 31;
    return bad;
}

static void fill_f32x32(crochet_value *a) {
    a[0] = crochet_float(EXP_F32(0));
    a[1] = crochet_float(EXP_F32(1));
    a[2] = crochet_float(EXP_F32(2));
    a[3] = crochet_float(EXP_F32(3));
    a[4] = crochet_float(EXP_F32(4));
    a[5] = crochet_float(EXP_F32(5));
    a[6] = crochet_float(EXP_F32(6));
    a[7] = crochet_float(EXP_F32(7));
    a[8] = crochet_float(EXP_F32(8));
    a[9] = crochet_float(EXP_F32(9));
    a[10] = crochet_float(EXP_F32(10));
    a[11] = crochet_float(EXP_F32(11));
    a[12] = crochet_float(EXP_F32(12));
    a[13] = crochet_float(EXP_F32(13));
    a[14] = crochet_float(EXP_F32(14));
    a[15] = crochet_float(EXP_F32(15));
    a[16] = crochet_float(EXP_F32(16));
    a[17] = crochet_float(EXP_F32(17));
    a[18] = crochet_float(EXP_F32(18));
    a[19] = crochet_float(EXP_F32(19));
    a[20] = crochet_float(EXP_F32(20));
    a[21] = crochet_float(EXP_F32(21));
    a[22] = crochet_float(EXP_F32(22));
    a[23] = crochet_float(EXP_F32(23));
    a[24] = crochet_float(EXP_F32(24));
    a[25] = crochet_float(EXP_F32(25));
    a[26] = crochet_float(EXP_F32(26));
    a[27] = crochet_float(EXP_F32(27));
    a[28] = crochet_float(EXP_F32(28));
    a[29] = crochet_float(EXP_F32(29));
    a[30] = crochet_float(EXP_F32(30));
    a[31] = crochet_float(EXP_F32(31));
}
uint32_t u8x32(uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3, uint8_t a4, uint8_t a5, uint8_t a6, uint8_t a7, uint8_t a8, uint8_t a9, uint8_t a10, uint8_t a11, uint8_t a12, uint8_t a13, uint8_t a14, uint8_t a15, uint8_t a16, uint8_t a17, uint8_t a18, uint8_t a19, uint8_t a20, uint8_t a21, uint8_t a22, uint8_t a23, uint8_t a24, uint8_t a25, uint8_t a26, uint8_t a27, uint8_t a28, uint8_t a29, uint8_t a30, uint8_t a31) {
    uint32_t bad = 0;
    if (a0 != EXP_U8(0)) bad |= 1u << 0;
    if (a1 != EXP_U8(1)) bad |= 1u << 1;
    if (a2 != EXP_U8(2)) bad |= 1u << 2;
    if (a3 != EXP_U8(3)) bad |= 1u << 3;
    if (a4 != EXP_U8(4)) bad |= 1u << 4;
    if (a5 != EXP_U8(5)) bad |= 1u << 5;
    if (a6 != EXP_U8(6)) bad |= 1u << 6;
    if (a7 != EXP_U8(7)) bad |= 1u << 7;
    if (a8 != EXP_U8(8)) bad |= 1u << 8;
    if (a9 != EXP_U8(9)) bad |= 1u << 9;
    if (a10 != EXP_U8(10)) bad |= 1u << 10;
    if (a11 != EXP_U8(11)) bad |= 1u << 11;
    if (a12 != EXP_U8(12)) bad |= 1u << 12;
    if (a13 != EXP_U8(13)) bad |= 1u << 13;
    if (a14 != EXP_U8(14)) bad |= 1u << 14;
    if (a15 != EXP_U8(15)) bad |= 1u << 15;
    if (a16 != EXP_U8(16)) bad |= 1u << 16;
    if (a17 != EXP_U8(17)) bad |= 1u << 17;
    if (a18 != EXP_U8(18)) bad |= 1u << 18;
    if (a19 != EXP_U8(19)) bad |= 1u << 19;
    if (a20 != EXP_U8(20)) bad |= 1u << 20;
    if (a21 != EXP_U8(21)) bad |= 1u << 21;
    if (a22 != EXP_U8(22)) bad |= 1u << 22;
    if (a23 != EXP_U8(23)) bad |= 1u << 23;
    if (a24 != EXP_U8(24)) bad |= 1u << 24;
    if (a25 != EXP_U8(25)) bad |= 1u << 25;
    if (a26 != EXP_U8(26)) bad |= 1u << 26;
    if (a27 != EXP_U8(27)) bad |= 1u << 27;
    if (a28 != EXP_U8(28)) bad |= 1u << 28;
    if (a29 != EXP_U8(29)) bad |= 1u << 29;
    if (a30 != EXP_U8(30)) bad |= 1u << 30;
    if (a31 != EXP_U8(31)) bad |= 1u << 31;
    return bad;
}

static void fill_u8x32(crochet_value *a) {
    a[0] = crochet_uint8(EXP_U8(0));
    a[1] = crochet_uint8(EXP_U8(1));
    a[2] = crochet_uint8(EXP_U8(2));
    a[3] = crochet_uint8(EXP_U8(3));
    a[4] = crochet_uint8(EXP_U8(4));
    a[5] = crochet_uint8(EXP_U8(5));
    a[6] = crochet_uint8(EXP_U8(6));
    a[7] = crochet_uint8(EXP_U8(7));
    a[8] = crochet_uint8(EXP_U8(8));
    a[9] = crochet_uint8(EXP_U8(9));
    a[10] = crochet_uint8(EXP_U8(10));
    a[11] = crochet_uint8(EXP_U8(11));
    a[12] = crochet_uint8(EXP_U8(12));
    a[13] = crochet_uint8(EXP_U8(13));
    a[14] = crochet_uint8(EXP_U8(14));
    a[15] = crochet_uint8(EXP_U8(15));
    a[16] = crochet_uint8(EXP_U8(16));
    a[17] = crochet_uint8(EXP_U8(17));
    a[18] = crochet_uint8(EXP_U8(18));
    a[19] = crochet_uint8(EXP_U8(19));
    a[20] = crochet_uint8(EXP_U8(20));
    a[21] = crochet_uint8(EXP_U8(21));
    a[22] = crochet_uint8(EXP_U8(22));
    a[23] = crochet_uint8(EXP_U8(23));
    a[24] = crochet_uint8(EXP_U8(24));
    a[25] = crochet_uint8(EXP_U8(25));
    a[26] = crochet_uint8(EXP_U8(26));
    a[27] = crochet_uint8(EXP_U8(27));
    a[28] = crochet_uint8(EXP_U8(28));
    a[29] = crochet_uint8(EXP_U8(29));
    a[30] = crochet_uint8(EXP_U8(30));
    a[31] = crochet_uint8(EXP_U8(31));
}

/* ---- per-type functions ---- */
int8_t   ret_i8(int8_t x)     { return (int8_t)(x - 1); }
uint8_t  ret_u8(uint8_t x)    { return (uint8_t)(x + 1); }
int16_t  ret_i16(int16_t x)   { return (int16_t)(x - 1); }
uint16_t ret_u16(uint16_t x)  { return (uint16_t)(x + 1); }
int32_t  ret_i32(int32_t x)   { return x - 1; }
uint32_t ret_u32(uint32_t x)  { return x + 1; }
int64_t  ret_i64(int64_t x)   { return x - 1; }
uint64_t ret_u64(uint64_t x)  { return x + 1; }
float    ret_f32(float x)     { return x * 2.0f; }
double   ret_f64(double x)    { return x * 2.0; }
/* Pointer arithmetic on an integer (UBSan: no offset applied to NULL or to an address outside an object). */
void    *ret_ptr(void *p)     { return (void *)((uintptr_t)p + 8); }

/* Widening: what the callee received, as 64 bits. */
int64_t  widen_i8(int8_t x)   { return x; }
uint64_t widen_u8(uint8_t x)  { return x; }
int64_t  widen_i16(int16_t x) { return x; }
uint64_t widen_u16(uint16_t x){ return x; }
int64_t  widen_i32(int32_t x) { return x; }
uint64_t widen_u32(uint32_t x){ return x; }

/* Narrow returns computed from wide arguments. */
int8_t   narrow_i8(int64_t x)   { return (int8_t)x; }
uint8_t  narrow_u8(uint64_t x)  { return (uint8_t)x; }
int16_t  narrow_i16(int64_t x)  { return (int16_t)x; }
uint16_t narrow_u16(uint64_t x) { return (uint16_t)x; }

static void submit_wait(crochet_value *out, crochet_fn fn, crochet_type rt,
                        const crochet_value *args, size_t nargs) {
    crochet_result *r = NULL;
    ASSERT_OK(crochet_submit(&r, fn, rt, args, nargs));
    ASSERT_NOT_NULL(r);
    ASSERT_OK(crochet_wait(r, 10.0, out));
    crochet_result_release(r);
}

/* Each integer return type comes back with its type tag and exact value, negatives included. */
TEST(integer_returns) {
    ASSERT_OK(crochet_setup());
    crochet_value v, a;

    a = crochet_int8(-127);   submit_wait(&v, (crochet_fn)ret_i8, CROCHET_TYPE_INT8, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_INT8);   ASSERT_EQ(v.u.i8, -128);
    a = crochet_uint8(254);   submit_wait(&v, (crochet_fn)ret_u8, CROCHET_TYPE_UINT8, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_UINT8);  ASSERT_EQ(v.u.u8, 255);
    a = crochet_int16(-32767); submit_wait(&v, (crochet_fn)ret_i16, CROCHET_TYPE_INT16, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_INT16);  ASSERT_EQ(v.u.i16, -32768);
    a = crochet_uint16(65534); submit_wait(&v, (crochet_fn)ret_u16, CROCHET_TYPE_UINT16, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_UINT16); ASSERT_EQ(v.u.u16, 65535);
    a = crochet_int32(INT32_MIN + 1); submit_wait(&v, (crochet_fn)ret_i32, CROCHET_TYPE_INT32, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_INT32);  ASSERT_EQ(v.u.i32, INT32_MIN);
    a = crochet_uint32(UINT32_MAX - 1); submit_wait(&v, (crochet_fn)ret_u32, CROCHET_TYPE_UINT32, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_UINT32); ASSERT_U64_EQ(v.u.u32, UINT32_MAX);
    a = crochet_int64(INT64_MIN + 1); submit_wait(&v, (crochet_fn)ret_i64, CROCHET_TYPE_INT64, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_INT64);  ASSERT_EQ(v.u.i64, INT64_MIN);
    a = crochet_uint64(UINT64_MAX - 1); submit_wait(&v, (crochet_fn)ret_u64, CROCHET_TYPE_UINT64, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_UINT64); ASSERT_U64_EQ(v.u.u64, UINT64_MAX);
    a = crochet_int32(41);    submit_wait(&v, (crochet_fn)ret_i32, CROCHET_TYPE_INT32, &a, 1);
    ASSERT_EQ(v.u.i32, 40);
}

/* Narrow signed arguments arrive sign-extended and narrow unsigned ones zero-extended. */
TEST(narrow_arguments_extend) {
    ASSERT_OK(crochet_setup());
    crochet_value v, a;
    a = crochet_int8(-5);      submit_wait(&v, (crochet_fn)widen_i8, CROCHET_TYPE_INT64, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_INT64); ASSERT_EQ(v.u.i64, -5);
    a = crochet_int8(INT8_MIN); submit_wait(&v, (crochet_fn)widen_i8, CROCHET_TYPE_INT64, &a, 1);
    ASSERT_EQ(v.u.i64, -128);
    a = crochet_uint8(250);    submit_wait(&v, (crochet_fn)widen_u8, CROCHET_TYPE_UINT64, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_UINT64); ASSERT_U64_EQ(v.u.u64, 250);
    a = crochet_int16(-30000); submit_wait(&v, (crochet_fn)widen_i16, CROCHET_TYPE_INT64, &a, 1);
    ASSERT_EQ(v.u.i64, -30000);
    a = crochet_uint16(65000); submit_wait(&v, (crochet_fn)widen_u16, CROCHET_TYPE_UINT64, &a, 1);
    ASSERT_U64_EQ(v.u.u64, 65000);
    a = crochet_int32(-2000000000); submit_wait(&v, (crochet_fn)widen_i32, CROCHET_TYPE_INT64, &a, 1);
    ASSERT_EQ(v.u.i64, -2000000000LL);
    a = crochet_uint32(4000000000u); submit_wait(&v, (crochet_fn)widen_u32, CROCHET_TYPE_UINT64, &a, 1);
    ASSERT_U64_EQ(v.u.u64, 4000000000ULL);
}

/* Narrow return types are read at their own width: a truncated wide value comes back exactly. */
TEST(narrow_returns_truncate) {
    ASSERT_OK(crochet_setup());
    crochet_value v, a;
    a = crochet_int64(-1);     submit_wait(&v, (crochet_fn)narrow_i8, CROCHET_TYPE_INT8, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_INT8); ASSERT_EQ(v.u.i8, -1);
    a = crochet_int64(0x17F);  submit_wait(&v, (crochet_fn)narrow_i8, CROCHET_TYPE_INT8, &a, 1);
    ASSERT_EQ(v.u.i8, 127);
    a = crochet_uint64(0x1FF); submit_wait(&v, (crochet_fn)narrow_u8, CROCHET_TYPE_UINT8, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_UINT8); ASSERT_EQ(v.u.u8, 255);
    a = crochet_int64(-2);     submit_wait(&v, (crochet_fn)narrow_i16, CROCHET_TYPE_INT16, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_INT16); ASSERT_EQ(v.u.i16, -2);
    a = crochet_uint64(0x1FFFF); submit_wait(&v, (crochet_fn)narrow_u16, CROCHET_TYPE_UINT16, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_UINT16); ASSERT_EQ(v.u.u16, 65535);
}

/* Float and double arguments and returns keep their exact values, negative and special ones included. */
TEST(float_and_double) {
    ASSERT_OK(crochet_setup());
    crochet_value v, a;
    a = crochet_float(-1.75f); submit_wait(&v, (crochet_fn)ret_f32, CROCHET_TYPE_FLOAT, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_FLOAT); ASSERT_DBL_EQ(v.u.f32, -3.5f);
    a = crochet_float(1e30f);  submit_wait(&v, (crochet_fn)ret_f32, CROCHET_TYPE_FLOAT, &a, 1);
    ASSERT_DBL_EQ(v.u.f32, 2e30f);
    a = crochet_double(-0.1);  submit_wait(&v, (crochet_fn)ret_f64, CROCHET_TYPE_DOUBLE, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_DOUBLE); ASSERT_DBL_EQ(v.u.f64, -0.2);
    a = crochet_double(1e300); submit_wait(&v, (crochet_fn)ret_f64, CROCHET_TYPE_DOUBLE, &a, 1);
    ASSERT_DBL_EQ(v.u.f64, 2e300);
    a = crochet_double(INFINITY); submit_wait(&v, (crochet_fn)ret_f64, CROCHET_TYPE_DOUBLE, &a, 1);
    ASSERT(isinf(v.u.f64) && v.u.f64 > 0);
    a = crochet_double(NAN);   submit_wait(&v, (crochet_fn)ret_f64, CROCHET_TYPE_DOUBLE, &a, 1);
    ASSERT(isnan(v.u.f64));
}

/* Pointer arguments and returns pass through unchanged. */
TEST(pointer) {
    ASSERT_OK(crochet_setup());
    static char buf[64];
    crochet_value v, a = crochet_pointer(buf);
    submit_wait(&v, (crochet_fn)ret_ptr, CROCHET_TYPE_POINTER, &a, 1);
    ASSERT_EQ(v.type, CROCHET_TYPE_POINTER);
    ASSERT_PTR_EQ(v.u.ptr, buf + 8);
    a = crochet_pointer((void *)(uintptr_t)0xFFFFFFFFFFFFFF00ULL);
    submit_wait(&v, (crochet_fn)ret_ptr, CROCHET_TYPE_POINTER, &a, 1);
    ASSERT_PTR_EQ(v.u.ptr, (void *)(uintptr_t)0xFFFFFFFFFFFFFF08ULL);
    a = crochet_pointer(NULL);
    submit_wait(&v, (crochet_fn)ret_ptr, CROCHET_TYPE_POINTER, &a, 1);
    ASSERT_PTR_EQ(v.u.ptr, (void *)(uintptr_t)8);
}

static atomic_int void_calls;
static atomic_int void_last;
void void_fn(int32_t x) { atomic_store(&void_last, x); atomic_fetch_add(&void_calls, 1); }

/* A void function runs once and its result is OK with type CROCHET_TYPE_VOID. */
TEST(void_return) {
    ASSERT_OK(crochet_setup());
    crochet_value v;
    memset(&v, 0x5A, sizeof v);
    crochet_result *r = NULL;
    ASSERT_OK(CROCHET_SUBMIT(&r, void_fn, CROCHET_TYPE_VOID, crochet_int32(-9)));
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_VOID);
    ASSERT_EQ(atomic_load(&void_calls), 1);
    ASSERT_EQ(atomic_load(&void_last), -9);
    crochet_result_release(r);
}

static atomic_int zero_calls;
int32_t zero_args(void) { atomic_fetch_add(&zero_calls, 1); return 1234; }

/* A zero-argument call works with args == NULL and with the argument-less CROCHET_SUBMIT form. */
TEST(zero_args_null_array) {
    ASSERT_OK(crochet_setup());
    crochet_value v;
    submit_wait(&v, (crochet_fn)zero_args, CROCHET_TYPE_INT32, NULL, 0);
    ASSERT_EQ(v.type, CROCHET_TYPE_INT32);
    ASSERT_EQ(v.u.i32, 1234);
    crochet_result *r = NULL;
    ASSERT_OK(CROCHET_SUBMIT(&r, zero_args, CROCHET_TYPE_INT32));
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.u.i32, 1234);
    crochet_result_release(r);
    ASSERT_EQ(atomic_load(&zero_calls), 2);
}

int64_t sub3(int64_t a, int32_t b, int8_t c) { return a * 10000 + b * 100 + c; }

/* CROCHET_SUBMIT passes trailing constructor calls as the arguments, in order. */
TEST(submit_macro) {
    ASSERT_OK(crochet_setup());
    crochet_result *r = NULL;
    crochet_value v;
    ASSERT_OK(CROCHET_SUBMIT(&r, sub3, CROCHET_TYPE_INT64,
                             crochet_int64(-7), crochet_int32(12), crochet_int8(-3)));
    ASSERT_OK(crochet_wait(r, 10.0, &v));
    ASSERT_EQ(v.u.i64, -7 * 10000 + 12 * 100 - 3);
    crochet_result_release(r);
}

static void expect_mask(crochet_fn fn, void (*fill)(crochet_value *), size_t n) {
    crochet_value args[CROCHET_MAX_ARGS], v;
    fill(args);
    submit_wait(&v, fn, CROCHET_TYPE_UINT32, args, n);
    ASSERT_EQ(v.type, CROCHET_TYPE_UINT32);
    if (v.u.u32 != 0) FAIL("arguments arriving wrong, position mask 0x%08x", v.u.u32);
}

/* 32 arguments cycling through every argument type all arrive in position with their values. */
TEST(mixed_32_args) {
    ASSERT_OK(crochet_setup());
    expect_mask((crochet_fn)mixed32, fill_mixed32, 32);
}

/* 12 doubles interleaved with 10 int32s (more of each than fit in registers) all arrive in position. */
TEST(doubles_and_ints_interleaved) {
    ASSERT_OK(crochet_setup());
    expect_mask((crochet_fn)mixed22, fill_mixed22, 22);
}

/* 32 int64, 32 double, 32 float and 32 uint8 arguments (stack-passed beyond the registers) arrive in position. */
TEST(max_args_each_class) {
    ASSERT_OK(crochet_setup());
    expect_mask((crochet_fn)i64x32, fill_i64x32, 32);
    expect_mask((crochet_fn)f64x32, fill_f64x32, 32);
    expect_mask((crochet_fn)f32x32, fill_f32x32, 32);
    expect_mask((crochet_fn)u8x32, fill_u8x32, 32);
}

static latch gate = LATCH_INIT;
static latch gate_entered = LATCH_INIT;
int32_t block_on_gate(void) {
    latch_open(&gate_entered);
    return latch_wait(&gate, 10.0) ? 1 : 0;
}

/* Argument values are copied at submit: the caller's array is overwritten and freed before the call runs. */
TEST(args_copied_at_submit) {
    ASSERT_OK(crochet_setup());
    crochet_result *blocker = NULL, *r1 = NULL, *r2 = NULL;
    ASSERT_OK(crochet_submit(&blocker, (crochet_fn)block_on_gate, CROCHET_TYPE_INT32, NULL, 0));
    ASSERT(latch_wait(&gate_entered, 10.0));   /* the reactor is now busy */

    crochet_value *args = malloc(32 * sizeof *args);
    ASSERT_NOT_NULL(args);
    fill_mixed32(args);
    ASSERT_OK(crochet_submit(&r1, (crochet_fn)mixed32, CROCHET_TYPE_UINT32, args, 32));
    /* Reuse the same array for a different call, then scribble over it and free it. */
    fill_f64x32(args);
    ASSERT_OK(crochet_submit(&r2, (crochet_fn)f64x32, CROCHET_TYPE_UINT32, args, 32));
    memset(args, 0xA5, 32 * sizeof *args);
    free(args);

    crochet_value v;
    ASSERT_STATUS(crochet_wait(r1, 0, &v), CROCHET_ETIMEDOUT);   /* not run yet */
    latch_open(&gate);
    ASSERT_OK(crochet_wait(blocker, 10.0, &v));
    ASSERT_EQ(v.u.i32, 1);
    ASSERT_OK(crochet_wait(r1, 10.0, &v));
    ASSERT_EQ(v.u.u32, 0);
    ASSERT_OK(crochet_wait(r2, 10.0, &v));
    ASSERT_EQ(v.u.u32, 0);
    crochet_result_release(blocker);
    crochet_result_release(r1);
    crochet_result_release(r2);
}

/* ---- ordering ---- */
struct fifo_state { int64_t next; int64_t errors; int64_t first_bad; };
static struct fifo_state fifo;
int64_t fifo_step(int64_t seq, struct fifo_state *st) {
    if (seq != st->next && st->errors++ == 0) st->first_bad = seq;
    st->next = seq + 1;
    return seq * 3;
}

/* Many submissions from one thread run in submission order, each with its own arguments. */
TEST(fifo_one_thread) {
    ASSERT_OK(crochet_setup());
    enum { N = 10000 };
    crochet_result **rs = calloc(N, sizeof *rs);
    ASSERT_NOT_NULL(rs);
    for (int64_t i = 0; i < N; i++)
        ASSERT_OK(CROCHET_SUBMIT(&rs[i], fifo_step, CROCHET_TYPE_INT64,
                                 crochet_int64(i), crochet_pointer(&fifo)));
    for (int64_t i = 0; i < N; i++) {
        crochet_value v;
        ASSERT_OK(crochet_wait(rs[i], 10.0, &v));
        ASSERT_EQ(v.u.i64, i * 3);
        crochet_result_release(rs[i]);
    }
    free(rs);
    if (fifo.errors) FAIL("%lld calls out of order, first at seq %lld", (long long)fifo.errors,
                          (long long)fifo.first_bad);
    ASSERT_EQ(fifo.next, N);
}

/* ---- concurrency ---- */
enum { THREADS = 8, PER_THREAD = 2000 };
static int64_t per_thread_next[THREADS];   /* touched only on the reactor thread */
static atomic_int order_errors;
static atomic_int total_calls;
int64_t concurrent_step(int32_t tid, int64_t seq) {
    if (per_thread_next[tid] != seq) atomic_fetch_add(&order_errors, 1);
    per_thread_next[tid] = seq + 1;
    atomic_fetch_add(&total_calls, 1);
    return ((int64_t)tid << 32) | seq;
}

static latch start_gate = LATCH_INIT;
static void *submitter(void *p) {
    int32_t tid = (int32_t)(intptr_t)p;
    crochet_result **rs = calloc(PER_THREAD, sizeof *rs);
    ASSERT_NOT_NULL(rs);
    ASSERT(latch_wait(&start_gate, 10.0));
    for (int64_t i = 0; i < PER_THREAD; i++)
        ASSERT_OK(CROCHET_SUBMIT(&rs[i], concurrent_step, CROCHET_TYPE_INT64,
                                 crochet_int32(tid), crochet_int64(i)));
    for (int64_t i = 0; i < PER_THREAD; i++) {
        crochet_value v;
        ASSERT_OK(crochet_wait(rs[i], 10.0, &v));
        ASSERT_EQ(v.u.i64, ((int64_t)tid << 32) | i);
        crochet_result_release(rs[i]);
    }
    free(rs);
    return NULL;
}

/* Submissions from many threads at once all run exactly once, each thread's in its own order. */
TEST(many_threads_submit) {
    ASSERT_OK(crochet_setup());
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, submitter, (void *)(intptr_t)i), 0);
    latch_open(&start_gate);
    for (int i = 0; i < THREADS; i++) ASSERT_EQ(pthread_join(th[i], NULL), 0);
    ASSERT_EQ(atomic_load(&total_calls), THREADS * PER_THREAD);
    ASSERT_EQ(atomic_load(&order_errors), 0);
    for (int i = 0; i < THREADS; i++) ASSERT_EQ(per_thread_next[i], PER_THREAD);
}

/* ---- thread identity ---- */
int32_t in_reactor(void) { return crochet_in_reactor_thread(); }
static void *off_thread_in_reactor(void *p) { *(int *)p = crochet_in_reactor_thread(); return NULL; }

/* crochet_in_reactor_thread is 1 inside a submitted call and 0 on the caller's and other threads. */
TEST(in_reactor_thread_inside_call) {
    ASSERT_OK(crochet_setup());
    crochet_value v;
    submit_wait(&v, (crochet_fn)in_reactor, CROCHET_TYPE_INT32, NULL, 0);
    ASSERT_EQ(v.u.i32, 1);
    ASSERT_EQ(crochet_in_reactor_thread(), 0);
    int other = -1;
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, off_thread_in_reactor, &other), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_EQ(other, 0);
}

/* ---- submitting from the reactor thread ---- */
int64_t inner_fn(int64_t x) { return x + crochet_in_reactor_thread(); }
crochet_result *outer_fn(int64_t x) {
    crochet_result *r = NULL;
    if (CROCHET_SUBMIT(&r, inner_fn, CROCHET_TYPE_INT64, crochet_int64(x)) != CROCHET_OK) return NULL;
    return r;
}

/* A call submitted from inside a submitted call runs later on the reactor and its result can be waited on elsewhere. */
TEST(submit_from_reactor_thread) {
    ASSERT_OK(crochet_setup());
    crochet_value v;
    submit_wait(&v, (crochet_fn)outer_fn, CROCHET_TYPE_POINTER, (crochet_value[]){ crochet_int64(99) }, 1);
    crochet_result *inner = v.u.ptr;
    ASSERT_NOT_NULL(inner);
    ASSERT_OK(crochet_wait(inner, 10.0, &v));
    ASSERT_EQ(v.type, CROCHET_TYPE_INT64);
    ASSERT_EQ(v.u.i64, 100);
    crochet_result_release(inner);
}

/* ---- ordering with crochet_call_from_thread ---- */
static int64_t mixed_log[2000];   /* reactor thread only */
static int mixed_len;
void record_submit(int64_t seq) { if (mixed_len < 2000) mixed_log[mixed_len++] = seq; }
static void record_cb(void *ctx) { if (mixed_len < 2000) mixed_log[mixed_len++] = (int64_t)(intptr_t)ctx; }
static void nothing(void *ctx) { (void)ctx; }

/* Submissions and crochet_call_from_thread calls from one thread run in the order they were made. */
TEST(fifo_with_call_from_thread) {
    ASSERT_OK(crochet_setup());
    crochet_result *rs[1000];
    int nr = 0;
    for (int64_t i = 0; i < 2000; i++) {
        if (i % 2 == 0) ASSERT_OK(CROCHET_SUBMIT(&rs[nr++], record_submit, CROCHET_TYPE_VOID, crochet_int64(i)));
        else ASSERT_OK(crochet_call_from_thread(record_cb, (void *)(intptr_t)i, NULL));
    }
    run_on_reactor(nothing, NULL);
    ASSERT_EQ(mixed_len, 2000);
    for (int i = 0; i < 2000; i++) ASSERT_EQ(mixed_log[i], i);
    for (int i = 0; i < nr; i++) {
        ASSERT_OK(crochet_wait(rs[i], 10.0, NULL));
        crochet_result_release(rs[i]);
    }
}

/* ---- values built by hand ---- */
static crochet_value dirty(crochet_type t) {
    crochet_value v;
    memset(&v, 0xFF, sizeof v);
    v.type = t;
    return v;
}

/* Arguments built without the constructors, with junk in the union's unused bytes, arrive with only their own bytes. */
TEST(hand_built_values_with_junk) {
    ASSERT_OK(crochet_setup());
    crochet_value v, a;
    a = dirty(CROCHET_TYPE_INT8);   a.u.i8 = 5;      submit_wait(&v, (crochet_fn)widen_i8, CROCHET_TYPE_INT64, &a, 1);
    ASSERT_EQ(v.u.i64, 5);
    a = dirty(CROCHET_TYPE_UINT8);  a.u.u8 = 7;      submit_wait(&v, (crochet_fn)widen_u8, CROCHET_TYPE_UINT64, &a, 1);
    ASSERT_U64_EQ(v.u.u64, 7);
    a = dirty(CROCHET_TYPE_INT16);  a.u.i16 = 300;   submit_wait(&v, (crochet_fn)widen_i16, CROCHET_TYPE_INT64, &a, 1);
    ASSERT_EQ(v.u.i64, 300);
    a = dirty(CROCHET_TYPE_UINT16); a.u.u16 = 301;   submit_wait(&v, (crochet_fn)widen_u16, CROCHET_TYPE_UINT64, &a, 1);
    ASSERT_U64_EQ(v.u.u64, 301);
    a = dirty(CROCHET_TYPE_INT32);  a.u.i32 = 70000; submit_wait(&v, (crochet_fn)widen_i32, CROCHET_TYPE_INT64, &a, 1);
    ASSERT_EQ(v.u.i64, 70000);
    a = dirty(CROCHET_TYPE_UINT32); a.u.u32 = 70001; submit_wait(&v, (crochet_fn)widen_u32, CROCHET_TYPE_UINT64, &a, 1);
    ASSERT_U64_EQ(v.u.u64, 70001);
    a = dirty(CROCHET_TYPE_FLOAT);  a.u.f32 = 1.25f; submit_wait(&v, (crochet_fn)ret_f32, CROCHET_TYPE_FLOAT, &a, 1);
    ASSERT_DBL_EQ(v.u.f32, 2.5f);
}
