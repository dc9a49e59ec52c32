#!/usr/bin/env bash
# Installs a packed release the way users do and runs it, with the `terraform` on PATH:
#   scripts/smoke-install.sh DIST_DIR PLATFORM
# DIST_DIR holds what scripts/release.sh packs (the zip for PLATFORM and the SHA256SUMS). The zip goes into
# a filesystem_mirror in the packed registry layout, `terraform init` checks it against a lock file holding
# the `zh:` hash from SHA256SUMS (as the registry records it), and `terraform apply` reads the network-free
# partnercenter_consent_url data source. Run over the platform's own transport, and also over TCP where the
# default is the unix socket. The release workflow runs this on each platform's own runner; here,
# tests/release_install.rs covers linux_amd64 more thoroughly (emulator, two Terraform versions).
set -euo pipefail

dist="${1:?usage: scripts/smoke-install.sh DIST_DIR PLATFORM}"
platform="${2:?usage: scripts/smoke-install.sh DIST_DIR PLATFORM}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="terraform-provider-partnercenter"
version="$("$root/scripts/release.sh" version)"
zip_name="${name}_${version}_${platform}.zip"
source_address="registry.terraform.io/cspkit/partnercenter"
client_id="0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"

dist="$(cd "$dist" && pwd)"
[ -f "$dist/$zip_name" ] || { echo "error: no $dist/$zip_name" >&2; exit 1; }
zh="$(sed -n "s/^\([0-9a-f]\{64\}\)  $zip_name\$/\1/p" "$dist/${name}_${version}_SHA256SUMS")"
[ -n "$zh" ] || { echo "error: $zip_name is not in ${name}_${version}_SHA256SUMS" >&2; exit 1; }

# Terraform for Windows reads Windows paths; Git Bash's are /d/a/..., which cygpath translates.
native_path() { if command -v cygpath >/dev/null 2>&1; then cygpath -m "$1"; else echo "$1"; fi; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mirror/$source_address" "$work/config"
cp "$dist/$zip_name" "$work/mirror/$source_address/"
cat > "$work/cli.tfrc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$(native_path "$work/mirror")"
    include = ["$source_address"]
  }
}
EOF
cat > "$work/config/main.tf" <<EOF
terraform {
  required_providers {
    partnercenter = { source = "cspkit/partnercenter", version = "$version" }
  }
}
provider "partnercenter" {}
data "partnercenter_consent_url" "c" {
  client_id    = "$client_id"
  redirect_uri = "http://localhost:8400"
}
output "url" { value = data.partnercenter_consent_url.c.url }
EOF
cat > "$work/config/.terraform.lock.hcl" <<EOF
provider "$source_address" {
  version = "$version"
  hashes = [
    "zh:$zh",
  ]
}
EOF

export TF_CLI_CONFIG_FILE TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
TF_CLI_CONFIG_FILE="$(native_path "$work/cli.tfrc")"
cd "$work/config"
terraform version
terraform init -no-color -input=false
grep -q "\"h1:" .terraform.lock.hcl || { echo "error: init recorded no h1: hash" >&2; exit 1; }

transports=(default)
case "$platform" in windows_*) ;; *) transports+=(tcp) ;; esac
for transport in "${transports[@]}"; do
  echo "==> terraform apply ($transport transport)"
  if [ "$transport" = default ]; then
    unset PARTNERCENTER_PLUGIN_TRANSPORT
  else
    export PARTNERCENTER_PLUGIN_TRANSPORT="$transport"
  fi
  rm -f terraform.tfstate "$work/terraform.log"
  TF_LOG=DEBUG TF_LOG_PATH="$(native_path "$work/terraform.log")" \
    terraform apply -auto-approve -no-color -input=false
  # The provider logs where it listens (Terraform itself does not say).
  expected=tcp
  case "$transport/$platform" in default/windows_*) ;; default/*) expected=unix ;; esac
  grep ": listening:" "$work/terraform.log" | grep -q "network=$expected" ||
    { echo "error: the provider did not listen on $expected" >&2; grep ": listening:" "$work/terraform.log" >&2; exit 1; }
  url="$(terraform output -raw url)"
  case "$url" in
    *"client_id=$client_id"*) echo "ok: $platform, $transport transport ($expected)" ;;
    *) echo "error: unexpected consent URL: $url" >&2; exit 1 ;;
  esac
done
