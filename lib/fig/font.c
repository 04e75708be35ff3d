#include "fig/font.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The implementation lives in Debian's libstb (-lstb); only the declarations here. */
#include <stb_truetype.h>

#ifdef MHV_HAVE_FONTCONFIG
#include <fontconfig/fontconfig.h>
#endif

#define MAX_FACES 16
/* a glyph bitmap side beyond this is a broken glyph box, drawn as nothing */
#define GLYPH_MAX_SIDE 4096

typedef struct {
    stbtt_fontinfo info;
    const unsigned char *map;  /* (size,) the whole file, read-only */
    size_t size;
    void *window;              /* (window_len,) the reservation map lies in (see map_font) */
    size_t window_len;
    /* TrueType outlines (0 when the face has CFF ones), checked by check_sfnt */
    uint32_t glyf, glyf_len, loca;
    int loc_format, num_glyphs;
    char name[600];
} font_face;

/* Cache slot: key (face + 1, glyph, size in quarter pixels); face 0 is the placeholder. */
typedef struct {
    int used;
    int face, glyph, q;
    mhv_glyph_bitmap bm;
} slot;

struct mhv_fontset {
    font_face faces[MAX_FACES];
    int n;
    slot *cache;       /* (cap,) open addressing */
    size_t cap, count;
    uint32_t *missing; /* (n_missing,) */
    int n_missing, cap_missing;
};

mhv_font_params mhv_font_default_params(void)
{
    return (mhv_font_params){.file = NULL, .env = NULL, .system = 1};
}

static void face_name(char *buf, size_t size, const char *path, int index)
{
    if (index)
        snprintf(buf, size, "%s#%d", path, index);
    else
        snprintf(buf, size, "%s", path);
}

static int already(const mhv_fontset *fs, const char *path, int index)
{
    char name[600];
    face_name(name, sizeof name, path, index);
    for (int i = 0; i < fs->n; i++)
        if (strcmp(fs->faces[i].name, name) == 0)
            return 1;
    return 0;
}

/* ---- fonts are files from anywhere (--font, MHAVIZ_FONT, user fonts via fontconfig) ----
 *
 * stb_truetype trusts the file: it follows table offsets and offsets inside tables without
 * checking them against the file, and recurses into composite glyphs without a limit. So
 * before stb sees a face, check_sfnt checks the table directory and the tables stb reads at
 * fixed places; composite_ok bounds each glyph's components before stb draws it; and the
 * file is mapped inside a window of readable zero pages (map_font) that covers every address
 * an unchecked 32-bit offset can reach, so what is left unchecked reads zeros, not past the
 * mapping. */

#define FONT_MAX_BYTES ((size_t)256 << 20)
/* below the file: stb adds offsets in int, which may wrap negative */
#define WINDOW_BEFORE ((size_t)1 << 31)
/* above it: 32-bit offsets from inside a table, plus stb's 512 MB CFF window */
#define WINDOW_AFTER (((size_t)1 << 33) + ((size_t)1 << 20))

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Maps the file at the start of the window's middle; falls back to a plain mapping when the
 * address space is limited (ulimit -v): check_sfnt's checks still hold then. */
static const uint8_t *map_font(int fd, size_t size, void **window, size_t *window_len)
{
    size_t len = WINDOW_BEFORE + size + WINDOW_AFTER;
    void *w = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (w != MAP_FAILED) {
        uint8_t *at = (uint8_t *)w + WINDOW_BEFORE;
        if (mmap(at, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) != MAP_FAILED) {
            *window = w;
            *window_len = len;
            return at;
        }
        munmap(w, len);
    }
    void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED)
        return NULL;
    *window = m;
    *window_len = size;
    return m;
}

/* The offset of face `index` in a file (a TTC collection or a single face), or -1. */
static long face_offset(const uint8_t *d, size_t size, int index)
{
    if (size >= 12 && memcmp(d, "ttcf", 4) == 0) {
        uint32_t n = be32(d + 8);
        if (index < 0 || (uint32_t)index >= n || 12 + 4 * (uint64_t)n > size)
            return -1;
        return (long)be32(d + 12 + 4 * (size_t)index);
    }
    return index == 0 ? 0 : -1;
}

