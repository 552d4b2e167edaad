# args: --keep-going
# source resolves a relative path from the folder of the file that sources
# it (inc/twice.gsh sources fails.gsh, which is inc/fails.gsh), and an
# error names the chain of sources that led to it.
source inc/twice.gsh
echo "-- a path that is not there is named as it was resolved"
source inc/nosuch.gsh
