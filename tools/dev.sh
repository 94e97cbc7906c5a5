#!/usr/bin/env bash
# One entry point for people and CI (README "Quick start"):
#   tools/dev.sh setup   install everything the stack and the tests need (idempotent)
#   tools/dev.sh up      set up, then run the whole stack locally (`bytebot up`)
#   tools/dev.sh test    set up, then run every check: pytest, ruff, buf lint, bazel test //...
# Extra arguments after `test` go to pytest (e.g. tools/dev.sh test tests/unit -k health).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
VENV="$REPO/.venv"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

# Debian packages: X display + input tools for the computer service, OCR for inference,
# Prometheus/Alertmanager tools for the deploy checks, Bazel for the offline build.
APT_PACKAGES=(
  xvfb xauth x11-utils xdotool python3-tk fonts-dejavu-core imagemagick openbox xterm
  fonts-liberation2 fonts-cantarell fonts-freefont-ttf fonts-croscore fonts-open-sans fonts-noto-mono
  tesseract-ocr tesseract-ocr-eng libtesseract-dev libleptonica-dev
  prometheus prometheus-alertmanager prometheus-node-exporter
  bazel-bootstrap
  postgresql-client
  iproute2 socat
)

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

setup_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "==> apt-get install ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

setup_python() {
  [[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
  local stamp="$VENV/.bytebot-deps" want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    echo "==> pip install -e .[ocr,coreml,test]"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e ".[ocr,coreml,test]"
    echo "$want" > "$stamp"
  fi
}

setup_npm() {
  if [[ -f package-lock.json ]]; then
    if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
      echo "==> npm ci"
      npm ci --no-audit --no-fund --loglevel=error
    fi
  fi
}

# PostgreSQL is part of the test matrix (SQLite and PostgreSQL). Start the local cluster if it
# is installed but stopped; tests that need it read BYTEBOT_TEST_POSTGRES_URL.
ensure_postgres() {
  if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    if command -v pg_ctlcluster >/dev/null; then
      as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    fi
  fi
}

setup() { setup_apt; setup_python; setup_npm; ensure_postgres; }

run_tests() {
  export BYTEBOT_TEST_POSTGRES_URL="${BYTEBOT_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
  # In CI the PostgreSQL half of the matrix must run: an unreachable server fails, never skips.
  if [[ ${CI:-} == true ]]; then export BYTEBOT_TEST_POSTGRES_REQUIRED=1; fi
  export PATH="$VENV/bin:$REPO/node_modules/.bin:$PATH"
  local failed=0
  echo "==> ruff check"
  ruff check . || failed=1
  echo "==> buf lint"
  (cd protos && buf lint) || failed=1
  echo "==> pytest"
  python -m pytest "$@" || failed=1
  if [[ ${BYTEBOT_SKIP_BAZEL:-0} != 1 ]]; then
    echo "==> bazel test //..."
    bazel test //... || failed=1
    bazel shutdown >/dev/null 2>&1 || true  # no idle Bazel server left behind
  fi
  return $failed
}

cmd="${1:-test}"; shift || true
case "$cmd" in
  setup) setup ;;
  up) setup; exec "$VENV/bin/bytebot" up "$@" ;;
  test) setup; run_tests "$@" ;;
  *) echo "usage: tools/dev.sh setup|up|test [args]" >&2; exit 2 ;;
esac
