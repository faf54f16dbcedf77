#!/bin/sh
# Entrypoint of the Assay image: one image, four processes. The process is the first argument or,
# without one, $ASSAY_SERVICE:
#
#   gateway     GraphQL (HTTP + WebSocket), CSV export, /healthz, /readyz on $PORT (default 4000)
#   runs        projections and the relay from PostgreSQL to JetStream (one active, others standby)
#   scoring     scoring workers (scale out)
#   standalone  everything in one process on an embedded PostgreSQL (`npm start`; demos only)
#
# Each runs exactly what the package.json script runs (`npm run start:<service>`, `npm start`),
# but without npm in between: node becomes PID 1 and receives SIGTERM itself (the services stop
# gracefully on it), and npm writes nothing (no ~/.npm logs) on a read-only root filesystem.
# deploy/validate.sh checks that these commands still match package.json.
#
# Anything else is run as a command (`docker run … assay sh`), for debugging.
set -eu

cd "${ASSAY_APP_DIR:-/app}"

service="${1:-${ASSAY_SERVICE:-}}"
case "$service" in
  gateway | runs | scoring) main="services/$service/src/main.ts" ;;
  standalone) main="services/standalone/src/main.ts" ;;
  "")
    echo '{"level":"fatal","service":"entrypoint","code":"CONFIG_MISSING","msg":"Say which Assay process to run: set ASSAY_SERVICE or pass an argument (gateway, runs, scoring or standalone)."}' >&2
    exit 64
    ;;
  *) exec "$@" ;;
esac

[ "$#" -gt 0 ] && shift
exec node -r @swc-node/register "$main" "$@"
