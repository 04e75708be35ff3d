/* cmd_run.c - `mhaviz run`: tokenize, forward, write the captured attention. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "analysis/finite.h"
#include "outdir.h"
#include "commands.h"
#include "base/fileio.h"
#include "ckpt/modelname.h"
#include "model/forward.h"
#include "base/heads.h"
#include "analysis/report.h"
#include "analysis/rollout.h"
#include "analysis/weighting.h"
#include "analysis/rows.h"
#include "analysis/stwrite.h"
#include "analysis/zoom.h"
#include "fig/render.h"
#include "run_contacts.h"
#include "run_figures.h"
#include "run_generate.h"
#include "run_global.h"
#include "run_llava.h"
#include "run_seq2seq.h"
#include "run_speech.h"
#include "run_vision.h"
#include "text/unicode.h"

static const char run_usage[] =
    "usage: mhaviz run [--model DIR] [--heads SPEC] [--out DIR]\n"
    "                  [--format png,svg,pdf,json,html,safetensors] [--rows SPEC]\n"
    "                  [--dtype f32|f16|bf16] [--max-memory SIZE]\n"
    "                  [--window A:B] [--max-pixels P] [--pool max|mean]\n"
    "                  [--colormap NAME] [--scale fixed|head|row] [--cell PX] [--values]\n"
    "                  [--dpi N] [--font FILE] [--font-size PX] [--title TEXT | --no-title]\n"
    "                  [--model-name NAME] [--view matrix|lines|row] [--min-weight W]\n"
    "                  [--row WORD] [--svg-text] [--pretokenized | --ids] [--truncate]\n"
    "                  [--threads N] [--aggregate mean|rollout|flow]\n"
    "                  [--weighting attn|norm|norm-out]\n"
    "                  [--pairs | --generate N [--greedy]] [--align-layer L]\n"
    "                  [--src-lang CODE] [--tgt-lang CODE]\n"
    "                  [--no-resize] [--interpolate-pos] [--query cls|pool|ROW,COL]\n"
    "                  [--image FILE | --vision-tower | --text-tower] [--contacts]\n"
    "                  [--global SPEC]\n"
    "                  FILE\n"
    "\n"
    "Runs the model on each non-empty line of FILE (- for stdin) and draws the attention\n"
    "of the selected heads: OUT/<stem>/L05-H03.png per head, L05.png per layer, model.png\n"
    "when several layers are selected (<stem>-2, <stem>-3 ... for later lines); json writes\n"
    "the weights to OUT/<stem>.json; safetensors writes OUT/<stem>.safetensors per line.\n"
    "\n"
    "  --model DIR      Hugging Face model directory (default: $MHAVIZ_MODEL, else the\n"
    "                   bundled sample model)\n"
    "  --heads SPEC     all (default), or a comma list of LAYER:HEAD, LAYER:*, *:HEAD\n"
    "                   (0-based), e.g. 3:7,5:*\n"
    "  --format LIST    comma list of png (default), svg, pdf, json, html (OUT/<stem>.html:\n"
    "                   an interactive explorer of every sentence, one file, works offline),\n"
    "                   safetensors (one tensor attn.L05 [heads, rows, tokens] per layer,\n"
    "                   written head by head: long inputs in bounded memory; encoder-\n"
    "                   decoders: attn.encoder.L05, attn.decoder.L05, attn.cross.L05)\n"
    "  --rows SPEC      keep only some query rows: comma list of last, -K (the last K), I,\n"
    "                   A:B (A..B-1), word:W (json, safetensors, html, figures: rows x\n"
    "                   tokens; --aggregate: of the kept rows); encoder-decoders: source\n"
    "                   rows of the encoder, target rows of the decoder and cross (json\n"
    "                   \"rows\", \"target_rows\"; not with html or --generate)\n"
    "  --dtype TYPE     safetensors element type: f32 (default, exact), f16 or bf16\n"
    "  --window A:B     figures of tokens A..B-1 only (queries and keys), at full size\n"
    "                   (encoder-decoders: source tokens: the encoder's and the cross's)\n"
    "  --max-pixels P   figures of long sentences pooled: blocks of tokens become one cell\n"
    "                   so a map is at most P pixels wide; numbered every few blocks\n"
    "                   (encoder-decoders: source and target in blocks of their own)\n"
    "  --pool max|mean  how --max-pixels pools a block (default max; said in the figure's\n"
    "                   corner); with --rows only the keys are pooled\n"
    "  --max-memory SIZE  refuse, before running, a sentence whose weights, activations\n"
    "                   and attention maps (with --weighting's raw norms for json or\n"
    "                   --aggregate's maps) would need more (e.g. 20G, 512M; default: the\n"
    "                   available memory; 0: no limit; encoder-decoders: both stacks and\n"
    "                   the cross maps; --generate on a decoder: the prompt and N more)\n"
    "  --out DIR        output directory (default: mhaviz-out; not -)\n"
    "  --pretokenized   lines are vocabulary pieces separated by spaces; nothing added\n"
    "  --ids            lines are token ids separated by spaces; nothing added\n"
    "  --truncate       cut sentences longer than the model's positions instead of failing\n"
    "  Vision models (vit, vit_msn, ijepa, deit, dinov2, beit, data2vec-vision, clip,\n"
    "  siglip, siglip2, dinov3_vit, aimv2, owlvit, owlv2, swin, swinv2): FILE lists PNG or\n"
    "  JPEG images, one path a line, or is a .png/.jpg itself;\n"
    "  each is turned upright by its EXIF orientation (as transformers' load_image) and\n"
    "  preprocessed as preprocessor_config.json says;\n"
    "  OUT/<stem>/L05-H03.png draws a head's attention from the query token over the image\n"
    "  (colourbar over 0..its largest patch weight unless --scale fixed), L05.png the layer's\n"
    "  heads in a grid, model.png every head; --view matrix: token x token heatmaps (r3c5\n"
    "  labels) instead; --format html: a page where a click on a patch makes it the query\n"
    "  --no-resize      take images as they are (no resize, no crop)\n"
    "  --interpolate-pos  resize vit, vit_msn, ijepa, deit, clip, siglip and owl's position\n"
    "                   embeddings to the patch grid of an image of another size (transformers'\n"
    "                   interpolate_pos_encoding=True; without it such an image is refused);\n"
    "                   dinov2, beit, data2vec-vision and siglip2 always do (dinov3_vit and\n"
    "                   native aimv2: any size; aimv2 with learned positions: its own grid)\n"
    "  --query Q        the token whose attention the figures draw: cls (default; siglip,\n"
    "                   siglip2, ijepa and aimv2 have none) or a patch ROW,COL (0-based); pool:\n"
    "                   SigLIP's (2) or AIMv2's attention-pooling head (its probe over the patches:\n"
    "                   pool-H03.png, pool.png; json adds \"pool\"), the default for a model\n"
    "                   with that head and no [CLS]\n"
    "  Swin (swin, swinv2, donut-swin): no [CLS] (give --query ROW,COL); each layer's maps are\n"
    "  over its stage's own grid (json: \"stages\"), zero outside the query's window; figures in\n"
    "  OUT/<stem>/stage1/, stage2/ ..., the query patch (of the first stage's grid) then the\n"
    "  merged token holding it; html, --aggregate and stats are refused\n"
    "  LLaVA (llava): --image FILE (PNG or JPEG) is the image of every line; each line is\n"
    "  a prompt holding the image token once, e.g. USER: <image>\\nWhat is this? ASSISTANT:\n"
    "  (\\n: a newline, \\\\: a backslash), expanded as LlavaProcessor expands it into one\n"
    "  token per image feature (576 for llava-1.5), labelled img ROW,COL (img cls: the\n"
    "  tower's [CLS] with the full strategy); the maps are the language model's over the\n"
    "  whole prompt (--window A:B, --max-pixels P for long ones); json adds \"image\" (the\n"
    "  feature tokens and their patches)\n"
    "  Gemma 3 (gemma3): each line holds <start_of_image> once, expanded as\n"
    "  Gemma3Processor expands it (\\n\\n, the begin-of-image token, mm_tokens_per_image\n"
    "  image tokens, the end-of-image token, \\n\\n) before tokenizing; the SigLIP tower's\n"
    "  patches averaged into those tokens (img ROW,COL: their blocks), which see each\n"
    "  other; do_pan_and_scan refused; without --image the language model on text alone\n"
    "  PaliGemma (paligemma): each line is a prefix, built as PaliGemmaProcessor builds\n"
    "  it: the image tokens (one a patch; <image> in the line places them, else first),\n"
    "  bos, the line, \\n; positions from 1; every token of the prefix sees every other;\n"
    "  PREFIX<TAB>SUFFIX adds a suffix (its tokens and eos, token type 1), causal\n"
    "  Qwen2-VL, Qwen2.5-VL (qwen2_vl, qwen2_5_vl): the same with\n"
    "  <|vision_start|><|image_pad|><|vision_end|> once in each line; the image resized by\n"
    "  Qwen2VLImageProcessor (smart_resize within min_pixels and max_pixels), <|image_pad|>\n"
    "  expanded into one token per 2x2 block of patches, labelled img ROW,COL in the merged\n"
    "  grid; video and several images in a prompt are refused\n"
    "  --vision-tower   the vision tower alone (llava's CLIP or SigLIP, gemma3's and\n"
    "                   paligemma's SigLIP, Qwen2-VL's), as the vision model it is: FILE\n"
    "                   lists images, drawn as for clip_vision_model (see above;\n"
    "                   qwen2_vl's and qwen2_5_vl's patches row by row, no [CLS]: --query\n"
    "                   ROW,COL; windows: zero outside)\n"
    "  --text-tower     the text tower of a dual image-text model (clip, siglip,\n"
    "                   chinese_clip) instead of its vision tower: FILE holds sentences,\n"
    "                   tokenized by the checkpoint's tokenizer.json or vocab.txt\n"
    "                   (chinese_clip's BertTokenizer; SigLIP's spiece.model is not read:\n"
    "                   --ids), not padded (the processors' default); a sentence longer than\n"
    "                   max_position_embeddings (77 for CLIP) is refused, or cut with\n"
    "                   --truncate as the tokenizer's truncation cuts it\n"
    "  Whisper (whisper): FILE lists WAV files with their transcripts, AUDIO<TAB>TRANSCRIPT\n"
    "  a line with --pairs (a relative path is tried beside FILE too); each WAV (PCM 8-32\n"
    "  bit or float, mono, at the feature extractor's rate: 16000 Hz) becomes log-mel\n"
    "  features as WhisperFeatureExtractor makes them (padded or cut to its 30-s window);\n"
    "  the decoder reads <|startoftranscript|> [<|lang|>] [<|task|>] <|notimestamps|>\n"
    "  (tokenizer_config.json's language and task; --tgt-lang CODE or NAME: <|CODE|>\n"
    "  <|transcribe|>), the transcript's tokens and <|endoftext|> (teacher forcing). Source\n"
    "  tokens are the encoder's 1500 audio positions, named by time (0.02 s each); json and\n"
    "  safetensors keep them all (Whisper attends over the padding too), figures draw the\n"
    "  real audio's positions (--window A:B: others); --heads alignment: the cross heads\n"
    "  of generation_config.json's alignment_heads; html holds every position (about\n"
    "  3 MB an encoder head at 1500: choose heads with --heads). --generate N: lines (or\n"
    "  the .wav) are audio alone; Whisper's generate: its first tokens from\n"
    "  generation_config.json (the language --tgt-lang CODE or NAME such as english, the\n"
    "  file's, else detected as detect_language does; transcribe; <|notimestamps|>), then\n"
    "  generate(max_new_tokens=N) with suppress_tokens and begin_suppress_tokens; json's\n"
    "  \"generation\" says how it decoded\n"
    "  Vision encoder-decoders (vision-encoder-decoder: TrOCR, GPT-2 or BERT decoders): lines\n"
    "  IMAGE<TAB>TEXT with --pairs (PNG or JPEG; a relative path is tried beside FILE too),\n"
    "  preprocessed as preprocessor_config.json says to the encoder's image_size; the\n"
    "  decoder reads decoder_start_token_id, then tokenizer(TEXT) (the labels\n"
    "  TrOCRProcessor makes); --generate N: lines (or FILE itself, a .png/.jpg) are images\n"
    "  alone, generate() under generation_config.json. Source tokens are the encoder's:\n"
    "  [CLS] ([DIST]) and the patches rROWcCOL; X01-H03.png: which patches each text token\n"
    "  reads; json adds \"image\"; --heads enc:L:H counts the encoder's own heads, dec: and\n"
    "  cross: the decoder's\n"
    "  Speech encoders (wav2vec2, hubert, data2vec-audio, wavlm, unispeech, unispeech-sat,\n"
    "  sew, sew-d; sew's frames: the convolutions' averaged squeeze_factor at a time):\n"
    "  FILE is a .wav or lists WAV files, one a line (PCM 8-32 bit or float, mono, at\n"
    "  preprocessor_config.json's rate: 16000 Hz), the waveform normalised as\n"
    "  Wav2Vec2FeatureExtractor does; tokens are the frames of its convolutions, named by\n"
    "  time (0.02 s each: 1499 for 30 s); wavlm: each head's own weights (transformers\n"
    "  returns their mean); memory grows with the audio (every head of a base model at\n"
    "  30 s: 1.3 GB of maps): choose heads with --heads for long clips (--max-memory\n"
    "  refuses what would not fit)\n"
    "  audio-spectrogram-transformer: FILE as for the speech encoders; tokens are [CLS],\n"
    "  [DIST] and the patches of ASTFeatureExtractor's filter bank (max_length frames,\n"
    "  padded or cut), each named by its start time and lowest mel bin (0.30s:540Hz)\n"
    "  --threads N      compute threads (default: the number of online CPUs); the results\n"
    "                   are the same bytes whatever N\n"
    "  --colormap NAME  viridis (default), magma, inferno, plasma, cividis, gray\n"
    "  --scale MODE     fixed: 0..1 for every head (default); head: 0..the head's maximum;\n"
    "                   row: each query row to its maximum\n"
    "  --cell PX        matrix cell size (default: 480 / token count, within 10..36)\n"
    "  --values         print the weights in cells big enough to hold them\n"
    "  --dpi N          scale the images for print: N/96 pixels per unit (default 96)\n"
    "  --font FILE      label font tried first (default: $MHAVIZ_FONT, then system fonts)\n"
    "  --font-size PX   token labels' size (default: from the cell, 7..13); other text\n"
    "                   in proportion\n"
    "  --title TEXT     the title line of every figure; --no-title: none\n"
    "  --model-name NAME  the model in titles (default: its directory's name)\n"
    "  --view VIEW      matrix (default); lines: queries left, keys right, a line per\n"
    "                   weight (L05.png overlays the layer's heads); row: see --row\n"
    "  --min-weight W   lines view: leave out weights below W (default 0.02)\n"
    "  --row WORD       head figures as bars of WORD's attention over the sentence (the\n"
    "                   mean of its tokens' rows); sentences without WORD are skipped\n"
    "  --svg-text       SVG labels as text in the named font (editable) instead of outlines\n"
    "  --aggregate KIND one view per layer instead of per head, L05-mean.png,\n"
    "                   L05-rollout.png or L05-flow.png (and one JSON entry per layer): mean\n"
    "                   (the layer's head average), rollout or flow (attention rollout or\n"
    "                   attention flow through layers 0..l, Abnar & Zuidema; flow solves\n"
    "                   layers x tokens^2 max-flow problems: seconds past ~50 tokens); needs\n"
    "                   every head (no --heads); encoder-decoders: mean only, per stack\n"
    "                   (E05-mean, D05-mean, X05-mean); safetensors holds the aggregates,\n"
    "                   attn.L05 [1, rows, tokens] (head -1, metadata \"aggregate\")\n"
    "  --weighting W    attn (default): attention weights; norm: alpha_ij * ||v_j|| and\n"
    "                   norm-out: alpha_ij * ||v_j W_O^h|| (what key j moves into the\n"
    "                   head's output, Kobayashi et al. 2020), rows normalised to sum 1 in\n"
    "                   figures and aggregates; json and safetensors name it (\"weighting\");\n"
    "                   json adds per head the raw \"norms\" and \"value_norms\";\n"
    "                   encoder-decoders: every stack, the cross-attention by the source's\n"
    "                   values through its own projections\n"
    "  --pairs          lines are FIRST<TAB>SECOND. Encoders (BERT, RoBERTa ...): the\n"
    "                   pair as tokenizer(first, second) encodes it, with its token type\n"
    "                   ids; json adds \"token_type_ids\" and \"pair_boundary\".\n"
    "                   Encoder-decoders (T5, BART, Marian): SOURCE<TAB>TARGET; the decoder\n"
    "                   reads its start token, then the target's tokens (teacher forcing);\n"
    "                   with --ids the target ids are the decoder's input as given\n"
    "  --generate N     encoder-decoder models: lines are sources; the target is what\n"
    "                   transformers' generate(max_new_tokens=N) gives under the model's\n"
    "                   generation_config.json (else config.json's generation fields): greedy\n"
    "                   or beam search with its length, n-gram, penalty, forced and\n"
    "                   suppressed-token settings; json records the decoding (\"generation\").\n"
    "                   Decoder-only models (causal LMs with their LM head: GPT-2, Llama,\n"
    "                   Qwen, Gemma ...; llava with --image): each line is a prompt\n"
    "                   (tokenized with the special tokens the tokenizer adds, such as\n"
    "                   Llama's <s>; --ids as given) that\n"
    "                   generate(max_new_tokens=N) continues under the same settings (the\n"
    "                   prompt counts for the penalties and n-grams); the maps cover prompt\n"
    "                   and continuation, json marks it (\"prompt_length\", \"generated\"),\n"
    "                   figures draw a line before the first generated token and name it\n"
    "  --greedy         with --generate: num_beams 1 and do_sample false (greedy search,\n"
    "                   the other settings kept), said on stderr when the model asks for more\n"
    "  --align-layer L  the decoder layer of the alignment figure (default: the last)\n"
    "  --src-lang CODE, --tgt-lang CODE   mBART's language codes (such as en_XX, ro_RO): the\n"
    "                   source is TEXT </s> src code, the decoder starts with the target's\n"
    "                   code (default: tokenizer_config.json's src_lang / tgt_lang, else\n"
    "                   the tokenizer's code and a decoder_start_token_id that is a code);\n"
    "                   NLLB's (eng_Latn) and M2M100's (en): src code TEXT </s>, the\n"
    "                   decoder's start token then the target's code (forced in --generate)\n"
    "                   encoder-decoder heads: --heads enc:L:H, dec:L:H, cross:L:H (* too);\n"
    "                   figures E05-H03, D05-H03, X05-H03 and align\n"
    "  --contacts       ESM (esm) checkpoints with a contact head: the residue contacts\n"
    "                   it predicts from every head's attention (EsmModel.predict_contacts,\n"
    "                   Rao et al. 2020; the first and last token dropped) into the json\n"
    "                   (\"contacts\", L x L) and as OUT/<stem>/contacts.png (svg, pdf;\n"
    "                   not html); only when asked; every head is run for it whatever\n"
    "                   --heads, --rows or --weighting say; refused for a checkpoint\n"
    "                   without the head (contact_head.regression) and other families\n"
    "  --global SPEC    Longformer (longformer) and LED (led, the encoder's source): the\n"
    "                   tokens with global attention, transformers' global_attention_mask:\n"
    "                   --rows' items (I, A:B, last, -K, word:W) and question (the tokens\n"
    "                   before the first </s>, LongformerForQuestionAnswering's default;\n"
    "                   with --pairs QUESTION<TAB>CONTEXT); e.g. 0 for [CLS] (Longformer-\n"
    "                   ForSequenceClassification's default) or the first token of an LED\n"
    "                   source. Their rows attend to every token, every row to them;\n"
    "                   json \"global\" lists them, figures say them in the corner.\n"
    "                   Without it none, as LongformerModel and LEDModel run (not with\n"
    "                   --weighting norm or norm-out)\n"
    "  -h, --help       show this help\n";

typedef struct {
    const char *model, *heads, *format, *out, *file;
    cli_input_mode mode;
    int truncate;
    int threads; /* 0: online CPUs */
    const char *aggregate; /* --aggregate mean|rollout|flow, NULL for per-head output */
    const char *rows;      /* --rows SPEC, or NULL: every query row */
    int safetensors;       /* --format includes safetensors */
    mhv_dtype dtype;       /* --dtype */
    int win0, win1;        /* --window A:B, win1 = 0: none */
    int max_pixels;        /* --max-pixels, 0: none */
    mhv_pool_kind pool;    /* --pool */
    uint64_t max_memory;   /* --max-memory in bytes; 0: none */
    int max_memory_set;    /* given (else the available memory) */
    mhv_agg agg;
    mhv_weighting weighting; /* --weighting */
    run_fig_opts fig;
    int pairs;             /* --pairs */
    int generate;          /* --generate N */
    int greedy;            /* --greedy */
    const char *gen_json;  /* a decoder's --generate: the report's "generation", or NULL */
    int gen_beams;         /* a decoder's --generate: the beams (key/value caches) */
    int align_layer;       /* --align-layer L, -1: the last */
    const char *src_lang, *tgt_lang; /* --src-lang, --tgt-lang (mBART) */
    int no_resize;         /* --no-resize (vision models) */
    int interpolate_pos;   /* --interpolate-pos (vision models) */
    const char *query;     /* --query cls|pool|R,C (vision models), or NULL */
    const char *image;     /* --image FILE (models that read an image with their prompt) */
    int vision_tower;      /* --vision-tower: such a model's vision tower alone */
    int text_tower;        /* --text-tower: a dual image-text model's text tower */
    const run_llava_image *llava; /* that image, read and preprocessed, or NULL */
    int contacts;          /* --contacts: ESM's predicted contacts */
    const char *global;    /* --global SPEC (Longformer, LED), or NULL: no global tokens */
} run_opts;

