#!/bin/sh
# libmqs exports exactly the functions its public headers declare (inline
# helpers aside): the version script (runtime/core/libmqs.map) lists them by
# name, and this check keeps the two in step. Usage: check_exports.sh LIBMQS.so SOURCE_DIR
set -eu
lib=$1
src=$2
declared=$(grep -hE '^[a-z][a-z0-9_ ]*[ *]mqs_[a-z0-9_]+\(' "$src"/include/mqs/*.h | grep -v '^static' |
  sed -E 's/.*[ *](mqs_[a-z0-9_]+)\(.*/\1/' | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep '^mqs_' | sort -u)
if [ "$declared" != "$exported" ]; then
  echo "declared in include/mqs but not exported, or exported but not declared:"
  printf '%s\n' "$declared" > /tmp/mqstest-declared.$$
  printf '%s\n' "$exported" | diff /tmp/mqstest-declared.$$ - || true
  rm -f /tmp/mqstest-declared.$$
  exit 1
fi
echo "libmqs exports the $(printf '%s\n' "$exported" | wc -l) functions its headers declare"
