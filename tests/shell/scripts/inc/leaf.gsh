# inc/leaf.gsh — the innermost file of a nested source.
echo "in leaf.gsh"
