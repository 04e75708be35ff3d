/* act.h - the activation functions of the feed-forward layers. */
#ifndef MHV_ACT_H
#define MHV_ACT_H

typedef enum {
    MHV_ACT_GELU = 0,   /* exact (erf) GELU */
    MHV_ACT_GELU_NEW,   /* tanh approximation: gelu_new, gelu_pytorch_tanh */
    MHV_ACT_RELU,
    MHV_ACT_SILU,       /* silu, swish */
    MHV_ACT_QUICK_GELU, /* quick_gelu: x * sigmoid(1.702 x) (CLIP) */
    MHV_ACT_RELU2       /* relu2: relu(x)^2 (Nemotron) */
} mhv_act;

/* config.json's name of act: "gelu", "gelu_new", "relu", "silu". */
const char *mhv_act_name(mhv_act act);
/* The activation a config.json name ("gelu", "gelu_pytorch_tanh", "swish" ...) denotes;
 * -1 for a name mhaviz does not implement. */
int mhv_act_from_name(const char *name);

#endif
