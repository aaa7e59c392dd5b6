/* fuzz_memmix SEED OPS [FILE]: the self-checking memory-mix guest of tests/fuzz/memmix_fuzz.py
 * (issue 15). From SEED it makes OPS random memory operations in an arena of ARENA pages
 * (between two PROT_NONE guard pages) and in the heap above the break: mmap (anonymous or of
 * the scratch file FILE, default memmix.dat, private or shared; MAP_FIXED over what is there,
 * MAP_FIXED_NOREPLACE, or only a hint), munmap (partial, holes), mprotect, mremap (shrink,
 * grow, move, MREMAP_FIXED), madvise (DONTNEED, FREE, WILLNEED, COLD, PAGEOUT), brk up and
 * down, msync, mincore, pread/pwrite/read/write between the file and mapped memory, stores
 * of seed-derived patterns and reads that check them, and fork: the child checks its copy of
 * everything, stores into shared and private pages, changes its own mappings and checks
 * again, while the parent stores into its private pages (copy-on-write both ways); the
 * parent then replays the child's stores to shared memory and the file, and checks all.
 *
 * A model says what every page holds: its kind, protection, and either its own bytes or the
 * file page it shows (shared file pages, and private ones not yet written: they follow the
 * file, as on Linux). Private anonymous pages read zero after MADV_DONTNEED, private file
 * pages the file again; after MADV_FREE a page holds its bytes or zeros until written; pages
 * that Linux would answer with SIGBUS (past the file's end, or a shared anonymous mapping
 * grown by mremap) are never touched. Each call's result is checked where Linux's answer is
 * certain (EINVAL, ENOMEM, EFAULT, EEXIST, EACCES cases included). Exit status: 0 all as
 * modelled (one summary line on stderr); 3 data mismatch (op index, address, expected and
 * actual bytes on stderr); 4 a call's result was not the modelled one; 5 a fork child ended
 * otherwise; 2 setup. It passes natively, which validates the model. No malloc: the heap's
 * break belongs to the model, and libc's stdio is not used. The model and its checks are in
 * fuzz_memmix.h, the operations here. */
#define _GNU_SOURCE
#include "fuzz_memmix.h"

static void op_store(void)
{
    int n, s = pick(&n, 1);
    for (int k = 0; k < n; k++)
        if (!writable(&pg[s + k]) || (priv_only && shared(&pg[s + k])))
            n = k;
    if (!n)
        return;
    size_t off = rn((unsigned)(n * PG)), len = 1 + rn((unsigned)(n * PG - off));
    pattern(buf, len, rnd());
    store(s + (int)(off / PG), off % PG, buf, len);
}

static void op_check(void)
{
    int n, s = pick(&n, 1);
    for (int k = s; k < s + n; k++)
        if (readable(&pg[k]))
            check_at(addr_of(k), &pg[k], shadow[k]);
}

