#!/usr/bin/env bash
# Output must never damage anything (issue 15): --out onto links, devices, FIFOs and standard
# output; stems that are safe path components; a run into an existing --out replaces exactly
# what it owns, and a failed or interrupted run leaves --out as it was. Everything happens in
# the scratch directory $TMP: device nodes are made there, never touched under /dev.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/bert-f32
echo "苹果从树上掉下来，小明把它捡起来了。" >"$TMP/s.txt"
stats() { "$MHAVIZ" stats --model "$FIX" "$@"; }
run() { "$MHAVIZ" run --model "$FIX" "$@"; }
# tree DIR: a listing of every path under DIR with a checksum of each file
tree() { (cd "$1" 2>/dev/null && find . -print0 | sort -z | xargs -0 -r md5sum 2>/dev/null; find . | sort); }

# ---- stats --out FILE ----
stats "$TMP/s.txt" >"$TMP/want.txt" 2>/dev/null || bad "stats control run failed"

# a symbolic link is followed: the file it names gets the table, the link stays a link
echo old >"$TMP/target.txt"; ln -s target.txt "$TMP/link.txt"
if stats --out "$TMP/link.txt" "$TMP/s.txt" 2>"$TMP/stderr" && [ -L "$TMP/link.txt" ] &&
   cmp -s "$TMP/target.txt" "$TMP/want.txt" && [ ! -s "$TMP/stderr" ]; then ok
else bad "out-symlink: link $(ls -l "$TMP/link.txt"), stderr $(head -c 200 "$TMP/stderr")"; fi
ln -s nowhere/x "$TMP/dangling"
expect_fail out-dangling-symlink 1 "dangling: is a symbolic link to nothing" -- stats --out "$TMP/dangling" "$TMP/s.txt"
[ -L "$TMP/dangling" ] && [ ! -e "$TMP/nowhere" ] && ok || bad "out-dangling-symlink: the link was changed"

# "-" and /dev/stdout are standard output; no file named "-" appears
(cd "$TMP" && "$OLDPWD/$MHAVIZ" stats --model "$OLDPWD/$FIX" --out - s.txt >"$TMP/got.txt" 2>"$TMP/stderr")
if cmp -s "$TMP/got.txt" "$TMP/want.txt" && [ ! -e "$TMP/-" ] && [ ! -s "$TMP/stderr" ]; then ok
else bad "out-dash: $(head -c 200 "$TMP/stderr")"; fi
if stats --out /dev/stdout "$TMP/s.txt" >"$TMP/got.txt" 2>"$TMP/stderr" && cmp -s "$TMP/got.txt" "$TMP/want.txt"; then ok
else bad "out-dev-stdout: $(head -c 200 "$TMP/stderr")"; fi
if stats --out /dev/stdout "$TMP/s.txt" 2>"$TMP/stderr" | cat >"$TMP/got.txt" && cmp -s "$TMP/got.txt" "$TMP/want.txt"; then ok
else bad "out-dev-stdout-pipe: $(head -c 200 "$TMP/stderr")"; fi

# a FIFO is written through (a reader gets the table) and stays a FIFO
mkfifo "$TMP/fifo"
cat "$TMP/fifo" >"$TMP/got.txt" & reader=$!
if timeout 30 "$MHAVIZ" stats --model "$FIX" --out "$TMP/fifo" "$TMP/s.txt" 2>"$TMP/stderr"; then
    wait $reader
    if [ -p "$TMP/fifo" ] && cmp -s "$TMP/got.txt" "$TMP/want.txt"; then ok
    else bad "out-fifo: fifo $(ls -l "$TMP/fifo"), output differs"; fi
else bad "out-fifo: exit $?: $(head -c 200 "$TMP/stderr")"; kill $reader 2>/dev/null; fi
# ... and one that nobody reads is an error, not a hang
expect_fail out-fifo-no-reader 1 "fifo: is a FIFO that nobody reads" -- timeout 30 "$MHAVIZ" stats --model "$FIX" --out "$TMP/fifo" "$TMP/s.txt"
[ -p "$TMP/fifo" ] && ok || bad "out-fifo-no-reader: the FIFO was replaced"