static mhv_status st_head_sink(void *ctx, int layer, int head, const float *w, int rows, int n,
                               mhv_error *err);

/* A size: a number with an optional K, M, G or T (powers of 1024) and an optional B. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0) || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    double mul = 1;
    switch (*end) {
    case 'K': case 'k': mul = 1024.0, end++; break;
    case 'M': case 'm': mul = 1024.0 * 1024, end++; break;
    case 'G': case 'g': mul = 1024.0 * 1024 * 1024, end++; break;
    case 'T': case 't': mul = 1024.0 * 1024 * 1024 * 1024, end++; break;
    default: break;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || v * mul > 0x1p62)
        return -1;
    *out = (uint64_t)(v * mul);
    return 0;
}

/* --rows with --aggregate rollout or flow: a row of a product of layers needs every row of
 * the layers below, so the forward pass keeps every row and the rows are cut afterwards. */
static int agg_every_row(const run_opts *o)
{
    return o->rows && o->aggregate && o->agg != MHV_AGG_MEAN;
}

/* What a sentence of n tokens, nrows of them kept, holds besides the forward pass's maps
 * (write_outputs, not streamed): --weighting's raw products for the JSON, a float per kept
 * weight, or --aggregate's maps and working space; under --rows, rollout and flow aggregate
 * every row, then copy the kept rows of the aggregate and of the heads out of them. */
