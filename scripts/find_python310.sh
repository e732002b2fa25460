#!/usr/bin/env bash
# Print the path of a CPython 3.10 interpreter, or explain how to get one.
# lava-nc 0.10.0 and lava-dl 0.6.0 require Python 3.10 exactly (on 3.11
# lava-nc fails at import with "ValueError: mutable default ... ByteEncoder").
set -u
is310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; }
candidates=()
[ -n "${PYTHON310:-}" ] && candidates+=("$PYTHON310")
command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root 2>/dev/null)
else
    root=${PYENV_ROOT:-$HOME/.pyenv}
fi
for d in $(ls -d "$root"/versions/3.10.* 2>/dev/null | sort -rV); do
    candidates+=("$d/bin/python3.10" "$d/bin/python")
done
candidates+=(/usr/bin/python3.10 /usr/local/bin/python3.10)
for c in "${candidates[@]}"; do
    if [ -x "$c" ] && is310 "$c"; then echo "$c"; exit 0; fi
done
cat >&2 <<'MSG'
error: lava-ff needs CPython 3.10 (lava-nc 0.10.0 / lava-dl 0.6.0 support 3.10 only),
and none was found (looked at $PYTHON310, python3.10 on PATH, pyenv's versions/3.10.*,
/usr/bin and /usr/local/bin). Install one of:
  pyenv:   pyenv install 3.10
  uv:      uv python install 3.10      (then: export PYTHON310=$(uv python find 3.10))
  conda:   conda create -n py310 python=3.10   (then: export PYTHON310=$CONDA_PREFIX/bin/python)
  Debian/Ubuntu: sudo apt install python3.10 python3.10-venv   (deadsnakes PPA on Ubuntu)
then run `make venv` again, or point PYTHON310 at the interpreter.
MSG
exit 1
