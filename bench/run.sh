#!/usr/bin/env bash
# Run the runtime's benchmarks and print their tables (markdown).
#   bench/run.sh BUILD_BENCH_DIR
set -eu
dir=$1
echo "# pvlink runtime benchmarks"
echo
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs, kernel $(uname -r), $(gcc --version | head -1)"
echo
"$dir/bench_calls"
echo
"$dir/bench_link"
echo
"$dir/bench_server"
