/* cmd_info.c - `mhaviz info`: what a model directory holds. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/family.h"
#include "model/forward.h"
#include "model/generate.h"
#include "nn/kernels/cpucache.h"
#include "nn/kernels/kernels.h"
#include "commands.h"

/* The image path of Gemma 3 and PaliGemma: the lines above are the language model's. */
static void image_prompt_info(const mhv_model *m)
{
    const mhv_config *cf = &m->cfg;
    const mhv_model *t = mhv_forward_image_tower(m);
    if (!t) { /* Gemma 3's file of the language model alone */
        puts("vision_tower: none (the language model alone)");
        return;
    }
    const mhv_config *tc = &t->cfg;
    int side = tc->image_size / tc->patch_size, k = cf->image_pool;
    printf("language_model: %s\nvision_tower: %s, %d layers, %d heads, hidden_size %d\n",
           m->text_model ? m->text_model->cfg.model_type : "gemma3_text", tc->model_type,
           tc->num_layers, tc->num_heads, tc->hidden_size);
    printf("image_size: %d\npatch_size: %d\npatch_grid: %dx%d\nimage_token_id: %d\n",
           tc->image_size, tc->patch_size, side, side, cf->image_token_id);
    if (cf->image_form == MHV_IMAGE_FORM_GEMMA3) {
        if (k)
            printf("image_tokens: %d (%dx%d patches averaged into each)\n", cf->image_tokens,
                   k, k);
        else
            printf("image_tokens: %d (not made by this patch grid: no image path)\n",
                   cf->image_tokens);
        printf("image_marks: %d %d (begin and end of image)\nimage_mask: the tokens of an "
               "image see each other\n", cf->image_boi_id, cf->image_eoi_id);
    } else {
        printf("image_tokens: %d (the patches)\nimage_mask: the image and the prompt see "
               "each other (prefix)\n", cf->image_tokens);
    }
}

/* What run --generate decodes with: the directory's generation settings, one line (why they
 * are refused otherwise); the lengths for a decoder's start token (n_prompt 1), or as the
 * settings give them for a decoder-only model's prompts (n_prompt -1). */
static void print_generation(const mhv_model *m, int n_prompt)
{
    mhv_gen_config g;
    mhv_gen_source from;
    mhv_error e = {0};
    static const char *const names[] = {"transformers' defaults", "generation_config.json",
                                        "config.json"};
    if (mhv_gen_config_read(m->dir, &g, &from, &e)) {
        char why[1100];
        mhv_error_format(&e, why, sizeof why);
        printf("generation: refused (%s)\n", why);
        return;
    }
    char desc[1900];
    mhv_gen_describe(&g, n_prompt, mhv_forward_gen_positions(m), desc, (int)sizeof desc);
    printf("generation: %s %s\n", names[from], desc);
    mhv_gen_config_free(&g);
}

static const char info_usage[] =
    "usage: mhaviz info [--model DIR]\n"
    "       mhaviz info --families\n"
    "\n"
    "Prints the architecture, sizes, weight dtype, tensor count and tokenizer of a model\n"
    "directory, one \"key: value\" per line.\n"
    "\n"
    "  --model DIR   Hugging Face model directory (default: $MHAVIZ_MODEL, else the\n"
    "                bundled sample model)\n"
    "  --families    print the config.json model_types mhaviz opens, one per line\n"
    "  -h, --help    show this help\n";

