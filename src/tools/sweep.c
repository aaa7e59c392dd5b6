/* vmemu sweep: runs one program once per (replacement policy, memory size) cell, each run a
 * child `vmemu --mem M --policy P --report TMPFILE ... -- PROGRAM ARGS` (fork/execv of the
 * running vmemu), up to -j cells at a time. It reads each cell's counters back from its
 * --report JSON with a small line reader (report.c writes one member per line), then prints
 * one table in a fixed order (policy by policy, sizes in the order given) whatever order the
 * cells finished in, the Belady's-anomaly notes, and optionally a CSV file. Temporary files
 * live under $TMPDIR or /tmp and are removed as soon as each cell has been read.
 * Called by main.c for `vmemu sweep ...` (sweep_main). */
#include "vmemu/sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmemu/reclaim.h"
#include "vmemu/tlb.h"
#include "vmemu/util.h"

#define SWEEP_EXIT_FAILED 1    /* a cell did not run, or the CSV was not written */
#define SWEEP_EXIT_USAGE  2    /* bad command line */
#define SWEEP_TAIL_BYTES  2048 /* how much of a failed cell's stderr is kept */
#define SWEEP_TAIL_LINES  8    /* ... and how many of its last lines are shown */
#define REPORT_MAX_DEPTH  16   /* nesting the report reader follows */
#define REPORT_PATH_MAX   256  /* longest member path it follows ("processes.0.faults.minor") */

/* The counters of a cell, read from its report: the table's and the CSV's columns between
 * "exit" and "time". A key the report does not have reads as 0. */
enum sweep_counter {
    CNT_MINOR,
    CNT_MAJOR,
    CNT_SWAP_IN,
    CNT_FILE_MAJOR,
    CNT_SWAP_OUTS,
    CNT_WRITEBACKS,
    CNT_EVICTIONS,
    CNT_REFAULT_PERMILLE,
    CNT_COUNT
};

static const struct {
    const char *path;    /* member path in the report: object keys and array indexes */
    const char *heading; /* table column heading */
    const char *csv;     /* CSV column name */
} sweep_counters[CNT_COUNT] = {
    [CNT_MINOR] = {"processes.0.faults.minor", "minor", "minor"},
    [CNT_MAJOR] = {"processes.0.faults.major", "major", "major"},
    [CNT_SWAP_IN] = {"processes.0.faults.swap_in", "swap-in", "swap_in"},
    [CNT_FILE_MAJOR] = {"processes.0.faults.file_major", "file-read", "file_major"},
    [CNT_SWAP_OUTS] = {"paging.swap_outs", "swap-outs", "swap_outs"},
    [CNT_WRITEBACKS] = {"paging.file_writebacks", "writebacks", "file_writebacks"},
    [CNT_EVICTIONS] = {"paging.evictions", "evictions", "evictions"},
    [CNT_REFAULT_PERMILLE] = {"processes.0.refault_permille", "refault\u2030", "refault_permille"},
};

/* Present in every report vmemu writes: a report is whole when it has this member and its
 * closing brace. */
#define REPORT_MARKER_PATH "processes.0.exit_status"

/* One run: a policy at a memory size. */
struct sweep_cell {
    enum reclaim_policy policy; /* --policy of the run */
    const char *mem;            /* --mem of the run, as given on the command line */
    uint64_t mem_bytes;         /* the same in bytes */
    pid_t pid;                  /* the running child; 0 before and after */
    uint64_t start_ns;          /* host time when it was started */
    uint64_t wall_ns;           /* host time from start to exit */
    int status;                 /* shell-style exit status (128+N for signal N); -1 when the
                                   child could not be started */
    bool has_report;            /* its report was read: counters are valid */
    uint64_t count[CNT_COUNT];  /* counters from the report */
    char *report;               /* temporary report file, or NULL when none exists */
    int err_fd;                 /* the child's stderr (an unlinked temporary file), or -1 */
    char *err_tail;             /* last lines of its stderr when it failed, or NULL */
};

