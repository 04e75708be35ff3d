#!/usr/bin/env python3
"""Writes lib/text/unicode_tables.c: the Unicode properties the BERT normalizer and pre-tokenizer use,
and those of the byte-level BPE pre-tokenizers (\\p{L}, \\p{N}) and the NFC normalizer.

Run from the repo root:  /root/venv/bin/python lib/text/gen_unicode_tables.py

The base is Python's unicodedata. The Hugging Face `tokenizers` library does not use one
Unicode version: its BertNormalizer takes categories from the Rust crate unicode_categories
(an old Unicode, and Cn is not "control"), decomposition from unicode-normalization-alignments
(also old) and lowercase from Rust's std (recent Unicode). Token ids must equal HF's, so when
`tokenizers` is importable this script asks it about every code point and overrides the base
where they differ; the overrides are counted in the generated file's header. Without
`tokenizers` the pure unicodedata tables are written (and say so).
"""
import sys
import unicodedata as ud

OUT = "lib/text/unicode_tables.c"
MAXCP = 0x110000

# Unicode White_Space property (stable since 6.3); Python has no accessor for it.
WHITE_SPACE = [0x9, 0xA, 0xB, 0xC, 0xD, 0x20, 0x85, 0xA0, 0x1680] + list(range(0x2000, 0x200B)) + \
    [0x2028, 0x2029, 0x202F, 0x205F, 0x3000]

S_BASE, S_COUNT = 0xAC00, 11172  # Hangul syllables decompose algorithmically (in unicode.c)


def scalar(c):
    return not (0xD800 <= c <= 0xDFFF)


def base_tables():
    control, punct, mn, lower, decomp = set(), set(), set(), {}, {}
    for c in range(MAXCP):
        if not scalar(c):
            continue
        ch = chr(c)
        cat = ud.category(ch)
        if cat in ("Cc", "Cf", "Co", "Cs") and c not in (9, 10, 13):
            control.add(c)
        if cat.startswith("P"):
            punct.add(c)
        if cat == "Mn":
            mn.add(c)
        lo = ch.lower()
        if c == 0x130:  # Python lowercases U+0130 to "i̇" like Rust; keep explicit
            lo = "i\u0307"
        if lo != ch:
            lower[c] = [ord(x) for x in lo]
        if not (S_BASE <= c < S_BASE + S_COUNT):
            d = ud.normalize("NFD", ch)
            if d != ch:
                decomp[c] = [ord(x) for x in d]
    return control, punct, mn, lower, decomp


def hf_overrides(control, punct, mn, lower, decomp):
    """Makes the tables agree with what `tokenizers` does to each single code point."""
    import tokenizers
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                       strip_accents=False, lowercase=False)
    low = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                     strip_accents=False, lowercase=True)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                       strip_accents=True, lowercase=False)
    pt = pre_tokenizers.BertPreTokenizer()
    n = {"control": 0, "punct": 0, "lower": 0, "strip": 0}
    ws = set(WHITE_SPACE)
    for c in range(MAXCP):
        if not scalar(c) or c in (0, 0xFFFD):
            continue
        ch = chr(c)
        r = clean.normalize_str(ch)
        hf_ctl = r == ""
        if hf_ctl != (c in control):
            n["control"] += 1
            (control.add if hf_ctl else control.discard)(c)
        if not hf_ctl and c not in ws:
            hf_p = len(pt.pre_tokenize_str("a" + ch + "a")) == 3
            if hf_p != (c in punct):
                n["punct"] += 1
                (punct.add if hf_p else punct.discard)(c)
        r = [ord(x) for x in low.normalize_str(ch)]
        mine = lower.get(c, [c])
        if r != mine:
            n["lower"] += 1
            if r == [c]:
                del lower[c]
            else:
                lower[c] = r
        # HF strips per string: NFD, then drop Mn. Per code point that is decomp then filter.
        r = [ord(x) for x in strip.normalize_str(ch)]
        mine = [x for x in decomp.get(c, [c]) if x not in mn]
        if S_BASE <= c < S_BASE + S_COUNT:
            continue
        if r != mine:
            n["strip"] += 1
            if not r:
                decomp.pop(c, None)    # HF drops it as a mark
                mn.add(c)
            elif c in mn and r == [c]:
                mn.discard(c)          # a mark newer than HF's tables: HF keeps it
            elif r == [c]:
                decomp.pop(c, None)    # a decomposition HF does not know
            else:
                decomp[c] = r          # HF's own result (marks already dropped)
    # Canonical reordering moves only marks HF keeps; its NFD tables are older, so probe each
    # kept mark with a combining class: after "a" + U+0345 (class 240) a mark HF knows moves
    # in front and takes the span of character 1; one it does not know stays at character 2.
    t = Tokenizer(models.WordPiece({"[UNK]": 0}, unk_token="[UNK]"))
    t.normalizer = strip
    t.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    ccc_zero = set()
    for c in range(MAXCP):
        if not scalar(c) or ud.combining(chr(c)) == 0 or c in mn or c in control:
            continue
        e = t.encode("a\u0345" + chr(c))
        if e.offsets and e.offsets[-1][1] == 3:
            ccc_zero.add(c)
    n["ccc"] = len(ccc_zero)
    return tokenizers.__version__, n, ccc_zero