static void op_mmap(void)
{
    static const int prots[] = {PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ,
                                PROT_NONE, PROT_READ | PROT_EXEC};
    int n, s = pick(&n, 0), kind = 1 + (int)rn(4), how = (int)rn(10), f = -1;
    int prot = prots[rn(kind >= FILE_P ? 4 : 5)]; /* no PROT_EXEC of the file: noexec mounts */
    uint32_t foff = kind >= FILE_P ? rn(FPAGES) : 0;
    long flags = kind == ANON_S || kind == FILE_S ? MAP_SHARED : MAP_PRIVATE;
    char *a = addr_of(s);
    if (kind >= FILE_P)
        f = kind == FILE_P && rn(2) ? rofd : fd;
    else
        flags |= MAP_ANONYMOUS;
    if (rn(12) == 0) { /* refused before anything is unmapped, even with MAP_FIXED */
        int e = (int)rn(4);
        if (e == 3 && kind != FILE_S)
            e = 0;
        long len = e == 0 ? 0 : (long)(n * PG), fl = flags | MAP_FIXED;
        if (e == 1)
            fl &= ~(long)(MAP_PRIVATE | MAP_SHARED); /* neither: no mapping type */
        DESCRIBE("mmap(%p, %ld, %d, %#lx, %d, %lu) (bad: %d)", a, len, e == 3 ? PROT_WRITE : prot,
                 fl, e == 3 ? rofd : f, foff * PG + (e == 2), e);
        expect(syscall(SYS_mmap, a, len, e == 3 ? PROT_WRITE : prot, fl, e == 3 ? rofd : f,
                       (long)(foff * PG) + (e == 2)),
               0, e == 3 ? EACCES : EINVAL);
        return;
    }
    long fl = flags | (how < 5 ? MAP_FIXED : how < 7 ? MAP_FIXED_NOREPLACE : 0);
    DESCRIBE("mmap(%p, %lu, %d, %#lx, %d, %lu) (%s)", a, n * PG, prot, fl, f, foff * PG,
             kinds[kind]);
    long r = syscall(SYS_mmap, a, n * PG, prot, fl, f, (long)foff * (long)PG);
    if (how >= 7) { /* only a hint: anywhere, but not an error */
        if (r == -1)
            expect(r, 0, 0);
        a = (char *)r;
    } else if (how >= 5 && count(s, n, NONE) != n) {
        expect(r, 0, EEXIST);
        return;
    } else {
        expect(r, (long)a, 0);
    }
    for (int k = 0; k < n; k++) {
        tp[k] = (struct page){(uint8_t)kind, (uint8_t)prot, 0, 0, next_vid, foff + (uint32_t)k};
        if (kind >= FILE_P && foff + (uint32_t)k >= FPAGES)
            tp[k].kind = DEAD;
        memset(tsh[k], 0, PG);
    }
    next_vid++;
    place(a, n, how < 7);
}

static void op_munmap(void)
{
    int n, s = pick(&n, 0);
    char *a = addr_of(s);
    if (rn(10) == 0) {
        int e = (int)rn(2);
        DESCRIBE("munmap(%p, %lu)", a + e, e ? n * PG : 0);
        expect(syscall(SYS_munmap, a + e, e ? n * PG : 0), 0, EINVAL);
        return;
    }
    DESCRIBE("munmap(%p, %lu)", a, n * PG);
    expect(syscall(SYS_munmap, a, n * PG), 0, 0);
    for (int k = s; k < s + n; k++)
        pg[k].kind = NONE;
}

static void op_mprotect(void)
{
    static const int prots[] = {PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE,
                                PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC};
    int n, s = pick_mapped(&n, 0), m = 0;
    int prot = prots[rn(count(s, n, FILE_P) + count(s, n, FILE_S) + count(s, n, DEAD) ? 4 : 5)];
    char *a = addr_of(s);
    if (rn(10) == 0) {
        int e = (int)rn(2);
        DESCRIBE("mprotect(%p, %lu, %d)", a + e, n * PG, e ? prot : 0x100);
        expect(syscall(SYS_mprotect, a + e, n * PG, e ? prot : 0x100), 0, EINVAL);
        return;
    }
    while (m < n && pg[s + m].kind != NONE)
        m++;
    DESCRIBE("mprotect(%p, %lu, %d) (%d of %d pages mapped first)", a, n * PG, prot, m, n);
    expect(syscall(SYS_mprotect, a, n * PG, prot), 0, m == n ? 0 : ENOMEM);
    for (uint32_t k = s, was = 0, now = 0; k < (uint32_t)(s + m); k++) {
        if (k == (uint32_t)s || pg[k].vid != was) /* boundaries between VMAs stay */
            now = next_vid++;
        was = pg[k].vid;
        pg[k].vid = now;
        pg[k].prot = (uint8_t)prot; /* Linux changes the VMAs before the first hole */
    }
}