int cmd_info(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'},
        {"families", no_argument, 0, 'f'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *model = NULL;
    int families = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'f': families = 1; break;
        case 'h': fputs(info_usage, stdout); return EXIT_OK;
        case ':': return cli_usage_error("info", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("info", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage_error("info", "unexpected argument '%s'", argv[optind]);
    if (families) {
        if (model)
            return cli_usage_error("info", "--families describes no model: drop --model");
        const char *t;
        for (int i = 0; (t = mhv_family_type(i)); i++)
            puts(t);
        return EXIT_OK;
    }
    char model_buf[4096];
    const char *dir = cli_model_dir(model, model_buf, sizeof model_buf);
    mhv_error err = {0};
    mhv_model *m = NULL;
    mhv_tok *tok = NULL;
    mhv_status st;
    if ((st = mhv_model_open(dir, &m, &err)))
        goto done;
    /* a bare decoder checkpoint has no tokenizer files: say so rather than fail */
    if (!m->cfg.speech && (st = mhv_tok_open_dir(dir, &tok, &err)) &&
        !(st == MHV_EIO && (m->cfg.causal || m->cfg.enc_dec || m->cfg.vision)))
        goto done;
    st = MHV_OK;
    cli_tok_warn(tok);
    const mhv_config *cf = &m->cfg;
    const mhv_bert_norm *bn = tok ? mhv_tok_bert_norm(tok) : NULL;
    printf("path: %s\n", m->dir);
    printf("architecture: %s (model_type %s)\n", cf->arch, cf->model_type);
    if (cf->kv_heads)
        printf("kv_heads: %d\n", cf->num_kv_heads);
    printf("layers: %d\nheads: %d\nhead_dim: %d\nhidden_size: %d\nintermediate_size: %d\n",
           cf->num_layers, cf->num_heads, cf->head_dim, cf->hidden_size, cf->intermediate_size);
    if (cf->enc_dec) { /* the lines above are the encoder's */
        printf("decoder_layers: %d\ndecoder_vocab_size: %d\ndecoder_start_token_id: %d\n",
               cf->dec_layers, cf->dec_vocab_size, cf->decoder_start_id);
        if (cf->image_enc_dec && m->image_tower) { /* stacks of their own sizes */
            const mhv_config *ec = &m->image_tower->cfg;
            printf("encoder: %s, %d layers, %d heads, hidden_size %d, image %dx%d, patch %d, "
                   "%d tokens\ndecoder: %s, %d heads, hidden_size %d\n", ec->model_type,
                   ec->num_layers, ec->num_heads, ec->hidden_size, ec->image_size,
                   ec->image_size, ec->patch_size, cf->audio_positions,
                   cf->ved_gpt2 ? "gpt2" : "trocr", cf->ved_dec_heads, cf->hidden_size);
        }
        print_generation(m, 1);
    } else if (cf->causal && !cf->vision && m->lm_head.data) { /* a causal LM */
        print_generation(m, -1);
    }
    printf("vocab_size: %d\n", cf->vocab_size);
    if (cf->speech && !cf->spectrogram) /* frames from convolutions: no table bounds them */
        printf("max_positions: none (positions by convolution: memory bounds the length)\n");
    else
        printf("max_positions: %d\n", cf->max_positions);
    printf("activation: %s\nlayer_norm_eps: %g\n",
           cf->xielu ? "xielu (each layer's parameters)" : mhv_act_name(cf->act),
           (double)cf->layer_norm_eps);
    if (cf->task_types) /* ERNIE's use_task_id */
        printf("task_types: %d (task 0 for every token)\n", cf->task_types);
    printf("dtype: %s\ntensors: %zu\ncheckpoint_bytes: %llu\n", mhv_dtype_name(m->dtype),
           mhv_st_count(m->st), (unsigned long long)mhv_st_file_bytes(m->st));
    if (cf->vision) { /* an image model: its patch grid and the tokens before it */
        int side = cf->image_size / cf->patch_size, R = cf->vision_registers;
        printf("image_size: %d\npatch_size: %d\npatch_grid: %dx%d\n", cf->image_size,
               cf->patch_size, side, side);
        printf("extra_tokens: %d%s%s", cf->vision_extra, cf->vision_extra ? " ([CLS]" : "",
               cf->vision_extra - R > 1 ? ", [DIST]" : "");
        if (R)
            printf(", %d register%s", R, R > 1 ? "s" : "");
        puts(cf->vision_extra ? ")" : "");
        printf("pooling_head: %s\n", m->pool_probe ? "yes" : "no");
        int rel = cf->vision_rel_bias; /* BEiT's tables: each layer's, shared, both */
        if (rel)
            printf("relative_position_bias: %s\n", rel == (MHV_VREL_LAYER | MHV_VREL_SHARED)
                                                      ? "each layer's and shared"
                                                  : rel == MHV_VREL_LAYER ? "each layer's"
                                                                          : "shared");
        if (cf->vision_rope2d) /* DINOv3: no learned positions */
            puts("positions: 2-D rotary over the patch grid");
        /* how an image of another size is taken (run --interpolate-pos) */
        const char *what = !rel ? "positions"
                           : cf->vision_no_abs_pos ? "relative position bias"
                                                   : "positions and relative position bias";
        if (cf->swin) { /* stages of their own heads and grids, windows */
            printf("stages: %d (depths", cf->swin_stages);
            for (int i = 0; i < cf->swin_stages; i++)
                printf(" %d", cf->swin_depths[i]);
            fputs("; heads", stdout);
            for (int i = 0; i < cf->swin_stages; i++)
                printf(" %d", cf->swin_heads[i]);
            printf("; channels %d doubling; each stage's grid half the last's)\n",
                   cf->swin_embed_dim);
            printf("windows: %dx%d patches, every other layer's shifted by %d%s\n",
                   cf->swin_window, cf->swin_window, cf->swin_window / 2,
                   cf->swin_v2 ? " (by the config's grid: cosine attention, continuous "
                                 "position bias)" : "");
            if (cf->swin_v2 && cf->swin_pretrained[0]) {
                fputs("pretrained_windows:", stdout);
                for (int i = 0; i < cf->swin_stages; i++)
                    printf(" %d", cf->swin_pretrained[i]);
                putchar('\n');
            }
            if (cf->swin_labels && m->img_classifier.data)
                printf("classifier: %d labels\n", cf->swin_labels);
        }
        if (cf->swin)
            puts("other_sizes: any (padded with zeros to whole patches and windows; no "
                 "positions)");
        else if (cf->vision_rope2d)
            puts("other_sizes: any (the rotation follows the image's patch grid)");
        else if (cf->vision_sincos2d)
            puts("other_sizes: any (sine-cosine positions of the image's patch grid)");
        else if (cf->vision_pos == MHV_VPOS_NEVER)
            puts("other_sizes: none (transformers resizes no positions for it)");
        else
            printf("other_sizes: %s resized %s\n", what, cf->vision_pos == MHV_VPOS_ALWAYS
                                                            ? "to the image's patch grid"
                                                            : "with --interpolate-pos");
    }
    if (cf->image_in_text && cf->image_form != MHV_IMAGE_FORM_LLAVA) /* Gemma 3, PaliGemma */
        image_prompt_info(m);
    else if (cf->image_in_text && cf->image_merge > 0) { /* Qwen2-VL: an image of any size */
        const mhv_config *tc = &mhv_forward_image_tower(m)->cfg;
        printf("language_model: %s\nvision_tower: %s, %d layers, %d heads, hidden_size %d\n",
               m->text_model->cfg.model_type, tc->model_type, tc->num_layers, tc->num_heads,
               tc->hidden_size);
        printf("patch_size: %d\ntemporal_patch_size: %d\nmerge_size: %d\nimage_token_id: %d\n",
               tc->patch_size, tc->temporal_patch, tc->image_merge, cf->image_token_id);
        printf("image_tokens: one per %dx%d block of patches (the processor's smart_resize "
               "sets the grid)\nmrope_section: %d %d %d (time, height, width)\n",
               tc->image_merge, tc->image_merge, cf->mrope_section[0], cf->mrope_section[1],
               cf->mrope_section[2]);
        if (tc->qvl_window) {
            printf("window_attention: %d pixels, full attention in layers", tc->qvl_window);
            for (int l = 0; l < tc->num_layers; l++)
                if ((tc->qvl_full_layers[l / 8] >> (l % 8)) & 1)
                    printf(" %d", l);
            putchar('\n');
        }
    } else if (cf->image_in_text) { /* LLaVA: the lines above are its language model's */
        const mhv_config *tc = &mhv_forward_image_tower(m)->cfg;
        int side = tc->image_size / tc->patch_size;
        printf("language_model: %s\nvision_tower: %s, %d layers, %d heads, hidden_size %d\n",
               m->text_model->cfg.model_type, tc->model_type, tc->num_layers, tc->num_heads,
               tc->hidden_size);
        printf("image_size: %d\npatch_size: %d\npatch_grid: %dx%d\nimage_token_id: %d\n",
               tc->image_size, tc->patch_size, side, side, cf->image_token_id);
        printf("image_tokens: %d (%s)\nvision_feature_layer:",
               tc->vision_extra + side * side - (cf->image_full ? 0 : 1),
               cf->image_full ? (tc->vision_extra ? "full: [CLS] and the patches" : "full")
               : tc->vision_extra ? "default: the patches"
                                  : "default: the patches but the first");
        for (int k = 0; k < cf->image_nlayers; k++)
            printf(" %d", cf->image_layers[k]);
        printf(" (hidden states 0-%d, 0: the embeddings)\nprojector: %s, %s biases\n",
               tc->num_layers,
               mhv_act_name(cf->image_proj_act), cf->image_proj_bias ? "with" : "without");
    }
    if (cf->spectrogram) { /* AST: a fixed grid of patches over the features */
        int rows = (cf->spec_mels - cf->patch_size) / cf->spec_fstride + 1;
        int cols = (cf->spec_frames - cf->patch_size) / cf->spec_tstride + 1;
        printf("features: %d frames x %d mel bins (Kaldi filter bank, 25 ms every 10 ms)\n"
               "patches: %dx%d every %d bins and %d frames: a %dx%d grid (frequency x time) "
               "after [CLS] and [DIST]\n", cf->spec_frames, cf->spec_mels, cf->patch_size,
               cf->patch_size, cf->spec_fstride, cf->spec_tstride, rows, cols);
    } else if (cf->speech) { /* a waveform in: its convolutions make the frames */
        printf("feature_encoder:");
        for (int i = 0; i < cf->speech_convs; i++)
            printf(" %dx%d/%d", cf->speech_conv_dim[i], cf->speech_conv_kernel[i],
                   cf->speech_conv_stride[i]);
        printf(" (channels x kernel / stride; %s norm)\n",
               cf->speech_conv_layer_norm ? "layer" : "group");
        if (cf->speech_squeeze > 1) /* SEW: the encoder's frames average this many */
            printf("squeeze_factor: %d (the convolutions' frames averaged %d at a time)\n",
                   cf->speech_squeeze, cf->speech_squeeze);
        printf("samples_per_frame: %ld\n", mhv_config_speech_ratio(cf));
        printf("positional_conv: kernel %d, %d groups\nlayer_norm: %s\n", cf->speech_pos_kernel,
               cf->speech_pos_groups,
               cf->speech_deberta ? "post-LN, DeBERTa's disentangled attention"
               : cf->pre_norm     ? "stable (pre-LN)"
                                  : "post-LN");
    }
    if (!tok) {
        puts(cf->vision   ? "tokenizer: none (an image model)"
             : cf->speech ? "tokenizer: none (a speech model: WAV files in)"
                          : "tokenizer: none (use run --ids)");
        goto done;
    }
    char kind[16]; /* "wordpiece", "bpe" or "unigram" */
    snprintf(kind, sizeof kind, "%s", mhv_tok_model_type(tok));
    for (char *p = kind; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    printf("tokenizer: %s, %d pieces", kind, mhv_tok_vocab_size(tok));
    if (bn && strcmp(kind, "wordpiece") == 0) /* BERT's normaliser settings */
        printf(", lowercase %s, strip_accents %s", bn->lowercase ? "yes" : "no",
               bn->strip_accents ? "yes" : "no");
    putchar('\n');
done:
    /* what a run on this machine would compute with (MHAVIZ_KERNEL honoured); nothing on
     * stdout when the directory failed */
    if (!st) {
        const mhv_kernels *K = mhv_kernels_select(getenv("MHAVIZ_KERNEL"));
        const mhv_cpu_caches *cc = mhv_cpu_caches_get();
        char how[256];
        K->describe(how, sizeof how);
        printf("kernels: %s\n", K->name);
        printf("caches: L1d %zu KiB, L2 %zu KiB, L3 %zu KiB (%s)\n", cc->l1d >> 10, cc->l2 >> 10,
               cc->l3 >> 10, cc->source);
        printf("blocking: %s\n", how);
    }
    mhv_tok_close(tok);
    mhv_model_close(m);
    return st ? cli_report(st, &err) : EXIT_OK;
}
