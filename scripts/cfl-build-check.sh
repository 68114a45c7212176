#!/bin/bash
# Run the unchanged .clusterfuzzlite/build.sh the way OSS-Fuzz / ClusterFuzzLite would, without
# their Docker images (gcr.io/oss-fuzz-base/* cannot be pulled here), then run every packaged
# fuzzer briefly from $OUT the way libFuzzer-based infrastructure does.
#
#   scripts/cfl-build-check.sh                 # build all, run each fuzzer 15 s
#   FUZZ_SECONDS=20 scripts/cfl-build-check.sh fuzz_codec fuzz_sftp   # run only these
#
# What it reproduces:
#   - a clean source tree: `git archive HEAD` (committed files only) in $SRC/harness, build.sh
#     copied to $SRC/build.sh as the Dockerfile does, run with `bash -eu` from $SRC/harness;
#   - $SRC, $OUT, $WORK, SANITIZER=address, FUZZING_ENGINE=libfuzzer, FUZZING_LANGUAGE=python;
#   - python3/pip3 of a throwaway venv with atheris and pyinstaller from PyPI (the base image has
#     them installed globally);
#   - compile_python_fuzzer: a small script written here from the documented behaviour of the
#     base image's helper: PyInstaller --onefile into $OUT/<name>.pkg with build.sh's extra
#     arguments (work files under $SRC/pyfuzzworkdir/<name>), the package made non-executable,
#     and an executable wrapper $OUT/<name> (which carries the LLVMFuzzerTestOneInput marker the
#     infrastructure greps for) that runs the package, preloading $OUT/sanitizer_with_fuzzer.so
#     when there is one;
#   - the run: seeds unzipped from <name>_seed_corpus.zip, -dict=<name>.dict, the [libfuzzer]
#     options of <name>.options, from an empty working directory with HARNESS_TRANSCRIPTS and
#     PYTHONPATH unset, so bundled data can only come from the package itself.
# What it cannot reproduce: the base images' own Python/atheris/PyInstaller builds (atheris
# there is compiled against the image's clang; PyInstaller is the version the image pins), the
# runner image, and the ClusterFuzzLite GitHub actions. See docs/FUZZING.md, "Scaling out".
#
# Environment: FUZZ_SECONDS (15), PYTHON (python3.11), CFL_PIP ("atheris pyinstaller"),
# CFL_REF (HEAD), CFL_DIR (a new temporary directory), CFL_KEEP=1 keeps CFL_DIR afterwards,
# CFL_PATCH (patch files, `git apply`d to the clean copy: to try a fix before committing it).
# Exit status 0 only if the build succeeded and every fuzzer run ended with status 0.
set -euo pipefail

REPO=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
PYTHON=${PYTHON:-python3.11}
CFL_PIP=${CFL_PIP:-atheris pyinstaller}
CFL_REF=${CFL_REF:-HEAD}
BASE=${CFL_DIR:-$(mktemp -d /tmp/cfl-build-check.XXXXXX)}
NICE=(nice -n 10)

cleanup() {
  if [ "${CFL_KEEP:-0}" = 1 ]; then
    echo "kept: $BASE"
  else
    rm -rf "$BASE"
  fi
}
trap cleanup EXIT

export SRC=$BASE/src OUT=$BASE/out WORK=$BASE/work
export SANITIZER=address FUZZING_ENGINE=libfuzzer FUZZING_LANGUAGE=python ARCHITECTURE=x86_64
mkdir -p "$SRC/harness" "$OUT" "$WORK" "$BASE/bin"

log() { printf '== %s\n' "$*"; }

# -- a clean copy of the repository --------------------------------------------------------------
rev=$(git -C "$REPO" rev-parse --short "$CFL_REF")
log "source: git archive $CFL_REF ($rev) -> $SRC/harness"
git -C "$REPO" archive --format=tar "$CFL_REF" | tar -x -C "$SRC/harness"
for patch in ${CFL_PATCH:-}; do
  log "source: applying $patch (not committed: this build is not HEAD's)"
  (cd "$SRC/harness" && git apply "$(realpath "$patch")")
