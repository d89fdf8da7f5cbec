#!/bin/sh
# embed.sh NAME FILE -- print a C file defining `const char NAME[]` with FILE's bytes.
set -eu
name=$1
file=$2
printf '/* Generated from %s by scripts/embed.sh; do not edit. */\n' "$file"
printf 'const char %s[] = {\n' "$name"
od -An -v -tu1 "$file" | sed -e 's/^ *//' -e 's/  */, /g' -e 's/$/,/' -e '/^,$/d'
printf '0 };\n'
printf 'const unsigned long %s_len = sizeof(%s) - 1;\n' "$name" "$name"