# General categories the Split patterns of the families use (Llama-3, DeepSeek, Tekken ...):
# lib/tok/regex.c gives Oniguruma these tables as user properties, so a system libonig with an
# older Unicode matches as the one inside `tokenizers` does.
REGEX_PROPS = ["L", "N", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "Nd", "Nl", "No",
               "P", "S"]


def regex_classes(props=("L", "N")):
    """\\p{X} as the regex engine of `tokenizers` (Oniguruma) sees it: its Unicode is newer
    than Python's, so every code point is probed in chunks with a Split pre-tokenizer."""
    from tokenizers import pre_tokenizers, Regex
    cps = [c for c in range(1, MAXCP) if scalar(c)]
    out = []
    for rx in (r"\p{%s}" % x for x in props):
        rem = pre_tokenizers.Split(Regex(rx), "removed")
        got = set()
        for i in range(0, len(cps), 4096):
            chunk = cps[i:i + 4096]
            unmatched = set()
            for _, (a, b) in rem.pre_tokenize_str("".join(chr(c) for c in chunk)):
                unmatched.update(range(a, b))
            got.update(c for k, c in enumerate(chunk) if k not in unmatched)
        out.append(got)
    return out


def strip_accents_marks():
    """What the StripAccents normalizer of `tokenizers` removes (general category M), probed."""
    try:
        from tokenizers import normalizers
    except ImportError:
        return {c for c in range(MAXCP) if scalar(c) and ud.category(chr(c)).startswith("M")}
    sa = normalizers.StripAccents()
    return {c for c in range(1, MAXCP) if scalar(c) and sa.normalize_str(chr(c)) == ""}


def nfkd_delta(nfd):
    """Compatibility decompositions as HF's NFKD normalizer yields them, where they differ from
    the canonical one (probed code point by code point; unicodedata without tokenizers)."""
    try:
        from tokenizers import normalizers
        nfkd = normalizers.NFKD().normalize_str
    except ImportError:
        def nfkd(x):
            return ud.normalize("NFKD", x)
    out = {}
    for c in range(0xA0, MAXCP):
        if not scalar(c):
            continue
        d = [ord(x) for x in nfkd(chr(c))]
        if d and d != nfd.get(c, [c]) and d != full_nfd(c, nfd):
            out[c] = d
    return out


