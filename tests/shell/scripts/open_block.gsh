# open_block.gsh — a block left open at the end of the file is an error,
# reported at the line where the block began.
echo "before the block"
spawn {
  yield
  alloc 8
