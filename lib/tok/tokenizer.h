/* tokenizer.h - text to token ids exactly as the model's Hugging Face tokenizer does it.
 *
 * A tokenizer is loaded from a model directory (tokenizer.json, else vocab.txt with
 * tokenizer_config.json, else vocab.json + merges.txt, else a SentencePiece model).
 * Models: WordPiece (BERT), BPE (GPT-2, Qwen2, LLaMA, Llama-3, Mistral ...) and Unigram (T5,
 * XLM-R, ALBERT, DeBERTa-v3), with the normalizers, pre-tokenizers (any Split regex, through
 * Oniguruma) and post-processors tokenizer.json describes. A tokenizer may be used by several
 * threads at once. */
#ifndef MHV_TOKENIZER_H
#define MHV_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef struct {
    int n;
    int32_t *ids;       /* (n,) */
    char **pieces;      /* (n,) the vocabulary strings, NUL-terminated, owned */
    int32_t *spans;     /* (n, 2) [start, end) in Unicode characters of the input text;
                           {-1, -1} for tokens that cover no text (special tokens) */
    int32_t *type_ids;  /* (n,) token type ids of a pair (mhv_tok_encode_pair); else NULL */
    int boundary;       /* pair: index of the first token of the second segment; else 0 */
    int generated;      /* a prompt continued by generation (run --generate on a decoder):
                           index of the first generated token, the prompt's length; else 0 */
} mhv_encoding;

typedef enum {
    MHV_TOK_WORDPIECE = 0,
    MHV_TOK_BYTELEVEL_BPE,     /* GPT-2, Qwen2: pieces spell bytes with bytes_to_unicode ("Ġ") */
    MHV_TOK_SENTENCEPIECE_BPE, /* SentencePiece-style pieces, BPE (LLaMA) or Unigram (T5, XLM-R):
                                  "▁" for a space, "<0xE8>" byte-fallback pieces */
    MHV_TOK_ESM                /* EsmTokenizer: the pieces are the text (residue letters) */
} mhv_tok_kind;

/* Normalisation settings of a BERT tokenizer (HF BertNormalizer). */
typedef struct {
    int clean_text;
    int handle_chinese_chars;
    int strip_accents;   /* HF: unset means "same as lowercase"; resolved at load */
    int lowercase;
} mhv_bert_norm;

typedef struct mhv_tok mhv_tok;

/* Loads the tokenizer of a model directory. Settings come from tokenizer.json's normalizer
 * when present, else tokenizer_config.json, else the Hugging Face defaults. */
mhv_status mhv_tok_open_dir(const char *dir, mhv_tok **out, mhv_error *err);
/* Loads from explicit files (tokenizer_json may be NULL; vocab_txt may be NULL when
 * tokenizer_json is given; tokenizer_config may be NULL). */
mhv_status mhv_tok_open_files(const char *tokenizer_json, const char *vocab_txt,
                              const char *tokenizer_config, mhv_tok **out, mhv_error *err);
/* Loads a byte-level BPE from vocab.json + merges.txt (transformers' slow-tokenizer layout);
 * tokenizer_config and special_tokens_map may be NULL. mhv_tok_open_dir uses it when the
 * directory has no tokenizer.json and no vocab.txt. */
mhv_status mhv_tok_open_bpe_files(const char *vocab_json, const char *merges_txt,
                                  const char *tokenizer_config, const char *special_tokens_map,
                                  mhv_tok **out, mhv_error *err);
/* Loads a SentencePiece model file (tokenizer.model, spm.model ...) as transformers 5 builds a
 * tokenizer from it for tokenizer_config.json's tokenizer_class (DebertaV2Tokenizer,
 * T5Tokenizer, XLMRobertaTokenizer, AlbertTokenizer, LlamaTokenizer; other classes are
 * MHV_EUNSUPPORTED with how to make tokenizer.json). mhv_tok_open_dir uses it when
 * the directory has no tokenizer.json, vocab.txt or vocab.json + merges.txt; there, without a
 * tokenizer_class, config.json's model_type picks the class as AutoTokenizer does. */
mhv_status mhv_tok_open_spm(const char *model, const char *tokenizer_config, mhv_tok **out,
                            mhv_error *err);
/* MarianTokenizer: a side's SentencePiece model (source.spm, target.spm) segments, vocab.json
 * (or target_vocab.json) gives the ids, text </s> (tokenizer_config may be NULL).
 * mhv_tok_open_dir uses it for the source when the directory has source.spm and vocab.json
 * and no tokenizer.json. */
mhv_status mhv_tok_open_marian(const char *spm, const char *vocab_json,
                               const char *tokenizer_config, mhv_tok **out, mhv_error *err);
/* M2M100Tokenizer (transformers' Python class): spm (sentencepiece.bpe.model, a BPE model)
 * segments each part of the text between added tokens as SentencePiece itself does, vocab.json
 * numbers the pieces (a piece it lacks is unk), the language codes __en__ ... follow the
 * vocabulary; the text becomes "src_lang-code TEXT </s>". tokenizer_config and
 * special_tokens_map may be NULL. mhv_tok_open_dir uses it for a directory with vocab.json and
 * sentencepiece.bpe.model whose class is M2M100Tokenizer (or, without one, whose config.json
 * says m2m_100). */
mhv_status mhv_tok_open_m2m100(const char *spm, const char *vocab_json,
                               const char *tokenizer_config, const char *special_tokens_map,
                               mhv_tok **out, mhv_error *err);
/* The target side of a Marian directory: target.spm with target_vocab.json when
 * tokenizer_config.json says separate_vocabs, else vocab.json. *out stays NULL (MHV_OK)
 * when the directory has no target.spm. */