static void op_mremap(void)
{
    int n, s = pick_mapped(&n, 0), certain = 1, hole = 0, mode = (int)rn(4), n2 = n;
    char *a = addr_of(s);
    for (int k = s; k < s + n; k++) {
        hole |= pg[k].kind == NONE;
        certain &= pg[k].vid == pg[s].vid;
    }
    if (rn(12) == 0) {
        int e = (int)rn(3);
        DESCRIBE("mremap(%p, %lu, %lu, %d, %p)", a + (e == 0), n * PG, e == 1 ? 0 : n * PG,
                 e == 2 ? MREMAP_FIXED : 0, a);
        expect(syscall(SYS_mremap, a + (e == 0), n * PG, e == 1 ? 0 : n * PG,
                       e == 2 ? MREMAP_FIXED : 0, a + (e == 0)),
               0, EINVAL);
        return;
    }
    if (hole) { /* growing looks the range up: EFAULT (shrinking and moving may unmap first) */
        DESCRIBE("mremap(%p, %lu, %lu, 0) over a hole", a, n * PG, (n + 1) * PG);
        expect(syscall(SYS_mremap, a, n * PG, (n + 1) * PG, 0), 0, EFAULT);
        return;
    }
    for (int k = 0; k < n; k++) {
        tp[k] = pg[s + k];
        memcpy(tsh[k], shadow[s + k], PG);
    }
    if (mode == 0 && n > 1) { /* shrink: the tail goes */
        n2 = 1 + (int)rn((unsigned)n - 1);
        DESCRIBE("mremap(%p, %lu, %lu, 0) (shrink)", a, n * PG, n2 * PG);
        long r = syscall(SYS_mremap, a, n * PG, n2 * PG, 0);
        if (certain || r != -1 || errno != EFAULT)
            expect(r, (long)a, 0);
        for (int k = s + n2; r != -1 && k < s + n; k++)
            pg[k].kind = NONE;
        return;
    }
    if (mode == 3 && !certain)
        mode = 1;
    n2 = mode == 3 ? 1 + (int)rn(2 * MAXLEN) : n + 1 + (int)rn(4);
    extend(n, n2);
    int d = (int)rn((unsigned)(ARENA - n2 + 1)), room = s + n2 <= ARENA;
    for (int k = s + n; room && k < s + n2; k++)
        room = pg[k].kind == NONE;
    if (mode == 3 && d + n2 > s && s + n > d)
        return; /* the target would overlap the source: EINVAL, tested above */
    long flags = mode == 3 ? MREMAP_MAYMOVE | MREMAP_FIXED : mode == 2 ? MREMAP_MAYMOVE : 0;
    DESCRIBE("mremap(%p, %lu, %lu, %ld, %p) (%s, room %d)", a, n * PG, n2 * PG, flags, addr_of(d),
             kinds[pg[s].kind], room);
    long r = syscall(SYS_mremap, a, n * PG, n2 * PG, flags, addr_of(d));
    if (r == -1 && !certain && errno == EFAULT)
        return; /* more than one VMA after all */
    if (mode == 3)
        expect(r, (long)addr_of(d), 0);
    else if (room)
        expect(r, (long)a, 0); /* in place: the next pages are free, the VMA ends there */
    else if (mode == 2 && r == -1)
        expect(r, 0, 0); /* moved anywhere */
    else if (mode != 2)
        expect(r, 0, ENOMEM);
    if (r == -1)
        return;
    for (int k = s; k < s + n; k++)
        pg[k].kind = NONE;
    int moved = r != (long)a;
    for (int k = 0; k < n2; k++)
        tp[k].vid = moved ? next_vid : tp[0].vid;
    next_vid++;
    place((char *)r, n2, mode == 3);
}

