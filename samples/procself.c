/* procself: a program that looks at its own memory through /proc, as on Linux. It reads
 * /proc/self/status, stat and statm, maps 100 anonymous pages between two PROT_NONE guard
 * pages, writes every page, reads 10 pages of a second mapping without writing them (they
 * map the shared zero page, which Linux does not count in Rss), reads the files again, and
 * prints only what Linux makes exact: the deltas, the smaps entries of the new mappings,
 * their maps lines, and the identity fields (not stat's rss: Linux reads its per-CPU
 * counters there without summing them, so it lags). Run natively and under vmemu by
 * tests/procfs_e2e.py, which expects the same output. Every buffer is touched before the
 * first reading, and nothing is printed between the readings, so no other page is
 * faulted in meanwhile.
 * `procself cpuid` prints instead which of a set of CPUID feature bits the CPU reports, by
 * their /proc/cpuinfo names, so that the test can hold vmemu's cpuinfo against the CPUID
 * the guest really sees. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NPAGES    100 /* pages written */
#define NREAD     10  /* pages only read */
#define PAGE      4096UL
#define FILE_SIZE (256 * 1024)

static char status0[FILE_SIZE], status1[FILE_SIZE];
static char stat0[FILE_SIZE], stat1[FILE_SIZE];
static char statm0[FILE_SIZE], statm1[FILE_SIZE];
static char smaps[FILE_SIZE], maps[FILE_SIZE];

/* Reads a whole file into buf (NUL-terminated). Exits on failure. */
static void slurp(const char *path, char *buf)
{
    int fd = open(path, O_RDONLY);
    size_t len = 0;
    if (fd < 0) {
        perror(path);
        exit(2);
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, FILE_SIZE - 1 - len);
        if (n < 0) {
            perror(path);
            exit(2);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fd);
}

/* The number after "key:" in a status-style text (kB for the Vm lines), or -1. */
static long field(const char *text, const char *key)
{
    size_t n = strlen(key);
    for (const char *line = text; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : 0)
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            return strtol(line + n + 1, NULL, 10);
    return -1;
}

/* Field k (1-based, as proc(5) numbers them) of /proc/PID/stat; fields after the command
 * name are counted from its closing parenthesis. */
static unsigned long long stat_field(const char *text, int k)
{
    const char *s = strrchr(text, ')');
    if (k < 3 || !s)
        return k == 1 ? strtoull(text, NULL, 10) : 0;
    s += 2; /* field 3 */
    for (int i = 3; i < k; i++)
        s = strchr(s, ' ') + 1;
    return strtoull(s, NULL, 10);
}

/* Field k (0-based) of /proc/PID/statm. */
static long statm_field(const char *text, int k)
{
    char *s = (char *)text;
    long v = 0;
    for (int i = 0; i <= k; i++)
        v = strtol(s, &s, 10);
    return v;
}

/* The line of maps (or smaps header) for [start, end), or NULL. */
static const char *area_line(const char *text, unsigned long start, unsigned long end)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "%08lx-%08lx ", start, end);
    for (const char *line = text; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : 0)
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            return line;
    return NULL;
}

/* Prints the smaps values of [start, end) that Linux makes exact for private anonymous
 * memory. */
static void print_smaps(const char *what, unsigned long start, unsigned long end)
{
    static const char *const keys[] = {
        "Size",         "Rss",           "Pss",           "Pss_Dirty",  "Shared_Clean",
        "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced", "Anonymous",
        "Swap",         "SwapPss",       "Locked",
    };
    const char *entry = area_line(smaps, start, end);
    if (!entry) {
        printf("smaps %s: no entry\n", what);
        return;
    }
    const char *body = strchr(entry, '\n') + 1;
    printf("smaps %s:", what);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        printf(" %s %ld kB", keys[i], field(body, keys[i]));
    printf("\n");
}

