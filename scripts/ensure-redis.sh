#!/usr/bin/env bash
# Make sure a Redis server answers on REDIS_URL (default redis://127.0.0.1:6379): the shared
# storage for rate limits (docs/security.md item 6). Installs redis-server with apt-get when it is
# missing and starts a throw-away local server (no persistence) when none answers.
# A REDIS_URL that points at another machine is only checked, never started.
set -euo pipefail

URL="${REDIS_URL:-redis://127.0.0.1:6379}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1; then sudo "$@";
  else echo "ensure-redis: needs root (or sudo) to run: $*" >&2; return 1; fi
}
answers() { command -v redis-cli >/dev/null 2>&1 && [ "$(redis-cli -u "$URL" ping 2>/dev/null)" = PONG ]; }

if answers; then
  exit 0
fi

# redis://[user:password@]host[:port][/db]
HOSTPORT=${URL#*://}
HOSTPORT=${HOSTPORT##*@}
HOSTPORT=${HOSTPORT%%/*}
HOST=${HOSTPORT%%:*}
PORT=6379
[ "$HOSTPORT" != "$HOST" ] && PORT=${HOSTPORT##*:}
case "$HOST" in
  127.0.0.1|localhost) ;;
  *) echo "ensure-redis: no Redis answers on $HOST:$PORT, and it is not this machine's to start." >&2
     exit 1 ;;
esac

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "ensure-redis: installing redis-server (apt-get)..."
  command -v apt-get >/dev/null 2>&1 || { echo "ensure-redis: no apt-get here; install Redis yourself or set REDIS_URL." >&2; exit 1; }
  as_root apt-get update -qq
  # policy-rc.d may stop the package from starting its own service; we start it below anyway.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

if ! answers; then
  echo "ensure-redis: starting redis-server on 127.0.0.1:$PORT..."
  redis-server --daemonize yes --bind 127.0.0.1 --port "$PORT" --save "" --appendonly no >/dev/null
fi
for _ in $(seq 1 40); do answers && exit 0; sleep 0.25; done
echo "ensure-redis: Redis does not answer on $URL" >&2
exit 1