static void op_madvise(void)
{
    static const int advice[] = {MADV_DONTNEED, MADV_FREE, MADV_WILLNEED, MADV_COLD, MADV_PAGEOUT};
    int n, s = pick_mapped(&n, 1), adv = advice[rn(5)], holes = count(s, n, NONE);
    char *a = addr_of(s);
    if (rn(12) == 0) {
        int e = (int)rn(2);
        DESCRIBE("madvise(%p, %lu, %d)", a + e, n * PG, e ? adv : 12345);
        expect(syscall(SYS_madvise, a + e, n * PG, e ? adv : 12345), 0, EINVAL);
        return;
    }
    DESCRIBE("madvise(%p, %lu, %d) (%d holes, first page %s)", a, n * PG, adv, holes,
             kinds[pg[s].kind]);
    if (adv == MADV_FREE) { /* private anonymous only: EINVAL at the first other VMA */
        if (pg[s].kind != NONE && pg[s].kind != ANON_P) {
            expect(syscall(SYS_madvise, a, n * PG, adv), 0, EINVAL);
        } else if (count(s, n, ANON_P) == n) {
            expect(syscall(SYS_madvise, a, n * PG, adv), 0, 0);
            for (int k = s; k < s + n; k++)
                pg[k].lazy = 1;
        }
        return;
    }
    expect(syscall(SYS_madvise, a, n * PG, adv), 0, holes ? ENOMEM : 0);
    for (int k = s; adv == MADV_DONTNEED && k < s + n; k++) { /* holes or not */
        if (pg[k].kind == ANON_P)
            memset(shadow[k], 0, PG);
        pg[k].lazy = pg[k].own = 0;
    }
}

static void op_brk(void)
{
    int k = (int)rn(HEAP + 1);
    DESCRIBE("brk(0)");
    expect(syscall(SYS_brk, 0), (long)(heap + brk_pages * PG), 0);
    DESCRIBE("brk(%p) from %d to %d pages", heap + k * PG, brk_pages, k);
    expect(syscall(SYS_brk, heap + k * PG), (long)(heap + k * PG), 0);
    for (int i = ARENA + k; i < ARENA + brk_pages; i++)
        pg[i].kind = NONE;
    for (int i = ARENA + brk_pages; i < ARENA + k; i++) {
        pg[i] = (struct page){ANON_P, PROT_READ | PROT_WRITE, 0, 0, 0, 0};
        memset(shadow[i], 0, PG);
    }
    brk_pages = k;
}

/* Between the file and n pages from s: pwrite/write from memory or pread/read into it. */
static void op_fileio(void)
{
    int n, s = pick_mapped(&n, 1), to_file = priv_only ? 0 : (int)rn(2), seek = (int)rn(2);
    if (rn(6) == 0) {
        DESCRIBE("pread(%d, %p, %lu, 0) of the whole file", fd, buf, FPAGES * PG);
        expect(pread(fd, buf, FPAGES * PG, 0), FPAGES * PG, 0);
        if (memcmp(buf, fdata, FPAGES * PG) != 0)
            mismatch("the file, as pread reads it", (void *)0, buf, fdata, FPAGES * PG);
        return;
    }
    size_t off = rn(PG), len = 1 + rn((unsigned)(n * PG - off));
    size_t fo = rn((unsigned)(FPAGES * PG - len + 1));
    char *a = addr_of(s) + off;
    struct page *p0 = &pg[s];
    DESCRIBE("%s(%d, %p, %zu, %zu) (%s page, prot %d)", to_file ? "pwrite" : "pread", fd, a, len,
             fo, kinds[p0->kind], p0->prot);
    if (rn(10) == 0 && s < ARENA && p0->kind != DEAD) { /* nothing to copy at the first byte */
        if (to_file && !readable(p0))
            expect(pwrite(fd, a, len, (off_t)fo), 0, EFAULT);
        if (!to_file && !writable(p0))
            expect(pread(fd, a, len, (off_t)fo), 0, EFAULT);
        return;
    }
    int last = s + (int)((off + len - 1) / PG);
    for (int i = s; i <= last; i++) {
        struct page *p = &pg[i];
        if (to_file ? !readable(p) || p->lazy : !writable(p) || (priv_only && shared(p)))
            return;
        if (follows_file(p) && p->foff * PG < fo + len && fo < (p->foff + 1) * PG)
            return; /* copying the file onto itself through a mapping: not modelled */
    }
    if (to_file) {
        for (size_t done = 0, o = off; done < len; o = 0) {
            int i = s + (int)((off + done) / PG);
            size_t l = len - done < PG - o ? len - done : PG - o;
            memcpy(buf + done, want_of(&pg[i], shadow[i]) + o, l);
            done += l;
        }
        long r = seek ? (lseek(fd, (off_t)fo, SEEK_SET), write(fd, a, len))
                      : pwrite(fd, a, len, (off_t)fo);
        expect(r, (long)len, 0);
        memcpy(fdata + fo, buf, len);
        return;
    }
    memcpy(buf, fdata + fo, len);
    long r =
        seek ? (lseek(fd, (off_t)fo, SEEK_SET), read(fd, a, len)) : pread(fd, a, len, (off_t)fo);
    expect(r, (long)len, 0);
    for (size_t done = 0, o = off; done < len; o = 0) {
        int i = s + (int)((off + done) / PG);
        size_t l = len - done < PG - o ? len - done : PG - o;
        model_store(i, o, buf + done, l);
        settle(i, o, l);
        done += l;
    }
}

