#!/usr/bin/env bash
# Hash flooding (issue 15): names crafted so that the old unkeyed FNV-1a put them all in one
# bucket of a linear-probing table (a multicollision in the low 20 bits, built block by
# block) must load about as fast as as many random names. With FNV-1a this vocabulary took
# ~100x its control; with the keyed hash the placement cannot be predicted from the file.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32
echo "苹果从树上掉下来，小明把它捡起来了。" >"$TMP/s.txt"
N_BITS=16 # 65536 names

# crafted INIT PRIME: 2^N_BITS distinct 48-byte printable names whose FNV-1a hash (the state
# started at INIT, multiplied by PRIME, both reduced to their low 20 bits) ends the same
crafted() {
    perl -e '
        my ($h, $p, $bits) = (hex $ARGV[0], hex $ARGV[1], $ARGV[2]); my $m = 0xfffff;
        my @ok = grep { $_ != 92 } 48 .. 122;
        my @pairs;
        for my $step (1 .. $bits) {
            # two 2-byte prefixes whose states agree above bit 7, then last bytes c and
            # c ^ d that cancel the low 7 bits: both 3-byte blocks reach the same state
            my (%seen, $pair);
            # (bytes 48..122 but the backslash: the names are JSON strings too)
            OUTER: for my $a (@ok) { for my $b (@ok) {
                my $s = ((($h ^ $a) * $p) & $m ^ $b) * $p & $m;
                if (exists $seen{$s >> 7} && $seen{$s >> 7}[0] != $s) {
                    my ($s2, $pre2) = @{$seen{$s >> 7}}; my $d = ($s ^ $s2) & 0x7f;
                    for my $c (@ok) {
                        next unless ($c ^ $d) >= 48 && ($c ^ $d) <= 122 && ($c ^ $d) != 92;
                        $pair = [chr($a) . chr($b) . chr($c), $pre2 . chr($c ^ $d)];
                        $h = (($s ^ $c) * $p) & $m;
                        last OUTER;
                    }
                }
                $seen{$s >> 7} = [$s, chr($a) . chr($b)];
            } }
            die "no collision at step $step\n" unless $pair;
            push @pairs, $pair;
        }
        for my $i (0 .. (1 << $bits) - 1) {
            print join("", map { $pairs[$_][($i >> $_) & 1] } 0 .. $bits - 1), "\n";
        }' "$1" "$2" "$N_BITS"
}
random_names() { perl -e 'srand(7); my @c = ("a" .. "z", "A" .. "Z", 0 .. 9); for (1 .. (1 << $ARGV[0])) { print join("", map { $c[int rand @c] } 1 .. 48), "\n" }' "$N_BITS"; }
# secs CMD...: wall-clock seconds of CMD (output discarded), under a 120 s limit
secs() {
    local t0 t1
    t0=$(date +%s.%N)
    timeout 120 "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }'
}
# within NAME CRAFTED CONTROL: crafted takes at most 4x the control, plus 1 s of noise
within() {
    if awk -v c="$2" -v k="$3" 'BEGIN { exit !(c <= 4 * k + 1) }'; then ok
    else bad "$1: crafted names took $2 s, random names $3 s"; fi
}

# ---- vocab.txt (32-bit FNV-1a: offset basis 0x811c9dc5, prime 0x01000193) ----
# 4 GB of address space, unless the binary cannot start under it (ASan reserves terabytes)
{ (ulimit -v 4000000 && "$MHAVIZ" --version) >/dev/null 2>&1; } 2>/dev/null && ulimit -v 4000000
for kind in crafted control; do
    rm -rf "$TMP/$kind"; cp -r "$FIX" "$TMP/$kind"
    if [ $kind = crafted ]; then crafted 811c9dc5 01000193; else random_names; fi >>"$TMP/$kind/vocab.txt"
done
[ "$(sort -u "$TMP/crafted/vocab.txt" | wc -l)" -gt 65536 ] && ok || bad "vocab: crafted names are not distinct"
"$MHAVIZ" tokenize --model "$TMP/crafted" "$TMP/s.txt" >/dev/null 2>&1 && ok || bad "vocab: crafted vocabulary does not load"
within vocab-flood "$(secs "$MHAVIZ" tokenize --model "$TMP/crafted" "$TMP/s.txt")" \
    "$(secs "$MHAVIZ" tokenize --model "$TMP/control" "$TMP/s.txt")"

# ---- safetensors tensor names (the old table's 64-bit FNV-1a started at 1469598103934665603,
# 0x14650fb0739d0383, the standard basis with its last digit lost; prime 0x100000001b3) ----
# one F32 scalar per name; the checkpoint is then too small for the model, which is the error
st_names() {
    perl -e '
        my @n = map { chomp; $_ } <STDIN>; my ($j, $o) = ("{", 0);
        for my $k (@n) { $j .= ($o ? "," : "") . "\"$k\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[$o," . ($o + 4) . "]}"; $o += 4 }
        $j .= "}";
        open(my $h, ">:raw", $ARGV[0]) or die; print $h pack("Q<", length $j), $j, "\0" x $o; close $h;
    ' "$1"
}
for kind in crafted control; do
    rm -rf "$TMP/$kind"; cp -r "$FIX" "$TMP/$kind"
    if [ $kind = crafted ]; then crafted d0383 1b3; else random_names; fi | st_names "$TMP/$kind/model.safetensors"
done
expect_fail st-flood-loads 1 "crafted/model.safetensors: " -- "$MHAVIZ" run --model "$TMP/crafted" --out "$TMP/out" "$TMP/s.txt"
within st-flood "$(secs "$MHAVIZ" run --model "$TMP/crafted" --out "$TMP/out" "$TMP/s.txt")" \
    "$(secs "$MHAVIZ" run --model "$TMP/control" --out "$TMP/out" "$TMP/s.txt")"

finish
