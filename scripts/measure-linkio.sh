#!/usr/bin/env bash
# Area and timing of the protocol engine as firmware (`hdl/src/linkio.rs`, the ice40-up5k
# firmware) alone on the UP5K, for docs/architecture.md: `scripts/measure-linkio.sh OUT [SEEDS]`.
# Yosys 0.23 `synth_ice40 -dsp` inside the wrapper of scripts/meas_wrap.py, then
# nextpnr-ice40 at 36 MHz for each seed (default 1 2 3); OUT/summary.txt has the figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?out dir}
seeds=${2:-1 2 3}
mkdir -p "$out"
cargo test -q -p bbcu-hdl --test linkio -- --ignored linkio_verilog >/dev/null
cp "$here/../target/tmp/linkio-up5k.v" "$out/linkio.v"
cd "$out"
python3 "$here/meas_wrap.py" linkio.v
yosys -q -l yosys.log -p "read_verilog -DBBCU_NO_RW_CHECK linkio.v meas_top.v; synth_ice40 -dsp -top meas_top -json flat.json; tee -q -o flat.txt stat"
: > summary.txt
cat wrapper.txt >> summary.txt
for s in $seeds; do
  nextpnr-ice40 --up5k --package sg48 --json flat.json --freq 36 --seed "$s" --timing-allow-fail -l "nextpnr-$s.log" >/dev/null 2>&1 || true
  echo "seed $s: $(grep -E 'Max frequency' "nextpnr-$s.log" | tail -1 | sed 's/.*Info: //') $(grep -E 'ICESTORM_LC' "nextpnr-$s.log" | head -1 | sed 's/.*Info: *//')" >> summary.txt
done
cat summary.txt
