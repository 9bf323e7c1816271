#!/usr/bin/env bash
# The hashicorp/aws provider mirror that terraform/terraformrc installs from: the infrastructure
# tests init and plan every root offline against it. The project's machines carry it; a GitHub
# runner does not, so ci.yml runs this before .ci/run (which refuses to start without it).
#   AWS_PROVIDER_VERSION   default 5.100.0: the version those machines carry, so CI tests the
#                          provider the machines test (every root accepts >= 5.100, < 7.0)
# The mirror goes where terraformrc's filesystem_mirror says (a CLI configuration cannot read a
# variable); TF_PROVIDER_MIRROR overrides that for this script's tests only.
# Unpacked, as on the machines (<host>/<namespace>/<type>/<version>/<os_arch>/<binary>): init
# links the binary in place and tests/infra starts it once for every root. `terraform providers
# mirror` writes the packed layout (a zip per platform), so its zip is unpacked here.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=${AWS_PROVIDER_VERSION:-5.100.0}
PLATFORM=linux_amd64
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "AWS_PROVIDER_VERSION must be a version X.Y.Z, got '$VERSION'"
configured=$(sed -nE 's/^[[:space:]]*path[[:space:]]*=[[:space:]]*"([^"]+)".*/\1/p' "$REPO/terraform/terraformrc")
MIRROR=${TF_PROVIDER_MIRROR:-$configured}
[[ -n "$MIRROR" && "$MIRROR" != *$'\n'* ]] || fail "terraform/terraformrc names no single filesystem_mirror path"
target="$MIRROR/registry.terraform.io/hashicorp/aws/$VERSION/$PLATFORM"

if compgen -G "$target/terraform-provider-aws_*" >/dev/null; then
  log "hashicorp/aws $VERSION ($PLATFORM) is already in $MIRROR"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/versions.tf" <<EOF
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "= $VERSION"
    }
  }
}
EOF
log "terraform providers mirror: hashicorp/aws $VERSION ($PLATFORM) from the registry"
# terraformrc forbids downloads (mirror only): this one command reads the registry without it.
TF_CLI_CONFIG_FILE=/dev/null terraform -chdir="$work" providers mirror -platform="$PLATFORM" "$work/packed"
archive="$work/packed/registry.terraform.io/hashicorp/aws/terraform-provider-aws_${VERSION}_${PLATFORM}.zip"
[[ -f "$archive" ]] || fail "terraform providers mirror wrote no $archive"

# /opt belongs to root on a runner: the mirror directory is made once, owned by this user.
if ! mkdir -p "$target" 2>/dev/null; then
  sudo install -d -o "$(id -u)" -g "$(id -g)" "$MIRROR"
  mkdir -p "$target"
fi
unzip -q -o "$archive" -d "$target"
binary=$(compgen -G "$target/terraform-provider-aws_*") || fail "$archive holds no terraform-provider-aws binary"
[[ -x "$binary" ]] || fail "$binary is not executable"
log "hashicorp/aws $VERSION unpacked to $target"
