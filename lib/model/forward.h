/* forward.h - the forward pass of any model family, capturing the attention probabilities
 * of selected heads. */
#ifndef MHV_FORWARD_H
#define MHV_FORWARD_H

#include <stdint.h>

#include "base/attn.h"
#include "base/heads.h"
#include "base/status.h"
#include "model/generate.h"
#include "model/model.h"

typedef struct mhv_nn_memo_s mhv_nn_memo; /* nn/blocks.h */

/* How forward passes run: mhv_forward uses one thread; a context made once per run keeps a
 * thread pool and the activation buffers across sentences. Results are the same bytes
 * whatever the thread count. */
typedef struct {
    int threads;        /* threads in all, the caller included; <= 0: online CPUs */
    const char *kernel; /* kernel table by name (mhv_kernels_select); NULL: the widest */
    int value_norms;    /* MHV_VNORM_V / _VO: also the kept heads' value norms (mhv_attn
                         * vnorm), for attention weighted by them; 0: none */
    int pack_tokens;    /* tokens one packed pass holds (mhv_forward_run_pack); 0: the
                         * default, MHV_FORWARD_PACK_TOKENS; < 0: one sentence at a time */
} mhv_forward_params;

/* Sentences packed into one pass hold up to this many tokens by default: enough rows for
 * the linear layers to run near their peak, few enough for the activations of a large
 * model (a 7B's: about 100 MB) to stay small. */
#define MHV_FORWARD_PACK_TOKENS 512

mhv_forward_params mhv_forward_default_params(void);

typedef struct mhv_forward_ctx mhv_forward_ctx;

/* Starts the pool and picks the kernels (p->kernel). */
mhv_status mhv_forward_ctx_new(const mhv_forward_params *p, mhv_forward_ctx **out,
                               mhv_error *err);
void mhv_forward_ctx_free(mhv_forward_ctx *c);
int mhv_forward_ctx_threads(const mhv_forward_ctx *c);
/* The kernel table in use: "scalar", "avx2" or "avx512". */
const char *mhv_forward_ctx_kernel(const mhv_forward_ctx *c);

/* Tokens with global attention in the passes c runs from now on, as transformers'
 * global_attention_mask (Longformer; LED's encoder: positions of the source): the positions
 * pos(count), ascending and distinct (copied); count 0: none, the default. A pass then
 * refuses (MHV_EUSAGE) a model without global attention (mhv_config.global_attn) and a
 * sequence that does not reach the last position; value norms with them are not supported
 * (MHV_EUNSUPPORTED); and c packs no sentences (mhv_forward_pack_tokens 0). */
mhv_status mhv_forward_ctx_global(mhv_forward_ctx *c, const int *pos, int count,
                                  mhv_error *err);

/* Runs the model on ids(n) and fills out (caller frees with mhv_attn_free). Layers above the
 * last selected one are not computed. Ids must be < vocab size and n <= max positions
 * (MHV_EUSAGE otherwise, naming the limit). */
mhv_status mhv_forward_run(mhv_forward_ctx *c, const mhv_model *m, const int32_t *ids, int n,
                           const mhv_heads *sel, mhv_attn *out, mhv_error *err);
/* mhv_forward_run for a sentence pair: type_ids(n) are the token types the tokenizer gave
 * (mhv_tok_encode_pair); each must be below the model's type_vocab_size. Models without
 * token type embeddings refuse types other than 0 (MHV_EUSAGE). */
mhv_status mhv_forward_run_types(mhv_forward_ctx *c, const mhv_model *m, const int32_t *ids,
                                 const int32_t *type_ids, int n, const mhv_heads *sel,
                                 mhv_attn *out, mhv_error *err);
/* What a run keeps beyond the head selection: some query rows only, and the maps layer by
 * layer instead of all at once. */
