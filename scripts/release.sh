#!/usr/bin/env bash
# Release archives as the Terraform Registry takes them. One script for `make release` here and for every
# job of .github/workflows/release.yml, so what is tested here is what is published.
#
#   scripts/release.sh                  `make release`: linux_amd64 built with cargo-zigbuild (glibc 2.17
#                                       floor, as the workflow builds it), packaged, checksummed, and signed
#                                       when GPG_FINGERPRINT is set; everything in dist/
#   scripts/release.sh version          the version being released (Cargo.toml's)
#   scripts/release.sh target PLATFORM  the Rust target a platform (os_arch) is built for
#   scripts/release.sh build PLATFORM   release build for PLATFORM; prints the binary's path
#   scripts/release.sh package --binary PATH --platform PLATFORM [--out DIR]
#                                       DIR/terraform-provider-partnercenter_<ver>_<os>_<arch>.zip holding only
#                                       terraform-provider-partnercenter_v<ver>[.exe]
#   scripts/release.sh checksums [--out DIR]
#                                       DIR/..._<ver>_manifest.json (the registry manifest, a release asset of
#                                       its own) and DIR/..._<ver>_SHA256SUMS over every zip and the manifest
#   scripts/release.sh sign [--out DIR] DIR/..._<ver>_SHA256SUMS.sig: detached binary signature made with the
#                                       key GPG_FINGERPRINT names (passphrase in GPG_PASSPHRASE, if any)
# DIR defaults to dist/. The archive holds the binary alone: Terraform executes every file of a provider
# package whose name starts with terraform-provider-<type>, so a manifest inside it broke `terraform plan`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="terraform-provider-partnercenter"

die() { echo "error: $*" >&2; exit 1; }

version() {
  local v
  v="$(sed -n 's/^version = "\([^"]*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)"
  [ -n "$v" ] || die "no version in $root/Cargo.toml"
  echo "$v"
}

# The platforms released, as Terraform names them (os_arch), and the Rust target each is built for. Linux
# and FreeBSD are cross-built on a Linux x86_64 machine by cargo-zigbuild; the ".2.17" suffix makes zig link
# against glibc 2.17 (Rust's own floor) so the binary runs on every glibc distribution since 2012, not just
# on the builder's. macOS and Windows are built on their own runners: the macOS build links Apple frameworks
# (the TLS root store) that only an Xcode SDK has, and Windows gets the MSVC toolchain its users' Rust
# binaries normally have.
target_of() {
  case "$1" in
    linux_amd64) echo "x86_64-unknown-linux-gnu" ;;
    linux_arm64) echo "aarch64-unknown-linux-gnu" ;;
    linux_arm) echo "armv7-unknown-linux-gnueabihf" ;;
    freebsd_amd64) echo "x86_64-unknown-freebsd" ;;
    darwin_amd64) echo "x86_64-apple-darwin" ;;
    darwin_arm64) echo "aarch64-apple-darwin" ;;
    windows_amd64) echo "x86_64-pc-windows-msvc" ;;
    *) die "unknown platform \"$1\" (linux_amd64, linux_arm64, linux_arm, freebsd_amd64, darwin_amd64, darwin_arm64, windows_amd64)" ;;
  esac
}

uses_zig() {
  case "$1" in linux_* | freebsd_*) return 0 ;; *) return 1 ;; esac
}

exe_suffix() {
  case "$1" in windows_*) echo ".exe" ;; *) echo "" ;; esac
}

# A Python 3 that works: the packaging must behave the same on Linux, macOS and Windows runners, and Python's
# zipfile is on all three (Windows runners have no zip command; `python3` there may be a store stub).
run_python() {
  local p
  for p in python3 python; do
    if command -v "$p" >/dev/null 2>&1 && command "$p" -c 'import sys; sys.exit(sys.version_info < (3, 8))' 2>/dev/null; then
      command "$p" "$@"
      return
    fi
  done
  die "Python 3 is needed to package the release"
}

build() {
  local platform="$1" target zig_target suffix
  target="$(target_of "$platform")"
  suffix="$(exe_suffix "$platform")"
  cd "$root"
  if uses_zig "$platform"; then
    zig_target="$target"
    case "$platform" in linux_*) zig_target="$target.2.17" ;; esac
    local tools
    tools="$("$root/scripts/install-tools.sh" release)"
    echo "==> cargo zigbuild --release --target $zig_target" >&2
    PATH="$tools:$PATH" cargo zigbuild --release --locked --bin "$name" --target "$zig_target" >&2
  else
    echo "==> cargo build --release --target $target" >&2
    cargo build --release --locked --bin "$name" --target "$target" >&2
  fi
  local binary="$root/target/$target/release/$name$suffix"
  [ -f "$binary" ] || die "the build left no $binary"
  echo "$binary"
}