# a device node (made here, a copy of /dev/null and /dev/full when this user may) is
# written through and never replaced by a regular file
if mknod "$TMP/null" c 1 3 2>/dev/null && mknod "$TMP/full" c 1 7 2>/dev/null; then
    if stats --out "$TMP/null" "$TMP/s.txt" 2>"$TMP/stderr" && [ -c "$TMP/null" ]; then ok
    else bad "out-device-null: $(ls -l "$TMP/null"): $(head -c 200 "$TMP/stderr")"; fi
    expect_fail out-device-full 1 "full: write failed: No space left on device" -- stats --out "$TMP/full" "$TMP/s.txt"
    [ -c "$TMP/full" ] && ok || bad "out-device-full: the device node was replaced: $(ls -l "$TMP/full")"
    if [ -n "$(find "$TMP" -maxdepth 1 -name '*.tmp.*')" ]; then bad "out-device: left $(ls "$TMP")"; fi
else
    echo "skip: out-device-null, out-device-full (cannot mknod)"
fi
expect_fail out-is-directory 1 "is a directory" -- stats --out "$TMP" "$TMP/s.txt"

# ---- --out - of the commands that write a directory: a usage error, no directory "-" ----
MH=$(cd "$(dirname "$MHAVIZ")" && pwd)/$(basename "$MHAVIZ")
AFIX=$PWD/$FIX
for cmd in "run --model $AFIX" "run --model $PWD/tests/fixtures/fam-vit-f32" \
           "rank --model $AFIX --from 它 --to 苹果 --render"; do
    in=$TMP/s.txt
    case $cmd in *vit*) in=$PWD/tests/fixtures/images/grey-16x16.png ;; esac
    (cd "$TMP" && exec "$MH" $cmd --out - "$in") >"$TMP/stdout" 2>"$TMP/stderr"
    rc=$?
    if [ $rc = 2 ] && [ ! -e "$TMP/-" ] && [ ! -s "$TMP/stdout" ] &&
       [ "$(cat "$TMP/stderr")" = "mhaviz: --out - is not a directory (only stats writes to standard output; ./- names a directory called -)" ]
    then ok; else bad "$cmd --out -: exit $rc, $(ls -d "$TMP/-" 2>/dev/null) $(head -c 300 "$TMP/stderr")"; fi
done
(cd "$TMP" && exec "$MH" run --model "$AFIX" --format json --out ./- "$TMP/s.txt") 2>"$TMP/stderr"
if [ $? = 0 ] && [ -s "$TMP/-/s.json" ]; then ok; else bad "--out ./- is a directory named -"; fi
rm -rf "$TMP/-"

# ---- stems ----
mkdir -p "$TMP/in"
for name in '...txt' '..txt' '.txt' ".hid.txt" "$(printf 'a\033]0;x\007b.txt')"; do
    cp "$TMP/s.txt" "$TMP/in/$name"
    rm -rf "$TMP/o" "$TMP/stem-probe"; mkdir -p "$TMP/o/inner"
    if run --format json,png --out "$TMP/o/inner" "$TMP/in/$name" >/dev/null 2>"$TMP/stderr"; then
        # everything lands in one new entry of --out (and its .json), named by a plain stem
        ents=$(ls -A "$TMP/o/inner" | grep -v '\.json$')
        if [ "$(ls -A "$TMP/o")" = inner ] && [ "$(echo "$ents" | wc -l)" = 1 ] &&
           [ -f "$TMP/o/inner/$ents.json" ] && [ -f "$TMP/o/inner/$ents/L00-H00.png" ] &&
           ! printf '%s' "$ents" | grep -q '[[:cntrl:]]' && [ "${ents#.}" = "$ents" ]; then ok
        else bad "stem '$name': wrote $(ls -A "$TMP/o") / $(ls -A "$TMP/o/inner" | head -5)"; fi
    else bad "stem '$name': exit $?: $(head -c 200 "$TMP/stderr")"; fi
done

# ---- a run into an existing --out ----
O=$TMP/runs
mkdir -p "$TMP/a" "$TMP/b"
printf 'one\ntwo\nthree\n' >"$TMP/a/s.txt"
echo "苹果" >"$TMP/b/s.txt"
rm -rf "$O"; run --format png,json --out "$O" "$TMP/a/s.txt" 2>"$TMP/stderr"
[ -d "$O/s-3" ] && [ ! -s "$TMP/stderr" ] && ok || bad "runs: first run: $(cat "$TMP/stderr")"
before=$(tree "$O")
# a failed run (writes fail past 4 KB) leaves the earlier run's files exactly as they were
(trap '' XFSZ; ulimit -f 4; exec "$MHAVIZ" run --model "$FIX" --format png,json --out "$O" "$TMP/b/s.txt") >/dev/null 2>"$TMP/stderr"
rc=$?
if [ $rc = 1 ] && [ "$(wc -l <"$TMP/stderr")" = 1 ] && [ "$(tree "$O")" = "$before" ]; then ok
else bad "runs-failed: exit $rc, $(head -c 200 "$TMP/stderr"); --out changed: $(diff <(echo "$before") <(tree "$O") | head -5)"; fi
# the same stem from another folder: replaces s/ and s.json, says so, and names the
# sentence folders of the earlier run it leaves
run --format png,json --out "$O" "$TMP/b/s.txt" 2>"$TMP/stderr"; rc=$?
if [ $rc = 0 ] && grep -qF "mhaviz: $O: replaced s/, s.json of an earlier run" "$TMP/stderr" &&
   grep -qF "mhaviz: warning: $O: s-2/, s-3/ are from an earlier run" "$TMP/stderr" &&
   [ "$(wc -l <"$TMP/stderr")" = 2 ] && grep -q '"text": *"苹果"' "$O/s.json" &&
   [ -z "$(ls -A "$O" | grep '^\.')" ]; then ok
