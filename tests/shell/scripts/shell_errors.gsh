# args: --keep-going
# shell_errors.gsh — errors of the shell itself: unknown commands,
# unbalanced braces and quotes (on one line and across lines), too many
# words (64 is the most), braces nested too deep (32 is the most), quotes and braces inside words, set/help/
# try/source misuse, a missing file, a failing sourced file, and the
# nesting limit of source (a file that sources itself).
frob
FROB x
$1
"echo"
{ echo }
echo }
echo "unterminated
echo a"b
echo a{b}
echo ok after the quote errors
echo w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 w20 w21 w22 w23 w24 w25 w26 w27 w28 w29 w30 w31 w32 w33 w34 w35 w36 w37 w38 w39 w40 w41 w42 w43 w44 w45 w46 w47 w48 w49 w50 w51 w52 w53 w54 w55 w56 w57 w58 w59 w60 w61 w62
echo w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 w20 w21 w22 w23 w24 w25 w26 w27 w28 w29 w30 w31 w32 w33 w34 w35 w36 w37 w38 w39 w40 w41 w42 w43 w44 w45 w46 w47 w48 w49 w50 w51 w52 w53 w54 w55 w56 w57 w58 w59 w60 w61 w62 w63
spawn { yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield yield }
spawn { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { yield } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } }
spawn { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { repeat 1 { yield } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } }
echo "-- set"
set
set json
set json maybe
set colour on
set echo on off
echo "-- help"
help frob
help init alloc
echo "-- try"
try
try frob
try try echo x
try "echo"
try { echo }
echo "-- source"
source
source a b
source nosuch.gsh
source inc/fails.gsh
echo "after the failing source"
source inc/self.gsh
echo "after the nesting limit"
echo "-- a block across lines, with an error inside: reported at its first line"
spawn {
  yield
  frob
}
echo "line numbers count every line of the block"
spawn { yield
  } junk
echo "-- the end"