/* Checks the table directory of the face at off (every table inside the file) and the
 * tables stb reads at fixed offsets; fills f's TrueType outline fields. "" or a reason. */
static const char *check_sfnt(const uint8_t *d, size_t size, size_t off, font_face *f)
{
    if (off > size || size - off < 12)
        return "table directory past the end of the file";
    uint32_t ntab = be16(d + off + 4);
    if (ntab == 0 || (uint64_t)off + 12 + 16 * (uint64_t)ntab > size)
        return "table directory past the end of the file";
    uint32_t pos[6] = {0}, len[6] = {0};
    int found[6] = {0};
    static const char tags[6][5] = {"head", "hhea", "maxp", "hmtx", "loca", "glyf"};
    for (uint32_t i = 0; i < ntab; i++) {
        const uint8_t *r = d + off + 12 + 16 * (size_t)i;
        uint32_t o = be32(r + 8), l = be32(r + 12);
        if ((uint64_t)o + l > size)
            return "a table lies past the end of the file";
        for (int t = 0; t < 6; t++)
            if (!found[t] && memcmp(r, tags[t], 4) == 0) { /* stb takes the first one too */
                found[t] = 1;
                pos[t] = o;
                len[t] = l;
            }
    }
    /* head: unitsPerEm (every scale divides by it) and indexToLocFormat */
    if (len[0] < 54 || len[1] < 36 || len[2] < 6)
        return "head, hhea or maxp table missing or too short";
    uint32_t upem = be16(d + pos[0] + 18), fmt = be16(d + pos[0] + 50);
    if (upem < 16 || upem > 16384 || fmt > 1)
        return "head table has an invalid unitsPerEm or indexToLocFormat";
    uint32_t nmetrics = be16(d + pos[1] + 34), nglyphs = be16(d + pos[2] + 4);
    if (nmetrics == 0 || (uint64_t)len[3] < 4 * (uint64_t)nmetrics)
        return "hmtx table shorter than hhea says";
    f->glyf = f->glyf_len = f->loca = 0;
    f->num_glyphs = (int)nglyphs;
    f->loc_format = (int)fmt;
    if (found[5]) { /* stb reads a glyf table whatever its length says */
        if ((uint64_t)len[4] < ((uint64_t)nglyphs + 1) * (fmt ? 4 : 2))
            return "loca table shorter than maxp says";
        f->glyf = pos[5];
        f->glyf_len = len[5];
        f->loca = pos[4];
    }
    return "";
}