static cli_mem_extra extra_maps(const mhv_model *m, const mhv_heads *sel, int n, int nrows,
                                const run_opts *o)
{
    uint64_t N = (uint64_t)n, R = (uint64_t)nrows, heads = (uint64_t)mhv_heads_count(sel);
    int L = m->cfg.num_layers;
    if (o->aggregate) {
        if (!agg_every_row(o))
            return (cli_mem_extra){mhv_aggregate_bytes(L, nrows, n, o->agg), "layer aggregates"};
        uint64_t during = mhv_aggregate_bytes(L, n, n, o->agg);
        uint64_t after = (uint64_t)L * N * N * sizeof(float) +
                         ((uint64_t)L + heads) * R * N * sizeof(float);
        return (cli_mem_extra){during > after ? during : after, "layer aggregates"};
    }
    if (o->weighting != MHV_WEIGHT_ATTN && o->fig.json)
        return (cli_mem_extra){heads * R * N * sizeof(float), "raw norms"};
    return (cli_mem_extra){0, NULL};
}

/* extra_maps and, with --contacts, every head's maps of a pass of its own (when the run's
 * are fewer) and the contacts with their double sums. */
static cli_mem_extra extra_memory(const mhv_model *m, const mhv_heads *sel, int n, int nrows,
                                  const run_opts *o)
{
    cli_mem_extra e = extra_maps(m, sel, n, nrows, o);
    if (!o->contacts)
        return e;
    uint64_t N = (uint64_t)n, all = (uint64_t)m->cfg.num_layers * (uint64_t)m->cfg.num_heads;
    if ((uint64_t)mhv_heads_count(sel) < all || o->rows)
        e.bytes += all * N * N * sizeof(float);
    e.bytes += N * N * (sizeof(double) + sizeof(float));
    if (!e.what)
        e.what = "contacts";
    return e;
}

/* Whether sentence i, with `more` tokens a decoder's --generate will add, fits in limit
 * bytes (0: no limit), refused with the numbers otherwise. */
static mhv_status check_memory(mhv_forward_ctx *fc, const mhv_model *m, const mhv_input *in,
                               int i, const mhv_encoding *enc, const mhv_heads *sel,
                               const run_opts *o, int stream, uint64_t limit,
                               const run_speech_wave *waves, int more, mhv_error *err)
{
    mhv_status st = MHV_OK;
    if (o->global) { /* the sentence's global tokens (refused here, before anything runs) */
        int *gpos, ngpos;
        st = run_global_set(o->global, m, fc, in->s[i].text, in->s[i].len, enc, &gpos, &ngpos,
                            err);
        free(gpos);
        if (st)
            return cli_fail_line(err, st, in, i);
    }
    if (!limit)
        return MHV_OK;
    int n = enc->n + more, *rows = NULL, nrows = n;
    if (o->rows)
        st = mhv_rows_resolve(o->rows, in->s[i].text, in->s[i].len, enc, &rows, &nrows, err);
    int all_rows = agg_every_row(o) && !stream; /* the pass keeps every row (write_outputs) */
    mhv_forward_opts fo = {.rows = all_rows ? NULL : rows, .nrows = all_rows ? 0 : nrows,
                           .head_sink = stream ? st_head_sink : NULL,
                           .audio_samples = waves ? waves[i].n : 0};
    mhv_forward_mem mem;
    if (!st)
        st = mhv_forward_estimate(fc, m, n, sel, &fo, &mem, err);
    free(rows);
    if (st)
        return cli_fail_line(err, st, in, i);
    cli_mem_extra extra = {0, NULL};
    if (!stream)
        extra = extra_memory(m, sel, n, nrows, o);
    if (cli_mem_total(&mem, &extra) <= limit) {
        /* generation, before the maps' pass: a key/value cache a beam (freed before it) */
        uint64_t caches = more ? mhv_forward_kv_bytes(m, o->gen_beams, n) : 0;
        if (caches && mem.weights + mem.activations + caches > limit) {
            char need[32], lim[32];
            cli_fmt_bytes(need, sizeof need, mem.weights + mem.activations + caches);
            cli_fmt_bytes(lim, sizeof lim, limit);
            return mhv_fail(err, MHV_ENOMEM, in->name,
                            "line %d: generating up to %d tokens in %d beams needs %s (a "
                            "key/value cache a beam), more than %s: generate fewer tokens or "
                            "use fewer beams (--greedy)",
                            in->s[i].line, n, o->gen_beams, need, lim);
        }
        return MHV_OK;
    }
    char what[256];
    cli_fmt_mem_need(what, sizeof what, &mem, &extra, limit, o->max_memory_set);
    return mhv_fail(err, MHV_ENOMEM, in->name,
                    "line %d: %d tokens need %s: keep fewer heads or %s%s",
                    in->s[i].line, n, what,
                    more ? "generate fewer tokens" : "rows (--rows last)",
                    stream ? "" : ", or write --format safetensors alone (a head at a time)");
}

