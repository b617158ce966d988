#!/usr/bin/env bash
# Print the path of a working Python interpreter of the given minor version.
# Usage: scripts/find-python.sh 3.12
# Looks for pythonX.Y on PATH, then under pyenv's versions directory. A pyenv shim
# that exists but is not enabled fails when run, so every candidate is actually run.
set -euo pipefail

want="${1:?usage: $0 X.Y}"
pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"

candidates=()
if command -v "python$want" >/dev/null 2>&1; then
    candidates+=("$(command -v "python$want")")
fi
for p in /root/.pyenv/versions/"$want"*/bin/"python$want" "$pyenv_root"/versions/"$want"*/bin/"python$want"; do
    [[ -x "$p" ]] && candidates+=("$p")
done

for p in "${candidates[@]}"; do
    # Print the real interpreter, not a shim, so the venv does not depend on pyenv's settings.
    if "$p" -c "import sys, venv; assert '%d.%d' % sys.version_info[:2] == '$want'; print(sys.executable)" 2>/dev/null; then
        exit 0
    fi
done

echo "ERROR: no working Python $want found (tried python$want on PATH and" >&2
echo "       /root/.pyenv/versions/$want*/bin/python$want). Install Python $want, e.g. 'pyenv install $want'." >&2
exit 1
