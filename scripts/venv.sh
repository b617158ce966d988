#!/usr/bin/env bash
# Create (or refresh) a virtualenv and install the project into it.
# Usage: scripts/venv.sh DIR PYTHON_VERSION [extra pip requirement...]
# Writes DIR/.installed when done; the Makefile re-runs this when pyproject.toml is newer.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${1:?usage: $0 DIR X.Y [requirement...]}"
version="${2:?usage: $0 DIR X.Y [requirement...]}"
shift 2

# Recreate the venv when it is missing, broken, or of the wrong Python version.
if ! "$dir/bin/python" -c "import sys; assert '%d.%d' % sys.version_info[:2] == '$version'" >/dev/null 2>&1; then
    python="$(scripts/find-python.sh "$version")"
    echo ">>> creating $dir with $python"
    rm -rf "$dir"
    "$python" -m venv "$dir"
fi

echo ">>> installing -e .[dev] $* into $dir"
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]" "$@"
"$dir/bin/python" -c "import django; print('>>> $dir: Python', __import__('sys').version.split()[0], 'Django', django.get_version())"
touch "$dir/.installed"