typedef struct {
    const int *rows;    /* (nrows,) query positions kept, ascending, each < n; NULL: every
                         * row (every row is still computed: later layers need them) */
    int nrows;
    /* Streaming: called once per layer with a selected head, layer holding that layer's
     * maps (count heads, mhv_attn_nrows x n each), valid only during the call. An error
     * stops the pass and is returned. NULL: every map is kept in out. */
    mhv_status (*sink)(void *ctx, const mhv_attn *layer, mhv_error *err);
    void *sink_ctx;
    /* Streaming by head, instead of sink (finer: memory holds one map per thread): called
     * for each selected head as soon as its map w (mhv_attn_nrows x n: rows as selected)
     * is done, on the pool's threads, concurrently and in any order; w is valid only during
     * the call. The first error stops the pass and is returned. Value norms are not given. */
    mhv_status (*head_sink)(void *ctx, int layer, int head, const float *w, int rows, int n,
                            mhv_error *err);
    /* Vision models: the image as (num_channels, image_h, image_w) preprocessed pixels
     * (image_h, image_w 0: the model's image_size); n is the tokens of its grid
     * (mhv_model_image_grid, asked with interpolate_pos; ids are NULL). */
    const float *pixels;
    int image_h, image_w;
    int interpolate_pos;    /* transformers' interpolate_pos_encoding=True (model.h) */
    /* Vision models with an attention-pooling head (SigLIP's MAP head, mhv_model pool_q):
     * (num_heads, n) its probe's attention over the final tokens, per head of the pooling
     * attention; every layer is then run. NULL: not asked. */
    float *pool_attn;
    /* Speech encoders (cfg.speech: wav2vec2, HuBERT): the waveform as the feature extractor
     * gives it (media/w2vfeat.h), audio_samples long; n is its frames
     * (mhv_config_speech_frames; ids are NULL). mhv_forward_estimate reads audio_samples. */
    const float *audio;
    long audio_samples;
    /* LLaVA (cfg.image_in_text): ids and the image (pixels, image_h, image_w above) both;
     * with image_sel, the vision tower's heads it selects (of the tower's layers and heads:
     * mhv_forward_image_tower) into image_out (mhv_attn_free), maps of its tokens. */
    const mhv_heads *image_sel;
    mhv_attn *image_out;
} mhv_forward_opts;

/* mhv_forward_run_types under opts (NULL: all rows, no sink). With a sink, out is left empty
 * (and may be NULL). */
mhv_status mhv_forward_run_opts(mhv_forward_ctx *c, const mhv_model *m, const int32_t *ids,
                                const int32_t *type_ids, int n, const mhv_heads *sel,
                                const mhv_forward_opts *opts, mhv_attn *out, mhv_error *err);

/* ---- several sentences at once ---- */

/* One sentence of mhv_forward_run_pack: the ids, token types (or NULL) and kept rows (or
 * NULL) of mhv_forward_run_opts. */
typedef struct {
    const int32_t *ids, *type_ids;
    int n;
    const int *rows;
    int nrows;
} mhv_forward_item;

/* Tokens one pass of mhv_forward_run_pack may hold for m: consecutive sentences adding up to
 * at most this many run together; 0 when m runs one sentence at a time (a family that does
 * not pack, packing turned off, or kernels whose rows depend on the row count). */
int mhv_forward_pack_tokens(const mhv_forward_ctx *c, const mhv_model *m);

/* mhv_forward_run_opts (without sinks) over items(count), in order, as if one at a time:
 * outs[i] gets sentence i's maps, the same bytes whatever the packing and thread count. The
 * sentences run in passes of consecutive ones within mhv_forward_pack_tokens whose rows the
 * kernels compute as alone (mhv_nn_packs_rows), the others one by one. On failure, outs[0 .. *done) hold the
 * sentences before the one that failed (the caller frees them), *done is its index and the
 * error is its own, as a loop over mhv_forward_run_opts would leave them; on success *done
 * is count. */
