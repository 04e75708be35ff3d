#!/bin/bash
# The folders of lib/ are layers: each may include only the folders listed for it here
# (lib/README.md draws them). Prints every include that crosses a layer the wrong way.
cd "$(dirname "$0")/.." || exit 1
declare -A allowed=(
    [base]=""
    [text]="base"
    [tok]="base text"
    [ckpt]="base text"
    [media]="base"
    [nn]="base text ckpt"
    [model]="base text ckpt nn"
    [analysis]="base text tok"
    [fig]="base text tok analysis"
)
bad=0 checked=0
for f in $(find lib -name '*.[ch]'); do
    layer=$(echo "$f" | cut -d/ -f2)
    if [ -z "${allowed[$layer]+x}" ]; then
        echo "layers: $f: folder '$layer' is not a known layer"; bad=$((bad + 1)); continue
    fi
    for dep in $(sed -n 's|^#include "\([a-z]*\)/.*|\1|p' "$f" | sort -u); do
        checked=$((checked + 1))
        [ "$dep" = "$layer" ] && continue
        case " ${allowed[$layer]} " in
            *" $dep "*) ;;
            *) echo "layers: $f includes $dep/ (a $layer file may include: ${allowed[$layer]:-nothing})"
               bad=$((bad + 1)) ;;
        esac
    done
done
echo "layers: $((checked - bad)) passed, $bad failed"
[ "$bad" -eq 0 ]