/* Whether the maps stream to the file: safetensors alone, one layer's maps in memory at a
 * time (not when the maps are reweighted: that needs the value norms of the whole
 * sentence; nor aggregated: that needs every layer). */
static int streams(const run_opts *o)
{
    return o->safetensors && !o->fig.json && !o->fig.formats && !o->fig.html &&
           o->weighting == MHV_WEIGHT_ATTN && !o->aggregate;
}

/* check_memory for every sentence, under --max-memory or the available memory. */
static mhv_status check_all_memory(mhv_forward_ctx *fc, const mhv_model *m,
                                   const mhv_input *in, const mhv_encoding *encs,
                                   const mhv_heads *sel, const run_opts *o,
                                   const run_speech_wave *waves, int more, mhv_error *err)
{
    uint64_t limit = o->max_memory_set ? o->max_memory : cli_available_memory();
    for (int i = 0; i < in->n; i++) {
        mhv_status st = check_memory(fc, m, in, i, &encs[i], sel, o, streams(o), limit, waves,
                                     more, err);
        if (st)
            return st;
    }
    return MHV_OK;
}

/* --format: safetensors here, the rest by run_fig_parse_format. */
static int parse_format(run_opts *o)
{
    char rest[1024];
    size_t r = 0;
    const char *p = o->format;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 11 && strncmp(p, "safetensors", 11) == 0) {
            o->safetensors = 1;
        } else {
            if (r + n + 2 > sizeof rest)
                return cli_usage_error("run", "--format list too long");
            if (r)
                rest[r++] = ',';
            memcpy(rest + r, p, n);
            r += n;
        }
        p += n + (p[n] == ',');
    }
    rest[r] = '\0';
    if (o->safetensors && !r) {
        o->fig.formats = o->fig.json = o->fig.html = 0;
        return 0;
    }
    return run_fig_parse_format(rest, &o->fig);
}

static int parse(int argc, char **argv, run_opts *o)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'},  {"heads", required_argument, 0, 'H'},
        {"format", required_argument, 0, 'f'}, {"out", required_argument, 0, 'o'},
        {"pretokenized", no_argument, 0, 'p'}, {"ids", no_argument, 0, 'i'},
        {"truncate", no_argument, 0, 't'},     {"help", no_argument, 0, 'h'},
        RUN_FIG_LONGOPTS,                      {"row", required_argument, 0, 'w'},
        {"threads", required_argument, 0, 'T'},
        {"aggregate", required_argument, 0, 'A'},
        {"rows", required_argument, 0, 'R'},   {"dtype", required_argument, 0, 'D'},
        {"max-memory", required_argument, 0, 'X'},
        {"window", required_argument, 0, 'Z'},  {"max-pixels", required_argument, 0, 0x301},
        {"pool", required_argument, 0, 0x302},
        {"weighting", required_argument, 0, 'W'},
        {"pairs", no_argument, 0, 'P'},        {"generate", required_argument, 0, 'G'},
        {"greedy", no_argument, 0, 0x306},
        {"align-layer", required_argument, 0, 'L'},
        {"src-lang", required_argument, 0, 0x303}, {"tgt-lang", required_argument, 0, 0x304},
        {"no-resize", no_argument, 0, 'N'},    {"query", required_argument, 0, 'Q'},
        {"interpolate-pos", no_argument, 0, 0x305},
        {"image", required_argument, 0, 0x307},
        {"vision-tower", no_argument, 0, 0x308},
        {"text-tower", no_argument, 0, 0x3c0},
        {"contacts", no_argument, 0, 0x309},
        {"global", required_argument, 0, 0x30a},
        {0, 0, 0, 0},
    };
    *o = (run_opts){.heads = "all", .format = "png", .out = "mhaviz-out", .align_layer = -1};
    o->fig.render = mhv_render_default_params();
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'N': o->no_resize = 1; break;
        case 0x305: o->interpolate_pos = 1; break;
        case 0x307: o->image = optarg; break;
        case 0x308: o->vision_tower = 1; break;
        case 0x3c0: o->text_tower = 1; break;
        case 0x309: o->contacts = 1; break;
        case 0x30a: {
            mhv_error e;
            if (run_global_check(optarg, &e))
                return cli_usage_error("run", "--global %s", e.msg);
            o->global = optarg;
            break;
        }
        case 'Q': o->query = optarg; break;
        case 'H': o->heads = optarg; break;
        case 'f': o->format = optarg; break;
        case 'o': o->out = optarg; break;
        case 'p':
        case 'i':
            if (o->mode != INPUT_TEXT && o->mode != (c == 'p' ? INPUT_PRETOKENIZED : INPUT_IDS))
                return cli_usage_error("run", "--pretokenized and --ids exclude each other");
            o->mode = c == 'p' ? INPUT_PRETOKENIZED : INPUT_IDS;
            break;
        case 't': o->truncate = 1; break;
        case 'P': o->pairs = 1; break;
        case 0x306: o->greedy = 1; break;
        case 0x303: o->src_lang = optarg; break;
        case 0x304: o->tgt_lang = optarg; break;
        case 'G':
        case 'L': {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < (c == 'G') || v > 100000)
                return cli_usage_error("run", "--%s '%s' is not a number from %d to 100000",
                                       c == 'G' ? "generate" : "align-layer", optarg, c == 'G');
            if (c == 'G')
                o->generate = (int)v;
            else
                o->align_layer = (int)v;
            break;
        }
        case 'R': {
            mhv_error e;
            if (mhv_rows_check(optarg, &e))
                return cli_usage_error("run", "--rows %s", e.msg);
            o->rows = optarg;
            break;
        }
        case 'Z': {
            char tail;
            if (sscanf(optarg, "%d:%d%c", &o->win0, &o->win1, &tail) != 2 || o->win0 < 0 ||
                o->win1 <= o->win0)
                return cli_usage_error("run", "--window '%s' is not A:B with 0 <= A < B", optarg);
            break;
        }
        case 0x301: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 100 || v > 100000)
                return cli_usage_error("run", "--max-pixels '%s' is not a number from 100 to "
                                       "100000", optarg);
            o->max_pixels = (int)v;
            break;
        }
        case 0x302:
            if (strcmp(optarg, "max") == 0)
                o->pool = MHV_POOL_MAX;
            else if (strcmp(optarg, "mean") == 0)
                o->pool = MHV_POOL_MEAN;
            else
                return cli_usage_error("run", "--pool '%s' is not max or mean", optarg);
            break;
        case 'X':
            if (parse_size(optarg, &o->max_memory))
                return cli_usage_error("run", "--max-memory '%s' is not a size like 20G, 512M "
                                       "or 0", optarg);
            o->max_memory_set = 1;
            break;
        case 'D':
            if (strcmp(optarg, "f32") == 0)
                o->dtype = MHV_DT_F32;
            else if (strcmp(optarg, "f16") == 0)
                o->dtype = MHV_DT_F16;
            else if (strcmp(optarg, "bf16") == 0)
                o->dtype = MHV_DT_BF16;
            else
                return cli_usage_error("run", "--dtype '%s' is not f32, f16 or bf16", optarg);
            break;
        case 'T': {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 1 || v > 1024)
                return cli_usage_error("run", "--threads '%s' is not a number from 1 to 1024",
                                       optarg);
            o->threads = (int)v;
            break;
        }
        case 'A': {
            mhv_error e;
            if (mhv_agg_parse(optarg, &o->agg, &e))
                return cli_usage_error("run", "--aggregate '%s' is not mean, rollout or flow",
                                       optarg);
            o->aggregate = mhv_agg_name(o->agg);
            break;
        }
        case 'W': {
            mhv_error e;
            if (mhv_weighting_parse(optarg, &o->weighting, &e))
                return cli_usage_error("run", "--weighting '%s' is not attn, norm or norm-out",
                                       optarg);
            o->fig.weighting = mhv_weighting_name(o->weighting);
            o->fig.render.quantity = run_fig_quantity(o->weighting);
            break;
        }
        case 'w':
            if (!*optarg || !mhv_utf8_valid(optarg, strlen(optarg), NULL) ||
                strcspn(optarg, "\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10"
                        "\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f") !=
                    strlen(optarg))
                return cli_usage_error("run", "--row WORD is empty, not valid UTF-8 or holds a "
                                       "control character");
            o->fig.row_word = optarg;
            o->fig.render.view = MHV_VIEW_ROW;
            break;
        case 'h': fputs(run_usage, stdout); return -1;
        case ':': return cli_usage_error("run", "option '%s' needs a value", argv[optind - 1]);
        case '?': return cli_usage_error("run", "unknown option '%s'", argv[optind - 1]);
        default: {
            int rc = run_fig_option("run", c, optarg, &o->fig);
            if (rc)
                return rc == 1 ? cli_usage_error("run", "unknown option '%s'", argv[optind - 1])
                               : rc;
        }
        }
    }
    if (o->fig.render.view == MHV_VIEW_ROW && !o->fig.row_word)
        return cli_usage_error("run", "--view row needs --row WORD (the query word drawn)");
    if (o->aggregate && strcmp(o->heads, "all") != 0)
        return cli_usage_error("run", "--aggregate needs every head (no --heads)");
    o->fig.aggregate = o->aggregate;
    int frc = parse_format(o);
    if (frc)
        return frc;
    if ((o->win1 || o->max_pixels) && o->fig.render.view == MHV_VIEW_ROW)
        return cli_usage_error("run", "--window and --max-pixels draw maps, not --view row");
    if (o->rows && o->fig.formats && o->fig.render.view != MHV_VIEW_MATRIX)
        return cli_usage_error("run", "--rows draws the matrix view only (not --view %s)",
                               o->fig.render.view == MHV_VIEW_LINES ? "lines" : "row");
    if (optind != argc - 1)
        return cli_usage_error("run", optind >= argc ? "no input FILE given"
                                                     : "exactly one input FILE expected");
    o->file = argv[optind];
    if (!o->file[0]) /* not "mhaviz: cannot open" naming no file */
        return cli_usage_error("run", "the input FILE is an empty name");
    if (o->pairs && o->generate)
        return cli_usage_error("run", "--pairs and --generate exclude each other");
    if (o->greedy && !o->generate)
        return cli_usage_error("run", "--greedy goes with --generate N");
    if ((o->src_lang || o->tgt_lang) && !o->pairs && !o->generate)
        return cli_usage_error("run", "--src-lang and --tgt-lang are for encoder-decoder models "
                               "(with --pairs or --generate)");
    if (o->image && !o->image[0]) /* not "mhaviz: cannot open" naming no file */
        return cli_usage_error("run", "--image needs a file (PNG or JPEG)");
    if (o->contacts && !o->fig.json && !o->fig.formats)
        return cli_usage_error("run", "--contacts writes into --format json, png, svg or pdf: "
                               "give one of them");
    if (o->contacts && (o->pairs || o->generate))
        return cli_usage_error("run", "--contacts is for single proteins (not --pairs or "
                               "--generate)");
    if (o->generate && o->rows)
        return cli_usage_error("run", "--generate works with --format png, svg, pdf, json, html "
                               "and safetensors (not --rows)");
    if (o->global && o->weighting != MHV_WEIGHT_ATTN) /* the global rows' values are their own */
        return cli_usage_error("run", "--global with --weighting %s is not supported",
                               mhv_weighting_name(o->weighting));
    return 0;
}

