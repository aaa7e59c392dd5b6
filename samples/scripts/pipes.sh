# pipes.sh: pipelines, subshells, command substitution, loops and here-documents in busybox
# sh. Run by tests/procs_e2e.py as `busybox sh pipes.sh`, natively and under vmemu; the
# output must be the same (nothing here prints a pid, a time or a path).
T=/tmp/procs-sh.$$.$((100000 + RANDOM % 90000))$((100000 + RANDOM % 90000)) && mkdir -m 700 "$T" && cd "$T" || exit 1

echo "== pipelines"
seq 1 200 | grep 7 | sort -r | head -n 5 | tr '\n' ' '; echo
seq 1 5000 | awk '{ s += $1 * $1 } END { print "sum of squares", s }'
printf 'b\na\nc\na\nb\na\n' | sort | uniq -c | sort -rn | sed 's/^ *//'
yes line | head -n 3000 | wc -l
seq 1 20000 | cat | cat | cat | md5sum
echo "status of a failing pipeline: $(false | true; echo $?) $(true | false; echo $?)"

echo "== subshells"
x=outer
(x=inner; echo "in subshell: $x"; exit 3)
echo "after subshell: $x, status $?"
mkdir sub
( cd sub && touch made-in-sub && echo "subshell cwd: $(basename "$(pwd)")" )
echo "the shell's cwd is unchanged: $(ls | tr '\n' ' ')"
{ echo grouped 1; echo grouped 2; } | wc -l
( ( ( echo nested three levels ) ) )

echo "== command substitution"
n=$(seq 1 100 | wc -l)
echo "lines: $n, words: $(echo one two three | wc -w), nested: $(echo $(echo $(echo deep)))"
files=$(for i in 1 2 3; do echo "f$i"; done | tr '\n' ,)
echo "files: $files"
echo "backticks: `expr 6 \* 7`"

echo "== loops"
i=0; total=0
while [ $i -lt 50 ]; do i=$((i + 1)); total=$((total + i)); done
echo "while: $total"
for w in alpha beta gamma; do printf '%s:%d ' "$w" "${#w}"; done; echo
seq 1 10 | while read v; do [ $((v % 3)) -eq 0 ] && echo "div3 $v"; done
for f in $(seq 1 3); do echo "file $f" > "out$f.txt"; done
cat out1.txt out2.txt out3.txt
until [ -e stop ]; do touch stop; echo "until ran once"; done

echo "== here-documents"
cat <<END
a here-doc with $x expanded and $(echo substituted)
END
cat <<'END'
a quoted here-doc: $x stays
END
tr a-z A-Z <<END | rev
shouting through a pipe
END
while read a b; do echo "read: $b $a"; done <<END
1 one
2 two
END

cd / && rm -rf "$T"
echo "== done"
