#!/usr/bin/env bash
# make demo: a scripted tour of ksefpl in a temporary home. Grows with the project.
set -euo pipefail
BIN=${1:-bin/ksefpl}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
H=$(mktemp -d "${TMPDIR:-/tmp}/ksefpl-demo.XXXXXX")
trap 'rm -rf "$H"' EXIT
k() { echo "\$ ksefpl $*"; "$BIN" --home "$H/home" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Install: data directory, database and encryption key"
k setup:install

step "Seller configuration (a NIP is normalised before saving)"
k config:set ksefpl/seller/nip 526-104-08-28
k config:set ksefpl/seller/name "ACME Sp. z o.o."
k config:show ksefpl/seller/nip

step "An invalid NIP is refused (exit 3) and nothing changes"
if k config:set ksefpl/seller/nip 1234567890; then echo "unexpected success"; exit 1; else echo "exit code $?"; fi
k config:show ksefpl/seller/nip

step "The API token is read from stdin and stored encrypted"
echo "\$ printf 'tok-123' | ksefpl config:set ksefpl/connection/api_token -"
printf 'tok-123' | "$BIN" --home "$H/home" config:set ksefpl/connection/api_token -
k config:show
if grep -rq 'tok-123' "$H/home"; then echo "plaintext token found on disk!"; exit 1; else echo "(the bytes tok-123 occur nowhere under the home directory)"; fi

step "A second website with its own NIP"
k store:website:create shop2 --name "Shop 2"
k config:set ksefpl/seller/nip 7740001454 --scope websites --scope-code shop2
echo "default:"; k config:show ksefpl/seller/nip
echo "shop2:";   k config:show ksefpl/seller/nip --scope websites --scope-code shop2

step "NIP checks for CI"
k nip:validate 5261040828 PL-774-000-14-54 1234567890 || echo "exit code $? (one NIP is invalid)"
