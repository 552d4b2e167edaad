# stop.gsh — without --keep-going the batch stops at the first error: the
# rest of its line and every later line are skipped; exit status 1.
echo one
alloc 24 as a; free a; free a; echo "not printed (same line)"
echo "not printed (next line)"
