#!/usr/bin/env bash
# Checks deploy/ and k8s/ without a Docker engine or a cluster. Run from anywhere:
#   bash deploy/validate.sh
# Optional tools are used when installed (shellcheck, docker compose / docker-compose, kubectl,
# nats-server); each missing one is reported as skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

ok() { echo "ok    $*"; }
skip() { echo "skip  $*"; }
fail() {
  echo "FAIL  $*" >&2
  exit 1
}

# 1. The entrypoint: shell syntax, shellcheck, and the same commands as package.json's scripts.
sh -n deploy/docker-entrypoint.sh || fail "docker-entrypoint.sh: syntax"
ok "docker-entrypoint.sh parses"
if command -v shellcheck > /dev/null; then
  shellcheck -s sh deploy/docker-entrypoint.sh || fail "shellcheck docker-entrypoint.sh"
  shellcheck deploy/validate.sh || fail "shellcheck validate.sh"
  ok "shellcheck"
else
  skip "shellcheck (not installed)"
fi
node - << 'EOF' || fail "entrypoint commands differ from package.json scripts"
const { scripts } = require('./package.json');
const expected = {
  'start:gateway': 'node -r @swc-node/register services/gateway/src/main.ts',
  'start:runs': 'node -r @swc-node/register services/runs/src/main.ts',
  'start:scoring': 'node -r @swc-node/register services/scoring/src/main.ts',
  start: 'node -r @swc-node/register services/standalone/src/main.ts',
};
let bad = 0;
for (const [name, command] of Object.entries(expected)) {
  if (scripts[name] !== command) {
    console.error(`package.json "${name}" is "${scripts[name]}"; deploy/docker-entrypoint.sh runs "${command}"`);
    bad++;
  }
}
const entry = require('fs').readFileSync('deploy/docker-entrypoint.sh', 'utf8');
if (!entry.includes('exec node -r @swc-node/register "$main"')) {
  console.error('deploy/docker-entrypoint.sh no longer runs node -r @swc-node/register "$main"');
  bad++;
}
process.exit(bad ? 1 : 0);
EOF
ok "entrypoint matches package.json start scripts"
for f in services/gateway/src/main.ts services/runs/src/main.ts services/scoring/src/main.ts services/standalone/src/main.ts; do
  [ -f "$f" ] || fail "$f is missing (the entrypoint runs it)"
done
ok "service entry files exist"

# 2. Every YAML file parses (with the yaml package the workspace already has).
node - << 'EOF' || fail "YAML"
const fs = require('fs');
const YAML = require('yaml');
const files = ['deploy/docker-compose.yml', ...fs.readdirSync('k8s').filter((f) => /\.ya?ml$/.test(f)).map((f) => `k8s/${f}`)];
let bad = 0;
for (const file of files) {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'), { merge: true })) {
    if (doc.errors.length) {
      console.error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      bad++;
    }
  }
}
console.log(`      ${files.length} YAML files`);
process.exit(bad ? 1 : 0);
EOF
ok "YAML parses"

# 3. docker compose config (needs only the client).
env_file=$(mktemp)
trap 'rm -f "$env_file"' EXIT
echo "POSTGRES_PASSWORD=validate0only" > "$env_file"
if docker compose version > /dev/null 2>&1; then
  docker compose --env-file "$env_file" -f deploy/docker-compose.yml config --quiet || fail "docker compose config"
  ok "docker compose config"
elif command -v docker-compose > /dev/null; then
  # Compose v1 does not know the top-level `name:` of the Compose Specification: check without it.
  tmp=deploy/.validate-compose.yml
  grep -v '^name:' deploy/docker-compose.yml > "$tmp"
  trap 'rm -f "$env_file" "$tmp"' EXIT
  docker-compose --env-file "$env_file" -f "$tmp" config --quiet || fail "docker-compose config"
  ok "docker-compose (v1) config"
else
  skip "docker compose config (no compose installed)"
fi

# 4. kustomize build.
if command -v kubectl > /dev/null; then
  out=$(kubectl kustomize k8s) || fail "kubectl kustomize k8s"
  echo "      $(grep -c '^kind:' <<< "$out") objects"
  ok "kubectl kustomize k8s"
else
  skip "kubectl kustomize (kubectl not installed)"
fi

# 5. NATS configuration.
if command -v nats-server > /dev/null; then
  nats-server -c deploy/nats.conf -t > /dev/null 2>&1 || fail "nats-server -t deploy/nats.conf"
  ok "nats-server accepts deploy/nats.conf"
else
  skip "nats-server -t (nats-server not installed)"
fi

# 6. The SQL runbooks parse (psql syntax is checked only by running them; here: not empty, and the
#    lock expression is the one @assay/database computes).
node - << 'EOF' || fail "advisory lock keys"
const { createHash } = require('crypto');
const key = (name) => createHash('sha256').update(name).digest().readInt32BE(0);
const fs = require('fs');
for (const [file, name] of [['deploy/sql/rebuild-read-models.sql', 'read-models'], ['deploy/sql/republish-unscored.sql', 'relay']]) {
  const sql = fs.readFileSync(file, 'utf8');
  if (!sql.includes(`pg_advisory_xact_lock(1095981314, ('x' || left(encode(sha256(convert_to('${name}', 'UTF8')), 'hex'), 8))::bit(32)::int)`)) {
    console.error(`${file}: expected the advisory lock of "${name}" (${key(name)})`);
    process.exit(1);
  }
}
const src = fs.readFileSync('libs/database/src/advisory-lock.ts', 'utf8');
if (!/logProcessor:\s*0x41535902/.test(src) || !src.includes("createHash('sha256').update(name).digest()") || !src.includes('readInt32BE(0)')) {
  console.error('libs/database/src/advisory-lock.ts changed: update the lock expressions in deploy/sql and docs/operations.md');
  process.exit(1);
}
EOF
ok "SQL runbooks use the log processors' advisory locks"

echo "all checks passed"