def full_nfd(c, nfd):
    """Recursive canonical decomposition (Hangul by arithmetic, as unicode.c)."""
    if 0xAC00 <= c < 0xAC00 + 11172:
        s = c - 0xAC00
        r = [0x1100 + s // 588, 0x1161 + (s % 588) // 28]
        return r + ([0x11A7 + s % 28] if s % 28 else [])
    if c not in nfd:
        return [c]
    return [y for x in nfd[c] for y in full_nfd(x, nfd)] if nfd[c] != [c] else [c]


def base_classes():
    letters = {c for c in range(MAXCP) if scalar(c) and ud.category(chr(c)).startswith("L")}
    numbers = {c for c in range(MAXCP) if scalar(c) and ud.category(chr(c)).startswith("N")}
    return letters, numbers


def nfc_tables():
    """Pure canonical decomposition (the BERT map above is altered by accent stripping) and the
    primary composites: pairs (a, b) -> c that NFC recomposes. Pairs the NFC normalizer of
    `tokenizers` does not compose (its Unicode is older) are left out when it is importable."""
    nfd, pairs = {}, []
    for c in range(MAXCP):
        if not scalar(c) or S_BASE <= c < S_BASE + S_COUNT:
            continue
        d = ud.normalize("NFD", chr(c))
        if d != chr(c):
            nfd[c] = [ord(x) for x in d]
        dec = ud.decomposition(chr(c))
        if dec and not dec.startswith("<"):
            p = [int(x, 16) for x in dec.split()]
            if len(p) == 2 and ud.normalize("NFC", chr(p[0]) + chr(p[1])) == chr(c):
                pairs.append((p[0], p[1], c))
    dropped = 0
    try:
        from tokenizers import normalizers
        nfc = normalizers.NFC()
        keep = [p for p in pairs if nfc.normalize_str(chr(p[0]) + chr(p[1])) == chr(p[2])]
        dropped = len(pairs) - len(keep)
        pairs = keep
    except ImportError:
        pass
    return nfd, sorted(pairs), dropped


def emit_pairs(f, name, pairs):
    f.write(f"const mhv_uc_pair {name}[] = {{\n")
    for i in range(0, len(pairs), 3):
        f.write("    " + " ".join(f"{{0x{a:X}, 0x{b:X}, 0x{c:X}}}," for a, b, c in pairs[i:i + 3]) + "\n")
    f.write(f"}};\nconst int {name}_n = {len(pairs)};\n\n")


def ranges(s):
    out, it = [], sorted(s)
    for c in it:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def emit_ranges(f, name, s):
    rs = ranges(s)
    f.write(f"const mhv_uc_range {name}[] = {{\n")
    for i in range(0, len(rs), 4):
        f.write("    " + " ".join(f"{{0x{a:X}, 0x{b:X}}}," for a, b in rs[i:i + 4]) + "\n")
    f.write(f"}};\nconst int {name}_n = {len(rs)};\n\n")


def emit_ccc(f, name, ccc_zero):
    rs = []
    for c in range(MAXCP):
        k = ud.combining(chr(c)) if scalar(c) and c not in ccc_zero else 0
        if not k:
            continue
        if rs and rs[-1][1] == c - 1 and rs[-1][2] == k:
            rs[-1][1] = c
        else:
            rs.append([c, c, k])
    f.write(f"const mhv_uc_ccc_range {name}[] = {{\n")
    for i in range(0, len(rs), 4):
        f.write("    " + " ".join(f"{{0x{a:X}, 0x{b:X}, {k}}}," for a, b, k in rs[i:i + 4]) + "\n")
    f.write(f"}};\nconst int {name}_n = {len(rs)};\n\n")


def emit_map(f, name, m):
    if not m:  # C has no empty arrays
        f.write(f"const mhv_uc_map {name}[1] = {{{{0, 0, 0}}}};\nconst int {name}_n = 0;\n\n")
        return
    pool, entries = [], []
    for c in sorted(m):
        v = m[c]
        assert 1 <= len(v) <= 255
        entries.append((c, len(pool), len(v)))
        pool.extend(v)
    f.write(f"static const uint32_t {name}_pool[] = {{\n")
    for i in range(0, len(pool), 8):
        f.write("    " + " ".join(f"0x{x:X}," for x in pool[i:i + 8]) + "\n")
    f.write("};\n")
    f.write(f"const mhv_uc_map {name}[] = {{\n")
    for i in range(0, len(entries), 3):
        f.write("    " + " ".join(f"{{0x{c:X}, {name}_pool + {o}, {n}}}," for c, o, n in entries[i:i + 3]) + "\n")
    f.write(f"}};\nconst int {name}_n = {len(entries)};\n\n")


def main():
    control, punct, mn, lower, decomp = base_tables()
    note = "no HF overrides (tokenizers not importable)"
    ccc_zero = set()
    try:
        ver, n, ccc_zero = hf_overrides(control, punct, mn, lower, decomp)
        note = (f"overridden to match Hugging Face tokenizers {ver} code point by code point: "
                f"control {n['control']}, punctuation {n['punct']}, lowercase {n['lower']}, "
                f"accent stripping {n['strip']}, combining class {n['ccc']}")
    except ImportError:
        pass
    letters, numbers = base_classes()
    cls_note = "\\p{L} \\p{N} from unicodedata"
    try:
        hl, hn = regex_classes()
        cls_note = (f"\\p{{L}} \\p{{N}} probed from the regex engine of tokenizers "
                    f"({len(hl - letters)} letters and {len(hn - numbers)} numbers newer than unicodedata)")
        letters, numbers = hl, hn
    except ImportError:
        pass
    nfd, pairs, dropped = nfc_tables()
    # The BERT decomposition is the NFD one where HF's older tables agree, so only the code
    # points where they differ are written, to be looked up before mhv_uc_nfd_map (one HF
    # does not decompose maps to itself).
    decomp_delta = {c: decomp.get(c, [c]) for c in set(decomp) | set(nfd)
                    if decomp.get(c, [c]) != nfd.get(c, [c])}
    # Mn is only consulted through decomp-then-filter, so fold it in: decomp entries keep
    # marks out, and a lone Mn code point maps to nothing.
    with open(OUT, "w", encoding="ascii") as f:
        f.write("/* unicode_tables.c - GENERATED by lib/text/gen_unicode_tables.py; do not edit.\n")
        f.write(f" * Base: Unicode {ud.unidata_version} (Python {sys.version.split()[0]} unicodedata);\n")
        f.write(f" * {note};\n * {cls_note}; NFC composition pairs {len(pairs)} "
                f"({dropped} that tokenizers does not compose left out). */\n")
        f.write('#include "text/unicode.h"\n\n')
        emit_ranges(f, "mhv_uc_control_ranges", control)
        emit_ranges(f, "mhv_uc_punct_ranges", punct)
        emit_ranges(f, "mhv_uc_mn_ranges", mn)
        emit_ccc(f, "mhv_uc_ccc_ranges", ccc_zero)
        emit_map(f, "mhv_uc_lower_map", lower)
        emit_map(f, "mhv_uc_decomp_delta", decomp_delta)
        emit_ranges(f, "mhv_uc_letter_ranges", letters)
        emit_ranges(f, "mhv_uc_number_ranges", numbers)
        emit_ranges(f, "mhv_uc_mark_ranges", strip_accents_marks())
        props = dict(zip(REGEX_PROPS, regex_classes(REGEX_PROPS)))
        for k in REGEX_PROPS:
            emit_ranges(f, f"mhv_uc_rx_{k}", props[k])
        f.write("const mhv_uc_prop mhv_uc_regex_props[] = {\n")
        for k in REGEX_PROPS:
            f.write(f'    {{"{k}", mhv_uc_rx_{k}, {len(ranges(props[k]))}}},\n')
        f.write(f"}};\nconst int mhv_uc_regex_props_n = {len(REGEX_PROPS)};\n\n")
        emit_map(f, "mhv_uc_nfd_map", nfd)
        emit_map(f, "mhv_uc_nfkd_delta", nfkd_delta(nfd))
        emit_pairs(f, "mhv_uc_compose_pairs", pairs)
    print(f"wrote {OUT}: {note}")


if __name__ == "__main__":
    main()