/* Fonts installed by the system administrator; CFF outlines are read only from there. */
static int system_font_path(const char *path)
{
    static const char *const dirs[] = {"/usr/share/fonts/", "/usr/local/share/fonts/",
                                       "/System/Library/Fonts/", "/Library/Fonts/"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (strncmp(path, dirs[i], strlen(dirs[i])) == 0 && !strstr(path, "/../"))
            return 1;
    return 0;
}

/* What stb chose in InitFont that it would then assert on (Debian's libstb keeps its
 * asserts, so a crafted file would abort the process): a cmap subtable format it does not
 * read, and CFF outlines, whose reader asserts on malformed data. "" or a reason. */
static const char *check_stb_choices(const font_face *f, const uint8_t *d, size_t size,
                                     const char *path)
{
    uint32_t im = (uint32_t)f->info.index_map;
    if ((uint64_t)im + 2 > size)
        return "cmap subtable past the end of the file";
    uint32_t fmt = be16(d + im);
    if (fmt != 0 && fmt != 4 && fmt != 6 && fmt != 12 && fmt != 13)
        return "cmap subtable format not supported";
    if (f->info.cff.size && !system_font_path(path))
        return "CFF (PostScript) outlines are read only from the system font directories";
    return "";
}

/* [*a, *b) of glyph g inside glyf; -1 when loca points outside it. */
static int glyph_span(const font_face *f, int g, uint32_t *a, uint32_t *b)
{
    const uint8_t *loca = f->map + f->loca;
    if (g < 0 || g >= f->num_glyphs)
        return -1;
    if (f->loc_format) {
        *a = be32(loca + 4 * (size_t)g);
        *b = be32(loca + 4 * (size_t)g + 4);
    } else {
        *a = 2 * be16(loca + 2 * (size_t)g);
        *b = 2 * be16(loca + 2 * (size_t)g + 2);
    }
    return *a <= *b && *b <= f->glyf_len ? 0 : -1;
}

/* 1 when the simple glyph at (g, len) is whole: contour ends increasing, instructions, flags
 * and coordinates inside the record. stb trusts all of it, and reads one point past the
 * last when the last contour is a single off-curve point. */
static int simple_glyph_ok(const uint8_t *g, uint32_t len)
{
    uint32_t nc = be16(g), q = 10 + 2 * nc;
    if (q + 2 > len)
        return 0;
    uint32_t n = 0, last_start = 0;
    for (uint32_t c = 0; c < nc; c++) {
        uint32_t end = be16(g + 10 + 2 * c) + 1;
        if (end <= n)
            return 0;
        last_start = n;
        n = end;
    }
    q += 2 + be16(g + q);
    uint64_t coords = 0;
    for (uint32_t i = 0; i < n;) {
        if (q >= len)
            return 0;
        uint32_t flags = g[q++], repeat = 1;
        if (flags & 8) {
            if (q >= len)
                return 0;
            repeat += g[q++];
        }
        if (i <= n - 1 && n - 1 < i + repeat && last_start == n - 1 && !(flags & 1))
            return 0;
        uint32_t bytes = ((flags & 2) ? 1 : (flags & 16) ? 0 : 2) + ((flags & 4) ? 1 : (flags & 32) ? 0 : 2);
        coords += (uint64_t)bytes * (repeat < n - i ? repeat : n - i);
        i += repeat;
    }
    return q + coords <= len;
}

/* 1 when stb may draw glyph g: its record and every component of a composite lie inside
 * glyf, components name existing glyphs, nesting is at most 8 deep and 256 glyphs in all
 * (stb would recurse forever into a glyph that contains itself). */
static int composite_ok(const font_face *f, int g)
{
    if (!f->glyf)
        return 1; /* CFF outlines: stb's charstring reader bounds itself */
    enum { MAX_DEPTH = 8, MAX_SEEN = 256 };
    int stack[MAX_SEEN], depth[MAX_SEEN], sp = 0, seen = 0;
    stack[sp] = g;
    depth[sp++] = 0;
    while (sp > 0) {
        sp--;
        int gi = stack[sp], d = depth[sp];
        uint32_t a, b;
        if (++seen > MAX_SEEN || glyph_span(f, gi, &a, &b))
            return 0;
        if (a == b)
            continue;
        const uint8_t *p = f->map + f->glyf;
        if (b - a < 10)
            return 0;
        if (!(be16(p + a) & 0x8000)) {
            if (!simple_glyph_ok(p + a, b - a))
                return 0;
            continue;
        }
        if (d >= MAX_DEPTH)
            return 0;
        for (uint32_t q = a + 10;;) {
            if (b - q < 4)
                return 0;
            uint32_t flags = be16(p + q), comp = be16(p + q + 2);
            if (!(flags & 2))
                return 0; /* points matched instead of an offset: stb asserts on it */
            q += 4 + ((flags & 1) ? 4 : 2) + ((flags & 8) ? 2 : (flags & 0x40) ? 4 : (flags & 0x80) ? 8 : 0);
            if (q > b || comp >= (uint32_t)f->num_glyphs || sp == MAX_SEEN)
                return 0;
            stack[sp] = (int)comp;
            depth[sp++] = d + 1;
            if (!(flags & 0x20))
                break;
        }
    }
    return 1;
}

/* 1 when stb chose the outline tables check_sfnt checked: composite_ok bounds glyphs by
 * check_sfnt's view, so the two must agree (a table at offset 0 is "absent" to stb). */
static int same_tables(const font_face *f)
{
    if (f->info.cff.size)
        return f->glyf == 0 && f->info.glyf == 0;
    return f->glyf != 0 && (uint32_t)f->info.glyf == f->glyf &&
           (uint32_t)f->info.loca == f->loca && f->info.numGlyphs == f->num_glyphs &&
           f->info.indexToLocFormat == f->loc_format;
}

/* Maps face `index` of path into fs. Returns MHV_OK, or an error the caller may ignore
 * (system fonts) or report (a font the user named). */
static mhv_status add_face(mhv_fontset *fs, const char *path, int index, const char *what,
                           mhv_error *err)
{
    if (fs->n == MAX_FACES || already(fs, path, index))
        return MHV_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return mhv_fail(err, MHV_EIO, path, "%scannot open font: %s", what, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 12) {
        close(fd);
        return mhv_fail(err, MHV_EIO, path, "%snot a font file", what);
    }
    if ((unsigned long long)sb.st_size > FONT_MAX_BYTES) {
        close(fd);
        return mhv_fail(err, MHV_EFORMAT, path, "%sfont file larger than %zu MB", what,
                        FONT_MAX_BYTES >> 20);
    }
    size_t size = (size_t)sb.st_size;
    font_face *f = &fs->faces[fs->n];
    const uint8_t *map = map_font(fd, size, &f->window, &f->window_len);
    close(fd);
    if (!map)
        return mhv_fail(err, MHV_EIO, path, "%scannot map font: %s", what, strerror(errno));
    long off = face_offset(map, size, index);
    const char *why = off < 0 ? "no such face in the file" : check_sfnt(map, size, (size_t)off, f);
    if (!*why && !stbtt_InitFont(&f->info, map, (int)off))
        why = "stb_truetype refuses it";
    if (!*why && !same_tables(f))
        why = "stb_truetype reads other tables than the ones checked";
    if (!*why)
        why = check_stb_choices(f, map, size, path);
    if (*why) {
        munmap(f->window, f->window_len);
        return mhv_fail(err, MHV_EFORMAT, path, "%snot a TrueType/OpenType font or collection (%s)",
                        what, why);
    }
    f->map = map;
    f->size = size;
    face_name(f->name, sizeof f->name, path, index);
    fs->n++;
    return MHV_OK;
}

#ifdef MHV_HAVE_FONTCONFIG
/* Adds fontconfig's best match for pattern, when it has the probe character (fontconfig
 * always answers something, even a font without CJK). */
static void add_fc(mhv_fontset *fs, FcConfig *cfg, const char *pattern, uint32_t probe)
{
    FcPattern *p = FcNameParse((const FcChar8 *)pattern);
    if (!p)
        return;
    FcConfigSubstitute(cfg, p, FcMatchPattern);
    FcDefaultSubstitute(p);
    FcResult r;
    FcPattern *m = FcFontMatch(cfg, p, &r);
    FcChar8 *file = NULL;
    int index = 0;
    if (m && FcPatternGetString(m, FC_FILE, 0, &file) == FcResultMatch) {
        FcPatternGetInteger(m, FC_INDEX, 0, &index);
        int before = fs->n;
        if (add_face(fs, (const char *)file, index, "", NULL) == MHV_OK && fs->n > before &&
            !stbtt_FindGlyphIndex(&fs->faces[before].info, (int)probe)) {
            munmap((void *)fs->faces[before].map, fs->faces[before].size);
            fs->n = before;
        }
    }
    if (m)
        FcPatternDestroy(m);
    FcPatternDestroy(p);
}
#endif

/* Where the packages named in fonts/README.md put their files, and macOS's CJK fonts. */
static const char *const well_known[] = {
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
};

mhv_status mhv_font_open(const mhv_font_params *p, mhv_fontset **out, mhv_error *err)
{
    *out = NULL;
    mhv_fontset *fs = calloc(1, sizeof *fs);
    if (!fs)
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    mhv_status st;
    if (p->file && (st = add_face(fs, p->file, 0, "", err)))
        goto fail;
    if (p->env && (st = add_face(fs, p->env, 0, "MHAVIZ_FONT: ", err)))
        goto fail;
    if (p->system) {
#ifdef MHV_HAVE_FONTCONFIG
        /* a private configuration, destroyed below: no global fontconfig state is left */
        FcConfig *cfg = FcInitLoadConfigAndFonts();
        if (cfg) {
            add_fc(fs, cfg, "sans-serif", 'A');
            add_fc(fs, cfg, "sans-serif:lang=zh-cn", 0x4E2D);
            FcConfigDestroy(cfg);
        }
#endif
        for (size_t i = 0; i < sizeof well_known / sizeof well_known[0]; i++)
            if (access(well_known[i], R_OK) == 0)
                add_face(fs, well_known[i], 0, "", NULL);
    }
    if (fs->n == 0) {
        st = mhv_fail(err, MHV_EIO, "",
                      "no font found: install fonts-wqy-microhei (see fonts/README.md)");
        goto fail;
    }
    fs->cap = 512;
    fs->cache = calloc(fs->cap, sizeof *fs->cache);
    if (!fs->cache) {
        st = mhv_fail(err, MHV_ENOMEM, "", "out of memory");
        goto fail;
    }
    *out = fs;
    return MHV_OK;
fail:
    mhv_font_close(fs);
    return st;
}

void mhv_font_close(mhv_fontset *fs)
{
    if (!fs)
        return;
    for (int i = 0; i < fs->n; i++)
        munmap(fs->faces[i].window, fs->faces[i].window_len);
    for (size_t i = 0; i < fs->cap; i++)
        if (fs->cache[i].used)
            free((void *)fs->cache[i].bm.alpha);
    free(fs->cache);
    free(fs->missing);
    free(fs);
}

int mhv_font_count(const mhv_fontset *fs)
{
    return fs->n;
}

const char *mhv_font_name(const mhv_fontset *fs, int i)
{
    return i >= 0 && i < fs->n ? fs->faces[i].name : "";
}

/* Decodes one UTF-8 character at *s (len > 0); malformed input yields U+FFFD, one byte. */
static uint32_t utf8_next(const unsigned char **s, const unsigned char *end)
{
    const unsigned char *p = *s;
    uint32_t c = *p;
    int n = c < 0x80 ? 0 : c >= 0xF0 && c < 0xF5 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 && c < 0xE0 ? 1 : -1;
    if (n < 0 || end - p <= n) {
        *s = p + 1;
        return n == 0 ? c : 0xFFFD;
    }
    c &= n == 0 ? 0x7F : n == 1 ? 0x1F : n == 2 ? 0x0F : 0x07;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *s = p + 1;
            return 0xFFFD;
        }
        c = c << 6 | (p[i] & 0x3F);
    }
    *s = p + n + 1;
    if ((n == 2 && c < 0x800) || (n == 3 && (c < 0x10000 || c > 0x10FFFF)) ||
        (c >= 0xD800 && c < 0xE000))
        return 0xFFFD;
    return c;
}

