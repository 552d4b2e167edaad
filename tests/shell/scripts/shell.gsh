# shell.gsh — the shell's own commands: echo (words, strings, escapes,
# blocks), comments and ';', set echo/json/color, source (nested, with a
# block across lines), try (a failure shown, not counted), help, help CMD
# for every command, quit (nothing after it runs; exit 0).
echo hello
echo "two  spaces" and "a \"quote\" and a \\ backslash"
echo {a block} stays; echo second command # a comment
   echo   indented	with a tab
echo
# a whole-line comment
;;;
echo "-- set echo"
set echo on
alloc 8 as e
echo "with echo"
set echo off
echo "-- set json"
set json on
alloc 16
echo "as json"
set json off
echo "-- set color (escape sequences even in a batch)"
set color on
help quit
alloc 24
spawn { yield }
step
set color off
echo "-- source"
source inc/sub.gsh
vals
echo "-- try: the failure is printed, the batch goes on, the status stays 0"
try free nosuch
try step on p1
try alloc 8
echo "-- help"
help
help init
help alloc
help calloc
help realloc
help free
help release
help stats
help vals
help spawn
help step
help run
help ready
help gs
help ps
help ms
help schedtrace
help scheddetail
help dump
help export
help trace
help check
help try
help set
help echo
help source
help help
help quit
help exit
echo "-- quit: nothing after it runs"
quit
echo "not printed"
frob
