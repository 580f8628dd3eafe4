#!/usr/bin/env bash
# The project's test command (README, .ci/run). Installs what the tests need on a fresh
# Debian machine, then runs the whole default suite. Slow checks are #[ignore]d; see README.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null || need_apt+=(gcc)
# bbcu-hdl lints and cross-simulates its emitted Verilog (Verilator builds C++ with make and g++).
command -v verilator >/dev/null || need_apt+=(verilator)
command -v make >/dev/null || need_apt+=(make)
command -v g++ >/dev/null || need_apt+=(g++)
# bbcu-boards builds the UART echo design through the iCE40 flow (bitstreams/tests/flow.rs).
command -v yosys >/dev/null || need_apt+=(yosys)
command -v nextpnr-ice40 >/dev/null || need_apt+=(nextpnr-ice40)
command -v icepack >/dev/null || need_apt+=(fpga-icestorm)
# `bbcu-host flash` runs the boards' programmers; the tests check their "no board" errors.
command -v openFPGALoader >/dev/null || need_apt+=(openfpgaloader)
# The engine's Verilog is also cross-simulated under Icarus (hdl/tests/engine_icarus.rs).
command -v iverilog >/dev/null || need_apt+=(iverilog)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    echo "missing system packages: ${need_apt[*]} (run as root to install them)" >&2
    exit 1
  fi
fi

cargo test --workspace --locked "$@"