package() {
  local binary="" platform="" out="$root/dist"
  while [ $# -gt 0 ]; do
    case "$1" in
      --binary) binary="$2"; shift 2 ;;
      --platform) platform="$2"; shift 2 ;;
      --out) out="$2"; shift 2 ;;
      *) die "package: unknown option $1" ;;
    esac
  done
  [ -n "$binary" ] && [ -n "$platform" ] || die "package needs --binary PATH and --platform OS_ARCH"
  [ -f "$binary" ] || die "no binary at $binary"
  target_of "$platform" >/dev/null
  local v zip_name member
  v="$(version)"
  zip_name="${name}_${v}_${platform}.zip"
  member="${name}_v${v}$(exe_suffix "$platform")"
  mkdir -p "$out"
  # Reproducible archives: the entry's time is the commit's (SOURCE_DATE_EPOCH, as goreleaser uses the
  # commit timestamp), so the same binary always packs to the same bytes and the same SHA256SUMS line.
  local epoch="${SOURCE_DATE_EPOCH:-}"
  if [ -z "$epoch" ]; then
    epoch="$(git -C "$root" log -1 --format=%ct 2>/dev/null || true)"
  fi
  echo "==> $out/$zip_name" >&2
  run_python - "$binary" "$out/$zip_name" "$member" "${epoch:-0}" <<'PY'
import os, sys, time, zipfile
binary, target, member, epoch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4] or 0)
# 0 (no commit known) means the binary's own time; DOS timestamps start in 1980.
stamp = time.gmtime(max(epoch or int(os.stat(binary).st_mtime), 315532800))
info = zipfile.ZipInfo(member, date_time=stamp[:6])
info.create_system = 3  # Unix, so that the mode below is honoured when Terraform unpacks it
info.external_attr = (0o100755 & 0xFFFF) << 16  # a regular file, rwxr-xr-x
info.compress_type = zipfile.ZIP_DEFLATED
with open(binary, "rb") as f, zipfile.ZipFile(target, "w") as z:
    z.writestr(info, f.read())
PY
  echo "$out/$zip_name"
}

checksums() {
  local out="$root/dist"
  while [ $# -gt 0 ]; do
    case "$1" in
      --out) out="$2"; shift 2 ;;
      *) die "checksums: unknown option $1" ;;
    esac
  done
  local v
  v="$(version)"
  cp "$root/terraform-registry-manifest.json" "$out/${name}_${v}_manifest.json"
  echo "==> $out/${name}_${v}_SHA256SUMS" >&2
  run_python - "$out" "${name}_${v}_" <<'PY'
import hashlib, os, sys
out, prefix = sys.argv[1], sys.argv[2]
names = sorted(n for n in os.listdir(out)
               if n.startswith(prefix) and (n.endswith(".zip") or n == prefix + "manifest.json"))
if not any(n.endswith(".zip") for n in names):
    sys.exit(f"error: no {prefix}*.zip in {out}")
with open(os.path.join(out, prefix + "SHA256SUMS"), "w", newline="\n") as sums:
    for n in names:
        with open(os.path.join(out, n), "rb") as f:
            sums.write(f"{hashlib.sha256(f.read()).hexdigest()}  {n}\n")
PY
  cat "$out/${name}_${v}_SHA256SUMS" >&2
}

sign() {
  local out="$root/dist"
  while [ $# -gt 0 ]; do
    case "$1" in
      --out) out="$2"; shift 2 ;;
      *) die "sign: unknown option $1" ;;
    esac
  done
  [ -n "${GPG_FINGERPRINT:-}" ] || die "sign needs GPG_FINGERPRINT (the key's fingerprint, imported into gpg)"
  local sums
  sums="$out/${name}_$(version)_SHA256SUMS"
  [ -f "$sums" ] || die "no $sums (run checksums first)"
  echo "==> $sums.sig" >&2
  # A binary (not armored) detached signature is what the registry verifies.
  if [ -n "${GPG_PASSPHRASE:-}" ]; then
    printf '%s' "$GPG_PASSPHRASE" | gpg --batch --yes --pinentry-mode loopback --passphrase-fd 0 \
      --local-user "$GPG_FINGERPRINT" --output "$sums.sig" --detach-sign "$sums"
  else
    gpg --batch --yes --local-user "$GPG_FINGERPRINT" --output "$sums.sig" --detach-sign "$sums"
  fi
  gpg --batch --verify "$sums.sig" "$sums"
}

case "${1:-all}" in
  version) version ;;
  target) target_of "${2:?target needs a platform}" ;;
  build) build "${2:?build needs a platform}" ;;
  package) shift; package "$@" ;;
  checksums) shift; checksums "$@" ;;
  sign) shift; sign "$@" ;;
  all)
    v="$(version)"
    rm -f "$root/dist/${name}_${v}_"*
    binary="$(build linux_amd64)"
    package --binary "$binary" --platform linux_amd64 --out "$root/dist" >/dev/null
    checksums --out "$root/dist"
    if [ -n "${GPG_FINGERPRINT:-}" ]; then
      sign --out "$root/dist"
    else
      echo "(not signed: set GPG_FINGERPRINT to sign the SHA256SUMS file)" >&2
    fi
    ls -l "$root/dist/${name}_${v}_"*
    ;;
  *) die "unknown command \"$1\" (see the top of scripts/release.sh)" ;;
esac
