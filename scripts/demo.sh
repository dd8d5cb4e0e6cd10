#!/usr/bin/env bash
# The README's main-job command: installs worldflux-nb into .venv and runs the demo flow.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
# pip rebuilds the editable install on every call (5-7 s, as long as the demo itself): it runs again
# only when this folder, pyproject.toml (dependencies, entry point) or the version changed since the
# last install it made (delete .venv/.demo-install to force it).
stamp=.venv/.demo-install
installed=$(.venv/bin/python -c 'import hashlib, os, sys
digest = hashlib.sha256(os.getcwd().encode())
for name in ("pyproject.toml", "worldflux_nb/_version.py"):
    with open(name, "rb") as handle:
        digest.update(handle.read())
print(digest.hexdigest())')
if [ ! -x .venv/bin/worldflux-nb ] || [ "$(cat "$stamp" 2>/dev/null)" != "$installed" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
  echo "$installed" > "$stamp"
fi
exec .venv/bin/worldflux-nb demo --output-dir "${1:-demo-output}"
