# inc/fails.gsh — a sourced file with an error on line 4: the source
# command fails with it.
echo "in fails.gsh"
frob
echo "in fails.gsh after the error"