/* Default-ignorable characters a shaper would not draw. */
static int invisible(uint32_t c)
{
    return (c >= 0x200B && c <= 0x200F) || (c >= 0xFE00 && c <= 0xFE0F) ||
           (c >= 0x2060 && c <= 0x2064) || c == 0xFEFF || c == 0xAD ||
           (c >= 0xE0100 && c <= 0xE01EF);
}

static void note_missing(mhv_fontset *fs, uint32_t cp)
{
    for (int i = 0; i < fs->n_missing; i++)
        if (fs->missing[i] == cp)
            return;
    if (fs->n_missing == fs->cap_missing) {
        int cap = fs->cap_missing ? 2 * fs->cap_missing : 8;
        uint32_t *m = realloc(fs->missing, (size_t)cap * sizeof *m);
        if (!m)
            return; /* the box is still drawn; only the report loses the character */
        fs->missing = m;
        fs->cap_missing = cap;
    }
    fs->missing[fs->n_missing++] = cp;
}

static mhv_glyph find_glyph(mhv_fontset *fs, uint32_t cp)
{
    for (int i = 0; i < fs->n; i++) {
        int g = stbtt_FindGlyphIndex(&fs->faces[i].info, (int)cp);
        if (g)
            return (mhv_glyph){i, g, cp};
    }
    note_missing(fs, cp);
    return (mhv_glyph){-1, 0, cp};
}

