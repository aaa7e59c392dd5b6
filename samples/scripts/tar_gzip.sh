# tar_gzip.sh BUSYBOX: busybox tar and gzip calling each other (tar czf starts `gzip` by
# execlp, which finds the busybox link in $T/bin first; tar xzf decompresses in a forked
# child), gzip in pipelines and checksums of everything. Run by tests/procs_e2e.py
# natively and under vmemu; the output must be the same. Nothing printed depends on times
# (tar tvf is not used; files get a fixed mtime) or paths.
BB=${1:-/bin/busybox}
T=/tmp/procs-sh.$$.$((100000 + RANDOM % 90000))$((100000 + RANDOM % 90000)) && mkdir -m 700 "$T" && cd "$T" || exit 1
mkdir bin && ln -s "$BB" bin/gzip && PATH="$T/bin:$PATH" || exit 1

mkdir -p src/sub/deeper
seq 1 30000 > src/numbers.txt
i=0
while [ $i -lt 200 ]; do echo "line $i of a text file"; i=$((i + 1)); done > src/sub/text.txt
printf 'tiny\n' > src/sub/deeper/tiny.txt
: > src/empty
ln -s sub/text.txt src/link
touch -d '2020-01-02 03:04:05' src/numbers.txt src/sub/text.txt src/sub/deeper/tiny.txt \
    src/empty src/sub/deeper src/sub src

echo "== tar czf / tar xzf"
tar czf archive.tgz src && echo "created: $(test -s archive.tgz && echo non-empty)"
tar tzf archive.tgz | sort
mkdir out && tar xzf archive.tgz -C out && echo "extracted: status $?"
diff -r src out/src && echo "identical trees"
readlink out/src/link
md5sum out/src/numbers.txt out/src/sub/text.txt | sed 's/ .*\// /'

echo "== gzip in pipelines"
gzip -c src/numbers.txt | gunzip -c | md5sum | cut -d' ' -f1
md5sum < src/numbers.txt | cut -d' ' -f1
cat src/sub/text.txt | gzip -9 | gzip -d | wc -l
gzip -c src/numbers.txt > n.gz && zcat n.gz | tail -n 2
gzip -t n.gz && echo "gzip -t ok"

echo "== tar through a pipe"
tar cf - -C src . | tar xf - -C out && echo "piped copy: status $?"
ls out | sort | tr '\n' ' '; echo
tar cf - src | gzip -c | gunzip -c | tar tf - | sort | head -n 3

echo "== errors"
tar xzf missing.tgz 2>/dev/null; echo "missing archive: status $?"
printf 'not gzip data' > bad.gz
gunzip -c bad.gz > /dev/null 2>&1; echo "bad gzip: status $?"

cd / && rm -rf "$T"
echo "== done"