static void op_msync(void)
{
    static const int fl[] = {MS_SYNC, MS_ASYNC, MS_SYNC | MS_INVALIDATE, MS_SYNC | MS_ASYNC};
    int n, s = pick_mapped(&n, 0), f = fl[rn(4)], unaligned = rn(10) == 0;
    DESCRIBE("msync(%p, %lu, %d)", addr_of(s) + unaligned, n * PG, f);
    long r = syscall(SYS_msync, addr_of(s) + unaligned, n * PG, f);
    expect(r, 0, f == (MS_SYNC | MS_ASYNC) || unaligned ? EINVAL : count(s, n, NONE) ? ENOMEM : 0);
}

static void op_mincore(void)
{
    unsigned char vec[MAXLEN];
    int n, s = pick(&n, 0);
    DESCRIBE("mincore(%p, %lu)", addr_of(s), n * PG);
    expect(syscall(SYS_mincore, addr_of(s), n * PG, vec), 0, count(s, n, NONE) ? ENOMEM : 0);
}

/* The fork child's stores (real) or, in the parent afterwards, their effect on shared pages
 * and the file: both draw the same choices from cs and from the kinds and protections,
 * which neither side changed since the fork before this runs. */
static void child_stores(uint64_t cs, int real)
{
    uint64_t keep = rs;
    rs = cs;
    for (int k = 1 + (int)rn(12); k > 0; k--) {
        if (rn(5) == 0) {
            size_t len = 1 + rn(2 * PG), fo = rn((unsigned)(FPAGES * PG - len + 1));
            pattern(buf, len, rnd());
            DESCRIBE("pwrite(%d, %p, %zu, %zu) in the fork child", fd, buf, len, fo);
            if (real)
                expect(pwrite(fd, buf, len, (off_t)fo), (long)len, 0);
            memcpy(fdata + fo, buf, len);
            continue;
        }
        int i = (int)rn(NP);
        size_t off = rn(PG), len = 1 + rn((unsigned)(PG - off));
        pattern(buf, len, rnd());
        if (!writable(&pg[i]))
            continue;
        if (real)
            store(i, off, buf, len);
        else if (shared(&pg[i]))
            model_store(i, off, buf, len);
    }
    rs = keep;
}

static void one_op(int child);