/* The whole sweep: the command line and the cells. */
struct sweep {
    const char *self;              /* the vmemu executable run for each cell */
    char **mems;                   /* --mem sizes, as given */
    uint64_t *mem_bytes;           /* the same in bytes */
    size_t nmems;                  /* number of sizes */
    enum reclaim_policy *policies; /* --policy, in the order given */
    size_t npolicies;              /* number of policies */
    char *mem_list;                /* storage of mems (the --mem string, split) */
    const char *csv;               /* --csv FILE, or NULL */
    unsigned jobs;                 /* -j: cells run at a time */
    const char *pass[6];           /* pass-through options and their values (each once) */
    size_t npass;                  /* used entries of pass */
    char **prog;                   /* PROGRAM ARGS..., NULL-terminated */
    struct sweep_cell *cells;      /* npolicies * nmems cells, policy-major */
    size_t ncells;                 /* number of cells */
    const char *tmpdir;            /* $TMPDIR or /tmp */
};

static void sweep_usage(FILE *out)
{
    fprintf(out,
            "usage: vmemu sweep --mem SIZES [--policy NAMES] [OPTIONS] PROGRAM [ARGS...]\n"
            "Runs PROGRAM under vmemu once per replacement policy and memory size, several\n"
            "runs at a time, and prints a table of each run's faults and wall time: policy by\n"
            "policy, the sizes in the order given.\n"
            "  --mem A,B,...      frame pool sizes, K/M/G suffixes (required), e.g. 4M,8M,16M\n"
            "  --policy P,Q,...   fifo, clock, lru, random (default: all four)\n"
            "  --csv FILE         also write the results to FILE as CSV\n"
            "  -j, --jobs N       runs at a time (default: the number of online CPUs)\n"
            "  --swap SIZE, --seed N, --tlb E[xW]   passed to every run (see vmemu --help)\n"
            "  --help\n"
            "Columns: exit status of the program; minor and major page faults; major faults\n"
            "split into swap-in and file-read; pages written to swap; dirty file pages written\n"
            "back; frames evicted; refaults per 1000 faults (thrashing indicator); wall time.\n"
            "A run that could not start or wrote no report shows \"-\" counts (exit status 1).\n"
            "A note names every Belady's anomaly: a larger size with more major faults than a\n"
            "smaller one for the same policy (among runs with the same exit status).\n");
}

/* Prints a usage error (one line, after "vmemu: sweep: ") and returns SWEEP_EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) static int sweep_usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("vmemu: sweep: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see vmemu sweep --help)\n", stderr);
    return SWEEP_EXIT_USAGE;
}

/* Reports that the sweep ran out of host memory and returns SWEEP_EXIT_FAILED. */
static int sweep_out_of_memory(void)
{
    fputs("vmemu: sweep: out of memory\n", stderr);
    return SWEEP_EXIT_FAILED;
}

/* Splits a comma-separated list into a new NULL-terminated array of its items (stored in
 * *storage, a copy of list). Returns the number of items, 0 when an item is empty, or -1
 * when out of memory. */
static long split_list(const char *list, char **storage, char ***items)
{
    size_t n = 1;
    char *s = strdup(list);

    *storage = s;
    *items = NULL;
    if (s == NULL)
        return -1;
    for (const char *c = s; *c != '\0'; c++)
        n += *c == ',';
    *items = calloc(n + 1, sizeof(**items));
    if (*items == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char *comma = strchr(s, ',');

        if (comma != NULL)
            *comma = '\0';
        if (*s == '\0')
            return 0;
        (*items)[i] = s;
        s = comma != NULL ? comma + 1 : s + strlen(s);
    }
    return (long)n;
}

/* Parses --mem A,B,... into sw. Returns 0, or SWEEP_EXIT_USAGE or SWEEP_EXIT_FAILED (out of
 * memory) with a message printed. */
static int sweep_parse_mems(struct sweep *sw, const char *arg)
{
    long n = split_list(arg, &sw->mem_list, &sw->mems);

    if (n < 0)
        return sweep_out_of_memory();
    if (n == 0)
        return sweep_usage_error("--mem %s: expected sizes such as 4M,8M,16M", arg);
    sw->nmems = (size_t)n;
    sw->mem_bytes = calloc(sw->nmems, sizeof(*sw->mem_bytes));
    if (sw->mem_bytes == NULL)
        return sweep_out_of_memory();
    for (size_t i = 0; i < sw->nmems; i++) {
        if (parse_size(sw->mems[i], &sw->mem_bytes[i]) < 0)
            return sweep_usage_error("--mem %s: bad size %s, expected sizes such as 4M,8M,16M", arg,
                                     sw->mems[i]);
    }
    return 0;
}