/* Prints the permissions and the rest of the maps line of [start, end). */
static void print_maps(const char *what, unsigned long start, unsigned long end)
{
    const char *line = area_line(maps, start, end);
    if (!line) {
        printf("maps %s: no line\n", what);
        return;
    }
    const char *rest = strchr(line, ' ') + 1;
    int len = (int)(strchr(rest, '\n') - rest);
    while (len > 0 && rest[len - 1] == ' ')
        len--;
    printf("maps %s: %.*s\n", what, len, rest);
}

/* A CPUID feature bit and its /proc/cpuinfo name. */
struct feature {
    unsigned leaf; /* CPUID leaf (subleaf 0) */
    int reg;       /* 0 EAX, 1 EBX, 2 ECX, 3 EDX */
    int bit;       /* bit in that register */
    const char *name;
};

static const struct feature features[] = {
    {1, 3, 0, "fpu"},          {1, 3, 4, "tsc"},
    {1, 3, 8, "cx8"},          {1, 3, 15, "cmov"},
    {1, 3, 23, "mmx"},         {1, 3, 25, "sse"},
    {1, 3, 26, "sse2"},        {1, 2, 0, "pni"},
    {1, 2, 1, "pclmulqdq"},    {1, 2, 9, "ssse3"},
    {1, 2, 12, "fma"},         {1, 2, 13, "cx16"},
    {1, 2, 19, "sse4_1"},      {1, 2, 20, "sse4_2"},
    {1, 2, 22, "movbe"},       {1, 2, 23, "popcnt"},
    {1, 2, 25, "aes"},         {1, 2, 26, "xsave"},
    {1, 2, 28, "avx"},         {1, 2, 29, "f16c"},
    {1, 2, 30, "rdrand"},      {7, 1, 3, "bmi1"},
    {7, 1, 5, "avx2"},         {7, 1, 8, "bmi2"},
    {7, 1, 9, "erms"},         {7, 1, 16, "avx512f"},
    {7, 1, 18, "rdseed"},      {7, 1, 19, "adx"},
    {7, 1, 29, "sha_ni"},      {0x80000001, 3, 11, "syscall"},
    {0x80000001, 3, 20, "nx"}, {0x80000001, 3, 27, "rdtscp"},
    {0x80000001, 3, 29, "lm"}, {0x80000001, 2, 0, "lahf_lm"},
    {0x80000001, 2, 5, "abm"},
};

/* Prints "present: NAME..." and "absent: NAME..." for the features above. */
static int print_cpuid_features(void)
{
    unsigned max = __get_cpuid_max(0, NULL), max_ext = __get_cpuid_max(0x80000000, NULL);
    for (int want = 1; want >= 0; want--) {
        printf("%s:", want ? "present" : "absent");
        for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
            const struct feature *f = &features[i];
            unsigned r[4] = {0, 0, 0, 0};
            if (f->leaf < 0x80000000 ? f->leaf <= max : f->leaf <= max_ext)
                __cpuid_count(f->leaf, 0, r[0], r[1], r[2], r[3]);
            if ((int)(r[f->reg] >> f->bit & 1) == want)
                printf(" %s", f->name);
        }
        printf("\n");
    }
    return 0;
}

