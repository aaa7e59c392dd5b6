# exec.sh: exec in busybox sh (redirections of the shell itself, replacing a subshell,
# replacing the shell), exit statuses of children, background jobs and wait, and a child
# killed by a signal. Run by tests/procs_e2e.py natively and under vmemu; the output and
# the exit status (5, from the last exec) must be the same.
T=/tmp/procs-sh.$$.$((100000 + RANDOM % 90000))$((100000 + RANDOM % 90000)) && mkdir -m 700 "$T" && cd "$T" || exit 1

echo "== exec redirections"
exec 3> fd3.txt
echo "to fd 3" >&3
echo "again" >&3
exec 3>&-
cat fd3.txt
exec 4< fd3.txt
read first <&4
echo "read from fd 4: $first"
exec 4<&-

echo "== exec replacing a subshell"
(exec echo "exec echo in a subshell")
echo "the shell goes on"
(exec sh -c 'exit 7'); echo "exec sh -c 'exit 7': $?"
out=$(exec cat fd3.txt | wc -l); echo "exec in command substitution: $out lines"

echo "== statuses"
sh -c 'exit 42'; echo "sh -c exit 42: $?"
false; echo "false: $?"
no-such-command-here 2>/dev/null; echo "missing command: $?"
sh -c 'kill -TERM $$'; echo "killed by SIGTERM: $?"
sh -c 'kill -KILL $$'; echo "killed by SIGKILL: $?"

echo "== background jobs"
(exit 3) & p1=$!
sh -c 'exit 4' & p2=$!
wait $p1; s1=$?
wait $p2; s2=$?
echo "background statuses: $s1 $s2"
for i in 1 2 3; do (echo "job $i" > "job$i.txt") & done
wait
cat job1.txt job2.txt job3.txt

cd / && rm -rf "$T"
echo "== exec replacing the shell"
exec sh -c 'echo "the last exec"; exit 5'
echo "never printed"