/* One sentence's OUT/<stem>[-k].safetensors, open while its layers arrive. */
typedef struct {
    mhv_out out;
    mhv_stw *w;
    const int *rows;    /* the sentence's kept rows, or NULL: for messages */
} st_file;

static mhv_status st_open(st_file *sf, const char *stage, const char *stem, int index,
                          const mhv_model *m, const mhv_heads *sel, const int *rows, int nrows,
                          const run_opts *o, const mhv_sentence *s, const mhv_encoding *enc,
                          const mhv_tok *tok, const char *aggregate, const int *gpos, int ngpos,
                          mhv_error *err)
{
    char path[4096];
    int len = index ? snprintf(path, sizeof path, "%s/%s-%d.safetensors", stage, stem, index + 1)
                    : snprintf(path, sizeof path, "%s/%s.safetensors", stage, stem);
    if (len >= (int)sizeof path)
        return mhv_fail(err, MHV_EUSAGE, o->out, "output path too long");
    mhv_status st = mhv_out_open(&sf->out, path, err);
    if (st)
        return st;
    mhv_model_info info = mhv_model_describe(m);
    mhv_stw_desc d = {.model = &info, .sel = sel, .rows = o->rows ? rows : NULL,
                      .nrows = nrows, .dtype = o->dtype, .text = s->text, .len = s->len,
                      .enc = enc, .tok = tok,
                      .weighting = o->weighting == MHV_WEIGHT_ATTN
                                       ? NULL : mhv_weighting_name(o->weighting),
                      .aggregate = aggregate};
    char *global = NULL; /* --global: metadata "global" */
    if (o->global && !(d.global = global = run_global_list(gpos, ngpos)))
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    if (st || (st = mhv_stw_begin(sf->out.f, sf->out.path, &d, &sf->w, err)))
        mhv_out_abort(&sf->out);
    free(global);
    return st;
}

static mhv_status st_close(st_file *sf, mhv_status st, mhv_error *err)
{
    if (!st) {
        st = mhv_stw_end(sf->w, err);
        sf->w = NULL;
    }
    if (!st)
        st = mhv_out_commit(&sf->out, err);
    mhv_stw_free(sf->w);
    sf->w = NULL;
    if (st)
        mhv_out_abort(&sf->out);
    return st;
}

/* The head sink of a streamed run: checks a head's map, then writes it in place. */
static mhv_status st_head_sink(void *ctx, int layer, int head, const float *w, int rows, int n,
                               mhv_error *err)
{
    st_file *sf = ctx;
    mhv_head_attn h = {.layer = layer, .head = head, .w = (float *)w, .rows = rows, .cols = n};
    mhv_attn one = {.n = n, .count = 1, .heads = &h, .rows = rows, .row_ids = (int *)sf->rows};
    mhv_status st = mhv_attn_check_finite(&one, err);
    return st ? st : mhv_stw_head(sf->w, layer, head, w, rows, n, err);
}

/* The figures of sentence i, of --window's tokens and pooled to --max-pixels when asked. */
static mhv_status zoomed_figs(run_figs *figs, const char *stage, const char *stem, int i,
                              const mhv_input *in, const mhv_encoding *enc, const mhv_attn *a,
                              const run_opts *o, mhv_error *err)
{
    const mhv_sentence *s = &in->s[i];
    if (!o->win1 && !o->max_pixels)
        return run_figs_sentence(figs, stage, stem, i, s, enc, a, err);
    figs->row_enc = enc; /* kept rows keep their own labels in a window or pooled map */
    int t0 = 0, t1 = a->n;
    mhv_attn wa = {0}, pa = {0};
    mhv_encoding we = {0}, pe = {0};
    const mhv_attn *da = a;
    const mhv_encoding *de = enc;
    mhv_status st = MHV_OK;
    if (o->win1) {
        t0 = o->win0, t1 = o->win1 < a->n ? o->win1 : a->n;
        if (t0 >= t1)
            return mhv_fail(err, MHV_EINPUT, in->name, "line %d: --window %d:%d is past its %d "
                            "tokens", s->line, o->win0, o->win1, a->n);
        if ((st = mhv_zoom_window(a, enc, t0, t1, &wa, &we, err))) {
            figs->row_enc = NULL;
            if (st == MHV_EUSAGE && a->row_ids) /* no kept row in the window */
                return mhv_fail(err, MHV_EINPUT, in->name, "line %d: no --rows row lies in "
                                "--window %d:%d", s->line, o->win0, o->win1);
            return st;
        }
        da = &wa, de = &we;
        figs->key0 = t0, figs->key_block = 1;
    }
    char *note = NULL, corner[128];
    mhv_sentence ds = *s;
    int m0 = t1 - t0, b = 1;
    if (o->max_pixels) /* the smallest block whose pooled map fits */
        b = run_fig_block(&o->fig, m0, o->max_pixels);
    if (b > 1) {
        int m = (m0 + b - 1) / b, every = m > 16 ? 4 : 1;
        if ((st = mhv_zoom_pool(da, b, o->pool, t0, every, &pa, &pe, err)))
            goto done;
        da = &pa, de = &pe;
        figs->key0 = t0, figs->key_block = b;
        /* said in the figure's corner too */
        const char *how = o->pool == MHV_POOL_MAX ? "max" : "mean";
        if (a->row_ids) /* the kept rows stay rows */
            snprintf(corner, sizeof corner, "keys pooled in %d-token blocks: %s (tokens %d-%d)",
                     b, how, t0, t1 - 1);
        else
            snprintf(corner, sizeof corner, "pooled %dx%d-token blocks: %s (tokens %d-%d)", b,
                     b, how, t0, t1 - 1);
        figs->corner = corner;
        /* said in the figure: the sentence line starts with it */
        size_t cap = s->len + 128;
        if (!(note = malloc(cap))) {
            st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
            goto done;
        }
        int k = snprintf(note, cap, "[%s of %dx%d-token blocks, tokens %d-%d, labels every %d] ",
                         o->pool == MHV_POOL_MAX ? "max" : "mean", b, b, t0, t1 - 1, every * b);
        memcpy(note + k, s->text, s->len);
        note[(size_t)k + s->len] = '\0';
        ds.text = note, ds.len = (size_t)k + s->len;
    }
    st = run_figs_sentence(figs, stage, stem, i, &ds, de, da, err);
done:
    figs->row_enc = NULL, figs->corner = NULL, figs->key0 = figs->key_block = 0;
    free(note);
    mhv_attn_free(&wa), mhv_attn_free(&pa);
    mhv_encoding_free(&we), mhv_encoding_free(&pe);
    return st;
}

/* Hands the maps of a whole run to the writer layer by layer. */
static mhv_status st_feed(st_file *sf, const mhv_attn *a, mhv_error *err)
{
    for (int k0 = 0, k1; k0 < a->count; k0 = k1) {
        for (k1 = k0; k1 < a->count && a->heads[k1].layer == a->heads[k0].layer; k1++)
            ;
        mhv_attn layer = *a;
        layer.heads = a->heads + k0;
        layer.count = k1 - k0;
        mhv_status st = mhv_stw_layer(sf->w, &layer, err);
        if (st)
            return st;
    }
    return MHV_OK;
}

