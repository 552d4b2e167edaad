# inc/sub.gsh — sourced by shell.gsh and shell_errors.gsh: a few commands,
# a block across lines, and a nested source.
echo "in sub.gsh"
alloc 32 as fromsub
spawn {
  yield
  alloc 16
}
source leaf.gsh
echo "back in sub.gsh"