done
cp "$SRC/harness/.clusterfuzzlite/build.sh" "$SRC/build.sh"

# -- the builder's Python: a throwaway venv ------------------------------------------------------
log "venv: $PYTHON + $CFL_PIP (PyPI)"
"${NICE[@]}" "$PYTHON" -m venv "$BASE/venv"
# shellcheck disable=SC2086  # CFL_PIP is a list of requirement specifiers
"${NICE[@]}" "$BASE/venv/bin/pip" install --quiet --disable-pip-version-check $CFL_PIP 2>&1 \
  | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
"$BASE/venv/bin/pip" list --disable-pip-version-check 2>/dev/null | grep -i -E '^(atheris|pyinstaller) '
export PATH=$BASE/bin:$BASE/venv/bin:$PATH

# OSS-Fuzz puts atheris's <sanitizer>_with_fuzzer.so (ASan + libFuzzer, preloaded so that native
# extensions run under ASan) in $OUT as sanitizer_with_fuzzer.so; the PyPI wheel ships it too.
atheris_dir=$(python3 -c 'import atheris; print(atheris.path())')
if [ -f "$atheris_dir/asan_with_fuzzer.so" ]; then
  cp "$atheris_dir/asan_with_fuzzer.so" "$OUT/sanitizer_with_fuzzer.so"
  log "sanitizer_with_fuzzer.so: from $atheris_dir"
else
  log "sanitizer_with_fuzzer.so: none (this atheris has no asan_with_fuzzer.so); wrappers run without preload"
fi

# -- compile_python_fuzzer -----------------------------------------------------------------------
cat >"$BASE/bin/compile_python_fuzzer" <<'SHIM'
#!/bin/bash -eu
# compile_python_fuzzer FUZZER.py [PyInstaller arguments...] (stand-in for the base image's helper)
script=$1
shift
name=$(basename "$script" .py)
workpath=$SRC/pyfuzzworkdir/$name
rm -rf "$workpath"
mkdir -p "$workpath"
start=$(date +%s)
pyinstaller --noconfirm --distpath "$OUT" --workpath "$workpath" \
  --onefile --name "$name.pkg" "$@" "$script"
# The infrastructure treats executables in $OUT as fuzzers: only the wrapper is one.
chmod -x "$OUT/$name.pkg"
cat >"$OUT/$name" <<WRAPPER
#!/bin/sh
# LLVMFuzzerTestOneInput (marker: how the infrastructure recognises a fuzzer)
here=\$(dirname "\$0")
chmod +x "\$here/$name.pkg"
if [ -f "\$here/sanitizer_with_fuzzer.so" ]; then
  export LD_PRELOAD="\$here/sanitizer_with_fuzzer.so"
  export ASAN_OPTIONS="\${ASAN_OPTIONS:-}:detect_leaks=0"
fi
exec "\$here/$name.pkg" "\$@"
WRAPPER
chmod +x "$OUT/$name"
echo "$name $(($(date +%s) - start))" >>"$WORK/build-times"
SHIM
chmod +x "$BASE/bin/compile_python_fuzzer"

# -- the build ------------------------------------------------------------------------------------
log "build: bash -eu \$SRC/build.sh (cwd \$SRC/harness), log $WORK/build.log"
start=$(date +%s)
if ! (cd "$SRC/harness" && "${NICE[@]}" bash -eu "$SRC/build.sh") >"$WORK/build.log" 2>&1; then
  tail -n 40 "$WORK/build.log"
  log "BUILD FAILED after $(($(date +%s) - start)) s"
  exit 1
fi
log "build: ok in $(($(date +%s) - start)) s"

