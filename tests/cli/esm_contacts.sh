#!/usr/bin/env bash
# run --contacts: ESM's contact head over every head's attention against transformers'
# EsmForMaskedLM.predict_contacts (tests/gen/gen_esm_contacts.py: esm-contacts.json), written
# into the json and as contacts.png / .svg; the same contacts whatever --heads, --rows,
# --weighting, --aggregate and --threads say; nothing without --contacts; refused by name
# for a checkpoint without the head, for other families, and without json or figures.
. "$(dirname "$0")/lib.sh"
check() { if eval "$2"; then ok; else bad "$1"; fi; }

M=tests/fixtures/fam-esm2-contacts-f32
G=tests/fixtures/goldens/esm-contacts.json
# the golden's texts (its last, <cls> <eos> alone, is no line of text)
printf 'MKTAYIAKQRQISFVKSHFSRQ\nMK<eos>TAYI<mask>KQ\nG\n' >"$TMP/p.txt"

rm -rf "$TMP/o"
"$MHAVIZ" run --model $M --contacts --heads 0:1 --format json,png,svg --svg-text \
    --out "$TMP/o" "$TMP/p.txt" 2>"$TMP/err"
check "run --contacts: exit 0, quiet" "[ \$? = 0 ] && [ ! -s \"$TMP/err\" ]"
check "json: contacts within the golden's tolerance of transformers" "perl -MJSON::PP -e '
    sub slurp { local \$/; open my \$f, q(<), \$_[0] or die; decode_json(<\$f>) }
    my (\$g, \$o) = (slurp(q($G)), slurp(q($TMP/o/p.json)));
    my \$worst = 0;
    for my \$s (0 .. 2) {
        my (\$gs, \$os) = (\$g->{sentences}[\$s], \$o->{sentences}[\$s]);
        exit 1 unless join(q( ), @{\$gs->{token_ids}}) eq join(q( ), @{\$os->{token_ids}});
        my (\$w, \$c) = (\$gs->{contacts}, \$os->{contacts});
        exit 1 unless @\$c == @\$w && @\$c == @{\$os->{token_ids}} - 2;
        for my \$i (0 .. \$#\$w) {
            exit 1 unless @{\$c->[\$i]} == @{\$w->[\$i]};
            for my \$j (0 .. \$#{\$w->[\$i]}) {
                my \$d = abs(\$w->[\$i][\$j] - \$c->[\$i][\$j]);
                \$worst = \$d if \$d > \$worst; } }
        exit 1 unless @{\$os->{attentions}} == 1; # --heads kept for the maps
    }
    exit(\$worst <= \$g->{tolerance} ? 0 : 1);'"
check "figures: contacts.png and .svg beside the heads'" "[ -s \"$TMP/o/p/contacts.png\" ] && [ -s \"$TMP/o/p/contacts.svg\" ] && [ -s \"$TMP/o/p-2/contacts.png\" ] && [ -s \"$TMP/o/p-3/contacts.png\" ] && [ -s \"$TMP/o/p/L00-H01.png\" ]"
check "figure: titled, residue axes and letters" "grep -q 'contacts predicted from attention (ESM contact head)' \"$TMP/o/p/contacts.svg\" && grep -q 'residue' \"$TMP/o/p/contacts.svg\" && grep -q 'contact probability' \"$TMP/o/p/contacts.svg\" && grep -q '>W<\|>Q<' \"$TMP/o/p/contacts.svg\""
check "figure: 22 x 22 residues" "[ \$(grep -o 'class=\"cell\"' \"$TMP/o/p/contacts.svg\" | wc -l) = 484 ]"

# the contacts as bytes: every head's pass whatever the selection, rows or weighting
contacts_of() { perl -MJSON::PP -e 'local $/; my $o = decode_json(<STDIN>);
    print encode_json([map { $_->{contacts} } @{$o->{sentences}}])' <"$1"; }
contacts_of "$TMP/o/p.json" >"$TMP/c0"
for opts in "--heads all --threads 1" "--heads all --threads 2" "--rows last" \
            "--weighting norm" "--aggregate mean"; do
    rm -rf "$TMP/o2"
    "$MHAVIZ" run --model $M --contacts $opts --format json --out "$TMP/o2" "$TMP/p.txt" 2>/dev/null
    contacts_of "$TMP/o2/p.json" >"$TMP/c1"
    check "same contacts with $opts" "[ -s \"$TMP/c1\" ] && cmp -s \"$TMP/c0\" \"$TMP/c1\""
done

rm -rf "$TMP/o3"
"$MHAVIZ" run --model $M --heads 0:1 --format json,png --out "$TMP/o3" "$TMP/p.txt" 2>/dev/null
check "without --contacts: no contacts" "! grep -q '\"contacts\"' \"$TMP/o3/p.json\" && [ ! -e \"$TMP/o3/p/contacts.png\" ]"

expect_fail "no contact head in the checkpoint" 1 "tests/fixtures/esm-nocontact: --contacts needs ESM's contact head (contact_head.regression.weight): this esm checkpoint has none" \
    -- "$MHAVIZ" run --model tests/fixtures/esm-nocontact --contacts --format json --out "$TMP/out" "$TMP/p.txt"
expect_fail "another family" 1 "only esm models have one" \
    -- "$MHAVIZ" run --model samples/model --contacts --format json --out "$TMP/out" samples/sentence.txt
expect_fail "no json or figures" 2 "--contacts writes into --format json, png, svg or pdf" \
    -- "$MHAVIZ" run --model $M --contacts --format safetensors --out "$TMP/out" "$TMP/p.txt"
expect_fail "not with --pairs" 2 "--contacts is for single proteins" \
    -- "$MHAVIZ" run --model $M --contacts --pairs --format json --out "$TMP/out" "$TMP/p.txt"
finish
