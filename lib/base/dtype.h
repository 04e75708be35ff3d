/* dtype.h - the tensor element types of safetensors files and fp32 conversion. */
#ifndef MHV_DTYPE_H
#define MHV_DTYPE_H

#include <stddef.h>
#include <stdint.h>

/* Every dtype the safetensors format defines, so files holding ones we cannot compute with
 * (an I64 position_ids buffer, say) still parse; only F32/F16/BF16 are usable as weights. */
typedef enum {
    MHV_DT_F32 = 0,
    MHV_DT_F16,
    MHV_DT_BF16,
    MHV_DT_F64,
    MHV_DT_I64,
    MHV_DT_I32,
    MHV_DT_I16,
    MHV_DT_I8,
    MHV_DT_U64,
    MHV_DT_U32,
    MHV_DT_U16,
    MHV_DT_U8,
    MHV_DT_BOOL,
    MHV_DT_F8_E4M3,
    MHV_DT_F8_E5M2,
    MHV_DT_COUNT
} mhv_dtype;

/* Parses a safetensors dtype name ("F32", "BF16" ...); returns -1 if unknown. */
int mhv_dtype_from_name(const char *name);
const char *mhv_dtype_name(mhv_dtype dt);
size_t mhv_dtype_size(mhv_dtype dt);
/* True for the dtypes the model code can consume (F32, F16, BF16). */
int mhv_dtype_is_float_weight(mhv_dtype dt);

float mhv_f16_to_f32(uint16_t h);
float mhv_bf16_to_f32(uint16_t b);
/* Round-to-nearest-even conversions, used by tests and fixture writers. */
uint16_t mhv_f32_to_f16(float f);
uint16_t mhv_f32_to_bf16(float f);

/* dst[i] = src[i] converted to fp32, src of type dt (F32, F16 or BF16; unaligned allowed). */
void mhv_dtype_to_f32(float *dst, const void *src, mhv_dtype dt, size_t n);

#endif
