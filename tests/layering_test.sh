#!/usr/bin/env bash
# The build enforces ARCHITECTURE.md's dependency rule: compiled against its
# layer's include directory, a source may include its own layer and the layers
# below, and an include of any other layer fails ("No such file or directory").
# Usage: layering_test.sh CXX BUILD/layers SRC
set -uo pipefail
cxx=$1 layers=$2 src=$3
declare -A below=(
  [base]="" [os]="base" [storage]="os base" [postgres]="os base" [state]="os base"
  [wal]="base" [clients]="os base"
  [core]="storage postgres state wal clients os base"
  [serve]="core storage postgres state wal clients os base"
  [cli]="serve core storage postgres state wal clients os base")
failures=0 checks=0
for layer in "${!below[@]}"; do
  for other in "${!below[@]}"; do
    header=$(cd "$src/$other" && ls *.h | head -n 1)
    allowed=no
    [[ $other == "$layer" || " ${below[$layer]} " == *" $other "* ]] && allowed=yes
    out=$(echo "#include \"$other/$header\"" |
          "$cxx" -std=c++20 -fsyntax-only -I "$layers/$layer" -isystem /usr/include/postgresql -x c++ - 2>&1)
    rc=$?
    checks=$((checks + 1))
    if [[ $allowed == yes && $rc -ne 0 ]]; then
      echo "FAIL: $layer may include $other/$header but it does not compile: $out"; failures=$((failures + 1))
    elif [[ $allowed == no && ( $rc -eq 0 || $out != *"No such file or directory"* ) ]]; then
      echo "FAIL: $layer must not see $other/$header, yet it compiled (rc $rc): $out"; failures=$((failures + 1))
    fi
  done
done
echo "layering: $checks include checks, $failures failed"
[[ $failures -eq 0 ]]
