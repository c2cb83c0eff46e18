#!/bin/sh
# Instructions per tracked event (all threads, user space), from `perf stat` of
# bench/lib/track-into-log.ts at two sizes: (count at BIG - count at SMALL) / (BIG - SMALL), so that
# start-up and compilation cancel out. Repeatable where timings are not; needs Linux perf with
# hardware counters (`perf stat -e instructions true` tells). Usage: bench/count-instructions.sh [SMALL BIG]
set -eu
cd "$(dirname "$0")/.."
small=${1:-50000}
big=${2:-250000}
count() {
  perf stat -x, -e instructions:u node --import tsx bench/lib/track-into-log.ts "$1" 2>&1 >/dev/null | grep instructions | cut -d, -f1
}
a=$(count "$small")
b=$(count "$big")
case "$a$b" in
  *[!0-9]*|'') echo "perf gave no instruction count (is perf installed, with hardware counters?)" >&2; exit 1 ;;
esac
echo "instructions per tracked event: $(( (b - a) / (big - small) ))"