else bad "runs-replace: exit $rc: $(cat "$TMP/stderr"); $(ls -A "$O")"; fi
# heads the second run did not draw do not survive in s/
run --format png --heads 0:0 --out "$O" "$TMP/b/s.txt" 2>/dev/null
[ -f "$O/s/L00-H00.png" ] && [ -z "$(ls "$O/s" | grep -v '^L00[.-]')" ] && ok || bad "runs-heads: s/ holds $(ls "$O/s" | head -5)"

# a failed run into a nested --out that did not exist leaves none of its directories
rm -rf "$TMP/n"
(trap '' XFSZ; ulimit -f 4; exec "$MHAVIZ" run --model "$FIX" --format png --out "$TMP/n/a/b/c" "$TMP/s.txt") >/dev/null 2>"$TMP/stderr"
[ $? = 1 ] && [ ! -e "$TMP/n" ] && ok || bad "nested-out-failed: left $(find "$TMP/n" 2>/dev/null | head -3)"

# ---- signals: an interrupted run removes what it wrote and ends with 128+N ----
perl -e 'print "苹果从树上掉下来，小明把它捡起来了。\n" x 2000' >"$TMP/long.txt"
for sig in INT TERM HUP; do
    rm -rf "$TMP/sig"; mkdir -p "$TMP/sig"; echo keep >"$TMP/sig/mine.txt"
    # perl restores the default disposition a background job of a script starts without
    perl -e '$SIG{INT} = $SIG{HUP} = $SIG{TERM} = "DEFAULT"; exec @ARGV' \
        "$MHAVIZ" run --model "$FIX" --format png,json --out "$TMP/sig/out" "$TMP/long.txt" \
        >/dev/null 2>"$TMP/stderr" &
    pid=$!
    # wait until a few sentences are drawn
    for _ in $(seq 600); do
        [ "$(ls -d "$TMP"/sig/out/.mhaviz-*/long-* 2>/dev/null | wc -l)" -ge 3 ] && break
        sleep 0.05
    done
    kill -"$sig" $pid; { wait $pid; } 2>/dev/null; rc=$?
    want=$((128 + $(kill -l "$sig")))
    if [ $rc = $want ] && [ "$(ls -A "$TMP/sig")" = mine.txt ]; then ok
    else bad "signal-$sig: exit $rc (want $want), left $(find "$TMP/sig" | head -5)"; fi
done

# a checkpoint truncated under a running run: SIGBUS is caught, the file named, exit 1, and
# the run's staging directory removed
rm -rf "$TMP/sig" "$TMP/bm"; mkdir -p "$TMP/sig"; cp -r "$FIX" "$TMP/bm"
"$MHAVIZ" run --model "$TMP/bm" --format png --out "$TMP/sig/out" "$TMP/long.txt" >/dev/null 2>"$TMP/stderr" &
pid=$!
for _ in $(seq 600); do
    [ "$(ls -d "$TMP"/sig/out/.mhaviz-*/long-* 2>/dev/null | wc -l)" -ge 2 ] && break
    sleep 0.05
done
truncate -s 4096 "$TMP/bm/model.safetensors"
{ wait $pid; } 2>/dev/null; rc=$?
if [ $rc = 1 ] && [ "$(wc -l <"$TMP/stderr")" = 1 ] &&
   grep -qF "mhaviz: $TMP/bm/model.safetensors: file shrank while mapped" "$TMP/stderr" &&
   [ -z "$(ls -A "$TMP/sig")" ]; then ok
else bad "sigbus-truncated-checkpoint: exit $rc: $(head -c 300 "$TMP/stderr"); left $(find "$TMP/sig" | head -3)"; fi

finish
