# inc/twice.gsh — sources fails.gsh from its own folder (inc/): the error
# there names both sources on its line.
source fails.gsh