/* Sentences run ahead of their turn as one packed pass (mhv_forward_run_pack): sentence i
 * of first <= i < first + done has its maps in outs[i - first]; sentence first + done, when
 * below end, failed with st and err. */
typedef struct {
    int budget;             /* tokens a pass holds; 0: one sentence at a time */
    int first, end, done;
    mhv_attn *outs;         /* (budget,) */
    int **rows;             /* (budget,) the sentences' kept rows */
    mhv_forward_item *items;
    mhv_status st;
    mhv_error err;
} run_ahead;

/* The packing of a run: none when streaming, or when a pass of the budget's tokens would
 * not fit limit bytes (0: no limit). */
static mhv_status ahead_init(run_ahead *a, mhv_forward_ctx *fc, const mhv_model *m,
                             const mhv_heads *sel, int stream, uint64_t limit, mhv_error *err)
{
    memset(a, 0, sizeof *a);
    a->budget = stream ? 0 : mhv_forward_pack_tokens(fc, m);
    int n = a->budget < m->cfg.max_positions ? a->budget : m->cfg.max_positions;
    mhv_forward_mem mem;
    mhv_error ignored;
    if (a->budget && limit &&
        (mhv_forward_estimate(fc, m, n, sel, NULL, &mem, &ignored) ||
         mem.weights + mem.activations + mem.maps > limit))
        a->budget = 0;
    if (!a->budget)
        return MHV_OK;
    a->outs = calloc((size_t)a->budget, sizeof *a->outs);
    a->rows = calloc((size_t)a->budget, sizeof *a->rows);
    a->items = calloc((size_t)a->budget, sizeof *a->items);
    if (!a->outs || !a->rows || !a->items)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    return MHV_OK;
}

/* Frees the maps not taken and the rows of the last pass. */
static void ahead_clear(run_ahead *a)
{
    for (int k = 0; k < a->end - a->first; k++) {
        if (k < a->done)
            mhv_attn_free(&a->outs[k]);
        free(a->rows[k]);
        a->rows[k] = NULL;
    }
    a->first = a->end = a->done = 0;
}

static void ahead_free(run_ahead *a)
{
    if (a->rows)
        ahead_clear(a);
    free(a->outs), free(a->rows), free(a->items);
}

/* Sentence i's maps into *attn from the pass that holds it, running the pass of sentences
 * i.. (consecutive, up to the budget's tokens) when none does. */
static mhv_status ahead_take(run_ahead *a, mhv_forward_ctx *fc, const mhv_model *m,
                             const mhv_input *in, const mhv_encoding *encs,
                             const mhv_heads *sel, const run_opts *o, int i, mhv_attn *attn,
                             mhv_error *err)
{
    if (i < a->first || i >= a->end) {
        ahead_clear(a);
        int end = i, tokens = 0;
        mhv_status rst = MHV_OK;
        mhv_error rerr = {0};
        while (end < in->n && end - i < a->budget &&
               (end == i || tokens + encs[end].n <= a->budget)) {
            int *rows = NULL, nrows = 0;
            if (o->rows && !agg_every_row(o) &&
                (rst = mhv_rows_resolve(o->rows, in->s[end].text, in->s[end].len, &encs[end],
                                        &rows, &nrows, &rerr)))
                break; /* told in its turn */
            a->rows[end - i] = rows;
            a->items[end - i] = (mhv_forward_item){encs[end].ids, cli_type_ids(m, &encs[end]),
                                                   encs[end].n, rows, nrows};
            tokens += encs[end++].n;
        }
        if (end == i) { /* sentence i's own rows (which its turn resolved already) */
            memset(attn, 0, sizeof *attn);
            *err = rerr;
            return rst;
        }
        a->first = i, a->end = end;
        a->st = mhv_forward_run_pack(fc, m, a->items, end - i, sel, a->outs, &a->done, &a->err);
    }
    int k = i - a->first;
    if (k < a->done) { /* the caller owns it now */
        *attn = a->outs[k];
        memset(&a->outs[k], 0, sizeof a->outs[k]);
        return MHV_OK;
    }
    memset(attn, 0, sizeof *attn);
    *err = a->err;
    return a->st;
}

/* The sentence's "global" member of the report (--global). */
static mhv_status report_global(FILE *f, const int *pos, int count, mhv_error *err)
{
    char *json = run_global_json(pos, count);
    if (!json)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    fputs(json, f);
    free(json);
    return MHV_OK;
}

/* Runs every sentence, streams the report into DIR/<stem>.json and draws the figures into
 * DIR/<stem>[-k]/ as --format asks. A failure removes everything this run wrote. */