int main(int argc, char **argv)
{
    char exe[PATH_MAX], real[PATH_MAX], magic[4];

    if (argc > 1 && strcmp(argv[1], "cpuid") == 0)
        return print_cpuid_features();

    /* Touch every buffer so that reading the files faults nothing in later. */
    char *bufs[] = {status0, status1, stat0, stat1, statm0, statm1, smaps, maps};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        memset(bufs[i], 1, FILE_SIZE);

    slurp("/proc/self/status", status0);
    slurp("/proc/self/stat", stat0);
    slurp("/proc/self/statm", statm0);

    char *guard = mmap(NULL, (NPAGES + 2) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *zero = mmap(NULL, NREAD * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (guard == MAP_FAILED || zero == MAP_FAILED)
        return 3;
    char *mem = guard + PAGE;
    if (mprotect(mem, NPAGES * PAGE, PROT_READ | PROT_WRITE) != 0)
        return 4;
    madvise(guard, (NPAGES + 2) * PAGE, MADV_NOHUGEPAGE); /* one fault per page */
    for (int i = 0; i < NPAGES; i++)
        mem[i * PAGE] = (char)i;
    unsigned sum = 0;
    for (int i = 0; i < NREAD; i++)
        sum += *(volatile char *)(zero + i * PAGE);

    slurp("/proc/self/status", status1);
    slurp("/proc/self/stat", stat1);
    slurp("/proc/self/statm", statm1);
    slurp("/proc/self/smaps", smaps);
    slurp("/proc/self/maps", maps);

    printf("zero pages read as %u\n", sum);
    const char *vm[] = {"VmSize", "VmRSS", "RssAnon", "RssShmem", "VmData", "VmSwap"};
    for (size_t i = 0; i < sizeof(vm) / sizeof(vm[0]); i++)
        printf("status %s delta: %ld kB\n", vm[i], field(status1, vm[i]) - field(status0, vm[i]));
    printf("status Pid is getpid: %s\n", field(status1, "Pid") == getpid() ? "yes" : "no");
    printf("status PPid is getppid: %s\n", field(status1, "PPid") == getppid() ? "yes" : "no");
    printf("status Threads: %ld\n", field(status1, "Threads"));
    printf("status VmHWM >= VmRSS: %s\n",
           field(status1, "VmHWM") >= field(status1, "VmRSS") ? "yes" : "no");

    printf("stat pid is getpid: %s\n",
           stat_field(stat1, 1) == (unsigned long long)getpid() ? "yes" : "no");
    printf("stat state: %c\n", *(strrchr(stat1, ')') + 2));
    printf("stat minflt delta >= %d: %s\n", NPAGES + NREAD,
           stat_field(stat1, 10) - stat_field(stat0, 10) >= NPAGES + NREAD ? "yes" : "no");
    printf("stat num_threads: %llu\n", stat_field(stat1, 20));
    printf("stat vsize delta: %llu\n", stat_field(stat1, 23) - stat_field(stat0, 23));
    printf("stat vsize is statm size: %s\n",
           stat_field(stat1, 23) == (unsigned long long)statm_field(statm1, 0) * PAGE ? "yes"
                                                                                      : "no");

    const char *statm_names[] = {"size", "resident", "shared", "text", "lib", "data"};
    for (int i = 0; i < 6; i++)
        if (i != 2 && i != 3)
            printf("statm %s delta: %ld\n", statm_names[i],
                   statm_field(statm1, i) - statm_field(statm0, i));

    unsigned long g = (unsigned long)guard, m = (unsigned long)mem, z = (unsigned long)zero;
    print_smaps("written", m, m + NPAGES * PAGE);
    print_smaps("guard", g, g + PAGE);
    print_smaps("read-only", z, z + NREAD * PAGE);
    print_maps("written", m, m + NPAGES * PAGE);
    print_maps("guard", g, g + PAGE);
    print_maps("read-only", z, z + NREAD * PAGE);

    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    printf("exe is the program: %s\n",
           n > 0 && realpath(argv[0], real) && strcmp(exe, real) == 0 ? "yes" : "no");
    int fd = open("/proc/self/exe", O_RDONLY);
    printf("exe starts with ELF magic: %s\n",
           fd >= 0 && read(fd, magic, 4) == 4 && memcmp(magic, "\177ELF", 4) == 0 ? "yes" : "no");
    if (fd >= 0)
        close(fd);

    slurp("/proc/self/comm", status0);
    printf("comm: %s", status0);
    printf("status Name is comm: %s\n",
           strncmp(strstr(status1, "Name:\t") + 6, status0, strlen(status0)) == 0 ? "yes" : "no");
    int fdc = open("/proc/self/cmdline", O_RDONLY);
    n = fdc >= 0 ? read(fdc, stat0, FILE_SIZE - 1) : -1;
    for (ssize_t i = 0; i < n; i++)
        if (stat0[i] == '\0')
            stat0[i] = '|';
    printf("cmdline: %.*s\n", (int)(n > 0 ? n : 0), stat0);
    return 0;
}
