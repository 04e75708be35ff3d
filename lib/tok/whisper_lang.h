/* whisper_lang.h - Whisper's language names: the code a name stands for, as transformers'
 * WhisperTokenizer and generate() read a language ("Hindi", "hindi" and "hi" alike). */
#ifndef MHV_TOK_WHISPER_LANG_H
#define MHV_TOK_WHISPER_LANG_H

#include <stddef.h>

typedef struct {
    const char *name; /* lowercase, as transformers' TO_LANGUAGE_CODE keys */
    const char *code; /* en, zh, ..., yue */
} mhv_whisper_language;

extern const mhv_whisper_language mhv_whisper_languages[]; /* whisper_lang_table.c */
extern const int mhv_whisper_language_count;

/* The code of `language` lowercased (ASCII, as str.lower() on these names): a name or alias
 * gives its code, a code itself; NULL when it is neither (transformers: "Unsupported
 * language"). */
const char *mhv_whisper_language_code(const char *language);

#endif