mhv_status mhv_forward_run_pack(mhv_forward_ctx *c, const mhv_model *m,
                                const mhv_forward_item *items, int count, const mhv_heads *sel,
                                mhv_attn *outs, int *done, mhv_error *err);

/* The memory a run of n tokens under opts (NULL: all rows, no sink) would take, in bytes,
 * found without running it: the checkpoint files mapped (all of them resident in the worst
 * case), the activations (the family's buffers, attention scratch, score bias maps), and
 * the attention maps held at once (every selected head's; the largest layer's with a sink;
 * one per thread with a head_sink). */
typedef struct {
    uint64_t weights, activations, maps;
} mhv_forward_mem;

mhv_status mhv_forward_estimate(mhv_forward_ctx *c, const mhv_model *m, int n,
                                const mhv_heads *sel, const mhv_forward_opts *opts,
                                mhv_forward_mem *out, mhv_error *err);
/* The activation memory c holds now (grown by the largest pass so far), in bytes. */
uint64_t mhv_forward_ctx_bytes(const mhv_forward_ctx *c);

/* mhv_forward_run on one thread with the widest kernels. */
mhv_status mhv_forward(const mhv_model *m, const int32_t *ids, int n, const mhv_heads *sel,
                       mhv_attn *out, mhv_error *err);

/* logits(n, vocab): every layer, the final norm and the LM head (tied or not) over ids(n).
 * MHV_EUNSUPPORTED for an encoder or a base model saved without its LM head; MHV_EUSAGE
 * for bad ids or too many tokens. */
mhv_status mhv_forward_logits(mhv_forward_ctx *c, const mhv_model *m, const int32_t *ids,
                              int n, float *logits, mhv_error *err);

/* logits(n, vocab) of a model that reads token ids and an image (cfg.image_in_text: LLaVA),
 * as mhv_forward_logits, the image as mhv_forward_opts's pixels, image_h, image_w. */
mhv_status mhv_forward_logits_image(mhv_forward_ctx *c, const mhv_model *m, const int32_t *ids,
                                    int n, const float *pixels, int image_h, int image_w,
                                    float *logits, mhv_error *err);
/* The same with the tokens' types (PaliGemma's prefix 0 and suffix 1), or NULL. */
mhv_status mhv_forward_logits_image_types(mhv_forward_ctx *c, const mhv_model *m,
                                          const int32_t *ids, const int32_t *type_ids, int n,
                                          const float *pixels, int image_h, int image_w,
                                          float *logits, mhv_error *err);
/* logits(labels) of an image classifier (SwinForImageClassification: cfg.swin_labels) over
 * the image pixels (num_channels, image_h, image_w) as preprocessed: every layer, the final
 * norm, the mean over the tokens and the classifier. MHV_EUNSUPPORTED for a model without
 * one. */
mhv_status mhv_forward_image_logits(mhv_forward_ctx *c, const mhv_model *m, const float *pixels,
                                    int image_h, int image_w, float *logits, mhv_error *err);
/* The vision tower of a model that reads ids and an image (LLaVA), NULL for others: its
 * cfg's layers and heads are those of mhv_forward_opts.image_sel; mhv_model_image_grid(tower,
 * ...) its tokens. */
const mhv_model *mhv_forward_image_tower(const mhv_model *m);

/* ---- encoder-decoder models (cfg.enc_dec: T5, BART, Marian) ---- */

/* The encoder over src(ns) and the decoder over tgt(nt) (the decoder's input: its start
 * token, then the target tokens: teacher forcing); sel from mhv_heads_parse_seq2seq; out as
 * mhv_attn_alloc_seq2seq lays it out (caller frees with mhv_attn_free). Layers above the last
 * selected head of each stack are not computed (the whole encoder runs when a decoder or
 * cross head is selected). MHV_EUNSUPPORTED for a model that is not an encoder-decoder;
 * MHV_EUSAGE for bad ids. */
