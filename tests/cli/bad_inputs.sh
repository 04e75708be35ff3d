#!/usr/bin/env bash
# Hostile and broken files (issue 8), beyond errors.sh: each case exits 1 or 2 with one
# "mhaviz: FILE: problem" line naming the file, prints nothing on stdout and leaves no output.
# Under `make check` the binary is the ASan+UBSan build, so a sanitizer report fails the case
# (it adds stderr lines and changes the exit code).
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32
echo "苹果从树上掉下来，小明把它捡起来了。" >"$TMP/s.txt"

fresh_model() { rm -rf "$TMP/$1"; cp -r "$FIX" "$TMP/$1"; }
run() { "$MHAVIZ" run --format json --out "$TMP/out" "$@"; }
M=$TMP/m
ST=$M/model.safetensors
# set_prefix FILE HEX16: overwrites the 8-byte little-endian header length
set_prefix() { printf "$(echo "$2" | sed 's/../\\x&/g')" | dd of="$1" bs=1 count=8 conv=notrunc 2>/dev/null; }
KEY1='encoder\.layer\.1\.attention\.self\.key\.weight'
Q0='encoder\.layer\.0\.attention\.self\.query\.weight'
# st_reshape FILE TENSOR DIMS: gives TENSOR the shape [DIMS] and re-tiles the data area (its
# bytes cut or zero-padded), so the file stays valid safetensors and only the model can object
st_reshape() {
    perl -MJSON::PP -e '
        my ($f, $name, $dims) = @ARGV;
        my %sz = (F32 => 4, F16 => 2, BF16 => 2, I8 => 1, U8 => 1, F64 => 8, I64 => 8, I32 => 4);
        open(my $h, "<:raw", $f) or die; local $/; my $all = <$h>; close $h;
        my $n = unpack("Q<", substr($all, 0, 8)); my $hdr = decode_json(substr($all, 8, $n));
        my $data = substr($all, 8 + $n);
        $hdr->{$name}{shape} = [split /,/, $dims];
        my ($out, $pos) = ("", 0);
        for my $k (sort { $hdr->{$a}{data_offsets}[0] <=> $hdr->{$b}{data_offsets}[0] }
                   grep { $_ ne "__metadata__" } keys %$hdr) {
            my $t = $hdr->{$k}; my ($b, $e) = @{$t->{data_offsets}};
            my $nb = $sz{$t->{dtype}}; $nb *= $_ for @{$t->{shape}};
            my $bytes = substr($data, $b, $e - $b); $bytes = substr($bytes . ("\0" x $nb), 0, $nb);
            $t->{data_offsets} = [$pos, $pos + $nb]; $out .= $bytes; $pos += $nb;
        }
        my $j = JSON::PP->new->canonical->encode($hdr);
        open($h, ">:raw", $f) or die; print $h pack("Q<", length $j), $j, $out; close $h;
    ' "$@"
}

# ---- safetensors: the length prefix ----
fresh_model m; set_prefix "$ST" 0000000000000000
expect_fail st-header-length-0 1 "model.safetensors: header length is 0" -- run --model "$M" "$TMP/s.txt"
fresh_model m; printf '\x10\x00\x00\x00\x00\x00\x00\x00{}' >"$ST"
expect_fail st-header-past-eof 1 "model.safetensors: header length 16 goes beyond the end" -- run --model "$M" "$TMP/s.txt"
fresh_model m; printf '\x02\x00\x00' >"$ST"
expect_fail st-shorter-than-prefix 1 "too short for the 8-byte header length" -- run --model "$M" "$TMP/s.txt"

# ---- safetensors: the JSON header ----
fresh_model m; printf '\x02\x00\x00\x00\x00\x00\x00\x00{}' >"$ST"
expect_fail st-no-tensors 1 "model.safetensors: holds no tensors" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" 's/^\{/{{/'
expect_fail st-header-not-json 1 "model.safetensors: header is not valid JSON" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" '$_ = "[" . (" " x (length($_) - 2)) . "]"'
expect_fail st-header-not-object 1 "model.safetensors: header is not a JSON object" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" "s/$KEY1/encoder.layer.1.attention.self.query.weight/"
expect_fail st-duplicate-name 1 "header has a duplicate key 'encoder.layer.1.attention.self.query.weight'" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" 's/"format"/"form\xff"/'
expect_fail st-header-bad-utf8 1 "model.safetensors: header is not valid UTF-8" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" 's/\}(\s*)$/}x$1/'
expect_fail st-header-trailing-garbage 1 "header has trailing bytes after the JSON object" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" 's/"format":"pt"/"format":1/'
expect_fail st-metadata-not-string 1 "'__metadata__' value 'format' is not a string" -- run --model "$M" "$TMP/s.txt"