static void op_fork(void)
{
    uint64_t cs = rnd();
    int p[2], st = 0;
    char c = 'g';
    DESCRIBE("pipe");
    expect(pipe(p), 0, 0);
    forks++;
    pid_t pid = fork();
    if (pid == 0) {
        in_child = 1;
        close(p[1]);
        if (read(p[0], &c, 1) != 1)
            _exit(5);
        verify_all();
        child_stores(cs, 1);
        verify_all();
        rs = cs | 1;
        priv_only = 1;
        for (int k = 0; k < 8; k++)
            one_op(1);
        verify_all();
        _exit(0);
    }
    DESCRIBE("fork");
    expect(pid < 0 ? -1 : 0, 0, 0);
    close(p[0]);
    for (int k = 1 + (int)rn(8); k > 0; k--) { /* the parent's stores: private pages only */
        int i = (int)rn(NP);
        size_t off = rn(PG), len = 1 + rn((unsigned)(PG - off));
        pattern(buf, len, rnd());
        if (writable(&pg[i]) && !shared(&pg[i]))
            store(i, off, buf, len);
    }
    DESCRIBE("write to the fork child's pipe");
    expect(write(p[1], &c, 1), 1, 0);
    close(p[1]);
    DESCRIBE("waitpid(%d)", (int)pid);
    expect(waitpid(pid, &st, 0), pid, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        say("fuzz_memmix: op %ld (fork): the child ended with %s %d\n", op,
            WIFEXITED(st) ? "status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        _exit(WIFEXITED(st) && (WEXITSTATUS(st) == 3 || WEXITSTATUS(st) == 4) ? WEXITSTATUS(st)
                                                                              : 5);
    }
    child_stores(cs, 0);
    verify_all();
}

static void one_op(int child)
{
    static const struct {
        int weight;
        const char *name;
        void (*fn)(void);
    } ops[] = {{20, "store", op_store},    {12, "check", op_check},      {10, "mmap", op_mmap},
               {5, "munmap", op_munmap},   {7, "mprotect", op_mprotect}, {8, "mremap", op_mremap},
               {9, "madvise", op_madvise}, {4, "brk", op_brk},           {10, "io", op_fileio},
               {4, "msync", op_msync},     {3, "mincore", op_mincore},   {2, "fork", op_fork}};
    int total = 0, n = (int)(sizeof(ops) / sizeof(ops[0])) - child; /* no fork in a child */
    for (int k = 0; k < n; k++)
        total += ops[k].weight;
    int r = (int)rn((unsigned)total), k = 0;
    while (r >= ops[k].weight)
        r -= ops[k++].weight;
    opname = ops[k].name;
    ops[k].fn();
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    uint64_t seed = strtoull(argv[1], NULL, 0);
    long nops = strtol(argv[2], NULL, 0);
    const char *path = argc > 3 ? argv[3] : "memmix.dat";
    rs = seed * 2654435761ULL + 0x9e3779b97f4a7c15ULL;
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    rofd = open(path, O_RDONLY);
    if (fd < 0 || rofd < 0)
        return 2;
    pattern(fdata, sizeof(fdata), rnd());
    DESCRIBE("pwrite of the file's first contents");
    expect(pwrite(fd, fdata, sizeof(fdata), 0), sizeof(fdata), 0);
    char *g = (char *)syscall(SYS_mmap, 0, (ARENA + 2) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
                              -1, 0);
    if (g == MAP_FAILED)
        return 2;
    arena = g + PG;
    DESCRIBE("munmap of the arena between its guards");
    expect(syscall(SYS_munmap, arena, ARENA * PG), 0, 0);
    long b = syscall(SYS_brk, 0);
    heap = (char *)((b + PG - 1) & ~(PG - 1));
    DESCRIBE("brk(%p) to align the heap", heap);
    expect(syscall(SYS_brk, heap), (long)heap, 0);
    for (op = 0; op < nops; op++)
        one_op(0);
    opname = "final check";
    verify_all();
    say("fuzz_memmix: %ld ops, %ld forks, %ld pages checked\n", nops, forks, checked);
    unlink(path);
    return 0;
}