mhv_status mhv_forward_run_seq2seq(mhv_forward_ctx *c, const mhv_model *m, const int32_t *src,
                                   int ns, const int32_t *tgt, int nt, const mhv_heads *sel,
                                   mhv_attn *out, mhv_error *err);
/* The memory mhv_forward_run_seq2seq over ns source and nt target tokens would take
 * (mhv_forward_estimate's three parts): the checkpoint files, the activations of both
 * stacks (and, with `generate`, the logits of greedy decoding up to nt tokens: nt x
 * dec_vocab), and the maps of every selected head of the three stacks (encoder ns x ns,
 * decoder nt x nt, cross nt x ns) with their value norms. */
mhv_status mhv_forward_estimate_seq2seq(mhv_forward_ctx *c, const mhv_model *m, int ns, int nt,
                                        const mhv_heads *sel, int generate,
                                        mhv_forward_mem *out, mhv_error *err);
/* logits(nt, dec_vocab) of the LM head over the decoder's every position. */
mhv_status mhv_forward_seq2seq_logits(mhv_forward_ctx *c, const mhv_model *m,
                                      const int32_t *src, int ns, const int32_t *tgt, int nt,
                                      float *logits, mhv_error *err);
/* The logits of the token after tgt(nt), the last row of mhv_forward_seq2seq_logits's (the
 * same bytes), for a generation loop: *next points at them inside logits, which has room
 * for (nt, dec_vocab) floats. memo (NULL: none; mhv_nn_memo_free when done) keeps the
 * encoder's output and its cross-attention keys and values for the next calls over the same
 * source, so they are computed once. feats: an audio model's features (as
 * mhv_forward_seq2seq_logits_audio; src NULL), else NULL. */
mhv_status mhv_forward_seq2seq_next(mhv_forward_ctx *c, const mhv_model *m, const int32_t *src,
                                    int ns, const float *feats, const int32_t *tgt, int nt,
                                    mhv_nn_memo *memo, float *logits, const float **next,
                                    mhv_error *err);
/* Greedy decoding: out starts with the decoder start token, then up to max_new tokens, each
 * the first highest logit, stopping after the end token (eos_token_id); *n_out counts them
 * all (so out needs max_new + 1 slots). */
mhv_status mhv_forward_generate(mhv_forward_ctx *c, const mhv_model *m, const int32_t *src,
                                int ns, int max_new, int32_t *out, int *n_out, mhv_error *err);
/* The same from decoder token `start` instead of decoder_start_token_id (mBART's target
 * language code). */
mhv_status mhv_forward_generate_from(mhv_forward_ctx *c, const mhv_model *m,
                                     const int32_t *src, int ns, int32_t start, int max_new,
                                     int32_t *out, int *n_out, mhv_error *err);
/* The same from the decoder tokens prefix(np) (np >= 1), the ones after the first counted
 * among the max_new (HF's forced_bos_token_id: NLLB's target language code after
 * decoder_start_token_id). */
mhv_status mhv_forward_generate_prefix(mhv_forward_ctx *c, const mhv_model *m,
                                       const int32_t *src, int ns, const int32_t *prefix,
                                       int np, int max_new, int32_t *out, int *n_out,
                                       mhv_error *err);

/* transformers' generate() on src(ns) under g (model/generate.h: greedy or beam search with
 * its logits processors), the decoder's input starting as prompt(np) (its start token);
 * *out (caller frees) the prompt and the generated tokens. The encoder and its
 * cross-attention keys and values run once; each step runs the decoder's new position over
 * each beam's key/value cache (mhv_forward_kv_next; the whole target where the family
 * cannot: positions counted over the whole target's pads, as M2M100's).
 * The source ids count for the encoder_* settings. */
mhv_status mhv_forward_generate_with(mhv_forward_ctx *c, const mhv_model *m,
                                     const int32_t *src, int ns, const int32_t *prompt, int np,
                                     const mhv_gen_config *g, int32_t **out, int *n_out,
                                     mhv_error *err);
