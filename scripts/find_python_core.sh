#!/usr/bin/env bash
# Print the path of the newest CPython >= 3.11 found, for the core environment
# (.venv-core: lava-ff without Lava, on current torch and numpy), or explain how
# to get one. Looks at $PYTHON_CORE, python3.N on PATH, then pyenv's versions/3.N.*.
set -u
version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2]) if sys.version_info >= (3, 11) and sys.implementation.name == "cpython" else sys.exit(1)' 2>/dev/null; }
if [ -n "${PYTHON_CORE:-}" ]; then
    if version "$PYTHON_CORE" >/dev/null; then echo "$PYTHON_CORE"; exit 0; fi
    echo "error: PYTHON_CORE=$PYTHON_CORE is not a CPython >= 3.11" >&2; exit 1
fi
if command -v pyenv >/dev/null 2>&1; then root=$(pyenv root 2>/dev/null); else root=${PYENV_ROOT:-$HOME/.pyenv}; fi
best=""; best_v=""
consider() {
    local v; v=$(version "$1") || return 0
    if [ -z "$best_v" ] || [ "$(printf '%s\n%s\n' "$best_v" "$v" | sort -V | tail -1)" != "$best_v" ]; then
        best="$1"; best_v="$v"
    fi
}
for minor in 15 14 13 12 11; do
    # pyenv's shims on PATH fail unless that version is selected; `version` skips them then
    p=$(command -v "python3.$minor" 2>/dev/null) && consider "$p"
    for d in $(ls -d "$root"/versions/3."$minor".* 2>/dev/null | sort -rV); do
        [ -x "$d/bin/python3.$minor" ] && consider "$d/bin/python3.$minor"
    done
done
p=$(command -v python3 2>/dev/null) && consider "$p"
if [ -n "$best" ]; then echo "$best"; exit 0; fi
cat >&2 <<'MSG'
error: the core environment needs CPython 3.11 or newer, and none was found (looked at
$PYTHON_CORE, python3.N on PATH and pyenv's versions/3.N.*). Install one, e.g.
  pyenv install 3.13    or    uv python install 3.13   (then: export PYTHON_CORE=$(uv python find 3.13))
then run `make test-core` again, or point PYTHON_CORE at the interpreter.
MSG
exit 1
