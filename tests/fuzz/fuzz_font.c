/* fuzz_font.c - a font file (--font, MHAVIZ_FONT, a user font fontconfig finds): opened as
 * the only face, then text laid out, every glyph rasterised at two sizes and outlined, and
 * the family name read. A face either fails to open with one line naming the file, or
 * every operation on it stays inside its memory (ASan) and returns sane values. */
#include <math.h>
#include <string.h>

#include "fig/font.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_as_file(data, size);
    mhv_font_params p = mhv_font_default_params();
    p.file = path;
    p.system = 0;
    mhv_fontset *fs = NULL;
    mhv_error err = {0};
    if (mhv_font_open(&p, &fs, &err) != MHV_OK) {
        FUZZ_CHECK(fs == NULL && err.msg[0] && !strchr(err.msg, '\n'));
        return 0;
    }
    FUZZ_CHECK(mhv_font_count(fs) == 1);
    static const char text[] = "Ag[CLS] ##ing \xE8\x8B\xB9\xE6\x9E\x9C\xE2\x86\x92 0.25 \xC3\xA9\xEF\xBF\xBD";
    mhv_placed placed[64];
    float width = 0;
    int n = mhv_font_layout(fs, text, sizeof text - 1, 13.0f, placed, 64, &width);
    FUZZ_CHECK(n >= 0 && n <= 64);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 2; k++) {
            const mhv_glyph_bitmap *bm = mhv_font_bitmap(fs, placed[i].g, k ? 40.0f : 9.0f);
            if (bm)
                FUZZ_CHECK(bm->w >= 0 && bm->h >= 0 && (bm->w == 0 || bm->alpha));
        }
        mhv_path_op *ops = NULL;
        int m = mhv_font_outline(fs, placed[i].g, 13.0f, &ops);
        FUZZ_CHECK(m >= -1);
        free(ops);
    }
    float asc = 0, desc = 0;
    mhv_font_vmetrics(fs, 13.0f, &asc, &desc);
    (void)mhv_font_width(fs, text, sizeof text - 1, 13.0f);
    char family[128];
    mhv_font_family(fs, 0, family, sizeof family);
    FUZZ_CHECK(strlen(family) < sizeof family);
    mhv_font_close(fs);
    return 0;
}
