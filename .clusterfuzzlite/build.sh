#!/bin/bash -eu
# ClusterFuzzLite's build step: the project's own OSS-Fuzz build script,
# which compiles the library and every fuzz/fuzz_*.c harness with the
# engine's $CC $CFLAGS $LIB_FUZZING_ENGINE into $OUT, with their .options,
# .dict and <harness>_seed_corpus.zip.
exec "$SRC/gort/fuzz/build.sh"