static mhv_status write_outputs(mhv_forward_ctx *fc, const mhv_model *m, const mhv_tok *tok,
                                const mhv_input *in, const mhv_encoding *encs,
                                const mhv_heads *sel, const run_opts *o,
                                const run_speech_wave *waves, mhv_error *err)
{
    char stem[256], path[4096];
    mhv_input_stem(o->file, stem, sizeof stem);
    int *gpos = NULL, ngpos = 0; /* --global: the sentence's global tokens */
    char gnote[256];
    int stream = streams(o);
    uint64_t limit = o->max_memory_set ? o->max_memory : cli_available_memory();
    mhv_status mst = check_all_memory(fc, m, in, encs, sel, o, waves, 0, err);
    if (mst)
        return mst;
    /* everything is written into a staging directory and moved into --out at the end */
    cli_outdir od;
    mhv_status st = cli_outdir_begin(&od, o->out, err);
    if (st)
        return st;
    if (snprintf(path, sizeof path, "%s/%s.json", od.stage, stem) >= (int)sizeof path) {
        cli_outdir_abort(&od, NULL);
        return mhv_fail(err, MHV_EUSAGE, o->out, "output path too long");
    }
    mhv_out out = {0};
    run_figs figs;
    run_ahead ahead;
    /* each sentence's global tokens are set on fc before its own pass: none packed */
    if ((st = ahead_init(&ahead, fc, m, sel, stream || o->global, limit, err))) {
        ahead_free(&ahead);
        cli_outdir_abort(&od, NULL);
        return st;
    }
    if ((st = run_figs_begin(&figs, &o->fig, m, tok, err)) ||
        (st = run_figs_html_begin(&figs, od.stage, stem, o->file, err)))
        goto fail_figs;
    figs.html_win0 = o->win0, figs.html_win1 = o->win1;
    figs.html_pool_mean = o->pool == MHV_POOL_MEAN;
    if (o->fig.json) {
        if ((st = mhv_out_open(&out, path, err)))
            goto fail_figs;
        mhv_model_info info = mhv_model_describe(m);
        mhv_report_begin_gen(out.f, &info, mhv_weighting_name(o->weighting), o->gen_json);
    }
    for (int i = 0; i < in->n; i++) {
        cli_progress("run", i + 1, in->n, 0);
        mhv_attn attn;
        int *rows = NULL, nrows = 0;
        free(gpos), gpos = NULL;
        if (o->global && (st = run_global_set(o->global, m, fc, in->s[i].text, in->s[i].len,
                                              &encs[i], &gpos, &ngpos, err))) {
            cli_fail_line(err, st, in, i);
            goto fail_out;
        }
        if (o->rows && (st = mhv_rows_resolve(o->rows, in->s[i].text, in->s[i].len, &encs[i],
                                              &rows, &nrows, err))) {
            cli_fail_line(err, st, in, i);
            goto fail_out;
        }
        mhv_forward_opts fo = {.rows = rows, .nrows = nrows};
        if (waves) /* a speech encoder's waveform (run_speech.h) */
            fo.audio = waves[i].x, fo.audio_samples = waves[i].n;
        if (o->llava)
            fo.pixels = o->llava->px, fo.image_h = o->llava->info.height,
            fo.image_w = o->llava->info.width;
        int all_rows = agg_every_row(o) && !stream; /* rows cut after the aggregate */
        if (all_rows)
            fo.rows = NULL, fo.nrows = 0;
        st_file sf = {0};
        /* with --aggregate, the file holds the aggregate: opened once it is made */
        if (o->safetensors && !o->aggregate &&
            (st = st_open(&sf, od.stage, stem, i, m, sel, rows, nrows, o, &in->s[i], &encs[i],
                          tok, NULL, gpos, ngpos, err))) {
            free(rows);
            goto fail_out;
        }
        if (stream) /* head by head: one map per thread in memory */
            fo.head_sink = st_head_sink, fo.sink_ctx = &sf, sf.rows = rows;
        if (ahead.budget)
            st = ahead_take(&ahead, fc, m, in, encs, sel, o, i, &attn, err);
        else
            st = mhv_forward_run_opts(fc, m, encs[i].ids, cli_type_ids(m, &encs[i]), encs[i].n,
                                      sel, &fo, &attn, err);
        if (!all_rows)
            free(rows), rows = NULL;
        if (!st && !stream)
            st = mhv_attn_check_finite(&attn, err);
        float *contacts = NULL; /* (ncontacts, ncontacts) --contacts, before any weighting */
        int ncontacts = 0;
        if (!st && o->contacts)
            st = run_contacts_of(fc, m, &encs[i], &attn, &contacts, &ncontacts, err);
        float *norms = NULL; /* (count, rows, n) --weighting's products, for the JSON */
        if (!st && !stream)
            st = mhv_weighting_apply(&attn, o->weighting,
                                     o->fig.json && !o->aggregate ? &norms : NULL, err);
        if (st && err->file[0] == '\0') /* the model's or the weights' fault */
            cli_fail_line(err, st, in, i);
        if (o->safetensors && !o->aggregate) {
            if (!st && !stream && all_rows) { /* the file holds the kept rows only */
                mhv_attn kept;
                if (!(st = mhv_attn_keep_rows(&attn, rows, nrows, &kept, err))) {
                    st = st_feed(&sf, &kept, err);
                    mhv_attn_free(&kept);
                }
            } else if (!st && !stream) {
                st = st_feed(&sf, &attn, err);
            }
            st = st_close(&sf, st, err);
        }
        if (!st && contacts) /* drawn beside the heads' figures */
            st = run_figs_contacts(&figs, od.stage, stem, i, &in->s[i], &encs[i], contacts,
                                   ncontacts, err);
        if (st) {
            free(rows);
            free(norms);
            free(contacts);
            mhv_attn_free(&attn); /* a no-op when nothing is held */
            goto fail_out;
        }
        if (stream)
            continue;
        if (o->aggregate) {
            mhv_attn agg;
            st = mhv_aggregate(&attn, m->cfg.num_layers, m->cfg.num_heads, o->agg, &agg, err);
            if (!st && rows) { /* rollout or flow of every row: keep the rows asked for */
                mhv_attn all = agg, kept;
                mhv_attn heads;
                st = mhv_attn_keep_rows(&all, rows, nrows, &kept, err);
                if (!st)
                    st = mhv_attn_keep_rows(&attn, rows, nrows, &heads, err);
                mhv_attn_free(&all);
                agg = kept;
                if (!st) {
                    mhv_attn_free(&attn);
                    attn = heads;
                } else if (agg.heads) {
                    mhv_attn_free(&agg);
                }
            }
            free(rows), rows = NULL;
            if (!st && o->safetensors) { /* the aggregate of the kept rows, as the JSON */
                st_file sa = {0};
                st = st_open(&sa, od.stage, stem, i, m, sel, agg.row_ids, agg.rows, o,
                             &in->s[i], &encs[i], tok, o->aggregate, gpos, ngpos, err);
                if (!st)
                    st = st_feed(&sa, &agg, err);
                if (!st || sa.w)
                    st = st_close(&sa, st, err);
            }
            if (!st) /* the page shows the heads and their aggregate */
                st = run_figs_html_sentence(&figs, &in->s[i], &encs[i], &attn, &agg, err);
            mhv_attn_free(&attn);
            if (!st && o->fig.json && (o->contacts || o->global)) {
                mhv_report_sentence_open(out.f, i, in->s[i].text, in->s[i].len, &encs[i], tok,
                                         &agg, NULL, o->aggregate);
                if (o->contacts)
                    mhv_report_contacts(out.f, contacts, ncontacts);
                if (o->global)
                    st = report_global(out.f, gpos, ngpos, err);
                mhv_report_sentence_close(out.f);
            } else if (!st && o->fig.json) {
                mhv_report_sentence_agg(out.f, i, in->s[i].text, in->s[i].len, &encs[i], tok,
                                        &agg, o->aggregate);
            }
            free(contacts);
            if (!st && o->global) /* said in the figures' corner (unless pooled) */
                run_global_note(gpos, ngpos, gnote, sizeof gnote), figs.corner = gnote;
            if (!st)
                st = zoomed_figs(&figs, od.stage, stem, i, in, &encs[i], &agg, o, err);
            figs.corner = NULL;
            mhv_attn_free(&agg);
            if (st)
                goto fail_out;
            continue;
        }
        if (o->fig.json && o->llava) {
            mhv_report_image img = o->llava->info;
            img.first = run_llava_first(m, &encs[i]);
            mhv_report_sentence_image(out.f, i, in->s[i].text, in->s[i].len, &encs[i], tok,
                                      &attn, norms, &img);
        } else if (o->fig.json && waves) { /* a speech encoder's WAV */
            mhv_report_sentence_audio(out.f, i, in->s[i].text, in->s[i].len, &encs[i], tok,
                                      &attn, norms, &waves[i].info);
        } else if (o->fig.json && (o->contacts || o->global)) {
            mhv_report_sentence_open(out.f, i, in->s[i].text, in->s[i].len, &encs[i], tok,
                                     &attn, norms, NULL);
            if (o->contacts)
                mhv_report_contacts(out.f, contacts, ncontacts);
            if (o->global)
                st = report_global(out.f, gpos, ngpos, err);
            mhv_report_sentence_close(out.f);
        } else if (o->fig.json) {
            mhv_report_sentence_norms(out.f, i, in->s[i].text, in->s[i].len, &encs[i], tok,
                                      &attn, norms, NULL);
        }
        free(norms);
        free(contacts);
        if (!st)
            st = run_figs_html_sentence(&figs, &in->s[i], &encs[i], &attn, NULL, err);
        if (!st && o->global) /* said in the figures' corner (unless pooled) */
            run_global_note(gpos, ngpos, gnote, sizeof gnote), figs.corner = gnote;
        if (!st)
            st = zoomed_figs(&figs, od.stage, stem, i, in, &encs[i], &attn, o, err);
        figs.corner = NULL;
        mhv_attn_free(&attn);
        if (st)
            goto fail_out;
    }
    cli_progress("run", in->n, in->n, 1);
    free(gpos), gpos = NULL;
    if ((st = run_figs_html_commit(&figs, err)))
        goto fail_out;
    if (o->fig.json) {
        mhv_report_end(out.f);
        if ((st = mhv_out_commit(&out, err)))
            goto fail_figs;
    }
    run_figs_end(&figs, 1);
    ahead_free(&ahead);
    if ((st = cli_outdir_commit(&od, err)))
        return st;
    if (o->fig.formats)
        cli_outdir_leftovers(&od, stem, in->n);
    return MHV_OK;
fail_out:
    cli_progress("run", in->n, in->n, 1);
    free(gpos);
    mhv_out_abort(&out);
fail_figs:
    ahead_free(&ahead);
    run_figs_end(&figs, 0);
    cli_outdir_abort(&od, err);
    return st;
}

/* --text-tower: job->m becomes the text tower of the dual model opened (*owner, closed
 * after it), read with the checkpoint's tokenizer. */
static mhv_status run_text_tower(const char *dir, run_opts *o, cli_job *job, mhv_model **owner,
                                 char *title, size_t title_size, mhv_error *err)
{
    mhv_status st;
    if (o->vision_tower || o->image)
        return mhv_fail(err, MHV_EUSAGE, "", "--text-tower takes neither --vision-tower nor "
                        "--image");
    if ((st = mhv_model_open_text_tower(job->m, err)))
        return st;
    *owner = job->m;
    job->m = (*owner)->text_model;
    (*owner)->text_model = NULL;
    if (!job->tok && (st = mhv_tok_open_dir(dir, &job->tok, err))) {
        if (o->mode != INPUT_IDS) /* ids need no tokenizer: labelled by their ids */
            return st;
        if (st != MHV_EIO) { /* as cli_open_model: a tokenizer mhaviz cannot read */
            char why[1100];
            mhv_error_format(err, why, sizeof why);
            cli_say("warning: %s; tokens are labelled by their ids", why);
        }
    }
    *err = (mhv_error){0};
    if (!o->fig.model_name) { /* titles say whose tower it is */
        mhv_modelname_of_dir(dir, title, title_size - 16);
        strcat(title, " text tower");
        o->fig.model_name = title;
    }
    return MHV_OK;
}

