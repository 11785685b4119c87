#!/usr/bin/env bash
# Installs the Debian 12 packages stamp needs to build, run and test, skipping
# what is already there. Needs root (apt-get). The one list of packages lives here.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config          # toolchain
  libevent-dev libssl-dev libyaml-cpp-dev    # stamp's libraries
  libsqlite3-dev                             # the message log (state database)
  libunbound-dev                             # DNS (MX lookups) inside the event loop
  libspf2-dev                                # stampctl domain verify: SPF evaluation
  libgmime-3.0-dev                           # MIME and address headers
  nlohmann-json3-dev                         # JSON (SES notifications in bounces)
  libopendkim-dev                            # DKIM signing
  libsystemd-dev                             # sd_notify: readiness, reload, stopping
  libboost-test-dev                          # unit tests
  python3                                    # integration tests (standard library only)
  python3-dkim python3-nacl                  # tests: independent DKIM verifier (dkimpy; nacl: Ed25519)
  dnsmasq-base openssl                       # integration tests: DNS server, test certificates
  rpm lintian systemd adduser                # packages: rpmbuild for CPack, lintian and
                                             # systemd-analyze to check them
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "stamp: missing Debian packages: ${missing[*]}" >&2
  echo "stamp: run this script as root to install them (apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "stamp: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
