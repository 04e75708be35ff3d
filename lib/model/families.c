/* families.c - the model families mhaviz opens, by config.json model_type. Adding a family
 * is a new file in this folder and a line here. */
#include <ctype.h>
#include <string.h>

#include "model/family.h"

static const mhv_family *const families[] = {
    &mhv_family_bert,
    &mhv_family_distilbert,
    &mhv_family_albert,
    &mhv_family_deberta,
    &mhv_family_mpnet,
    &mhv_family_modernbert,
    &mhv_family_vit,
    &mhv_family_clip,
    &mhv_family_clip_text,
    &mhv_family_beit,
    &mhv_family_dinov3,
    &mhv_family_aimv2,
    &mhv_family_gpt2,
    &mhv_family_llama,
    &mhv_family_gemma,
    &mhv_family_gpt_neox,
    &mhv_family_gptj,
    &mhv_family_opt,
    &mhv_family_falcon,
    &mhv_family_starcoder2,
    &mhv_family_gpt_oss,
    &mhv_family_olmo,
    &mhv_family_stablelm,
    &mhv_family_cohere,
    &mhv_family_olmoe,
    &mhv_family_glm,
    &mhv_family_nemotron,
    &mhv_family_exaone4,
    &mhv_family_phimoe,
    &mhv_family_persimmon,
    &mhv_family_jetmoe,
    &mhv_family_granitemoe,
    &mhv_family_glm4_moe,
    &mhv_family_phi,
    &mhv_family_bloom,
    &mhv_family_gpt_neo,
    &mhv_family_gpt_bigcode,
    &mhv_family_t5,
    &mhv_family_bart,
    &mhv_family_xglm,
    &mhv_family_mpt,
    &mhv_family_whisper,
    &mhv_family_wav2vec2,
    &mhv_family_roformer,
    &mhv_family_mobilebert,
    &mhv_family_squeezebert,
    &mhv_family_esm,
    &mhv_family_llava,
    &mhv_family_paligemma,
    &mhv_family_qwen2_vl,
    &mhv_family_qwen2_vl_vision,
    &mhv_family_ved,
    &mhv_family_swin,
};

#define N_FAMILIES (sizeof families / sizeof families[0])

const mhv_family *mhv_family_find(const char *model_type, const char **arch)
{
    for (size_t f = 0; f < N_FAMILIES; f++)
        for (const char *const *t = families[f]->model_types; *t; t++)
            if (strcmp(*t, model_type) == 0) {
                *arch = *t;
                return families[f];
            }
    return NULL;
}

const char *mhv_family_type(int i)
{
    for (size_t f = 0; f < N_FAMILIES; f++)
        for (const char *const *t = families[f]->model_types; *t; t++)
            if (i-- == 0)
                return *t;
    return NULL;
}

/* a and b equal once case, '-' and '_' are ignored */
static int loosely_equal(const char *a, const char *b)
{
    for (;;) {
        while (*a == '-' || *a == '_')
            a++;
        while (*b == '-' || *b == '_')
            b++;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
        if (!*a)
            return 1;
        a++, b++;
    }
}

const char *mhv_family_near(const char *model_type)
{
    const char *t;
    for (int i = 0; (t = mhv_family_type(i)); i++)
        if (loosely_equal(t, model_type))
            return t;
    return NULL;
}

int mhv_family_packs_always(const mhv_config *c)
{
    (void)c;
    return MHV_PACKS_ROWS;
}

int mhv_family_packs_any_rows(const mhv_config *c)
{
    (void)c;
    return MHV_PACKS_ANY_ROWS;
}

int mhv_family_caches_always(const mhv_config *c)
{
    (void)c;
    return 1;
}