# ---- safetensors: the tensor table ----
fresh_model m; st_edit "$ST" "s/(\"$KEY1\"[^}]*\"data_offsets\":\\[)(\\d+),(\\d+)/\$1\$3,\$2/"
expect_fail st-offsets-reversed 1 "data_offsets begin 294912 is after end 278528" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" "s/(\"$KEY1\"[^}]*\"shape\":\\[)64,64/\${1}64,63/"
expect_fail st-offsets-not-shape 1 "has 16384 data bytes, but its shape and dtype F32 need 16128" -- run --model "$M" "$TMP/s.txt"
fresh_model m; printf 'junk' >>"$ST"
expect_fail st-bytes-after-last 1 "4 unused bytes after the last tensor" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" 's/"shape":\[64\],"data_offsets":\[0,256\]/"shape":[60],"data_offsets":[16,256]/'
expect_fail st-hole 1 "16 unused bytes before tensor 'embeddings.LayerNorm.bias'" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" "s/(\"$Q0\"[^}]*\"dtype\":\")F32([^}]*\"shape\":\\[)64,64/\${1}I8\${2}64,256/"
expect_fail st-int8-weight 1 "dtype I8; only F32, F16 and BF16 are supported" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" "s/(\"$Q0\"[^}]*\"dtype\":\")F32/\${1}float32/"
expect_fail st-dtype-name 1 "unknown dtype 'float32'" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" "s/(\"$KEY1\"[^}]*\"shape\":\\[)64,64/\${1}64,-64/"
expect_fail st-negative-dim 1 "shape[1] is not a non-negative integer" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" "s/(\"$KEY1\"[^}]*\"shape\":\\[)64,64/\${1}4294967296,4294967296,4294967296/"
expect_fail st-overflowing-dims 1 "element count overflows" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" "s/(\"$KEY1\"[^}]*\"shape\":\\[)64,64/\${1}64,64.5/"
expect_fail st-fractional-dim 1 "shape[1] is not a non-negative integer" -- run --model "$M" "$TMP/s.txt"
# zero rows, or a scalar: valid safetensors, wrong for the model
fresh_model m; st_reshape "$ST" encoder.layer.1.attention.self.key.weight 0,64
expect_fail st-zero-dim 1 "tensor 'encoder.layer.1.attention.self.key.weight' has shape [0,64], expected [64,64]" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_reshape "$ST" embeddings.LayerNorm.weight ""
expect_fail st-scalar 1 "tensor 'embeddings.LayerNorm.weight' has shape [], expected [64]" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" "s/(\"$KEY1\"[^}]*\"shape\":\\[)64,64/\${1}1,1,1,1,1,1,1,1,64,64/"
expect_fail st-too-many-dims 1 "more than 8 dimensions" -- run --model "$M" "$TMP/s.txt"
fresh_model m; st_edit "$ST" "s/(\"$KEY1\"[^}]*)\"dtype\":\"F32\",?/\$1/"
expect_fail st-no-dtype 1 "has no 'dtype'" -- run --model "$M" "$TMP/s.txt"

# ---- files that are not what they should be ----
fresh_model m; rm "$ST"; mkdir "$ST"
expect_fail st-is-directory 1 "model.safetensors: is a directory" -- run --model "$M" "$TMP/s.txt"
fresh_model m; rm "$M/config.json"; mkdir "$M/config.json"
expect_fail config-is-directory 1 "config.json: not a regular file" -- run --model "$M" "$TMP/s.txt"
fresh_model m; rm "$ST"; mkfifo "$ST"
expect_fail st-is-fifo 1 "model.safetensors: is not a regular file" -- run --model "$M" "$TMP/s.txt"
: >"$TMP/plainfile"
expect_fail model-is-file 1 "not a model directory" -- run --model "$TMP/plainfile" "$TMP/s.txt"
expect_fail input-is-directory 1 "not a regular file" -- run --model "$FIX" "$TMP"

# ---- sharded checkpoints ----
cp_sharded() { rm -rf "$M"; cp -r tests/fixtures/bert-sharded "$M"; }
cp_sharded; rm "$M/model-00003-of-00004.safetensors"
expect_fail shard-missing 1 "model.safetensors.index.json: shard 'model-00003-of-00004.safetensors' is missing" -- run --model "$M" "$TMP/s.txt"
cp_sharded; echo '{"weight_map": ' >"$M/model.safetensors.index.json"
expect_fail index-not-json 1 "model.safetensors.index.json: not valid JSON" -- run --model "$M" "$TMP/s.txt"
cp_sharded; perl -pi -e 's/"model-00002-of-00004\.safetensors"/"..\/..\/etc\/passwd"/' "$M/model.safetensors.index.json"
expect_fail index-path-escape 1 "is not a plain file name" -- run --model "$M" "$TMP/s.txt"
cp_sharded; head -c 5000 "$M/model-00004-of-00004.safetensors" >"$TMP/x" && mv "$TMP/x" "$M/model-00004-of-00004.safetensors"
expect_fail shard-truncated 1 "model-00004-of-00004.safetensors" -- run --model "$M" "$TMP/s.txt"
cp_sharded; rm "$M/model.safetensors.index.json"; mkdir "$M/model.safetensors.index.json"
expect_fail index-is-directory 1 "model.safetensors.index.json: not a regular file" -- run --model "$M" "$TMP/s.txt"
cp_sharded; echo '{"weight_map": {}}' >"$M/model.safetensors.index.json"
expect_fail index-empty-weight-map 1 "model.safetensors.index.json: 'weight_map' is empty" -- run --model "$M" "$TMP/s.txt"
cp_sharded; perl -0pi -e 's/("embeddings.LayerNorm.bias": )"model-00001-of-00004.safetensors"/$1"model-00002-of-00004.safetensors"/' "$M/model.safetensors.index.json"
expect_fail index-wrong-shard 1 "tensor 'embeddings.LayerNorm.bias' is in shard 'model-00001-of-00004.safetensors', not 'model-00002-of-00004.safetensors'" -- run --model "$M" "$TMP/s.txt"
cp_sharded; cp "$M/model-00001-of-00004.safetensors" "$M/model-00002-of-00004.safetensors"
expect_fail tensor-in-two-shards 1 "model-00002-of-00004.safetensors: tensor 'embeddings.LayerNorm.bias' is also in 'model-00001-of-00004.safetensors'" -- run --model "$M" "$TMP/s.txt"

# ---- JSON read by the shared reader (base/json.h): what Python would read differently ----
# \u0000 inside a string: cJSON would end the name there ("key.weight\u0000x" -> "key.weight")
fresh_model m; st_edit "$ST" "s/$KEY1/encoder.layer.1.attention.self.key.weight\\\\u0000x/"
expect_fail st-name-u0000 1 'model.safetensors: header has \u0000 in a string' -- run --model "$M" "$TMP/s.txt"
# config.json and tokenizer.json: a key twice (Python keeps the last, cJSON the first, HF's
# tokenizers refuses a second "normalizer"), \u0000 ending a string early
cfg_dup() { fresh_model m; perl -0pi -e "$1" "$M/config.json"; }
cfg_dup 's/"num_hidden_layers": 3/"num_hidden_layers": 2, "num_hidden_layers": 3/'
expect_fail config-duplicate-key 1 "config.json: duplicate key 'num_hidden_layers'" -- run --model "$M" "$TMP/s.txt"
# an unknown model_type names where the list is and, for a near miss, the likely one
n_types=$("$MHAVIZ" info --families | wc -l)
cfg_dup 's/"model_type": "bert"/"model_type": "xlnet"/'
expect_fail config-unknown-type 1 "config.json: unsupported model_type 'xlnet' ('mhaviz info --families' lists the $n_types supported)" -- run --model "$M" "$TMP/s.txt"
cfg_dup 's/"model_type": "bert"/"model_type": "Data2Vec_Vision"/'
expect_fail config-near-type 1 "unsupported model_type 'Data2Vec_Vision' (did you mean 'data2vec-vision'? 'mhaviz info --families' lists the $n_types supported)" -- run --model "$M" "$TMP/s.txt"
cfg_dup 's/"model_type": "bert"/"model_type": "bert\\u0000roberta"/'
expect_fail config-u0000 1 'config.json: \u0000 in a string' -- run --model "$M" "$TMP/s.txt"
rm -rf "$M"; cp -r tests/fixtures/tok-minilm "$M"; perl -0pi -e 's/"normalizer":/"normalizer": null, "normalizer":/' "$M/tokenizer.json"
expect_fail tokenizer-duplicate-normalizer 1 "tokenizer.json: duplicate key 'normalizer'" -- "$MHAVIZ" tokenize --model "$M" "$TMP/s.txt"
cp_sharded; perl -0pi -e 's/\{/{"metadata": {}, "metadata": {},/' "$M/model.safetensors.index.json"
expect_fail index-duplicate-key 1 "model.safetensors.index.json: duplicate key 'metadata'" -- run --model "$M" "$TMP/s.txt"
cp_sharded; perl -0pi -e 's/\}\s*$/} {}/' "$M/model.safetensors.index.json"
expect_fail index-trailing-bytes 1 "model.safetensors.index.json: has trailing bytes after the JSON object" -- run --model "$M" "$TMP/s.txt"
# parse cost: a 48 MB header of small numbers would take ~2 GB as a cJSON tree; refused as
# out of memory before parsing, quickly and within 1 GB of address space when not under ASan
fresh_model m
perl -e 'my $j = "{\"a\":[" . ("0," x 24000000) . "0]}"; print pack("Q<", length $j), $j' >"$ST"
expect_fail st-header-parse-cost 1 "model.safetensors: out of memory: parsing header JSON would take about" -- \
    bash -c 'mem_limit() { { (ulimit -v 1000000 && "$1" --version) >/dev/null 2>&1; } 2>/dev/null && ulimit -v 1000000; }; mem_limit "$1"; shift; exec timeout 60 "$@"' _ "$MHAVIZ" "$MHAVIZ" run --format json --out "$TMP/out" --model "$M" "$TMP/s.txt"

# ---- a FIFO where a file is read: refused at once, never a hang ----
fresh_model m; rm "$M/config.json"; mkfifo "$M/config.json"
expect_fail config-is-fifo 1 "config.json: not a regular file" -- timeout 20 "$MHAVIZ" run --format json --out "$TMP/out" --model "$M" "$TMP/s.txt"
fresh_model m; rm "$M/vocab.txt"; mkfifo "$M/vocab.txt"
expect_fail vocab-is-fifo 1 "vocab.txt: not a regular file" -- timeout 20 "$MHAVIZ" tokenize --model "$M" "$TMP/s.txt"
rm -rf "$M"; cp -r tests/fixtures/tok-minilm "$M"; rm "$M/tokenizer.json"; mkfifo "$M/tokenizer.json"
expect_fail tokenizer-json-is-fifo 1 "tokenizer.json: not a regular file" -- timeout 20 "$MHAVIZ" tokenize --model "$M" "$TMP/s.txt"
cp_sharded; rm "$M/model.safetensors.index.json"; mkfifo "$M/model.safetensors.index.json"
expect_fail index-is-fifo 1 "model.safetensors.index.json: not a regular file" -- timeout 20 "$MHAVIZ" run --format json --out "$TMP/out" --model "$M" "$TMP/s.txt"
# ... but the input may be a pipe: -, process substitution, and a FIFO (one nobody writes
# reads as empty rather than hanging)
if "$MHAVIZ" tokenize --model "$FIX" <(cat "$TMP/s.txt") >"$TMP/stdout" 2>"$TMP/stderr" &&
   "$MHAVIZ" tokenize --model "$FIX" - <"$TMP/s.txt" | cmp -s - "$TMP/stdout" && [ -s "$TMP/stdout" ]; then ok
else bad "input-process-substitution: $(head -c 200 "$TMP/stderr")"; fi
mkfifo "$TMP/in.fifo"
expect_fail input-fifo-no-writer 1 "in.fifo: no sentences" -- timeout 20 "$MHAVIZ" tokenize --model "$FIX" "$TMP/in.fifo"

# ---- config.json ----
cfg() { fresh_model m; perl -0pi -e "$1" "$M/config.json"; }
cfg 's/"num_attention_heads": 4/"num_attention_heads": 5/'
expect_fail config-heads-not-dividing 1 "config.json: num_attention_heads 5 does not divide hidden_size 64" -- run --model "$M" "$TMP/s.txt"
cfg 's/"num_hidden_layers": 3/"num_hidden_layers": 1000000000/'
expect_fail config-1e9-layers 1 "field 'num_hidden_layers' is 1000000000, outside" -- run --model "$M" "$TMP/s.txt"
cfg 's/"hidden_size": 64/"hidden_size": "64"/'
expect_fail config-wrong-type 1 "config.json: field 'hidden_size' is not a number" -- run --model "$M" "$TMP/s.txt"
cfg 's/"vocab_size": 429/"vocab_size": 1e300/'
expect_fail config-huge-number 1 "field 'vocab_size' is" -- run --model "$M" "$TMP/s.txt"
cfg 's/^\{/[{/; s/\}\s*$/}]/'
expect_fail config-not-object 1 "config.json: not a JSON object" -- run --model "$M" "$TMP/s.txt"
cfg 's/"intermediate_size": 128/"intermediate_size": 256/'
expect_fail config-disagrees-with-weights 1 "has shape [128,64], expected [256,64]" -- run --model "$M" "$TMP/s.txt"
cfg 's/"num_hidden_layers": 3/"num_hidden_layers": 1000/'
expect_fail config-more-layers-than-file 1 "checkpoint is too small for the sizes in config.json" -- run --model "$M" "$TMP/s.txt"
fresh_model m; perl -e 'print "[" x 100000' >"$M/config.json"
expect_fail config-deep-nesting 1 "config.json: not valid JSON" -- run --model "$M" "$TMP/s.txt"
# decoder checkpoints (the fixtures have no tokenizer: the model is checked first)
dec() { rm -rf "$M"; cp -r tests/fixtures/dec-llama-f32 "$M"; [ -z "$1" ] || perl -0pi -e "$1" "$M/config.json"; }
dec 's/"num_key_value_heads": 4/"num_key_value_heads": 3/'
expect_fail dec-kv-heads-not-dividing 1 "config.json: num_key_value_heads 3 does not divide num_attention_heads 4" -- run --model "$M" "$TMP/s.txt"
dec 's/"rope_type": "default"/"rope_type": "longrope"/'
expect_fail dec-unknown-rope 1 "config.json: unsupported rope scaling type 'longrope'" -- run --model "$M" "$TMP/s.txt"
dec 's/"head_dim": 16/"head_dim": 15/'
expect_fail dec-odd-head-dim 1 "config.json: head_dim 15 is odd" -- run --model "$M" "$TMP/s.txt"
dec ''; st_edit "$ST" 's/model\.layers\.1\.self_attn\.k_proj\.weight/model.layers.1.self_attn.k_prox.weight/'
expect_fail dec-missing-tensor 1 "model.safetensors: missing tensor 'model.layers.1.self_attn.k_proj.weight'" -- run --model "$M" "$TMP/s.txt"
# GPT-OSS: quantisations other than MXFP4 refused by name; MXFP4 experts checked
oss() { rm -rf "$M"; cp -r tests/fixtures/fam-gpt-oss-lm-mxfp4 "$M"; [ -z "$1" ] || perl -0pi -e "$1" "$M/config.json"; }
oss 's/"quant_method": "mxfp4"/"quant_method": "gptq"/'
expect_fail oss-gptq 1 "config.json: quantization_config (gptq) is not supported (only mxfp4)" -- run --model "$M" "$TMP/s.txt"
oss ''; st_edit "$ST" 's/model\.layers\.1\.mlp\.experts\.down_proj_scales/model.layers.1.mlp.experts.down_proj_scalez/'
expect_fail oss-mxfp4-missing 1 "model.safetensors: missing tensor 'model.layers.1.mlp.experts.down_proj_scales'" -- run --model "$M" "$TMP/s.txt"
oss 's/"intermediate_size": 32/"intermediate_size": 48/'
expect_fail oss-mxfp4-sizes 1 "MXFP4 experts need hidden_size and intermediate_size multiples of 32" -- run --model "$M" "$TMP/s.txt"

# ---- vocab.txt / tokenizer.json ----
fresh_model m; : >"$M/vocab.txt"
expect_fail vocab-empty 1 "vocab.txt: empty vocabulary file" -- run --model "$M" "$TMP/s.txt"
fresh_model m; printf '\xc3\x28\n' >>"$M/vocab.txt"
expect_fail vocab-bad-utf8 1 "vocab.txt: line 430 is not valid UTF-8" -- run --model "$M" "$TMP/s.txt"
fresh_model m; printf 'x\0y\n' >>"$M/vocab.txt"
expect_fail vocab-nul 1 "vocab.txt: NUL byte at offset" -- run --model "$M" "$TMP/s.txt"
# a piece listed twice: Hugging Face accepts it (the later line wins the lookup), and so do
# we, with one warning line naming both lines; the run itself succeeds
fresh_model m; sed -i '20s/.*/[CLS]/' "$M/vocab.txt"
rm -rf "$TMP/out"; run --model "$M" "$TMP/s.txt" >"$TMP/stdout" 2>"$TMP/stderr"; rc=$?
if [ $rc = 0 ] && [ "$(wc -l <"$TMP/stderr")" = 1 ] && [ -s "$TMP/out/s.json" ] &&
   grep -qF "mhaviz: warning: $M/vocab.txt: piece '[CLS]' is on lines 6 and 20; the later line is used" "$TMP/stderr"
then ok; else bad "vocab-duplicate: exit $rc: $(head -c 300 "$TMP/stderr")"; fi
# more pieces than the model has embeddings: refused when such a token is used
fresh_model m; perl -e 'print "p$_\n" for 1..1000' >>"$M/vocab.txt"; echo 'p1000 [CLS]' >"$TMP/p.txt"
expect_fail vocab-larger-than-model 2 "p.txt: line 1: token id 1428 outside the model's vocabulary (0-428)" -- run --model "$M" --pretokenized "$TMP/p.txt"
tj() { rm -rf "$M"; cp -r tests/fixtures/minilm-2l "$M"; perl -0pi -e "$1" "$M/tokenizer.json"; }
tj 's/("model": *\{\s*"type": *)"WordPiece"/$1"WordLevel"/'
expect_fail tokenizer-unknown-model 1 "tokenizer.json: unsupported tokenizer model 'WordLevel'" -- run --model "$M" "$TMP/s.txt"
tj 's/^\{/{"x": tru/'
expect_fail tokenizer-not-json 1 "tokenizer.json: not valid JSON" -- run --model "$M" "$TMP/s.txt"
# a tokenizer.json that lifts max_input_chars_per_word, and a 300000-character word: WordPiece
# must stay linear (it was quadratic: minutes for a 1 MB word)
rm -rf "$M"; cp -r tests/fixtures/tok-minilm "$M"
perl -0pi -e 's/"max_input_chars_per_word": *100/"max_input_chars_per_word":100000000/' "$M/tokenizer.json"
perl -e 'print "a" x 300000, "\n"' >"$TMP/word.txt"
timeout 60 "$MHAVIZ" tokenize --model "$M" "$TMP/word.txt" >"$TMP/stdout" 2>"$TMP/stderr"; rc=$?
if [ $rc = 0 ] && [ ! -s "$TMP/stderr" ] && head -c 20 "$TMP/stdout" | grep -q '^\[CLS\] aaa ##aa'; then ok
else bad "wordpiece-long-word: exit $rc (124 = timed out): $(head -c 200 "$TMP/stderr")"; fi
# 20000 added tokens and a 100 KB sentence: added tokens are matched by walking a sorted
# table, not by trying each one at each character (that took 30 s here, minutes for 1 MB)
rm -rf "$M"; cp -r tests/fixtures/tok-minilm "$M"
perl -MJSON::PP -0e 'my $j = decode_json(<STDIN>);
    $j->{added_tokens} = [map { {id => $_, content => sprintf("zq%05d", $_), single_word => JSON::PP::false,
        lstrip => JSON::PP::false, rstrip => JSON::PP::false, normalized => JSON::PP::false,
        special => JSON::PP::true} } 0 .. 19999];
    print encode_json($j)' <tests/fixtures/tok-minilm/tokenizer.json >"$M/tokenizer.json"
perl -e 'print "hello world zq01234 " x 5000, "\n"' >"$TMP/many.txt"
timeout 60 "$MHAVIZ" tokenize --model "$M" "$TMP/many.txt" >"$TMP/stdout" 2>"$TMP/stderr"; rc=$?
# (the token's id is 1234; the piece printed is the vocabulary's entry 1234)
if [ $rc = 0 ] && [ ! -s "$TMP/stderr" ] && cut -f2 "$TMP/stdout" | grep -q '^101 7592 2088 1234 7592 2088 1234 '; then ok
else bad "many-added-tokens: exit $rc (124 = timed out): $(head -c 200 "$TMP/stderr")"; fi

# ---- input ----
printf 'fine\n\xf0\x28\x8c\x28\n' >"$TMP/in-bad.txt"
expect_fail input-bad-utf8-4byte 1 "in-bad.txt: line 2: invalid UTF-8" -- run --model "$FIX" "$TMP/in-bad.txt"
printf '\xed\xa0\x80\n' >"$TMP/in-surrogate.txt"
expect_fail input-surrogate 1 "in-surrogate.txt: line 1: invalid UTF-8" -- run --model "$FIX" "$TMP/in-surrogate.txt"
printf 'ok\n\0\n' >"$TMP/in-nul.txt"
expect_fail input-nul-line 1 "in-nul.txt: line 2: contains a NUL byte" -- run --model "$FIX" "$TMP/in-nul.txt"
perl -e 'print "苹果 " x 200000, "\n"' >"$TMP/in-1mb.txt"
expect_fail input-1mb-line 1 "in-1mb.txt: line 1: 400002 tokens exceed the model's 64 positions" -- run --model "$FIX" "$TMP/in-1mb.txt"
# ... which --truncate draws, storing in each figure only the text its tokens cover
rm -rf "$TMP/out"
if "$MHAVIZ" run --model "$FIX" --truncate --format png --heads 0:0 --out "$TMP/out" "$TMP/in-1mb.txt" 2>"$TMP/stderr" &&
   [ "$(wc -l <"$TMP/stderr")" = 1 ] && [ "$(stat -c %s "$TMP/out/in-1mb/L00-H00.png")" -lt 100000 ]; then ok
else bad "input-1mb-line-truncated: $(head -c 300 "$TMP/stderr")"; fi
perl -e 'print "a" x (65 << 20), "\n"' >"$TMP/in-65mb.txt"
expect_fail input-65mb-line 1 "in-65mb.txt: line 1: sentence longer than 64 MiB" -- "$MHAVIZ" tokenize --model "$FIX" "$TMP/in-65mb.txt"
rm -f "$TMP/in-65mb.txt"
# run and rank hold every sentence's tokens: bounded in all (here 262200 lines of 64 ids)
perl -e 'my $l = join(" ", (5) x 64) . "\n"; print $l x 262200' >"$TMP/in-17m.txt"
expect_fail input-too-many-tokens 1 "in-17m.txt: line 262145: more than 16777216 tokens in all" -- run --model "$FIX" --ids "$TMP/in-17m.txt"
rm -f "$TMP/in-17m.txt"
: >"$TMP/in-empty.txt"
expect_fail input-empty 1 "in-empty.txt: no sentences" -- run --model "$FIX" "$TMP/in-empty.txt"
printf ' \t \r\n\f\v\n' >"$TMP/in-ws.txt"
expect_fail input-whitespace-only 1 "in-ws.txt: no sentences" -- run --model "$FIX" "$TMP/in-ws.txt"

# ---- rank --from/--to ----
if "$MHAVIZ" rank --help >/dev/null 2>&1; then
    expect_fail rank-word-bad-utf8 2 "--from WORD is not valid UTF-8" -- "$MHAVIZ" rank --model "$FIX" --from "$(printf '\xff')" --to 它 "$TMP/s.txt"
    expect_fail rank-word-absent 1 "s.txt: line 1: '香蕉' does not occur" -- "$MHAVIZ" rank --model "$FIX" --from 香蕉 --to 它 "$TMP/s.txt"
    expect_fail rank-nth-huge 2 "--nth '99999999999' is not a positive number" -- "$MHAVIZ" rank --model "$FIX" --from 苹果 --to 它 --nth 99999999999 "$TMP/s.txt"
fi

# ---- NaN / infinite weights: found after the forward pass, naming the layer and head ----
# st_poke FILE TENSOR INDEX HEX8: overwrites float INDEX of TENSOR with the little-endian bytes
st_poke() {
    perl -MJSON::PP -e '
        my ($f, $name, $i, $hex) = @ARGV;
        open(my $h, "+<:raw", $f) or die; read($h, my $len, 8); my $n = unpack("Q<", $len);
        read($h, my $hdr, $n); my $t = decode_json($hdr)->{$name} or die "no $name";
        seek($h, 8 + $n + $t->{data_offsets}[0] + 4 * $i, 0); print $h pack("H8", $hex); close $h;
    ' "$@"
}
fresh_model m; st_poke "$ST" encoder.layer.1.attention.self.key.weight 0 0000c07f
expect_fail nan-key-weight 1 "s.txt: line 1: layer 1, head 0: attention of token 0 is NaN" -- run --model "$M" "$TMP/s.txt"
expect_fail nan-key-weight-stats 1 "line 1: layer 1, head 0: attention of token 0 is NaN" -- "$MHAVIZ" stats --model "$M" "$TMP/s.txt"
# rank keeps only the --from word's rows (它 is token 13): the first NaN it sees is there
expect_fail nan-key-weight-rank 1 "s.txt: line 1: layer 1, head 0: attention of token 13 is NaN" -- "$MHAVIZ" rank --model "$M" --from 它 --to 苹果 "$TMP/s.txt"
fresh_model m; st_poke "$ST" encoder.layer.0.attention.self.query.bias 5 0000807f
expect_fail inf-query-bias 1 "s.txt: line 1: layer 0, head 0: attention of token 0 is NaN" -- run --model "$M" "$TMP/s.txt"

expect_fail pretokenized-and-ids 2 "--pretokenized and --ids exclude each other" -- run --model "$FIX" --pretokenized --ids "$TMP/s.txt"
expect_fail tokenize-ids-and-pretokenized 2 "--pretokenized and --ids exclude each other" -- "$MHAVIZ" tokenize --model "$FIX" --ids --pretokenized "$TMP/s.txt"
# tokenize --ids needs no tokenizer files, as run --ids does
echo "1 2 3" >"$TMP/ids.txt"
if [ "$("$MHAVIZ" tokenize --model tests/fixtures/dec-llama-f32 --ids "$TMP/ids.txt" 2>&1)" = "$(printf '1 2 3\t1 2 3')" ]; then ok
else bad "tokenize-ids-without-tokenizer: $("$MHAVIZ" tokenize --model tests/fixtures/dec-llama-f32 --ids "$TMP/ids.txt" 2>&1 | head -c 200)"; fi

fresh_model m; rm "$ST"; ln -s model.safetensors "$ST"
expect_fail st-symlink-loop 1 "model.safetensors: cannot open: Too many levels of symbolic links" -- run --model "$M" "$TMP/s.txt"
fresh_model m; rm "$ST"; ln -s gone.safetensors "$ST"
expect_fail st-dangling-symlink 1 "model.safetensors: cannot open: No such file or directory" -- run --model "$M" "$TMP/s.txt"
# a model directory whose name is not UTF-8: the SVG stays well-formed XML, the JSON UTF-8
D="$TMP/$(printf 'bad\377\376name')"; rm -rf "$D"; cp -r "$FIX" "$D"; rm -rf "$TMP/out"
if "$MHAVIZ" run --model "$D" --heads 0:0 --format svg,json --out "$TMP/out" "$TMP/s.txt" 2>"$TMP/stderr" &&
   perl -MEncode -e 'local $/; for my $f (@ARGV) { open(my $h, "<:raw", $f) or die; my $b = <$h>;
       Encode::decode("UTF-8", $b, Encode::FB_CROAK) } ' "$TMP/out/s.json" "$TMP/out/s/L00-H00.svg" 2>/dev/null &&
   grep -q 'badï¿½ï¿½name\|bad��name' "$TMP/out/s/L00-H00.svg"; then ok
else bad "model-dir-not-utf8: $(head -c 200 "$TMP/stderr")"; fi
expect_fail info-bad-directory 1 "not a model directory" -- "$MHAVIZ" info --model "$TMP/plainfile"

# ---- --truncate on a decoder: the first positions, never the sentence's last token after
# the cut (a sequence that is not in the text); BERT keeps its closing [SEP] ----
rm -rf "$M"; cp -r tests/fixtures/dec-qwen2-f32 "$M"; cp tests/fixtures/tok-llama/tokenizer.json "$M/"
perl -e 'print join(" ", map { "w$_" } 1 .. 80), " D\n"' >"$TMP/longd.txt"
"$MHAVIZ" tokenize --model "$M" "$TMP/longd.txt" | cut -f2 | tr ' ' '\n' | head -64 | tr '\n' ' ' >"$TMP/want-ids"
rm -rf "$TMP/out"; run --model "$M" --truncate "$TMP/longd.txt" 2>/dev/null
perl -MJSON::PP -0e 'print join(" ", @{decode_json(<STDIN>)->{sentences}[0]{token_ids}}), " "' <"$TMP/out/longd.json" >"$TMP/got-ids"
if [ -s "$TMP/want-ids" ] && cmp -s "$TMP/want-ids" "$TMP/got-ids"; then ok; else bad "truncate-decoder: $(head -c 100 "$TMP/got-ids") ... vs $(head -c 100 "$TMP/want-ids")"; fi
perl -e 'print "苹果" x 100, "\n"' >"$TMP/longb.txt"
rm -rf "$TMP/out"; run --model "$FIX" --truncate "$TMP/longb.txt" 2>/dev/null
if perl -MJSON::PP -0e 'my $t = decode_json(<STDIN>)->{sentences}[0]{tokens}; exit !(@$t == 64 && $t->[0] eq "[CLS]" && $t->[63] eq "[SEP]" && $t->[62] ne "[SEP]")' <"$TMP/out/longb.json"; then ok
else bad "truncate-bert-keeps-sep"; fi

# ---- fonts (--font, MHAVIZ_FONT, user fonts): crafted files from tests/fuzz/gen_font_corpus.py ----
FR=tests/fuzz/regress/font
figs() { timeout 60 "$MHAVIZ" run --model "$FIX" --heads 0:0 --format png,svg --out "$TMP/out" "$@"; }
expect_fail font-table-offset 1 "head-offset-7fffff00.ttf: not a TrueType/OpenType font or collection (a table lies past the end of the file)" -- figs --font "$FR/head-offset-7fffff00.ttf" "$TMP/s.txt"
expect_fail font-truncated 1 "truncated.ttf: not a TrueType/OpenType font or collection (a table lies past the end of the file)" -- figs --font "$FR/truncated.ttf" "$TMP/s.txt"
expect_fail font-units-per-em-0 1 "units-per-em-0.ttf: not a TrueType/OpenType font or collection (head table has an invalid unitsPerEm" -- figs --font "$FR/units-per-em-0.ttf" "$TMP/s.txt"
expect_fail font-env-ttc-past-end 1 "MHAVIZ_FONT: not a TrueType/OpenType font or collection (table directory past the end" -- env MHAVIZ_FONT="$FR/ttc-face-past-end.ttc" "$MHAVIZ" run --model "$FIX" --heads 0:0 --out "$TMP/out" "$TMP/s.txt"
# a glyph that contains itself and a glyph box of 65535 units at 16 per em: drawn as nothing
echo "AgC 苹果" >"$TMP/font.txt"
for f in self-composite huge-glyph-box; do
    rm -rf "$TMP/out"
    if figs --font "$FR/$f.ttf" "$TMP/font.txt" 2>"$TMP/stderr" && [ -s "$TMP/out/font/L00-H00.png" ]; then ok
    else bad "font-$f: exit $?: $(head -c 200 "$TMP/stderr")"; fi
done
# the same under a 2 GB address-space limit (the font is then mapped without its window)
if { (ulimit -v 2000000 && "$MHAVIZ" --version) >/dev/null 2>&1; } 2>/dev/null; then
    rm -rf "$TMP/out"
    if (ulimit -v 2000000; figs --font "$FR/self-composite.ttf" "$TMP/font.txt") 2>"$TMP/stderr"; then ok
    else bad "font-limited-address-space: $(head -c 200 "$TMP/stderr")"; fi
fi

# ---- stats --merge parts: checked against their own counts (content errors exit 1) ----
printf 'one\ntwo\nthree\n' >"$TMP/c3.txt"
for i in 0 1 2; do "$MHAVIZ" stats --model "$FIX" --format json --shard $i/3 --out "$TMP/p$i.json" "$TMP/c3.txt"; done
printf '{"mhaviz_stats": 1, "num_layers": 4096, "num_heads": 4096, "sentences": 1, "heads": [], "x": "%0200d"}' 0 >"$TMP/huge.json"
expect_fail merge-huge-shape 1 "huge.json: lists 0 heads, not the 16777216 of 4096 layers x 4096 heads" -- "$MHAVIZ" stats --merge "$TMP/huge.json"
expect_fail merge-shard-twice 1 "p1.json: shard 1/3 is already in the merge" -- "$MHAVIZ" stats --merge "$TMP/p0.json" "$TMP/p1.json" "$TMP/p1.json"
perl -0pe 's/"sums": \[(\d+)/"sums": [-$1/' "$TMP/p0.json" >"$TMP/neg.json"
expect_fail merge-negative-sum 1 "neg.json: heads[0] (0:0): entropy sum -" -- "$MHAVIZ" stats --merge "$TMP/neg.json"
perl -0pe 's/"counts": \[\d+/"counts": [0/' "$TMP/p0.json" >"$TMP/nocount.json"
expect_fail merge-sum-without-count 1 "nocount.json: heads[0] (0:0): entropy sum" -- "$MHAVIZ" stats --merge "$TMP/nocount.json"
perl -MJSON::PP -0e 'my $j = decode_json(<STDIN>); $j->{num_heads} = 2; $j->{heads} = [grep { $_->{head} < 2 } @{$j->{heads}}]; print encode_json($j)' <"$TMP/p2.json" >"$TMP/narrow.json"
expect_fail merge-other-shape 1 "narrow.json: cannot merge statistics of 3 x 2 heads into 3 x 4 heads" -- "$MHAVIZ" stats --merge "$TMP/p0.json" "$TMP/narrow.json"

# ---- output ----
expect_fail out-under-proc 1 "mhaviz-bad-out" -- "$MHAVIZ" run --model "$FIX" --out /proc/mhaviz-bad-out "$TMP/s.txt"
# a read-only and a full file system, when this user may mount a tmpfs (root); skipped otherwise
mkdir -p "$TMP/ro" "$TMP/full"
if mount -t tmpfs -o size=64k,ro tmpfs "$TMP/ro" 2>/dev/null; then
    trap 'umount "$TMP/ro" "$TMP/full" 2>/dev/null; rm -rf "$TMP"' EXIT
    expect_fail out-read-only 1 "Read-only file system" -- "$MHAVIZ" run --model "$FIX" --out "$TMP/ro/out" "$TMP/s.txt"
    umount "$TMP/ro"
else
    echo "skip: out-read-only (cannot mount a tmpfs)"
fi
if mount -t tmpfs -o size=16k tmpfs "$TMP/full" 2>/dev/null; then
    trap 'umount "$TMP/full" 2>/dev/null; rm -rf "$TMP"' EXIT
    expect_fail out-disk-full 1 "No space left on device" -- run --model "$FIX" --out "$TMP/full" "$TMP/s.txt"
    if [ -n "$(ls -A "$TMP/full")" ]; then bad "out-disk-full: left $(ls -A "$TMP/full")"; fi
    if "$MHAVIZ" run --help 2>/dev/null | grep -q 'png'; then
        expect_fail out-disk-full-png 1 "$TMP/full/" -- "$MHAVIZ" run --model "$FIX" --format png --out "$TMP/full" "$TMP/s.txt"
        if [ -n "$(ls -A "$TMP/full")" ]; then bad "out-disk-full-png: left $(ls -A "$TMP/full")"; fi
    fi
    umount "$TMP/full"
else
    echo "skip: out-disk-full (cannot mount a tmpfs)"
fi
# a file size limit is a disk-full that needs no privilege: writes fail with EFBIG
(trap '' XFSZ; ulimit -f 4; exec "$MHAVIZ" run --model "$FIX" --format json --out "$TMP/fsz" "$TMP/s.txt") >"$TMP/stdout" 2>"$TMP/stderr"
rc=$?
if [ $rc = 1 ] && [ "$(wc -l <"$TMP/stderr")" = 1 ] && grep -q '^mhaviz: .*fsz' "$TMP/stderr" &&
   [ -z "$(ls -A "$TMP/fsz" 2>/dev/null)" ]; then ok; else bad "out-file-size-limit: exit $rc: $(head -c 300 "$TMP/stderr"); left: $(ls -A "$TMP/fsz" 2>/dev/null)"; fi

finish
