/* dtype.c - safetensors dtype names and sizes, exact fp16/bf16 <-> fp32 conversion. */
#include "base/dtype.h"

#include <math.h>
#include <string.h>

/* safetensors data is little-endian and mhv_dtype_to_f32 reinterprets it in place. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "mhaviz assumes a little-endian host");
_Static_assert(sizeof(float) == 4, "float must be IEEE binary32");

static const struct {
    const char *name;
    size_t size;
} dtype_info[MHV_DT_COUNT] = {
    [MHV_DT_F32] = {"F32", 4},         [MHV_DT_F16] = {"F16", 2},
    [MHV_DT_BF16] = {"BF16", 2},       [MHV_DT_F64] = {"F64", 8},
    [MHV_DT_I64] = {"I64", 8},         [MHV_DT_I32] = {"I32", 4},
    [MHV_DT_I16] = {"I16", 2},         [MHV_DT_I8] = {"I8", 1},
    [MHV_DT_U64] = {"U64", 8},         [MHV_DT_U32] = {"U32", 4},
    [MHV_DT_U16] = {"U16", 2},         [MHV_DT_U8] = {"U8", 1},
    [MHV_DT_BOOL] = {"BOOL", 1},       [MHV_DT_F8_E4M3] = {"F8_E4M3", 1},
    [MHV_DT_F8_E5M2] = {"F8_E5M2", 1},
};

int mhv_dtype_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < MHV_DT_COUNT; i++)
        if (strcmp(name, dtype_info[i].name) == 0)
            return i;
    return -1;
}

const char *mhv_dtype_name(mhv_dtype dt)
{
    if ((unsigned)dt >= MHV_DT_COUNT)
        return "?";
    return dtype_info[dt].name;
}

size_t mhv_dtype_size(mhv_dtype dt)
{
    if ((unsigned)dt >= MHV_DT_COUNT)
        return 0;
    return dtype_info[dt].size;
}

int mhv_dtype_is_float_weight(mhv_dtype dt)
{
    return dt == MHV_DT_F32 || dt == MHV_DT_F16 || dt == MHV_DT_BF16;
}

static float bits_to_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t f32_to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

float mhv_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;

    if (exp == 0x1f) /* inf, or nan with its payload kept (the quiet bit lands on bit 22) */
        return bits_to_f32(sign | 0x7f800000u | (man << 13));
    if (exp != 0) /* rebias 15 -> 127 */
        return bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
    if (man == 0)
        return bits_to_f32(sign);
    /* Subnormal: man * 2^-24 becomes a normal fp32; p is the position of the leading 1. */
    uint32_t p = 31u - (uint32_t)__builtin_clz(man);
    return bits_to_f32(sign | ((p + 103u) << 23) | ((man << (23u - p)) & 0x7fffffu));
}

float mhv_bf16_to_f32(uint16_t b)
{
    return bits_to_f32((uint32_t)b << 16);
}

uint16_t mhv_f32_to_f16(float f)
{
    uint32_t x = f32_to_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t a = x & 0x7fffffffu;

    if (a > 0x7f800000u) /* nan: keep the top payload bits and force quiet so it stays nan */
        return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
    if (a >= 0x477ff000u) /* >= 65520, halfway between 65504 and 2^16: ties go to even (inf) */
        return (uint16_t)(sign | 0x7c00u);
    if (a >= 0x38800000u) { /* >= 2^-14: normal result */
        uint32_t h = ((((a >> 23) - 112u) << 10) | ((a >> 13) & 0x3ffu));
        uint32_t rest = a & 0x1fffu;
        /* a carry out of the mantissa correctly bumps the exponent */
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
            h++;
        return (uint16_t)(sign | h);
    }
    if (a < 0x33000000u) /* below half the smallest subnormal (2^-25): zero */
        return sign;
    /* Subnormal result in units of 2^-24; may round up into the smallest normal, which the
     * encoding handles because 0x400 is exactly that bit pattern. */
    uint32_t m = (a & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - (a >> 23); /* 14..24 */
    uint32_t h = m >> shift;
    uint32_t rest = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (h & 1u)))
        h++;
    return (uint16_t)(sign | h);
}

uint16_t mhv_f32_to_bf16(float f)
{
    uint32_t x = f32_to_bits(f);
    /* truncating a nan could clear every payload bit and yield inf; set the quiet bit */
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x0040u);
    /* RNE by bias: finite values at the top round to inf exactly as IEEE requires */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

void mhv_dtype_to_f32(float *dst, const void *src, mhv_dtype dt, size_t n)
{
    const uint8_t *s = src;
    switch (dt) {
    case MHV_DT_F32:
        if (n)
            memcpy(dst, src, n * sizeof(float));
        return;
    case MHV_DT_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = mhv_f16_to_f32(h);
        }
        return;
    case MHV_DT_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t b;
            memcpy(&b, s + 2 * i, 2);
            dst[i] = mhv_bf16_to_f32(b);
        }
        return;
    default:
        /* A caller bug (the model code checks mhv_dtype_is_float_weight first); nan makes it
         * visible in any output instead of silently plausible numbers. */
        for (size_t i = 0; i < n; i++)
            dst[i] = NAN;
        return;
    }
}