/* Parses --policy P,Q,... into sw. Returns 0, or SWEEP_EXIT_USAGE or SWEEP_EXIT_FAILED (out
 * of memory) with a message printed. */
static int sweep_parse_policies(struct sweep *sw, const char *arg)
{
    char *storage, **names;
    long n = split_list(arg, &storage, &names);
    int rc = 0;

    if (n <= 0) {
        rc = n < 0 ? sweep_out_of_memory()
                   : sweep_usage_error("--policy %s: expected names such as fifo,clock,lru", arg);
        goto out;
    }
    free(sw->policies);
    sw->policies = calloc((size_t)n, sizeof(*sw->policies));
    if (sw->policies == NULL) {
        rc = sweep_out_of_memory();
        goto out;
    }
    sw->npolicies = (size_t)n;
    for (size_t i = 0; i < sw->npolicies; i++) {
        if (reclaim_policy_parse(names[i], &sw->policies[i]) < 0) {
            rc = sweep_usage_error("--policy %s: unknown policy %s, expected fifo, clock, "
                                   "lru or random",
                                   arg, names[i]);
            goto out;
        }
    }
out:
    free(names);
    free(storage);
    return rc;
}

/* Adds a pass-through option and its value to sw->pass, or replaces its earlier value. */
static void sweep_pass(struct sweep *sw, const char *opt, const char *value)
{
    size_t i = 0;

    while (i < sw->npass && strcmp(sw->pass[i], opt) != 0)
        i += 2;
    VMEMU_BUG_ON(i + 2 > sizeof(sw->pass) / sizeof(sw->pass[0]));
    sw->pass[i] = opt;
    sw->pass[i + 1] = value;
    if (i == sw->npass)
        sw->npass += 2;
}

/* Parses the sweep's command line (argv[0] is "sweep") into sw. Returns 0, -1 when --help
 * was printed, or SWEEP_EXIT_USAGE (one line printed; SWEEP_EXIT_FAILED when out of memory). */
