/* fuzz_label.c - axis labels from arbitrary vocabulary pieces: every part is valid UTF-8 and
 * NUL-terminated inside its buffer, whatever a byte-level piece holds. */
#include <string.h>

#include "fuzz.h"
#include "fig/label.h"
#include "text/unicode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *piece = malloc(size);
    FUZZ_CHECK(piece);
    memcpy(piece, data + 1, size - 1);
    piece[size - 1] = '\0';
    mhv_label_kind kind = data[0] & 1 ? MHV_LABEL_BYTELEVEL : MHV_LABEL_WORDPIECE;
    int special = (data[0] >> 1) & 1;
    /* WordPiece pieces and special tokens come from a vocabulary checked to be UTF-8; only
     * byte-level pieces may hold anything */
    if ((kind == MHV_LABEL_WORDPIECE || special) && !mhv_utf8_valid(piece, strlen(piece), NULL)) {
        free(piece);
        return 0;
    }
    mhv_label lab;
    mhv_label_make(piece, kind, special, &lab);
    FUZZ_CHECK(lab.n >= 0 && lab.n <= MHV_LABEL_PARTS);
    for (int i = 0; i < lab.n; i++) {
        size_t l = strnlen(lab.part[i].text, MHV_LABEL_PART_BYTES);
        FUZZ_CHECK(l < MHV_LABEL_PART_BYTES);
        FUZZ_CHECK(mhv_utf8_valid(lab.part[i].text, l, NULL));
    }
    free(piece);
    return 0;
}