static float em_scale(const mhv_fontset *fs, int f, float px)
{
    return stbtt_ScaleForMappingEmToPixels(&fs->faces[f].info, px);
}

/* Placeholder box: 0.6 em wide, from the baseline up 0.72 em, stroke 0.07 em. */
#define BOX_ADV 0.68f
#define BOX_X0 0.08f
#define BOX_X1 0.60f
#define BOX_TOP 0.72f
#define BOX_STROKE 0.07f

static float advance(const mhv_fontset *fs, mhv_glyph g, float px)
{
    if (g.face < 0)
        return BOX_ADV * px;
    int adv, lsb;
    stbtt_GetGlyphHMetrics(&fs->faces[g.face].info, g.glyph, &adv, &lsb);
    return (float)adv * em_scale(fs, g.face, px);
}

int mhv_font_layout(mhv_fontset *fs, const char *s, size_t len, float px, mhv_placed *out,
                    int cap, float *width)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    float x = 0;
    int n = 0;
    mhv_glyph prev = {-1, 0, 0};
    while (p < end) {
        uint32_t cp = utf8_next(&p, end);
        if (invisible(cp))
            continue;
        mhv_glyph g = find_glyph(fs, cp);
        if (n > 0 && g.face >= 0 && g.face == prev.face)
            x += (float)stbtt_GetGlyphKernAdvance(&fs->faces[g.face].info, prev.glyph, g.glyph) *
                 em_scale(fs, g.face, px);
        if (n < cap && out)
            out[n] = (mhv_placed){g, x};
        n++;
        x += advance(fs, g, px);
        prev = g;
    }
    if (width)
        *width = x;
    return n < cap || !out ? n : cap;
}