static int sweep_parse(struct sweep *sw, int argc, char **argv)
{
    enum {
        OPT_MEM = 256,
        OPT_POLICY,
        OPT_CSV,
        OPT_SWAP,
        OPT_SWAP_FILE,
        OPT_SEED,
        OPT_TLB,
        OPT_HELP
    };
    static const struct option opts[] = {
        {"mem", required_argument, NULL, OPT_MEM},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"csv", required_argument, NULL, OPT_CSV},
        {"jobs", required_argument, NULL, 'j'},
        {"swap", required_argument, NULL, OPT_SWAP},
        {"swap-file", required_argument, NULL, OPT_SWAP_FILE},
        {"seed", required_argument, NULL, OPT_SEED},
        {"tlb", required_argument, NULL, OPT_TLB},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    uint64_t v;
    uint64_t bytes;
    unsigned entries, ways;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int c, rc;

    sw->jobs = cpus > 0 ? (unsigned)cpus : 1;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:j:", opts, NULL)) != -1) {
        switch (c) {
        case OPT_MEM:
            free(sw->mems);
            free(sw->mem_list);
            free(sw->mem_bytes);
            sw->mems = NULL;
            sw->mem_list = NULL;
            sw->mem_bytes = NULL;
            if ((rc = sweep_parse_mems(sw, optarg)) != 0)
                return rc;
            break;
        case OPT_POLICY:
            if ((rc = sweep_parse_policies(sw, optarg)) != 0)
                return rc;
            break;
        case OPT_CSV:
            sw->csv = optarg;
            break;
        case 'j':
            if (parse_u64(optarg, &v) < 0 || v == 0 || v > 4096)
                return sweep_usage_error("-j %s: expected a number of runs from 1 to 4096", optarg);
            sw->jobs = (unsigned)v;
            break;
        case OPT_SWAP:
            if (parse_size_or_zero(optarg, &bytes) < 0)
                return sweep_usage_error("--swap %s: expected a size such as 64M (0: no swap)",
                                         optarg);
            sweep_pass(sw, "--swap", optarg);
            break;
        case OPT_SWAP_FILE:
            return sweep_usage_error("--swap-file %s: not allowed, the runs would share one "
                                     "swap file",
                                     optarg);
        case OPT_SEED:
            if (parse_u64(optarg, &v) < 0)
                return sweep_usage_error("--seed %s: expected a whole number", optarg);
            sweep_pass(sw, "--seed", optarg);
            break;
        case OPT_TLB:
            if (tlb_parse_geometry(optarg, &entries, &ways) < 0)
                return sweep_usage_error("--tlb %s: expected ENTRIES or ENTRIESxWAYS, powers "
                                         "of two, such as 64x4",
                                         optarg);
            sweep_pass(sw, "--tlb", optarg);
            break;
        case OPT_HELP:
            sweep_usage(stdout);
            return -1;
        case ':':
            return sweep_usage_error("option %s needs a value", argv[optind - 1]);
        default:
            return sweep_usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    if (sw->mems == NULL)
        return sweep_usage_error("%s", "--mem SIZES is required, e.g. --mem 4M,8M,16M");
    if (optind >= argc)
        return sweep_usage_error("%s", "no program given");
    sw->prog = &argv[optind];
    if (sw->policies == NULL) {
        sw->policies = calloc(POLICY_COUNT, sizeof(*sw->policies));
        if (sw->policies == NULL)
            return sweep_out_of_memory();
        for (int p = 0; p < POLICY_COUNT; p++)
            sw->policies[sw->npolicies++] = (enum reclaim_policy)p;
    }
    return 0;
}

/* Where the report reader is: the member path of the innermost open object or array. */
struct report_reader {
    char path[REPORT_PATH_MAX];   /* path of the innermost open container ("" at the top) */
    size_t len[REPORT_MAX_DEPTH]; /* strlen(path) of each open container */
    long index[REPORT_MAX_DEPTH]; /* next element index of an open array; -1 for an object */
    int depth;                    /* open containers (beyond REPORT_MAX_DEPTH: not followed) */
    bool marker;                  /* REPORT_MARKER_PATH was read */
    bool closed;                  /* the document's closing brace was read */
};

/* Reads one line of a report: `"key": value` in an object, a value in an array, or a
 * closing bracket; a value may open an object or array. A number whose path is one of
 * sweep_counters is stored in cell. Strings (argv, command, ...) are never looked into. */
static void report_read_line(struct report_reader *r, const char *line, struct sweep_cell *cell)
{
    const char *s = line + strspn(line, " \t");
    char name[32], full[REPORT_PATH_MAX + sizeof(name) + 1];
    int d = r->depth;

    if (*s == '}' || *s == ']') {
        if (d > 0 && --r->depth > 0 && r->depth <= REPORT_MAX_DEPTH)
            r->path[r->len[r->depth - 1]] = '\0';
        r->closed |= d == 1;
        return;
    }
    if (d > REPORT_MAX_DEPTH) {
        r->depth += (*s == '{' || *s == '[') && s[1] != '}' && s[1] != ']';
        return;
    }
    if (d == 0) {
        name[0] = '\0';
    } else if (r->index[d - 1] >= 0) {
        snprintf(name, sizeof(name), "%ld", r->index[d - 1]++);
    } else if (*s == '"') { /* the keys vmemu writes are plain words: no escapes */
        const char *end = strchr(s + 1, '"');

        if (end == NULL || end[1] != ':')
            return;
        snprintf(name, sizeof(name), "%.*s", (int)(end - s - 1), s + 1);
        s = end + 2 + strspn(end + 2, " ");
    } else {
        return;
    }
    snprintf(full, sizeof(full), "%s%s%s", r->path, r->path[0] != '\0' ? "." : "", name);
    if ((*s == '{' || *s == '[') && s[1] != '}' && s[1] != ']') {
        r->depth++;
        if (d < REPORT_MAX_DEPTH) {
            /* a path too long to keep is cut: it then matches no counter */
            snprintf(r->path, sizeof(r->path), "%.*s", REPORT_PATH_MAX - 1, full);
            r->len[d] = strlen(r->path);
            r->index[d] = *s == '[' ? 0 : -1;
        }
        return;
    }
    r->marker |= strcmp(full, REPORT_MARKER_PATH) == 0;
    for (int i = 0; i < CNT_COUNT; i++) {
        if (strcmp(full, sweep_counters[i].path) == 0)
            cell->count[i] = strtoull(s, NULL, 10);
    }
}

/* Reads cell's report file into its counters. Leaves cell->has_report false when the file
 * cannot be read or does not hold a whole report. */
static void sweep_read_report(struct sweep_cell *cell)
{
    struct report_reader r = {.depth = 0};
    FILE *f = fopen(cell->report, "re");
    char *line = NULL;
    size_t cap = 0;

    if (f == NULL)
        return;
    while (getline(&line, &cap, f) >= 0)
        report_read_line(&r, line, cell);
    free(line);
    fclose(f);
    cell->has_report = r.marker && r.closed;
}

/* Keeps the last SWEEP_TAIL_LINES lines of what the cell wrote on stderr in
 * cell->err_tail (NULL when it wrote nothing). */
static void sweep_read_err_tail(struct sweep_cell *cell)
{
    char buf[SWEEP_TAIL_BYTES + 1];
    struct stat st;
    off_t off;
    ssize_t n;
    char *start;
    int lines = 0;

    if (fstat(cell->err_fd, &st) < 0 || st.st_size == 0)
        return;
    off = st.st_size > SWEEP_TAIL_BYTES ? st.st_size - SWEEP_TAIL_BYTES : 0;
    n = pread(cell->err_fd, buf, SWEEP_TAIL_BYTES, off);
    if (n <= 0)
        return;
    while (n > 0 && buf[n - 1] == '\n')
        n--;
    buf[n] = '\0';
    start = buf + n;
    while (start > buf && lines < SWEEP_TAIL_LINES) {
        start--;
        if (*start == '\n' && ++lines == SWEEP_TAIL_LINES)
            start++;
    }
    if (off > 0 && start == buf) /* the first line was cut: drop it */
        start = strchr(buf, '\n') != NULL ? strchr(buf, '\n') + 1 : buf;
    cell->err_tail = strdup(start);
}

/* Makes a temporary file under sw->tmpdir (close-on-exec). Stores its name (to free) in
 * *name unless name is NULL, in which case the file is unlinked at once. Returns its
 * descriptor or -errno. */
static int sweep_tmpfile(const struct sweep *sw, char **name)
{
    char *path = malloc(strlen(sw->tmpdir) + sizeof("/vmemu-sweep-XXXXXX"));
    int fd;

    if (path == NULL)
        return -ENOMEM;
    sprintf(path, "%s/vmemu-sweep-XXXXXX", sw->tmpdir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        fd = -errno;
        free(path);
        return fd;
    }
    if (name != NULL) {
        *name = path;
    } else {
        unlink(path);
        free(path);
    }
    return fd;
}

/* Marks a cell that could not be started: status -1, and why in place of its stderr tail. */
static void sweep_cell_not_started(struct sweep_cell *cell, const char *what, int err)
{
    char msg[256];

    snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
    cell->status = -1;
    cell->err_tail = strdup(msg);
}

/* Starts the run of one cell: `self --mem M --policy P --report FILE [pass-through] --
 * PROGRAM ARGS` with stdin and stdout on /dev/null and stderr in an unlinked temporary
 * file. argv is a scratch array of sw->npass + 10 + program-argument entries. Returns true
 * when the child was started; false (cell marked) when it could not be. */
static bool sweep_start(struct sweep *sw, struct sweep_cell *cell, char **argv)
{
    size_t n = 0;
    int fd;

    if ((fd = sweep_tmpfile(sw, &cell->report)) < 0) {
        sweep_cell_not_started(cell, "cannot create a temporary file", -fd);
        return false;
    }
    close(fd);
    if ((fd = sweep_tmpfile(sw, NULL)) < 0) {
        sweep_cell_not_started(cell, "cannot create a temporary file", -fd);
        return false;
    }
    cell->err_fd = fd;
    argv[n++] = (char *)sw->self;
    argv[n++] = "--mem";
    argv[n++] = (char *)cell->mem;
    argv[n++] = "--policy";
    argv[n++] = (char *)reclaim_policy_name(cell->policy);
    argv[n++] = "--report";
    argv[n++] = cell->report;
    for (size_t i = 0; i < sw->npass; i++)
        argv[n++] = (char *)sw->pass[i];
    argv[n++] = "--";
    for (char **a = sw->prog; *a != NULL; a++)
        argv[n++] = *a;
    argv[n] = NULL;

    cell->start_ns = now_ns();
    cell->pid = fork();
    if (cell->pid < 0) {
        cell->pid = 0;
        sweep_cell_not_started(cell, "fork", errno);
        return false;
    }
    if (cell->pid == 0) {
        int null;

        /* stderr first: err_fd may be 0 or 1 when sweep was started with those closed */
        if (cell->err_fd == STDERR_FILENO ? fcntl(STDERR_FILENO, F_SETFD, 0) < 0
                                          : dup2(cell->err_fd, STDERR_FILENO) < 0)
            _exit(127);
        null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
            _exit(127);
        execv(sw->self, argv);
        dprintf(STDERR_FILENO, "vmemu: sweep: cannot run %s: %s\n", sw->self, strerror(errno));
        _exit(127);
    }
    return true;
}

/* Waits for one of the running cells to end and reads its results. Returns the cell, or
 * NULL when no child is left (it should not happen: a bookkeeping error). */
static struct sweep_cell *sweep_reap(struct sweep *sw)
{
    struct sweep_cell *cell = NULL;
    int st;
    pid_t pid;

    do {
        pid = waitpid(-1, &st, 0);
    } while (pid < 0 && errno == EINTR);
    if (pid < 0)
        return NULL;
    for (size_t i = 0; i < sw->ncells && cell == NULL; i++) {
        if (sw->cells[i].pid == pid)
            cell = &sw->cells[i];
    }
    if (cell == NULL) /* not one of ours (main.c started no other child) */
        return sweep_reap(sw);
    cell->wall_ns = now_ns() - cell->start_ns;
    cell->pid = 0;
    cell->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    sweep_read_report(cell);
    unlink(cell->report);
    free(cell->report);
    cell->report = NULL;
    if (!cell->has_report)
        sweep_read_err_tail(cell);
    close(cell->err_fd);
    cell->err_fd = -1;
    return cell;
}

/* Runs every cell, at most sw->jobs at a time. Returns 0, or -ENOMEM (nothing started). */
static int sweep_run(struct sweep *sw)
{
    size_t nargs = 0, next = 0, running = 0;
    char **argv;

    for (char **a = sw->prog; *a != NULL; a++)
        nargs++;
    argv = calloc(nargs + sw->npass + 10, sizeof(*argv));
    if (argv == NULL)
        return -ENOMEM;
    while (next < sw->ncells || running > 0) {
        while (running < sw->jobs && next < sw->ncells)
            running += sweep_start(sw, &sw->cells[next++], argv);
        if (running > 0 && sweep_reap(sw) != NULL)
            running--;
        else if (running > 0)
            break;
    }
    free(argv);
    return 0;
}

/* Display width of a UTF-8 string: its characters (the table has "‰"). */
static size_t display_width(const char *s)
{
    size_t w = 0;

    for (; *s != '\0'; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

#define SWEEP_COLUMNS (CNT_COUNT + 4) /* policy, mem, exit, counters, time */

/* The text of row's columns (row == NULL: the headings), in text[SWEEP_COLUMNS][32]. */
static void sweep_row_text(const struct sweep_cell *row, char text[SWEEP_COLUMNS][32])
{
    static const char *const first[] = {"policy", "mem", "exit"};
    uint64_t ms;

    if (row == NULL) {
        for (int i = 0; i < 3; i++)
            snprintf(text[i], 32, "%s", first[i]);
        for (int i = 0; i < CNT_COUNT; i++)
            snprintf(text[3 + i], 32, "%s", sweep_counters[i].heading);
        snprintf(text[SWEEP_COLUMNS - 1], 32, "time(s)");
        return;
    }
    snprintf(text[0], 32, "%s", reclaim_policy_name(row->policy));
    snprintf(text[1], 32, "%.31s", row->mem);
    if (row->status >= 0)
        snprintf(text[2], 32, "%d", row->status);
    else
        snprintf(text[2], 32, "-");
    for (int i = 0; i < CNT_COUNT; i++) {
        if (row->has_report)
            snprintf(text[3 + i], 32, "%" PRIu64, row->count[i]);
        else
            snprintf(text[3 + i], 32, "-");
    }
    ms = (row->wall_ns + 500000) / 1000000;
    if (row->status >= 0)
        snprintf(text[SWEEP_COLUMNS - 1], 32, "%" PRIu64 ".%03" PRIu64, ms / 1000, ms % 1000);
    else
        snprintf(text[SWEEP_COLUMNS - 1], 32, "-");
}

/* Prints one row of the table: policy and mem left-aligned, the rest right-aligned. */
static void sweep_print_row(FILE *out, char text[SWEEP_COLUMNS][32], const size_t *width)
{
    for (int i = 0; i < SWEEP_COLUMNS; i++) {
        size_t pad = width[i] - display_width(text[i]);

        if (i < 2)
            fprintf(out, "%s%*s", text[i], i + 1 < SWEEP_COLUMNS ? (int)pad + 2 : 0, "");
        else
            fprintf(out, "%*s%s%s", (int)pad, "", text[i], i + 1 < SWEEP_COLUMNS ? "  " : "");
    }
    fputc('\n', out);
}

/* Prints the table: a heading line, then one line per cell in cell order. */
static void sweep_print_table(FILE *out, const struct sweep *sw)
{
    char text[SWEEP_COLUMNS][32];
    size_t width[SWEEP_COLUMNS] = {0};

    for (size_t r = 0; r <= sw->ncells; r++) {
        sweep_row_text(r == 0 ? NULL : &sw->cells[r - 1], text);
        for (int i = 0; i < SWEEP_COLUMNS; i++) {
            if (display_width(text[i]) > width[i])
                width[i] = display_width(text[i]);
        }
    }
    for (size_t r = 0; r <= sw->ncells; r++) {
        sweep_row_text(r == 0 ? NULL : &sw->cells[r - 1], text);
        sweep_print_row(out, text, width);
    }
}

/* Prints a note wherever one policy's major faults rise with memory: Belady's anomaly
 * (which fifo can show and lru, a stack algorithm, should not). Each size is compared with
 * the next smaller size given (in bytes) that has a report, so a curve with one rise gives
 * one note however many sizes it spans. Runs that ended with different exit statuses are
 * not compared: a run cut short (OOM kill) is not one with fewer faults. order is scratch
 * space for sw->nmems indexes. */
static void sweep_print_notes(FILE *out, const struct sweep *sw, size_t *order)
{
    /* the sizes by increasing bytes, equal sizes in the order given */
    for (size_t i = 0; i < sw->nmems; i++) {
        size_t k = i;

        for (; k > 0 && sw->mem_bytes[order[k - 1]] > sw->mem_bytes[i]; k--)
            order[k] = order[k - 1];
        order[k] = i;
    }
    for (size_t p = 0; p < sw->npolicies; p++) {
        const struct sweep_cell *row = &sw->cells[p * sw->nmems], *s = NULL;

        for (size_t i = 0; i < sw->nmems; i++) {
            const struct sweep_cell *b = &row[order[i]];

            if (!b->has_report)
                continue;
            if (s != NULL && s->mem_bytes < b->mem_bytes && s->status == b->status &&
                b->count[CNT_MAJOR] > s->count[CNT_MAJOR])
                fprintf(out,
                        "note: Belady's anomaly: %s has more major faults with %s (%" PRIu64
                        ") than with %s (%" PRIu64 ")\n",
                        reclaim_policy_name(b->policy), b->mem, b->count[CNT_MAJOR], s->mem,
                        s->count[CNT_MAJOR]);
            if (s == NULL || s->mem_bytes < b->mem_bytes)
                s = b;
        }
    }
}

/* Writes the results as CSV to f: a heading line, then one line per cell in table order.
 * The counters of a cell without a report, and the exit status and time of one that did
 * not start, are empty fields. Returns 0 or -EIO. */
static int sweep_write_csv(FILE *f, const struct sweep *sw)
{
    fputs("policy,mem_bytes,exit_status", f);
    for (int i = 0; i < CNT_COUNT; i++)
        fprintf(f, ",%s", sweep_counters[i].csv);
    fputs(",wall_seconds\n", f);
    for (size_t r = 0; r < sw->ncells; r++) {
        const struct sweep_cell *c = &sw->cells[r];
        uint64_t ms = (c->wall_ns + 500000) / 1000000;

        fprintf(f, "%s,%" PRIu64 ",", reclaim_policy_name(c->policy), c->mem_bytes);
        if (c->status >= 0)
            fprintf(f, "%d", c->status);
        for (int i = 0; i < CNT_COUNT; i++) {
            if (c->has_report)
                fprintf(f, ",%" PRIu64, c->count[i]);
            else
                fputc(',', f);
        }
        if (c->status >= 0)
            fprintf(f, ",%" PRIu64 ".%03" PRIu64 "\n", ms / 1000, ms % 1000);
        else
            fputs(",\n", f);
    }
    return ferror(f) ? -EIO : 0;
}

/* Prints, on stderr, why each cell without a report failed: why it did not start, or its
 * exit status and the end of what it wrote on stderr. Returns the number of such cells. */
static size_t sweep_print_failures(const struct sweep *sw)
{
    size_t failed = 0;

    for (size_t r = 0; r < sw->ncells; r++) {
        const struct sweep_cell *c = &sw->cells[r];

        if (c->has_report)
            continue;
        failed++;
        if (c->status < 0) {
            fprintf(stderr, "vmemu: sweep: %s %s: not started: %s\n",
                    reclaim_policy_name(c->policy), c->mem,
                    c->err_tail != NULL ? c->err_tail : "out of memory");
            continue;
        }
        fprintf(stderr, "vmemu: sweep: %s %s: exit status %d, no report; its stderr:\n",
                reclaim_policy_name(c->policy), c->mem, c->status);
        if (c->err_tail == NULL) {
            fputs("    (nothing)\n", stderr);
            continue;
        }
        for (const char *l = c->err_tail; *l != '\0';) {
            size_t len = strcspn(l, "\n");

            fprintf(stderr, "    %.*s\n", (int)len, l);
            l += len + (l[len] == '\n');
        }
    }
    return failed;
}

static void sweep_free(struct sweep *sw)
{
    for (size_t i = 0; sw->cells != NULL && i < sw->ncells; i++) {
        if (sw->cells[i].err_fd >= 0)
            close(sw->cells[i].err_fd);
        if (sw->cells[i].report != NULL)
            unlink(sw->cells[i].report);
        free(sw->cells[i].report);
        free(sw->cells[i].err_tail);
    }
    free(sw->cells);
    free(sw->policies);
    free(sw->mems);
    free(sw->mem_bytes);
    free(sw->mem_list);
}

/* Runs `vmemu sweep` (argv[0] is "sweep"): parses the sweep's options, runs every (policy,
 * size) cell with the vmemu executable self, and prints the table, the Belady's-anomaly
 * notes and the failed cells' stderr; writes the CSV file when asked. Returns 0 when every
 * cell ran and wrote its report (whatever the program's own exit status), 1 when a cell
 * did not or the CSV file could not be written, 2 on a usage error (one line on stderr;
 * nothing run), 0 after --help. */
int sweep_main(int argc, char **argv, const char *self)
{
    struct sweep sw = {.self = self};
    FILE *csv = NULL;
    size_t *order = NULL;
    int rc = sweep_parse(&sw, argc, argv), status = 0;

    if (rc != 0) {
        sweep_free(&sw);
        return rc < 0 ? 0 : rc;
    }
    sw.tmpdir = getenv("TMPDIR");
    if (sw.tmpdir == NULL || sw.tmpdir[0] == '\0')
        sw.tmpdir = "/tmp";
    if (sw.csv != NULL && (csv = fopen(sw.csv, "we")) == NULL) {
        fprintf(stderr, "vmemu: sweep: cannot write %s: %s\n", sw.csv, strerror(errno));
        sweep_free(&sw);
        return SWEEP_EXIT_FAILED;
    }
    sw.ncells = sw.npolicies * sw.nmems;
    sw.cells = calloc(sw.ncells, sizeof(*sw.cells));
    order = calloc(sw.nmems, sizeof(*order));
    if (sw.cells == NULL || order == NULL) {
        status = sweep_out_of_memory();
        goto out;
    }
    for (size_t i = 0; i < sw.ncells; i++) {
        struct sweep_cell *c = &sw.cells[i];

        c->policy = sw.policies[i / sw.nmems];
        c->mem = sw.mems[i % sw.nmems];
        c->mem_bytes = sw.mem_bytes[i % sw.nmems];
        c->err_fd = -1;
    }
    if (sweep_run(&sw) < 0) {
        status = sweep_out_of_memory();
        goto out;
    }
    sweep_print_table(stdout, &sw);
    sweep_print_notes(stdout, &sw, order);
    fflush(stdout);
    if (sweep_print_failures(&sw) > 0)
        status = SWEEP_EXIT_FAILED;
    if (csv != NULL) {
        rc = sweep_write_csv(csv, &sw);
        if (fclose(csv) != 0 && rc == 0)
            rc = -errno;
        csv = NULL;
        if (rc < 0) {
            fprintf(stderr, "vmemu: sweep: cannot write %s: %s\n", sw.csv, strerror(-rc));
            status = SWEEP_EXIT_FAILED;
        }
    }
out:
    if (csv != NULL)
        fclose(csv);
    free(order);
    sweep_free(&sw);
    return status;
}