fail=0
expected=()
for script in "$SRC"/harness/harness/fuzz/fuzz_*.py; do
  name=$(basename "$script" .py)
  expected+=("$name")
  for f in "$name" "$name.pkg" "$name.dict" "$name.options"; do
    [ -e "$OUT/$f" ] || { log "MISSING: \$OUT/$f"; fail=1; }
  done
  if [ -d "$SRC/harness/corpus/${name#fuzz_}" ] && [ ! -f "$OUT/${name}_seed_corpus.zip" ]; then
    log "MISSING: \$OUT/${name}_seed_corpus.zip"
    fail=1
  fi
done
[ -x "$OUT/${expected[0]}" ] && [ ! -x "$OUT/${expected[0]}.pkg" ] || { log "wrong executable bits"; fail=1; }

# -- run each fuzzer ------------------------------------------------------------------------------
run=("$@")
[ ${#run[@]} -gt 0 ] || run=("${expected[@]}")
printf '%-20s %8s %6s %7s %9s %9s %8s %4s  %s\n' fuzzer pkg_MB build_s seeds execs exec/s run_s rc result >"$WORK/summary"
for name in "${run[@]}"; do
  dir=$WORK/run/$name
  mkdir -p "$dir/corpus" "$dir/cwd"
  [ -f "$OUT/${name}_seed_corpus.zip" ] && unzip -q -o "$OUT/${name}_seed_corpus.zip" -d "$dir/corpus"
  seeds=$(find "$dir/corpus" -type f | wc -l)
  opts=()
  if [ -f "$OUT/$name.options" ]; then
    while IFS='=' read -r key value; do
      key=${key// /}
      value=${value// /}
      [[ -n $key && -n $value && $key != \[* ]] && opts+=("-$key=$value")
    done <"$OUT/$name.options"
  fi
  log "run: $name ($seeds seeds, ${opts[*]}, ${FUZZ_SECONDS} s)"
  start=$(date +%s)
  rc=0
  (cd "$dir/cwd" && env -u HARNESS_TRANSCRIPTS -u PYTHONPATH "${NICE[@]}" \
    timeout --kill-after=30 $((FUZZ_SECONDS * 4 + 300)) "$OUT/$name" \
    -max_total_time="$FUZZ_SECONDS" -dict="$OUT/$name.dict" "${opts[@]}" \
    -artifact_prefix="$dir/" "$dir/corpus") >"$dir/fuzz.log" 2>&1 || rc=$?
  secs=$(($(date +%s) - start))
  execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$dir/fuzz.log" | tail -n 1)
  rate=$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' "$dir/fuzz.log" | tail -n 1)
  result=ok
  if [ "$rc" != 0 ]; then
    result="exit status $rc"
  elif ! grep -q 'INITED' "$dir/fuzz.log"; then
    result="never finished loading the corpus"
  elif [ "$seeds" -gt 0 ] && ! grep -q -E "seed corpus: files: $seeds |$seeds files found" "$dir/fuzz.log"; then
    result="seed count differs from $seeds"
  elif grep -q -E 'Traceback|==ERROR|deadly signal|Uncaught Python exception' "$dir/fuzz.log" \
    || compgen -G "$dir/crash-*" >/dev/null; then
    result="crash reported"
  fi
  [ "$result" = ok ] || { fail=1; tail -n 30 "$dir/fuzz.log"; }
  size=$(du -m "$OUT/$name.pkg" 2>/dev/null | cut -f1)
  btime=$(awk -v n="$name" '$1 == n {print $2}' "$WORK/build-times" 2>/dev/null)
  printf '%-20s %8s %6s %7s %9s %9s %8s %4s  %s\n' "$name" "${size:--}" "${btime:--}" "$seeds" \
    "${execs:--}" "${rate:--}" "$secs" "$rc" "$result" >>"$WORK/summary"
done

log "summary (logs under $WORK/run/NAME/fuzz.log; CFL_KEEP=1 keeps them)"
cat "$WORK/summary"
du -sh "$OUT" | sed 's/^/== $OUT total: /'
exit $fail
