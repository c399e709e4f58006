#!/usr/bin/env bash
# Compiler launcher: runs the compile command and appends "<seconds> <output file>" to the log given
# as the first argument. scripts/test.sh prints the slowest translation units from that log.
log=$1; shift
out=""
prev=""
for a in "$@"; do
  [[ "$prev" == "-o" ]] && out=$a
  prev=$a
done
start=$(date +%s.%N)
"$@"
rc=$?
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v o="${out#"$PWD"/}" 'BEGIN { printf "%.1f %s\n", e - s, o }' >> "$log"
exit $rc
