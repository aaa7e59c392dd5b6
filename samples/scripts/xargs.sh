# xargs.sh: xargs starting commands (applets through /proc/self/exe, sh -c children) from
# pipelines, in busybox sh. Run by tests/procs_e2e.py natively and under vmemu; the output
# must be the same.
T=/tmp/procs-sh.$$.$((100000 + RANDOM % 90000))$((100000 + RANDOM % 90000)) && mkdir -m 700 "$T" && cd "$T" || exit 1

echo "== xargs"
seq 1 10 | xargs echo
seq 1 10 | xargs -n 3 echo group
seq 1 6 | xargs -I{} echo "item {} and again" {}
echo "a b c" | xargs -n 1 sh -c 'echo "sh -c got $0"'
seq 1 40 | xargs -n 7 sh -c 's=0; for v in "$0" "$@"; do s=$((s + v)); done; echo $s'
for i in 1 2 3 4 5; do echo "content $i" > "file$i"; done
find . -name 'file*' | sort | xargs cat | wc -l
find . -name 'file*' | sort | xargs md5sum | sed 's/ .*\// /' | head -n 2
ls file* | xargs -n 2 rm && echo "removed: $(ls | wc -l) left"
echo "exit status when a command fails: $(echo x | xargs false; echo $?)"
echo "exit status when a command is missing: $(echo x | xargs no-such-command 2>/dev/null; echo $?)"

cd / && rm -rf "$T"
echo "== done"
