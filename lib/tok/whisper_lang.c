/* whisper_lang.c - a Whisper language name or code to its code (whisper_lang.h). */
#include <string.h>

#include "tok/whisper_lang.h"

/* a and b equal once a is lowercased (b is lowercase) */
static int equal_lowered(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if ((*a >= 'A' && *a <= 'Z' ? *a - 'A' + 'a' : *a) != *b)
            return 0;
    return *a == *b;
}

const char *mhv_whisper_language_code(const char *language)
{
    /* names first, then codes: transformers' order (a string is never both) */
    for (int i = 0; i < mhv_whisper_language_count; i++)
        if (equal_lowered(language, mhv_whisper_languages[i].name))
            return mhv_whisper_languages[i].code;
    for (int i = 0; i < mhv_whisper_language_count; i++)
        if (equal_lowered(language, mhv_whisper_languages[i].code))
            return mhv_whisper_languages[i].code;
    return NULL;
}