int cmd_run(int argc, char **argv)
{
    run_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;

    char model_buf[4096];
    const char *dir = cli_model_dir(o.model, model_buf, sizeof model_buf);
    mhv_error err = {0};
    cli_job job = {0};
    mhv_model *owner = NULL; /* --vision-tower: the model whose tower job.m is */
    char tower_name[272];
    run_speech_wave *waves = NULL; /* speech encoders' input */
    mhv_forward_ctx *fc = NULL;
    mhv_status st;
    if ((st = cli_open_model(dir, o.mode, &job.m, &job.tok, &err)))
        goto done;
    if (o.contacts && (st = run_contacts_check(job.m, &err)))
        goto done;
    if (o.global && (st = run_global_model(o.global, job.m, &err)))
        goto done;
    if (o.text_tower && (st = run_text_tower(dir, &o, &job, &owner, tower_name,
                                             sizeof tower_name, &err)))
        goto done;
    cli_tok_warn(job.tok);
    if (o.vision_tower) { /* LLaVA's tower alone, run as the vision model it is */
        if (!job.m->cfg.image_in_text || o.image) {
            st = mhv_fail(&err, MHV_EUSAGE, "", o.image ? "--vision-tower reads the images FILE "
                          "lists, not --image" : "--vision-tower is for models with a vision "
                          "tower (llava, gemma3, paligemma, qwen2_vl, qwen2_5_vl); %s has "
                          "none", job.m->cfg.arch);
            goto done;
        }
        owner = job.m; /* the tower's tensors are views of its checkpoint: closed after it */
        job.m = owner->image_tower;
        owner->image_tower = NULL;
        if (!o.fig.model_name) { /* titles say whose tower it is */
            mhv_modelname_of_dir(dir, tower_name, sizeof tower_name - 16);
            strcat(tower_name, " vision tower");
            o.fig.model_name = tower_name;
        }
    }
    if (job.m->cfg.vision &&
        (o.safetensors || o.rows || o.win1 || o.max_pixels || o.max_memory_set)) {
        st = mhv_fail(&err, MHV_EUSAGE, "", "--format safetensors, --rows, --window, "
                      "--max-pixels and --max-memory are not available for vision models yet");
        goto done;
    }
    if (!job.m->cfg.image_in_text && o.image) {
        st = mhv_fail(&err, MHV_EUSAGE, "", "--image is for models that read an image with "
                      "their prompt (llava, gemma3, paligemma, qwen2_vl, qwen2_5_vl); %s "
                      "does not",
                      job.m->cfg.arch);
        goto done;
    }
    /* Gemma 3 runs its language model on text alone without --image; LLaVA generates with
     * its image (the others' generation is not done) */
    if (job.m->cfg.image_in_text &&
        (o.image ? o.pairs || (o.generate && !mhv_forward_image_generates(job.m))
                 : !job.m->cfg.image_optional)) {
        st = mhv_fail(&err, MHV_EUSAGE, "", !o.image
                      ? "%s reads an image with each prompt: give it with --image FILE"
                      : o.pairs ? "--pairs is not available for %s with --image"
                                : "--generate is not available for %s with --image yet "
                                  "(llava generates)", job.m->cfg.arch);
        goto done;
    }
    if (job.m->cfg.enc_dec && o.rows && o.fig.html) {
        st = mhv_fail(&err, MHV_EUSAGE, "", "--rows with --format html is not available for "
                      "encoder-decoder models yet (json, safetensors and the figures take it)");
        goto done;
    }
    int decoder_only = job.m->cfg.causal && !job.m->cfg.enc_dec && !job.m->cfg.vision;
    if (job.m->cfg.speech && (o.pairs || o.generate || o.mode != INPUT_TEXT || o.truncate)) {
        st = mhv_fail(&err, MHV_EUSAGE, "", "%s reads WAV files: --pairs, --generate, --ids, "
                      "--pretokenized and --truncate do not apply", job.m->cfg.arch);
        goto done;
    }
    if (o.pairs && !job.m->cfg.enc_dec && !job.m->cfg.causal && !job.m->cfg.vision) {
        /* an encoder's sentence pairs: tokenizer(first, second), one attention map each */
        if (o.mode != INPUT_TEXT) {
            st = mhv_fail(&err, MHV_EUSAGE, "", "--pairs on an encoder takes text, not --ids");
            goto done;
        }
        o.mode = INPUT_PAIRS;
    } else if (job.m->cfg.enc_dec || o.pairs || (o.generate && !decoder_only)) {
        if (!job.m->cfg.enc_dec) {
            st = mhv_fail(&err, MHV_EUSAGE, "",
                          o.pairs ? "--pairs needs a text encoder or an encoder-decoder model; "
                                    "%s is neither"
                                  : "--generate needs a decoder-only (causal LM) or an "
                                    "encoder-decoder model; %s is neither",
                          job.m->cfg.arch);
            goto done;
        }
        if (o.aggregate && o.agg != MHV_AGG_MEAN) {
            st = mhv_fail(&err, MHV_EUSAGE, "", "--aggregate rollout and flow are not "
                          "available for encoder-decoder models (--aggregate mean is)");
            goto done;
        }
        if (!o.pairs && !o.generate) {
            st = mhv_fail(&err, MHV_EUSAGE, "",
                          "%s is an encoder-decoder model: give --pairs (lines SOURCE<TAB>"
                          "TARGET) or --generate N",
                          job.m->cfg.arch);
            goto done;
        }
        mhv_forward_params fp2 = cli_forward_params(o.threads);
        fp2.value_norms = mhv_weighting_vnorm(o.weighting);
        if ((st = mhv_forward_ctx_new(&fp2, &fc, &err)))
            goto done;
        run_s2s_opts so = {.heads = o.heads, .file = o.file, .out = o.out, .mode = o.mode,
                           .pairs = o.pairs, .generate = o.generate, .greedy = o.greedy,
                           .align_layer = o.align_layer, .fig = &o.fig,
                           .src_lang = o.src_lang, .tgt_lang = o.tgt_lang,
                           .safetensors = o.safetensors, .dtype = o.dtype,
                           .truncate = o.truncate, .aggregate = o.aggregate,
                           .max_memory = o.max_memory, .max_memory_set = o.max_memory_set,
                           .max_pixels = o.max_pixels, .pool = o.pool,
                           .weighting = o.weighting, .rows = o.rows, .win0 = o.win0,
                           .win1 = o.win1, .global = o.global};
        st = run_seq2seq(&so, job.m, job.tok, fc, &err);
        goto done;
    }
    if (job.m->cfg.vision) {
        run_vis_opts vo = {.heads = o.heads, .file = o.file, .out = o.out, .fig = &o.fig,
                           .no_resize = o.no_resize, .interpolate_pos = o.interpolate_pos,
                           .aggregate = o.aggregate != NULL,
                           .agg = o.agg};
        char tail;
        vo.query_cls = o.query && strcmp(o.query, "cls") == 0;
        if (o.query && strcmp(o.query, "pool") == 0) {
            vo.query_pool = 1;
        } else if (o.query && strcmp(o.query, "cls") != 0) {
            if (sscanf(o.query, "%d,%d%c", &vo.query_r, &vo.query_c, &tail) != 2 ||
                vo.query_r < 0 || vo.query_c < 0) {
                st = mhv_fail(&err, MHV_EUSAGE, "", "--query '%s' is not cls, pool or ROW,COL",
                              o.query);
                goto done;
            }
            vo.query_patch = 1;
        }
        mhv_forward_params fpv = cli_forward_params(o.threads);
        if ((st = mhv_forward_ctx_new(&fpv, &fc, &err)))
            goto done;
        st = run_vision(&vo, job.m, fc, &err);
        goto done;
    }
    if (o.no_resize || o.query || o.interpolate_pos) {
        st = mhv_fail(&err, MHV_EUSAGE, "", "--no-resize, --interpolate-pos and --query are "
                      "for vision models");
        goto done;
    }
    run_dgen gen = {0};
    if (o.generate && (o.src_lang || o.tgt_lang)) {
        st = mhv_fail(&err, MHV_EUSAGE, "", "--src-lang and --tgt-lang are for encoder-decoder "
                      "models; %s is a decoder-only model", job.m->cfg.arch);
        goto done;
    }
    if (o.generate && (st = run_dgen_open(&gen, job.m, o.generate, o.greedy, &err)))
        goto done;
    run_llava_image llava = {0};
    if (o.image) { /* LLaVA: the image of every line, its token expanded in each */
        if (o.truncate) {
            st = mhv_fail(&err, MHV_EUSAGE, "", "--truncate is not available for %s (it would "
                          "cut the image's tokens)", job.m->cfg.arch);
            goto done_gen;
        }
        if ((st = run_llava_image_read(job.m, o.image, &llava, &err)))
            goto done_gen;
        o.llava = &llava; /* freed at the end */
        gen.px = llava.px, gen.image_h = llava.info.height, gen.image_w = llava.info.width;
        if ((st = run_llava_job_read(&job, o.heads, o.file, o.mode, &llava, &err)))
            goto done_gen;
    } else if (job.m->cfg.speech) { /* WAV files in */
        st = run_speech_read(&job, o.heads, o.file, &waves, &err);
    } else {
        st = cli_job_read(&job, o.heads, o.file, o.mode, o.truncate, &err);
    }
    if (st)
        goto done_gen;
    /* one pool for the whole file: threads start once, not per sentence */
    mhv_forward_params fp = cli_forward_params(o.threads);
    fp.value_norms = mhv_weighting_vnorm(o.weighting);
    if ((st = mhv_forward_ctx_new(&fp, &fc, &err)))
        goto done_gen;
    /* a decoder's prompts continued first: the maps are of the whole sequences (their
     * memory checked before any runs) */
    if (o.generate) {
        o.gen_beams = gen.s.cfg.num_beams;
        if ((st = run_dgen_check(&gen, job.m, &job.in, job.encs, &err)) ||
            (st = check_all_memory(fc, job.m, &job.in, job.encs, &job.sel, &o, waves,
                                   o.generate, &err)) ||
            (st = run_dgen_all(&gen, fc, job.m, job.tok, &job.in, job.encs, &err)))
            goto done_gen;
        o.gen_json = gen.json;
    }
    int longest = 0;
    for (int i = 0; i < job.in.n; i++)
        longest = job.encs[i].n > longest ? job.encs[i].n : longest;
    run_fig_values_warn(&o.fig, longest);
    st = write_outputs(fc, job.m, job.tok, &job.in, job.encs, &job.sel, &o, waves, &err);
done_gen:
    run_dgen_close(&gen);
done:
    run_speech_free(waves, job.in.n);
    mhv_forward_ctx_free(fc);
    cli_job_close(&job);
    mhv_model_close(owner);
    if (o.llava)
        run_llava_image_free(&llava);
    return st ? cli_report(st, &err) : EXIT_OK;
}
