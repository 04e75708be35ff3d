/* label.h - a token's vocabulary piece as a reader should see it on a figure axis. */
#ifndef MHV_LABEL_H
#define MHV_LABEL_H

typedef enum {
    MHV_LABEL_WORDPIECE = 0, /* BERT: "##" marks a word continuation */
    MHV_LABEL_BYTELEVEL,     /* GPT-2 / Qwen2: pieces are bytes spelled with bytes_to_unicode */
    MHV_LABEL_SENTENCEPIECE, /* LLaMA: "▁" is a space, "<0xE8>" a byte-fallback piece */
    MHV_LABEL_DECODED        /* the token's text as tokenizer.json's decoder gives it
                                (mhv_tok_decode_tokens): a leading space marks a word start */
} mhv_label_kind;

typedef enum {
    MHV_LSTYLE_TEXT = 0,  /* the token's text */
    MHV_LSTYLE_MARK,      /* a tokenizer marker ("##", word-start dot): drawn subtly */
    MHV_LSTYLE_SPECIAL,   /* [CLS], [SEP], <s>: drawn distinctly */
    MHV_LSTYLE_BYTES      /* bytes of a partial character: "<E8 8B>" */
} mhv_label_style;

#define MHV_LABEL_PARTS 6
#define MHV_LABEL_PART_BYTES 100

typedef struct {
    int n;
    struct {
        mhv_label_style style;
        char text[MHV_LABEL_PART_BYTES];  /* UTF-8, NUL-terminated */
    } part[MHV_LABEL_PARTS];
} mhv_label;

/* Splits piece into styled parts. Byte-level pieces are decoded to UTF-8; bytes that do not
 * form a whole character are shown as hex, never as mojibake. Overlong text ends in "…". */
void mhv_label_make(const char *piece, mhv_label_kind kind, int special, mhv_label *out);

#endif
