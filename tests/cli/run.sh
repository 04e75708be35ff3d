#!/usr/bin/env bash
# The happy paths: run writes valid JSON atomically; tokenize, info, --help, --version.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32
printf '苹果从树上掉下来，小明把它捡起来了。\n\n我喜欢GPT-4。\n' >"$TMP/two.txt"

check() { if eval "$2"; then ok; else bad "$1"; fi; }

"$MHAVIZ" run --model "$FIX" --format json --out "$TMP/out" "$TMP/two.txt" >"$TMP/stdout" 2>"$TMP/stderr"
check "run exit 0" "[ $? = 0 ]"
check "run silent" "[ ! -s $TMP/stdout ] && [ ! -s $TMP/stderr ]"
check "run wrote two.json only" "[ \"\$(ls -A $TMP/out)\" = two.json ]"
check "json valid" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>); exit !(@{\$j->{sentences}} == 2 && @{\$j->{sentences}[0]{attentions}} == 12 && \$j->{sentences}[0]{tokens}[0] eq \"[CLS]\")' <$TMP/out/two.json"
check "json token_texts" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>); my \$s = \$j->{sentences}[0]; exit !(@{\$s->{token_texts}} == @{\$s->{tokens}} && \$s->{token_texts}[1] eq \$s->{tokens}[1] && length(\$s->{token_texts}[1]) == 1 && !defined \$s->{spans}[0] && \$s->{spans}[1][0] == 0)' <$TMP/out/two.json"

"$MHAVIZ" run --model "$FIX" --heads 1:2,2:* --format json --out "$TMP/out" - <"$TMP/two.txt"
check "stdin stem and head count" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>); my \$a = \$j->{sentences}[1]{attentions}; exit !(@\$a == 5 && \$a->[0]{layer} == 1 && \$a->[0]{head} == 2)' <$TMP/out/stdin.json"

tok=$("$MHAVIZ" tokenize --model "$FIX" "$TMP/two.txt")
check "tokenize two lines" "[ \"\$(printf '%s\n' \"\$tok\" | wc -l)\" = 2 ]"
check "tokenize pieces" "printf '%s\n' \"\$tok\" | head -1 | grep -q '^\[CLS\] 苹 果 从'"
ids=$(printf '%s\n' "$tok" | head -1 | cut -f2)
printf '%s\n' "$ids" >"$TMP/ids.txt"
"$MHAVIZ" run --model "$FIX" --ids --format json --out "$TMP/out" "$TMP/ids.txt"
check "ids input equals text input" "perl -MJSON::PP -e 'local \$/; open my \$a, \"<\", \"$TMP/out/ids.json\"; open my \$b, \"<\", \"$TMP/out/two.json\"; my \$x = decode_json(<\$a>); my \$y = decode_json(<\$b>); exit !(JSON::PP->new->canonical->encode(\$x->{sentences}[0]{attentions}) eq JSON::PP->new->canonical->encode(\$y->{sentences}[0]{attentions}))'"
pieces=$(printf '%s\n' "$tok" | head -1 | cut -f1)
printf '%s\n' "$pieces" >"$TMP/pre.txt"
check "pretokenized round trip" "[ \"\$("$MHAVIZ" tokenize --model "$FIX" --pretokenized "$TMP/pre.txt" | cut -f2)\" = \"$ids\" ]"

perl -e 'print "果" x 100, "\n"' >"$TMP/long.txt"
"$MHAVIZ" run --model "$FIX" --truncate --format json --out "$TMP/out" "$TMP/long.txt" 2>"$TMP/stderr"
check "truncate works" "[ $? = 0 ] && grep -q 'truncated from 102 to 64 tokens' $TMP/stderr"
check "truncate keeps [SEP]" "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>); my \$t = \$j->{sentences}[0]{tokens}; exit !(@\$t == 64 && \$t->[-1] eq \"[SEP]\")' <$TMP/out/long.json"

info=$("$MHAVIZ" info --model "$FIX")
check "info layers" "printf '%s\n' \"\$info\" | grep -q '^layers: 3$'"
check "info dtype" "printf '%s\n' \"\$info\" | grep -q '^dtype: F32$'"
check "info kernels" "printf '%s\n' \"\$info\" | grep -Eq '^kernels: (scalar|avx2|avx512)$'"
families=$("$MHAVIZ" info --families)
check "info --families: one model_type a line, no duplicates" "printf '%s\n' \"\$families\" | grep -qx bert && printf '%s\n' \"\$families\" | grep -qx t5 && [ \"\$(printf '%s\n' \"\$families\" | sort -u | wc -l)\" = \"\$(printf '%s\n' \"\$families\" | wc -l)\" ] && ! printf '%s\n' \"\$families\" | grep -q '[^a-z0-9_-]'"
expect_fail "info --families with --model" 2 "--families describes no model" -- "$MHAVIZ" info --families --model "$FIX"
check "info kernels forced" "MHAVIZ_KERNEL=scalar \"$MHAVIZ\" info --model \"$FIX\" | grep -q '^kernels: scalar$'"
check "info caches" "printf '%s\n' \"\$info\" | grep -Eq '^caches: L1d [1-9][0-9]* KiB, L2 [1-9][0-9]* KiB, L3 [0-9]+ KiB \((sysfs|cpuid|default)\)$'"
check "info blocking" "printf '%s\n' \"\$info\" | grep -q '^blocking: .'"
check "info bf16" "\"$MHAVIZ\" info --model tests/fixtures/bert-bf16 | grep -q '^dtype: BF16$'"

check "--version" "[ \"\$("$MHAVIZ" --version)\" = 'mhaviz 0.1.0' ]"
for c in "" run tokenize info; do
    check "help $c" "\"$MHAVIZ\" $c --help | grep -q '^usage: mhaviz'"
done
finish