float mhv_font_width(mhv_fontset *fs, const char *s, size_t len, float px)
{
    float w;
    mhv_font_layout(fs, s, len, px, NULL, 0, &w);
    return w;
}

void mhv_font_vmetrics(const mhv_fontset *fs, float px, float *ascent, float *descent)
{
    int a, d, gap;
    stbtt_GetFontVMetrics(&fs->faces[0].info, &a, &d, &gap);
    float sc = em_scale(fs, 0, px);
    *ascent = (float)a * sc;
    *descent = (float)-d * sc;
}

static size_t slot_hash(int face, int glyph, int q, size_t cap)
{
    uint64_t h = (uint64_t)(uint32_t)(face + 1) * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)(uint32_t)glyph * 0xC2B2AE3D27D4EB4Full;
    h ^= (uint64_t)(uint32_t)q * 0x165667B19E3779F9ull;
    h ^= h >> 29;
    return (size_t)h & (cap - 1);
}

static int grow(mhv_fontset *fs)
{
    size_t cap = fs->cap * 2;
    slot *c = calloc(cap, sizeof *c);
    if (!c)
        return -1;
    for (size_t i = 0; i < fs->cap; i++) {
        if (!fs->cache[i].used)
            continue;
        size_t h = slot_hash(fs->cache[i].face, fs->cache[i].glyph, fs->cache[i].q, cap);
        while (c[h].used)
            h = (h + 1) & (cap - 1);
        c[h] = fs->cache[i];
    }
    free(fs->cache);
    fs->cache = c;
    fs->cap = cap;
    return 0;
}

static int box_bitmap(float px, mhv_glyph_bitmap *bm)
{
    int x0 = (int)lrintf(BOX_X0 * px), x1 = (int)lrintf(BOX_X1 * px);
    int top = (int)lrintf(BOX_TOP * px);
    int t = (int)lrintf(BOX_STROKE * px);
    if (t < 1)
        t = 1;
    int w = x1 - x0 > 2 * t ? x1 - x0 : 2 * t + 1, h = top > 2 * t ? top : 2 * t + 1;
    uint8_t *a = calloc((size_t)w * (size_t)h, 1);
    if (!a)
        return -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (x < t || x >= w - t || y < t || y >= h - t)
                a[y * w + x] = 255;
    *bm = (mhv_glyph_bitmap){w, h, x0, -h, a};
    return 0;
}

/* 1 when every point of glyph g's outline lies in the glyph box its header gives: stb
 * sizes the bitmap by that box and asserts when an edge starts above it. */
