#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build script: one fuzzer per harness/fuzz/fuzz_*.py.
#
# compile_python_fuzzer (from base-builder-python) packages each script with PyInstaller into
# $OUT/<name>; the targets find their recorded transcripts (connection phases) next to the
# package, so corpus/transcripts is bundled as data. The harness sources are bundled too:
# PyInstaller ships only bytecode, named relative to the bundle, and the targets recompile a few
# oracle functions from source (harness.fuzz.common.uninstrument); it also puts source lines in
# tracebacks. Seed corpora and the dictionary go next to each fuzzer under the names
# libFuzzer-based infrastructure looks for. Checked locally by scripts/cfl-build-check.sh.

pip3 install --no-cache-dir .

for fuzzer in harness/fuzz/fuzz_*.py; do
  name=$(basename "$fuzzer" .py)
  target=${name#fuzz_}
  compile_python_fuzzer "$fuzzer" \
    --add-data "corpus/transcripts:corpus/transcripts" \
    --add-data "harness:harness" \
    --hidden-import cryptography.hazmat.primitives.serialization.ssh
  if [ -d "corpus/$target" ]; then
    (cd "corpus/$target" && zip -q -r "$OUT/${name}_seed_corpus.zip" .)
  fi
  if [ -d "corpus/regressions/$target" ]; then
    (cd "corpus/regressions/$target" && zip -q -r "$OUT/${name}_seed_corpus.zip" . -x '*.md')
  fi
  cp corpus/dictionaries/ssh.dict "$OUT/${name}.dict"
  printf '[libfuzzer]\nmax_len = %s\ntimeout = 10\nrss_limit_mb = 2560\n' \
    "$(python3 -c "from harness.fuzz import TARGETS; print(TARGETS['$target'].max_len)")" > "$OUT/${name}.options"
done
