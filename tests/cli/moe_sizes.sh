#!/bin/bash
# Mixtures of experts whose config asks for more experts than the checkpoint holds (4096
# experts in each of 1024 layers): refused by name before the experts' views are allocated
# (those were up to ~500 MB of descriptors sized by config.json alone), within 400 MB of
# address space when not under ASan.
. "$(dirname "$0")/lib.sh"

printf '3 7 11 5 9 2\n' >"$TMP/ids.txt"
# hostile FIXTURE PERL [DUMMIES]: a copy of FIXTURE in $TMP/m whose config.json is changed by
# PERL and whose checkpoint gets a 1 MB tensor nobody reads (so the vectors of 1024 layers
# fit the file) and DUMMIES empty tensors (so the tensor count does not refuse first)
hostile() {
    rm -rf "$TMP/m" && mkdir -p "$TMP/m" && cp tests/fixtures/$1/* "$TMP/m/"
    perl -0pi -e "$2" "$TMP/m/config.json"
    perl -e '
        my ($f, $dummies) = @ARGV;
        open(my $h, "<:raw", $f) or die; local $/; my $all = <$h>; close $h;
        my $n = unpack("Q<", substr($all, 0, 8));
        my $hdr = substr($all, 8, $n); my $data = substr($all, 8 + $n);
        $hdr =~ s/\s+$//; $hdr =~ s/\}$//;
        my $end = length $data;
        $hdr .= sprintf(",\"zz.pad\":{\"dtype\":\"U8\",\"shape\":[1048576],\"data_offsets\":[%d,%d]}",
                        $end, $end + 1048576);
        $hdr .= sprintf(",\"zz.e%d\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[%d,%d]}",
                        $_, $end + 1048576, $end + 1048576) for 1 .. $dummies;
        $hdr .= "}"; $hdr .= " " x ((8 - length($hdr) % 8) % 8);
        open($h, ">:raw", $f) or die;
        print $h pack("Q<", length $hdr), $hdr, $data, "\0" x 1048576; close $h;
    ' "$TMP/m/model.safetensors" "${3:-0}"
}
# the run under 400 MB of address space where a limit can be set (not under ASan)
limited() {
    bash -c 'mem_limit() { { (ulimit -v 400000 && "$1" --version) >/dev/null 2>&1; } 2>/dev/null && ulimit -v 400000; }; mem_limit "$1"; shift; exec timeout 60 "$@"' \
        _ "$MHAVIZ" "$MHAVIZ" run --model "$TMP/m" --ids --format json --out "$TMP/out" "$TMP/ids.txt"
}
MANY='s/"num_hidden_layers": \d+/"num_hidden_layers": 1024/; s/"num_local_experts": 4/"num_local_experts": 4096/'
NEEDLE="model.safetensors: checkpoint is too small for 4096 experts in each of 1024 layers (config.json)"

hostile fam-granitemoe-lm-f32 "$MANY"
expect_fail "granitemoe: 4096 experts x 1024 layers refused" 1 "$NEEDLE" -- limited
hostile fam-granitemoeshared-lm-f32 "$MANY"
expect_fail "granitemoeshared: 4096 experts x 1024 layers refused" 1 "$NEEDLE" -- limited
hostile fam-jetmoe-f32 "$MANY"
expect_fail "jetmoe: 4096 experts x 1024 layers refused" 1 "$NEEDLE" -- limited
# (GPT-OSS's experts' biases are vectors: its vector bound refuses such a config already)
hostile fam-gpt-oss-lm-f32 "$MANY;"' s/"layer_types": \[[^]]*\],//'
expect_fail "gpt_oss: 4096 experts x 1024 layers refused" 1 \
    "model.safetensors: checkpoint is too small for the sizes in config.json" -- limited
# Qwen2-MoE with experts in layer 0 only: the views of one layer's experts, not of 1024
# (12288 tensors in the file, so the count of tensors does not refuse it)
hostile fam-qwen2-moe-f32 's/"num_hidden_layers": 2/"num_hidden_layers": 1024/; s/"num_experts": 4/"num_experts": 4096/; s/"layer_types": \[[^]]*\],//; s/"mlp_only_layers": \[\]/"mlp_only_layers": ['"$(seq -s, 1 1023)"']/' 12288
expect_fail "qwen2_moe: 4096 experts in 1 of 1024 layers refused" 1 \
    "model.safetensors: checkpoint is too small for 4096 experts in each of 1 layers (config.json)" -- limited
finish
