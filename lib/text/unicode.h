/* unicode.h - UTF-8 decoding and the Unicode properties BERT tokenization needs.
 *
 * The properties follow what the Hugging Face `tokenizers` library does, not one Unicode
 * version: see the header of the generated lib/text/unicode_tables.c. */
#ifndef MHV_UNICODE_H
#define MHV_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* Most code points one mhv_uc_to_lower or mhv_uc_decompose call can produce. */
#define MHV_UC_MAX_EXPANSION 18

typedef struct {
    uint32_t lo, hi; /* inclusive */
} mhv_uc_range;

typedef struct {
    uint32_t lo, hi; /* inclusive */
    uint8_t ccc;
} mhv_uc_ccc_range;

typedef struct {
    uint32_t cp;
    const uint32_t *to; /* (n,) */
    int n;
} mhv_uc_map;

/* Decodes one UTF-8 sequence of s[0..len). Returns its byte length (1-4) and sets *cp, or 0
 * when it is invalid: truncated, bad continuation, overlong, a surrogate or > U+10FFFF. */
int mhv_utf8_decode(const char *s, size_t len, uint32_t *cp);
/* Encodes cp (a Unicode scalar value) into out; returns the byte length (1-4). */
int mhv_utf8_encode(uint32_t cp, char out[4]);
/* 1 when s[0..len) is valid UTF-8; *n_chars (if non-NULL) receives the code point count. */
int mhv_utf8_valid(const char *s, size_t len, size_t *n_chars);

/* HF: ' ', \t, \n, \r, or the Unicode White_Space property. */
int mhv_uc_is_whitespace(uint32_t cp);
/* HF: general category C* except \t \n \r (and except unassigned code points, as HF). */
int mhv_uc_is_control(uint32_t cp);
/* HF BERT: ASCII 33-47, 58-64, 91-96, 123-126, or general category P*. */
int mhv_uc_is_punctuation(uint32_t cp);
/* The CJK Unified Ideograph blocks BERT surrounds with spaces (HF's list: see unicode.c). */
int mhv_uc_is_chinese_char(uint32_t cp);
/* General category Mn (what strip_accents drops after decomposition). */
int mhv_uc_is_nonspacing_mark(uint32_t cp);
/* Canonical combining class (0 for starters), for NFD's canonical reordering. */
int mhv_uc_ccc(uint32_t cp);
/* Full per-character lowercase as Rust's char::to_lowercase (no final-sigma context):
 * writes 1..MHV_UC_MAX_EXPANSION code points to out, returns the count. */
int mhv_uc_to_lower(uint32_t cp, uint32_t out[MHV_UC_MAX_EXPANSION]);
/* Full canonical decomposition (NFD) of one code point, Hangul included; returns the count.
 * The caller does the canonical reordering across characters (mhv_uc_ccc). */
int mhv_uc_decompose(uint32_t cp, uint32_t out[MHV_UC_MAX_EXPANSION]);

/* \p{L} / \p{N} as the regex engine of HF tokenizers sees them (byte-level BPE pre-tokenizers;
 * whitespace there, \s, is mhv_uc_is_whitespace). */
int mhv_uc_is_letter(uint32_t cp);
int mhv_uc_is_number(uint32_t cp);
/* General category M (Mn, Mc, Me): what HF's StripAccents normalizer removes. */
int mhv_uc_is_mark(uint32_t cp);
/* NFC of cps (n,), as HF's NFC normalizer: full canonical decomposition, canonical
 * reordering, canonical composition. orig (n,) gives each code point's original character;
 * the output's origins follow HF's alignments (see unicode.c: a composed character keeps its
 * starter's, reordered marks keep their positions). On success *out_cp and *out_orig are
 * malloc'd arrays of *out_n entries (the caller frees them); -1 when out of memory. The sort
 * of combining marks is a counting sort, so no input is quadratic. */
int mhv_uc_nfc(const uint32_t *cps, const int32_t *orig, size_t n, uint32_t **out_cp,
               int32_t **out_orig, size_t *out_n);
/* NFD the same way: decomposition and canonical reordering, no composition. */
int mhv_uc_nfd(const uint32_t *cps, const int32_t *orig, size_t n, uint32_t **out_cp,
               int32_t **out_orig, size_t *out_n);
/* NFKC and NFKD: the same with compatibility decompositions. */
int mhv_uc_nfkc(const uint32_t *cps, const int32_t *orig, size_t n, uint32_t **out_cp,
                int32_t **out_orig, size_t *out_n);
int mhv_uc_nfkd(const uint32_t *cps, const int32_t *orig, size_t n, uint32_t **out_cp,
                int32_t **out_orig, size_t *out_n);

/* The generated tables (lib/text/unicode_tables.c), sorted, for unicode.c only. */
extern const mhv_uc_range mhv_uc_control_ranges[], mhv_uc_punct_ranges[], mhv_uc_mn_ranges[];
extern const int mhv_uc_control_ranges_n, mhv_uc_punct_ranges_n, mhv_uc_mn_ranges_n;
extern const mhv_uc_ccc_range mhv_uc_ccc_ranges[];
extern const int mhv_uc_ccc_ranges_n;
extern const mhv_uc_map mhv_uc_lower_map[];
extern const int mhv_uc_lower_map_n;
/* BERT's decomposition where it differs from mhv_uc_nfd_map (HF's tables are older). */
extern const mhv_uc_map mhv_uc_decomp_delta[];
extern const int mhv_uc_decomp_delta_n;
extern const mhv_uc_range mhv_uc_letter_ranges[], mhv_uc_number_ranges[], mhv_uc_mark_ranges[];
extern const int mhv_uc_letter_ranges_n, mhv_uc_number_ranges_n, mhv_uc_mark_ranges_n;
extern const mhv_uc_map mhv_uc_nfd_map[], mhv_uc_nfkd_delta[];
extern const int mhv_uc_nfd_map_n, mhv_uc_nfkd_delta_n;
typedef struct {
    uint32_t a, b, c; /* a followed by b composes to c */
} mhv_uc_pair;
extern const mhv_uc_pair mhv_uc_compose_pairs[]; /* sorted by (a, b) */
/* General categories as the regex engine inside HF tokenizers sees them (its Unicode is newer
 * than a system libonig's): "L", "N", "Lu" ... with their sorted ranges. */
typedef struct {
    const char *name;
    const mhv_uc_range *r;
    int n;
} mhv_uc_prop;
extern const mhv_uc_prop mhv_uc_regex_props[];
extern const int mhv_uc_regex_props_n;
extern const int mhv_uc_compose_pairs_n;

#endif
