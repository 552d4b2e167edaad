# exit.gsh — exit ends the batch like quit: the lines after it do not run,
# and the status is 0.
echo before
exit
echo "not printed"
frob