/* The same for an audio encoder-decoder (Whisper): the encoder reads feats (as
 * mhv_forward_seq2seq_logits_audio); no encoder ids, so the encoder_* settings are refused.
 * g's begin_index and suppress lists are the caller's to set as its generate() does. */
mhv_status mhv_forward_generate_audio(mhv_forward_ctx *c, const mhv_model *m,
                                      const float *feats, const int32_t *prompt, int np,
                                      const mhv_gen_config *g, int32_t **out, int *n_out,
                                      mhv_error *err);
/* A causal LM's logits of the token after ids(n), as mhv_forward_seq2seq_next gives an
 * encoder-decoder's: the last row of mhv_forward_logits's (the same bytes), the LM head run
 * over that position alone when the kernels allow (mhv_nn_logit_rows); *next points at
 * them inside logits, which has room for (n, vocab) floats. */
mhv_status mhv_forward_decoder_next(mhv_forward_ctx *c, const mhv_model *m, const int32_t *ids,
                                    int n, float *logits, const float **next, mhv_error *err);
/* transformers' generate() for a decoder-only model (a causal LM with its LM head:
 * GPT-2, Llama, Qwen, Gemma ...): prompt(np) is its input ids (the tokenizer's, special
 * tokens included), g's search and processors run over the whole sequence (the prompt's
 * tokens count for the repetition and n-gram settings, and, as generate() passes them, for
 * the encoder_* ones); *out (caller frees) the prompt and the generated tokens. Each step
 * runs its new position over each beam's key/value cache (mhv_forward_kv_next; the whole
 * sequence where a model cannot) and the LM head over the last position only. MHV_EUNSUPPORTED for an encoder, an encoder-decoder or a model without LM head;
 * MHV_EUSAGE for an empty prompt, or a sequence past the model's positions. */
mhv_status mhv_forward_generate_decoder(mhv_forward_ctx *c, const mhv_model *m,
                                        const int32_t *prompt, int np, const mhv_gen_config *g,
                                        int32_t **out, int *n_out, mhv_error *err);
/* ---- key/value caches of a causal LM's generation ---- */

/* `slots` sequences (beams) of up to cap positions each: every layer's keys and values of
 * the positions each sequence has run, so a decoding step runs only its new positions
 * (nn/blocks.h, mhv_nn_kv). mhv_forward_generate_decoder makes one per run. */
typedef struct mhv_forward_kv mhv_forward_kv;

mhv_status mhv_forward_kv_new(const mhv_model *m, int slots, int cap, mhv_forward_kv **out,
                              mhv_error *err);
void mhv_forward_kv_free(mhv_forward_kv *kv);
/* logits(n_seq, vocab): the next-token logits of each of seqs(n_seq, len) (n_seq <= slots),
 * the bytes mhv_forward_decoder_next gives. Each sequence continues the slot holding its
 * longest prefix (beams reordered or forked: a slot named twice is copied first), only its
 * positions after that prefix run. A model, kernels or length that cannot give the same
 * bytes so (a family whose pass follows its length (longrope, MPT's ALiBi), a score bias of
 * the queries and keys (bias_pos is of positions alone), projections a family makes itself
 * such as MLA, linear layers that change their arithmetic past a row
 * count (kernels.h: linear_rows_switch) below len, more positions than cap) run the whole
 * sequence instead, as without a cache. */
mhv_status mhv_forward_kv_next(mhv_forward_ctx *c, const mhv_model *m, mhv_forward_kv *kv,
                               const int32_t *seqs, int n_seq, int len, float *logits,
                               mhv_error *err);
/* The same caches for an encoder-decoder's decoder over source src(ns) (or an audio or
 * vision model's features feats, src NULL), its encoder's output and cross-attention keys
 * and values kept in memo across the steps (mhv_forward_seq2seq_next; the caller frees it,
 * after kv): seqs are the decoder's inputs, logits (n_seq, dec_vocab). */
