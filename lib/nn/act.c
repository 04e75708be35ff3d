#include "nn/act.h"

#include <string.h>

const char *mhv_act_name(mhv_act act)
{
    switch (act) {
    case MHV_ACT_GELU: return "gelu";
    case MHV_ACT_GELU_NEW: return "gelu_new";
    case MHV_ACT_RELU: return "relu";
    case MHV_ACT_SILU: return "silu";
    case MHV_ACT_QUICK_GELU: return "quick_gelu";
    case MHV_ACT_RELU2: return "relu2";
    }
    return "?";
}

int mhv_act_from_name(const char *name)
{
    static const struct { const char *s; mhv_act a; } acts[] = {
        {"gelu", MHV_ACT_GELU},       {"gelu_new", MHV_ACT_GELU_NEW},
        {"gelu_pytorch_tanh", MHV_ACT_GELU_NEW}, {"relu", MHV_ACT_RELU},
        {"silu", MHV_ACT_SILU},       {"swish", MHV_ACT_SILU},
        {"quick_gelu", MHV_ACT_QUICK_GELU}, {"relu2", MHV_ACT_RELU2},
        /* transformers' erf GELU written out in Python (SEW-D's default): GELU's function */
        {"gelu_python", MHV_ACT_GELU},
    };
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (strcmp(name, acts[i].s) == 0)
            return (int)acts[i].a;
    return -1;
}
