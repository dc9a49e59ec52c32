#!/usr/bin/env bash
# `make release`: a release build packaged as the Terraform Registry expects it, in dist/:
#   terraform-provider-partnercenter_<ver>_linux_amd64.zip   (the binary as terraform-provider-partnercenter_v<ver>,
#                                                             and the registry manifest)
#   terraform-provider-partnercenter_<ver>_SHA256SUMS
# The version is the provider crate's (Cargo.toml). Signing the SUMS file (gpg) is left to the publisher.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

name="terraform-provider-partnercenter"
version="$(sed -n 's/^version = "\([^"]*\)"$/\1/p' Cargo.toml | head -n 1)"
[ -n "$version" ] || { echo "error: no version in Cargo.toml" >&2; exit 1; }
os_arch="linux_amd64"

echo "==> Building $name $version (release)"
cargo build --release --locked --bin "$name"

dist="$root/dist"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$dist"
zip_name="${name}_${version}_${os_arch}.zip"
sums_name="${name}_${version}_SHA256SUMS"
manifest_name="${name}_${version}_manifest.json"
rm -f "$dist/$zip_name" "$dist/$sums_name" "$dist/$manifest_name"

install -m 0755 "target/release/$name" "$stage/${name}_v${version}"
cp terraform-registry-manifest.json "$stage/$manifest_name"

echo "==> Packaging dist/$zip_name"
if command -v zip >/dev/null 2>&1; then
  (cd "$stage" && zip -q -X "$dist/$zip_name" "${name}_v${version}" "$manifest_name")
else
  python3 - "$stage" "$dist/$zip_name" "${name}_v${version}" "$manifest_name" <<'PY'
import os, sys, zipfile
stage, target, *names = sys.argv[1:]
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
    for n in names:
        info = zipfile.ZipInfo.from_file(os.path.join(stage, n), n)
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(stage, n), "rb") as f:
            z.writestr(info, f.read())
PY
fi
# The registry also wants the manifest beside the archives, named like the one inside.
cp terraform-registry-manifest.json "$dist/$manifest_name"

echo "==> Writing dist/$sums_name"
(cd "$dist" && sha256sum "$zip_name" "$manifest_name" > "$sums_name")
cat "$dist/$sums_name"