static int outline_in_box(const stbtt_fontinfo *fi, int g)
{
    int x0, y0, x1, y1;
    if (!stbtt_GetGlyphBox(fi, g, &x0, &y0, &x1, &y1))
        return 1; /* no outline: nothing is drawn */
    stbtt_vertex *v = NULL;
    int n = stbtt_GetGlyphShape(fi, g, &v), ok = 1;
    for (int i = 0; i < n && ok; i++) {
        ok = v[i].x >= x0 && v[i].x <= x1 && v[i].y >= y0 && v[i].y <= y1;
        if (ok && v[i].type == STBTT_vcurve)
            ok = v[i].cx >= x0 && v[i].cx <= x1 && v[i].cy >= y0 && v[i].cy <= y1;
        if (ok && v[i].type == STBTT_vcubic)
            ok = v[i].cx >= x0 && v[i].cx <= x1 && v[i].cy >= y0 && v[i].cy <= y1 &&
                 v[i].cx1 >= x0 && v[i].cx1 <= x1 && v[i].cy1 >= y0 && v[i].cy1 <= y1;
    }
    stbtt_FreeShape(fi, v);
    return ok;
}

const mhv_glyph_bitmap *mhv_font_bitmap(mhv_fontset *fs, mhv_glyph g, float px)
{
    int q = (int)lrintf(px * 4.0f);
    int face_key = g.face < 0 ? -1 : g.face, glyph_key = g.face < 0 ? 0 : g.glyph;
    size_t h = slot_hash(face_key, glyph_key, q, fs->cap);
    while (fs->cache[h].used) {
        slot *s = &fs->cache[h];
        if (s->face == face_key && s->glyph == glyph_key && s->q == q)
            return &s->bm;
        h = (h + 1) & (fs->cap - 1);
    }
    if ((fs->count + 1) * 2 > fs->cap) {
        if (grow(fs))
            return NULL;
        return mhv_font_bitmap(fs, g, px); /* one level: the table now has room */
    }
    mhv_glyph_bitmap bm;
    if (g.face < 0) {
        if (box_bitmap(px, &bm))
            return NULL;
    } else {
        const stbtt_fontinfo *fi = &fs->faces[g.face].info;
        float sc = em_scale(fs, g.face, px);
        int w = 0, hh = 0, x0 = 0, y0 = 0, bx0, by0, bx1, by1;
        /* a glyph box from the file may be anything: stb multiplies w * h in int */
        stbtt_GetGlyphBitmapBox(fi, g.glyph, sc, sc, &bx0, &by0, &bx1, &by1);
        long long bw = (long long)bx1 - bx0, bh = (long long)by1 - by0;
        int drawable = composite_ok(&fs->faces[g.face], g.glyph) && bw >= 0 && bh >= 0 &&
                       bw <= GLYPH_MAX_SIDE && bh <= GLYPH_MAX_SIDE &&
                       outline_in_box(fi, g.glyph);
        unsigned char *a = drawable ? stbtt_GetGlyphBitmap(fi, sc, sc, g.glyph, &w, &hh, &x0, &y0)
                                    : NULL;
        /* copied into our allocation so the cache frees with free(), not stbtt's allocator */
        uint8_t *c = malloc(w > 0 && hh > 0 ? (size_t)w * (size_t)hh : 1);
        if (!c) {
            stbtt_FreeBitmap(a, NULL);
            return NULL;
        }
        if (a && w > 0 && hh > 0)
            memcpy(c, a, (size_t)w * (size_t)hh);
        else
            w = hh = 0;
        stbtt_FreeBitmap(a, NULL);
        bm = (mhv_glyph_bitmap){w, hh, x0, y0, c};
    }
    fs->cache[h] = (slot){1, face_key, glyph_key, q, bm};
    fs->count++;
    return &fs->cache[h].bm;
}

