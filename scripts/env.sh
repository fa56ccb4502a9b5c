# Sourced by the project's scripts: shared build settings.
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d "${HOME:-/root}/.cache/threatmapper/target" ]; then
  export CARGO_TARGET_DIR="${HOME:-/root}/.cache/threatmapper/target"
fi
if [ -z "${THREATMAPPER_CORPUS:-}" ] && [ -d "$(pwd)/../shared/corpus" ]; then
  export THREATMAPPER_CORPUS="$(pwd)/../shared/corpus"
fi
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
