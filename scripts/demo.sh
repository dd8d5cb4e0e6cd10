#!/usr/bin/env bash
# The README's main-job command: installs worldflux-nb into .venv and runs the demo flow.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/worldflux-nb demo --output-dir "${1:-demo-output}"
