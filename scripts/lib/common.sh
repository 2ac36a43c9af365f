# shellcheck shell=bash
# Shared helpers for scripts/run and scripts/test. Sourced, never executed.

MEDGATE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Debian 12 packages the build needs.
MEDGATE_BUILD_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config clang-format
  libboost1.81-dev libboost-json1.81-dev
  libspdlog-dev libyaml-cpp-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev prometheus-cpp-dev
  libpq-dev libmariadb-dev libjwt-dev libsodium-dev libssl-dev nodejs
)

# The libFuzzer targets (scripts/fuzz): clang and its sanitizer runtimes.
MEDGATE_FUZZ_PACKAGES=(clang libclang-rt-14-dev)

# What scripts/test's deployment checks run: docker-compose validates the compose file
# (tests/deploy/check_deploy.py; it brings python3-yaml), shellcheck the containers' scripts;
# the compose test (tests/compose/compose_test.sh) builds and runs the images with Docker,
# making the base image with debootstrap when no registry has one.
MEDGATE_CHECK_PACKAGES=(docker-compose shellcheck docker.io debootstrap iptables)

# Servers and tools the local stack and the integration tests start.
MEDGATE_RUNTIME_PACKAGES=(
  curl procps openssl mariadb-server postgresql-15 supervisor chromium prometheus
  etcd-server etcd-client
)

log() { printf '[medgate] %s\n' "$*" >&2; }
die() { printf '[medgate] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# Installs whichever of the given Debian packages are missing. Runs apt-get update only
# when something is missing, so a provisioned machine pays nothing.
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing missing packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# The pinned front-end libraries (web/package-lock.json: uPlot, Swagger UI, the OpenAPI
# validator) that the build compiles into medgate and the drill reports. npm ci: exactly the
# locked versions, checked against their integrity hashes; no install scripts (one package
# would report to an analytics service). Done again when the lock file changes. Debian 12
# ships npm apart from nodejs.
ensure_web_assets() {
  local web="$MEDGATE_ROOT/web" stamp
  stamp=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
  [ -f "$web/node_modules/.medgate-lock" ] && [ "$(cat "$web/node_modules/.medgate-lock")" = "$stamp" ] &&
    return 0
  command -v npm >/dev/null 2>&1 || ensure_packages npm
  log "installing the pinned web assets (npm ci in web/)"
  SCARF_ANALYTICS=false npm ci --prefix "$web" --ignore-scripts --no-audit --no-fund \
    --loglevel=error >/dev/null || die "npm ci in web/ failed"
  echo "$stamp" >"$web/node_modules/.medgate-lock"
}

# Configures and builds one CMake preset (default: "default").
build_preset() {
  local preset=${1:-default}
  ensure_web_assets
  cd "$MEDGATE_ROOT"
  if [ ! -f "build/$preset/build.ninja" ]; then
    cmake --preset "$preset" >/dev/null
  fi
  cmake --build --preset "$preset"
}
