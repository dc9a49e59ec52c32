#!/usr/bin/env bash
# Installs a pinned group of PyPI tools into the project's own virtualenv, .tools/python/, and prints its
# bin directory on stdout. Idempotent: a group is reinstalled only when its requirements file changed.
#   scripts/install-tools.sh lint      actionlint, zizmor, shellcheck (make workflow-lint, part of make test)
#   scripts/install-tools.sh release   zig, cargo-zigbuild            (make release, the release workflow)
# Every package is pinned by version and wheel hash (pip --require-hashes): scripts/tools/<group>.txt.
set -euo pipefail

group="${1:?usage: scripts/install-tools.sh lint|release}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$root/scripts/tools/$group.txt"
[ -f "$requirements" ] || { echo "error: no tool group \"$group\" ($requirements)" >&2; exit 2; }

venv="$root/.tools/python"
stamp="$venv/.installed-$group"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$venv/bin"
  exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "creating $venv" >&2
  python3 -m venv "$venv" >&2
fi
echo "installing the $group tools into $venv (scripts/tools/$group.txt)" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary :all: \
  --require-hashes -r "$requirements" >&2
echo "$want" > "$stamp"
echo "$venv/bin"
