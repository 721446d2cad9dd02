#!/bin/sh
# rv32_size.sh [outdir]: cross-compiles the portable core for the ESP32-C3 ISA (RV32IMC, ilp32)
# with -Os, no exceptions, no RTTI, freestanding (no libc/libstdc++ headers), and prints its size.
# Fails if a file does not compile or the core needs a symbol beyond mem* and the C++ ABI's
# pure-virtual stub (which every embedded toolchain provides).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
src=$here/lib/tftcore/src
out=${1:-$(mktemp -d)}
mkdir -p "$out"
CXX=${RV32_CXX:-riscv64-unknown-elf-g++}
flags="-std=c++17 -march=rv32imc -mabi=ilp32 -Os -fno-exceptions -fno-rtti -ffreestanding
       -fno-threadsafe-statics -ffunction-sections -fdata-sections -Wall -Wextra -Werror -Wconversion"
for file in "$src"/*.cpp; do
  # shellcheck disable=SC2086
  $CXX $flags -c "$file" -o "$out/$(basename "$file" .cpp).o"
done
echo "tftcore for RV32IMC -Os (riscv64-unknown-elf-size, bytes):"
rm -f "$out/tftcore_all.o"
riscv64-unknown-elf-size -t "$out"/*.o
# One relocatable object of the whole core: what it still needs from outside is what a board must provide.
rm -f "$out/tftcore_all.o"
riscv64-unknown-elf-ld -m elf32lriscv -r -o "$out/tftcore_all.o" "$out"/*.o
undefined=$(riscv64-unknown-elf-nm -u "$out/tftcore_all.o" | awk 'NF == 2 {print $2}' | sort -u |
            grep -v -E '^(memcpy|memset|memmove|__cxa_pure_virtual)$' || true)
if [ -n "$undefined" ]; then
  echo "unexpected external symbols:" $undefined
  exit 1
fi
echo "external symbols: only mem*/__cxa_pure_virtual (no libstdc++, no heap)"
# RAM: a Connection holds everything a session needs (parser, buffers), statically sized.
printf '#include "connection.h"\nalignas(4) char tft_Connection[sizeof(tft::Connection)];\nalignas(4) char tft_StreamParser[sizeof(tft::StreamParser)];\n' |
  $CXX $flags -I"$src" -x c++ -c - -o "$out/ram_probe.o"
riscv64-unknown-elf-nm -S "$out/ram_probe.o" | while read -r _ size _ name; do
  echo "RAM: sizeof($name) = $((0x$size)) bytes"
done
rm -f "$out/ram_probe.o"
