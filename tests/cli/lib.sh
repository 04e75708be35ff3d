# Helpers for the CLI tests (sourced). $MHAVIZ is the binary under test.
set -u
: "${MHAVIZ:=build/mhaviz}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mhaviz-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*" >&2; }

# expect_fail NAME CODE NEEDLE -- CMD...: CMD exits CODE, prints exactly one stderr line
# "mhaviz: ..." containing NEEDLE, nothing on stdout, and leaves $TMP/out empty or absent.
expect_fail() {
    local name=$1 code=$2 needle=$3
    shift 4
    rm -rf "$TMP/out"
    "$@" >"$TMP/stdout" 2>"$TMP/stderr"
    local rc=$?
    local lines
    lines=$(wc -l <"$TMP/stderr")
    if [ "$rc" != "$code" ]; then bad "$name: exit $rc, expected $code ($(head -c 300 "$TMP/stderr"))"; return; fi
    if [ "$lines" != 1 ]; then bad "$name: $lines stderr lines: $(head -c 300 "$TMP/stderr")"; return; fi
    if ! grep -q '^mhaviz: ' "$TMP/stderr"; then bad "$name: stderr lacks 'mhaviz: ' prefix"; return; fi
    if ! grep -qF -- "$needle" "$TMP/stderr"; then bad "$name: stderr lacks '$needle': $(cat "$TMP/stderr")"; return; fi
    if [ -s "$TMP/stdout" ]; then bad "$name: printed on stdout"; return; fi
    if [ -e "$TMP/out" ] && [ -n "$(ls -A "$TMP/out")" ]; then bad "$name: left output: $(ls -A "$TMP/out")"; return; fi
    ok
}

# st_edit FILE PERL_EXPR: rewrites the JSON header of a safetensors file with a perl
# substitution applied to it, keeping the data area.
st_edit() {
    perl -e '
        my ($f, $expr) = @ARGV;
        open(my $h, "<:raw", $f) or die; local $/; my $all = <$h>; close $h;
        my $n = unpack("Q<", substr($all, 0, 8));
        my $hdr = substr($all, 8, $n); my $data = substr($all, 8 + $n);
        $_ = $hdr; eval $expr; die $@ if $@; $hdr = $_;
        open($h, ">:raw", $f) or die; print $h pack("Q<", length $hdr), $hdr, $data; close $h;
    ' "$1" "$2"
}

finish() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" = 0 ]
}