int mhv_font_outline(mhv_fontset *fs, mhv_glyph g, float px, mhv_path_op **ops)
{
    *ops = NULL;
    if (g.face < 0) {
        /* the box as an outer and an inner contour, so nonzero and evenodd both leave a hole */
        float x0 = BOX_X0 * px, x1 = BOX_X1 * px, y0 = -BOX_TOP * px, y1 = 0, t = BOX_STROKE * px;
        mhv_path_op *o = malloc(10 * sizeof *o);
        if (!o)
            return -1;
        float pts[10][2] = {{x0, y0},     {x1, y0},     {x1, y1},     {x0, y1},    {x0, y0},
                            {x0 + t, y0 + t}, {x0 + t, y1 - t}, {x1 - t, y1 - t}, {x1 - t, y0 + t},
                            {x0 + t, y0 + t}};
        for (int i = 0; i < 10; i++)
            o[i] = (mhv_path_op){(i == 0 || i == 5) ? 'M' : 'L', pts[i][0], pts[i][1], 0, 0, 0, 0};
        *ops = o;
        return 10;
    }
    const stbtt_fontinfo *fi = &fs->faces[g.face].info;
    stbtt_vertex *v = NULL;
    if (!composite_ok(&fs->faces[g.face], g.glyph))
        return 0;
    int n = stbtt_GetGlyphShape(fi, g.glyph, &v);
    if (n <= 0) {
        stbtt_FreeShape(fi, v);
        return 0;
    }
    mhv_path_op *o = malloc((size_t)n * sizeof *o);
    if (!o) {
        stbtt_FreeShape(fi, v);
        return -1;
    }
    float sc = em_scale(fs, g.face, px);
    for (int i = 0; i < n; i++) {
        char op = v[i].type == STBTT_vmove ? 'M' : v[i].type == STBTT_vline ? 'L'
                : v[i].type == STBTT_vcurve ? 'Q' : 'C';
        /* font units are y up; the page is y down */
        o[i] = (mhv_path_op){op,
                             v[i].x * sc, -v[i].y * sc,
                             v[i].cx * sc, -v[i].cy * sc,
                             v[i].cx1 * sc, -v[i].cy1 * sc};
    }
    stbtt_FreeShape(fi, v);
    *ops = o;
    return n;
}

int mhv_font_missing_count(const mhv_fontset *fs)
{
    return fs->n_missing;
}

uint32_t mhv_font_missing(const mhv_fontset *fs, int i)
{
    return i >= 0 && i < fs->n_missing ? fs->missing[i] : 0;
}

void mhv_font_family(const mhv_fontset *fs, int i, char *buf, size_t size)
{
    if (size == 0)
        return;
    buf[0] = '\0';
    if (i < 0 || i >= fs->n)
        return;
    /* name ID 1 (family): Windows Unicode (UTF-16BE) English first, then Mac Roman */
    int len = 0;
    const char *s = stbtt_GetFontNameString(&fs->faces[i].info, &len, STBTT_PLATFORM_ID_MICROSOFT,
                                            STBTT_MS_EID_UNICODE_BMP, STBTT_MS_LANG_ENGLISH, 1);
    size_t o = 0;
    if (s && len > 1) {
        for (int k = 0; k + 1 < len; k += 2) {
            uint32_t c = (uint32_t)(unsigned char)s[k] << 8 | (unsigned char)s[k + 1];
            if (c >= 0xD800 && c < 0xDC00 && k + 3 < len) { /* a surrogate pair */
                uint32_t lo = (uint32_t)(unsigned char)s[k + 2] << 8 | (unsigned char)s[k + 3];
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                k += 2;
            }
            char u[4];
            size_t n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
            if (c < 0x20 || (c >= 0xD800 && c < 0xE000) || c > 0x10FFFF || o + n >= size)
                break;
            if (n == 1)
                u[0] = (char)c;
            else if (n == 2)
                u[0] = (char)(0xC0 | c >> 6), u[1] = (char)(0x80 | (c & 0x3F));
            else if (n == 3)
                u[0] = (char)(0xE0 | c >> 12), u[1] = (char)(0x80 | ((c >> 6) & 0x3F)),
                u[2] = (char)(0x80 | (c & 0x3F));
            else
                u[0] = (char)(0xF0 | c >> 18), u[1] = (char)(0x80 | ((c >> 12) & 0x3F)),
                u[2] = (char)(0x80 | ((c >> 6) & 0x3F)), u[3] = (char)(0x80 | (c & 0x3F));
            memcpy(buf + o, u, n);
            o += n;
        }
    } else if ((s = stbtt_GetFontNameString(&fs->faces[i].info, &len, STBTT_PLATFORM_ID_MAC,
                                            STBTT_MAC_EID_ROMAN, STBTT_MAC_LANG_ENGLISH, 1))) {
        for (int k = 0; k < len && o + 1 < size; k++)
            if ((unsigned char)s[k] >= 0x20 && (unsigned char)s[k] < 0x7F)
                buf[o++] = s[k];
    }
    buf[o] = '\0';
}
