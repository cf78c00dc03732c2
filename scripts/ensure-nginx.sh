#!/usr/bin/env bash
# Make sure an nginx binary is installed, for the reverse-proxy cache test
# (tests/deploy/test_nginx_cache.py), which runs its own nginx on a private prefix and a free port.
# Installs Debian's nginx with apt-get when it is missing, without letting the package start the
# system service: nothing is left running and nothing listens on port 80 because of this script.
# Quiet when nginx is already there.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1; then sudo "$@";
  else echo "ensure-nginx: needs root (or sudo) to run: $*" >&2; return 1; fi
}
# /usr/sbin is not on every user's PATH.
have_nginx() { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }

if have_nginx; then
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || {
  echo "ensure-nginx: no apt-get here; install nginx yourself (any 1.18 or newer)." >&2; exit 1; }
echo "ensure-nginx: installing nginx (apt-get)..."

# The package's postinst starts the service on port 80 unless invoke-rc.d is told no: put a
# policy-rc.d that refuses (exit 101) in place for the install, and restore whatever was there.
POLICY=/usr/sbin/policy-rc.d
SAVED=""
if [ -e "$POLICY" ]; then
  SAVED=$(as_root mktemp)
  as_root cp -p "$POLICY" "$SAVED"
fi
restore_policy() {
  if [ -n "$SAVED" ]; then as_root mv -f "$SAVED" "$POLICY"; else as_root rm -f "$POLICY"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\n# ensure-nginx.sh: no service starts while nginx is installed\nexit 101\n' |
  as_root tee "$POLICY" >/dev/null
as_root chmod 755 "$POLICY"

# Another apt-get (a parallel provisioning script) may hold the lock for a while: wait for it.
APT=(apt-get -qq -o DPkg::Lock::Timeout=300)
as_root "${APT[@]}" update
as_root env DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends nginx \
  >/dev/null

# Should a service have started anyway (another policy, an init that ignores policy-rc.d), stop
# it, and keep it from starting at boot: the tests only ever run their own nginx.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  as_root systemctl disable --now nginx >/dev/null 2>&1 || true
elif command -v update-rc.d >/dev/null 2>&1 && [ -e /etc/init.d/nginx ]; then
  as_root update-rc.d nginx disable >/dev/null 2>&1 || true
fi
if [ -s /run/nginx.pid ]; then
  as_root /usr/sbin/nginx -s quit >/dev/null 2>&1 || as_root kill "$(cat /run/nginx.pid)" || true
fi

have_nginx || { echo "ensure-nginx: nginx is still not installed" >&2; exit 1; }
echo "ensure-nginx: installed $(/usr/sbin/nginx -v 2>&1) (service not started)"
