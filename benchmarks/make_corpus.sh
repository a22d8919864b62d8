#!/usr/bin/env bash
# Build the benchmark corpus of real code from pinned PyPI wheels.
#
#   usage: benchmarks/make_corpus.sh [DIR]      (default DIR: benchmarks/.corpus, git-ignored)
#
# Creates
#   DIR/wheels/   the 7 pinned wheels (pip download --no-deps, sha256-checked)
#   DIR/big/      every *.py file of those wheels, as DIR/big/<dist>-<version>/<path>
#                 (6,408 files, 2,135,524 lines; nothing else is extracted)
#   DIR/dense/    the subset of DIR/big whose bytes contain "mlflow", same layout
#                 (1,174 files, 402,643 lines)
#   DIR/corpus.stamp   written last; when it matches the pins, a re-run does nothing
# Needs: a Python 3 with pip (PYTHON=..., default python3) and PyPI. Installs nothing.
#
# Origin: the pins, checksums and extraction are those of the team's shared script
# /work/shared/corpus/make_corpus.sh (outside the repository, so CI cannot use it); this copy
# adds a default DIR, idempotence (a wheel already downloaded with the right sha256 is not
# fetched again; a complete corpus is not rebuilt) and a check of the expected file counts.
set -euo pipefail

DIR=${1:-"$(cd "$(dirname "$0")" && pwd)/.corpus"}
PY=${PYTHON:-python3}

# pinned: package==version sha256-of-wheel
PINS=(
  "mlflow==3.18.0 be7d84ba0d0b12392f5b53260cdb3e6d7b7ef4b80c29da90a89b5a1f6db7102f"
  "transformers==5.24.0 ff5ebedf9359f94bb63772b6380eba6e7104d010cbbb2cb82c788817ea7486f6"
  "lightning==2.6.6 2bcbd6ee840071cd076c7dc9953d7ac1040df92f1c5fa76583aae644f037ab85"
  "ultralytics==8.4.190 bd309728efa168af64d39040136828edd2dbcb4aeceb4510bdff4f3ca0ea01b8"
  "optuna==5.0.0 5fff892ae6baf4948c810c5b8635ec67e08efb0709b41cb73b14e30391d44720"
  "kedro-mlflow==2.0.3 05c2731e003b8021495edd38c59c77f0ccf9641f396006fd8e26ed0a824a1df3"
  "zenml==0.98.0 801ffbe1821bd48dfc03c9fd5519f5a7d4387d86b3d48d08bd2057dfcde5ad30"
)
# Left out on purpose: ray (platform wheels, ~70 MB, would push the big corpus
# past 10k files and every slow tool past the 10-minute-per-command budget),
# pytorch-lightning (same code as lightning).
EXPECTED_BIG=6408
EXPECTED_DENSE=1174

stamp_text() {
  printf '%s\n' "${PINS[@]}"
  echo "big=$EXPECTED_BIG dense=$EXPECTED_DENSE"
}

if [ -f "$DIR/corpus.stamp" ] && [ "$(cat "$DIR/corpus.stamp")" = "$(stamp_text)" ] \
  && [ -d "$DIR/big" ] && [ -d "$DIR/dense" ]; then
  echo "corpus already built in $DIR (delete $DIR/corpus.stamp to rebuild)"
  exit 0
fi
rm -f "$DIR/corpus.stamp"

mkdir -p "$DIR/wheels"
for pin in "${PINS[@]}"; do
  spec=${pin% *}
  sha=${pin#* }
  # Skip the download when a wheel of this name and version with the pinned sha256 is there.
  if "$PY" - "$DIR/wheels" "$spec" "$sha" <<'PYEOF'
import hashlib, pathlib, re, sys
wheels, spec, sha = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
name, version = spec.split("==")
norm = lambda s: re.sub(r"[-_.]+", "_", s).lower()
for w in wheels.glob("*.whl"):
    parts = w.name.split("-")
    if norm(parts[0]) == norm(name) and parts[1] == version:
        if hashlib.sha256(w.read_bytes()).hexdigest() == sha:
            sys.exit(0)
sys.exit(1)
PYEOF
  then
    continue
  fi
  echo "downloading $spec"
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --dest "$DIR/wheels" "$spec"
done

"$PY" - "$DIR" "$EXPECTED_BIG" "$EXPECTED_DENSE" "${PINS[@]}" <<'PYEOF'
import hashlib, os, pathlib, re, shutil, sys, zipfile

root = pathlib.Path(sys.argv[1])
expected_big, expected_dense = int(sys.argv[2]), int(sys.argv[3])
pins = [p.split() for p in sys.argv[4:]]
wheels = root / "wheels"
big, dense = root / "big", root / "dense"
for d in (big, dense):
    if d.exists():
        shutil.rmtree(d)

def norm(name):
    return re.sub(r"[-_.]+", "_", name).lower()

tot_files = tot_lines = d_files = d_lines = 0
for spec, sha in pins:
    name, version = spec.split("==")
    matches = [w for w in wheels.glob("*.whl")
               if norm(w.name.split("-")[0]) == norm(name) and w.name.split("-")[1] == version]
    if len(matches) != 1:
        sys.exit(f"wheel for {spec} not found (or ambiguous) in {wheels}")
    whl = matches[0]
    digest = hashlib.sha256(whl.read_bytes()).hexdigest()
    if digest != sha:
        sys.exit(f"sha256 mismatch for {whl.name}: {digest} != {sha}")
    dist = f"{whl.name.split('-')[0]}-{version}"
    n = lines = 0
    with zipfile.ZipFile(whl) as zf:
        for info in zf.infolist():
            if info.is_dir() or not info.filename.endswith(".py"):
                continue
            data = zf.read(info)
            rel = pathlib.Path(dist) / info.filename
            for base, keep in ((big, True), (dense, b"mlflow" in data)):
                if keep:
                    out = base / rel
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(data)
            n += 1
            lines += data.count(b"\n")
            if b"mlflow" in data:
                d_files += 1
                d_lines += data.count(b"\n")
    print(f"{dist:28s} {n:6d} files {lines:9d} lines")
    tot_files += n
    tot_lines += lines
print(f"{'big':28s} {tot_files:6d} files {tot_lines:9d} lines")
print(f"{'dense (contains mlflow)':28s} {d_files:6d} files {d_lines:9d} lines")
if (tot_files, d_files) != (expected_big, expected_dense):
    sys.exit(f"unexpected corpus size: {tot_files} / {d_files} files, "
             f"expected {expected_big} / {expected_dense}")
PYEOF

stamp_text >"$DIR/corpus.stamp"
echo "corpus ready in $DIR"