mhv_status mhv_forward_kv_new_seq2seq(const mhv_model *m, int slots, int cap,
                                      const int32_t *src, int ns, const float *feats,
                                      mhv_nn_memo *memo, mhv_forward_kv **out,
                                      mhv_error *err);
/* The same caches for a model that reads ids and an image (LLaVA): the image (as
 * mhv_forward_logits_image's pixels) runs through the vision tower in the prompt's pass, the
 * steps after it read text tokens only. */
mhv_status mhv_forward_kv_new_image(const mhv_model *m, int slots, int cap, const float *pixels,
                                    int image_h, int image_w, mhv_forward_kv **out,
                                    mhv_error *err);
/* The bytes the key/value caches of `slots` sequences of cap positions of m take at most
 * (0 for a model whose steps rerun whole sequences). */
uint64_t mhv_forward_kv_bytes(const mhv_model *m, int slots, int cap);
/* The positions run from a cache so far, and those run in whole passes. */
void mhv_forward_kv_stats(const mhv_forward_kv *kv, long *cached, long *whole);

/* mhv_forward_generate_decoder for a model that reads ids and an image (LLaVA): prompt(np)
 * holds the image token expanded (one per image feature, as LlavaProcessor expands it),
 * pixels, image_h, image_w the preprocessed image (mhv_forward_logits_image); generate()
 * with pixel_values. MHV_EUNSUPPORTED for the other models that read an image (Qwen2-VL,
 * Gemma 3, PaliGemma: not done; mhv_forward_image_generates). */
int mhv_forward_image_generates(const mhv_model *m);
mhv_status mhv_forward_generate_image(mhv_forward_ctx *c, const mhv_model *m,
                                      const int32_t *prompt, int np, const float *pixels,
                                      int image_h, int image_w, const mhv_gen_config *g,
                                      int32_t **out, int *n_out, mhv_error *err);

/* The max_position_embeddings generate() sees in m's config class (mhv_gen_input), 0 for
 * T5's relative positions. */
int mhv_forward_gen_positions(const mhv_model *m);

/* Audio encoder-decoders (cfg.audio_positions: Whisper): mhv_forward_run_seq2seq and
 * mhv_forward_seq2seq_logits with the encoder reading feats(num_mel_bins, 2 *
 * audio_positions), log-mel features (media/logmel.h), instead of source ids; the encoder's
 * maps are audio_positions x audio_positions, the cross-attention's nt x audio_positions.
 * The ids entries refuse such a model, these refuse any other. */
mhv_status mhv_forward_run_seq2seq_audio(mhv_forward_ctx *c, const mhv_model *m,
                                         const float *feats, const int32_t *tgt, int nt,
                                         const mhv_heads *sel, mhv_attn *out, mhv_error *err);
mhv_status mhv_forward_seq2seq_logits_audio(mhv_forward_ctx *c, const mhv_model *m,
                                            const float *feats, const int32_t *tgt, int nt,
                                            float *logits, mhv_error *err);

/* MHV_OK when mhv_forward_logits_ablated can give m's logits, else why not (as it says). */
mhv_status mhv_forward_logits_check(const mhv_model *m, mhv_error *err);
struct mhv_head_ablation;
/* logits(n, vocab) with the heads of ab ablated (nn/blocks.h: zeroed or replaced by a
 * given output; or their outputs summed for means); ab NULL: none. Decoders give their LM
 * head's logits as mhv_forward_logits; encoders whose checkpoint holds a masked-LM head
 * (BertForMaskedLM, RobertaForMaskedLM ...) that head's; others MHV_EUNSUPPORTED. */
mhv_status mhv_forward_logits_ablated(mhv_forward_ctx *c, const mhv_model *m,
                                      const int32_t *ids, int n,
                                      const struct mhv_head_ablation *ab,
                                      float *logits, mhv_error *err);

#endif