mhv_status mhv_tok_open_marian_target(const char *dir, mhv_tok **out, mhv_error *err);
/* EsmTokenizer (transformers' Python class): vocab.txt as it reads it, every entry a token
 * never split, the parts between them split on whitespace, <unk> for the unknown, text
 * <cls> ... <eos> (tokenizer_config and special_tokens_map may be NULL; their special tokens
 * must be entries of vocab.txt). mhv_tok_open_dir uses it for a vocab.txt whose
 * tokenizer_config.json names EsmTokenizer (or, without a class, whose config.json says
 * esm). */
mhv_status mhv_tok_open_esm(const char *vocab_txt, const char *tokenizer_config,
                            const char *special_tokens_map, mhv_tok **out, mhv_error *err);
void mhv_tok_close(mhv_tok *tok);

mhv_tok_kind mhv_tok_kind_of(const mhv_tok *tok);
/* The model of tokenizer.json: "WordPiece", "BPE" or "Unigram". */
const char *mhv_tok_model_type(const mhv_tok *tok);
int mhv_tok_vocab_size(const mhv_tok *tok);
const mhv_bert_norm *mhv_tok_bert_norm(const mhv_tok *tok);
/* NULL when id is out of range. */
const char *mhv_tok_piece(const mhv_tok *tok, int32_t id);
/* -1 when absent. */
int32_t mhv_tok_lookup(const mhv_tok *tok, const char *piece, size_t len);
/* Special tokens ([CLS], [SEP], [PAD], [UNK], [MASK] and added special tokens). */
int mhv_tok_is_special(const mhv_tok *tok, int32_t id);
/* A one-line warning about the files loaded (a piece listed twice in vocab.txt, accepted as
 * Hugging Face does), "file: problem" like an error; NULL when there is nothing to say. */
const char *mhv_tok_warning(const mhv_tok *tok);

/* Full tokenization of one sentence (valid UTF-8, no NUL), special tokens added as the
 * model's post-processor does ([CLS] ... [SEP] for BERT). */
mhv_status mhv_tok_encode(const mhv_tok *tok, const char *text, size_t len, mhv_encoding *out,
                          mhv_error *err);
/* A sentence pair as the tokenizer encodes tokenizer(first, second): the post-processor's
 * pair template (BERT: [CLS] A [SEP] B [SEP], B's type id 1; RoBERTa / XLM-R: <s> A </s>
 * </s> B </s>), out->type_ids and out->boundary set (the boundary is the first token whose
 * type id is not 0, else the first token of B). The spans of B's tokens count characters of
 * `second`. Without a pair template the two are concatenated, the second with type id 1,
 * as HF does. */
mhv_status mhv_tok_encode_pair(const mhv_tok *tok, const char *first, size_t first_len,
                               const char *second, size_t second_len, mhv_encoding *out,
                               mhv_error *err);
/* 1 when the post-processor defines a pair template. */
int mhv_tok_has_pair(const mhv_tok *tok);
/* Pieces separated by ASCII spaces/tabs, each looked up as given; nothing added.
 * An unknown piece is an MHV_EINPUT error naming it. */
mhv_status mhv_tok_encode_pretokenized(const mhv_tok *tok, const char *text, size_t len,
                                       mhv_encoding *out, mhv_error *err);
/* Decimal ids separated by spaces/tabs/commas; nothing added. An id outside the vocabulary
 * is an MHV_EINPUT error. Spans are {-1,-1}. */
mhv_status mhv_tok_encode_ids(const mhv_tok *tok, const char *text, size_t len,
                              mhv_encoding *out, mhv_error *err);
void mhv_encoding_free(mhv_encoding *enc);

/* The bytes token id stands for in the text, as the Hugging Face decoder of its kind yields
 * them: byte-level pieces mapped back through bytes_to_unicode, SentencePiece "▁" as a space
 * and "<0xE8>" as that byte, WordPiece's "##" dropped; a special token is its piece. Writes at
 * most cap bytes to buf and returns the full length (0 for an id out of range). */
size_t mhv_tok_token_bytes(const mhv_tok *tok, int32_t id, unsigned char *buf, size_t cap);
/* The same for a non-special vocabulary piece of a tokenizer of `kind`, without a tokenizer
 * (figure labels use it): bytes that are not UTF-8 pass through unchanged. */
size_t mhv_tok_piece_bytes(mhv_tok_kind kind, const char *piece, unsigned char *buf, size_t cap);
/* Display text of token id: its bytes as UTF-8, with each run of bytes that are not a whole
 * valid character written as hex, "<E8 8B>" (the first or last piece of a split Chinese
 * character). Always NUL-terminated; cut (never inside a character) when size is short. */
void mhv_tok_token_text(const mhv_tok *tok, int32_t id, char *buf, size_t size);

/* 1 when tokenizer.json has a "decoder" section whose per-token output figure labels show
 * (tok/decoder.h); 0 without one, and for a lone WordPiece decoder with the "##" prefix,
 * whose labels stay the pieces with "##" marked (the same information, as BERT users read
 * it). */
int mhv_tok_labels_decoded(const mhv_tok *tok);
/* What each of the n tokens ids(n,) stands for in the text as tokenizer.json's decoder
 * chain gives it (mhv_decoder_tokens on their vocabulary pieces): *out (n,) malloc'd
 * NUL-terminated strings, freed with mhv_decoder_tokens_free. Without a decoder, the pieces
 * themselves. An id out of range is MHV_EINPUT. */
mhv_status mhv_tok_decode_tokens(const mhv_tok *tok, const int32_t *ids, int n, char ***out,
                                 mhv_error *err);

#endif
