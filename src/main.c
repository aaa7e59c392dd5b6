/* vmemu's front end: parses the command line, sets up the machine (frame pool, CPU), runs
 * the program in a process, prints the requested reports and exits with the guest's
 * status as a shell would show it. The only place that exits. */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "vmemu/gdbstub.h"
#include "vmemu/heapcheck.h"
#include "vmemu/heapprof.h"
#include "vmemu/maps_table.h"
#include "vmemu/proc.h"
#include "vmemu/html.h"
#include "vmemu/report.h"
#include "vmemu/timeline.h"
#include "vmemu/run.h"
#include "vmemu/sched.h"
#include "vmemu/sweep.h"
#include "vmemu/thp.h"
#include "vmemu/util.h"

#define DEFAULT_MEM       (4ULL << 30)
#define DEFAULT_TLB       64
#define DEFAULT_TLB_WAYS  4
#define EXIT_USAGE        2
#define EXIT_NOT_RUNNABLE 126
#define EXIT_NOT_FOUND    127

extern char **environ;

/* Everything the command line says. */
struct cli {
    uint64_t mem;               /* --mem */
    unsigned tlb_entries;       /* --tlb */
    unsigned tlb_ways;          /* --tlb */
    unsigned tlb_huge_entries;  /* --tlb, after the comma: the 2 MiB array */
    unsigned tlb_huge_ways;     /* --tlb */
    bool stats;                 /* --stats */
    const char *report;         /* --report FILE */
    uint64_t timeline;          /* --timeline N: faults between timeline samples (0: events
                                   only) */
    const char *html;           /* --html FILE */
    bool trace;                 /* --trace */
    bool maps;                  /* --maps */
    uint64_t swap;              /* --swap (SWAP_DEFAULT_MAX when not given) */
    const char *swap_file;      /* --swap-file */
    enum reclaim_policy policy; /* --policy */
    uint64_t seed;              /* --seed */
    unsigned check;             /* --check heap[,guard]: CHECK_* bits */
    bool profile_heap;          /* --profile heap */
    int error_exitcode;         /* --error-exitcode N, -1 when not given */
    int gdb_port;               /* --gdb PORT, 0 when not given */
    bool deterministic;         /* --deterministic */
    int zero_page;              /* --zero-page: -1 host (default), 1 on, 0 off */
    const char *thp;            /* --thp always|madvise|never, NULL: host (the default) */
    uint64_t hugetlb;           /* --hugetlb N: 2 MiB pages set aside for MAP_HUGETLB */
    char **argv;                /* program and its arguments */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vmemu [OPTIONS] PROGRAM [ARGS...]\n"
            "       vmemu sweep --mem SIZES [--policy NAMES] [--csv FILE] [--html FILE] PROGRAM\n"
            "                   [ARGS...]\n"
            "       vmemu html REPORT.json FILE   draw a saved --report as the --html page\n"
            "Runs a static x86-64 Linux program on vmemu's own virtual-memory system.\n"
            "  --mem SIZE       frame pool size, K/M/G suffixes (default 4G)\n"
            "  --swap SIZE      swap area size; 0 = no swap (default: grown on demand\n"
            "                   up to 4G in a temporary file removed at exit)\n"
            "  --swap-file PATH keep the swap area in PATH (created or truncated, kept)\n"
            "  --policy NAME    page replacement: fifo, clock, lru, random (default clock)\n"
            "  --seed N         seed of the random policy and of --deterministic\n"
            "                   (default 1)\n"
            "  --tlb E[xW][,E[xW]]\n"
            "                   vmemu TLB: E entries, W ways for 4 KiB pages (default\n"
            "                   64x4), then for 2 MiB pages (default 32x4)\n"
            "  --stats          print a fault and memory summary on stderr at exit\n"
            "  --report FILE    write the JSON report to FILE at exit\n"
            "  --html FILE      write the report as one self-contained HTML page with\n"
            "                   charts (faults and memory over time, address space,\n"
            "                   process tree, crash) to FILE at exit\n"
            "  --timeline N     the report's timeline samples every process every N page\n"
            "                   faults of the machine at first (default 1; 512 samples\n"
            "                   per process at most, then N doubles), and at each fork,\n"
            "                   exec and exit; 0: at those events only\n"
            "  --trace          print each syscall and each signal delivered on stderr,\n"
            "                   strace-style\n"
            "  --maps           print the memory map on stderr at exit\n"
            "  --check heap[,guard]\n"
            "                   replace the program's malloc family by vmemu's checking\n"
            "                   allocator (needs symbols): every load and store checked\n"
            "                   to the byte (overflows, use after free, at the instruction),\n"
            "                   bad frees, leaks; guard: each block against a guard page,\n"
            "                   accesses left to the MMU (faster, page-granular)\n"
            "  --profile heap   observe the program's own malloc family (needs symbols):\n"
            "                   heap over time, the peak and its allocation sites, page\n"
            "                   faults and resident pages per site (stderr at exit, and\n"
            "                   \"heap_profile\" in --report)\n"
            "  --error-exitcode N  exit with N when the heap checker found errors\n"
            "  --gdb PORT       wait for gdb on 127.0.0.1:PORT (target remote :PORT)\n"
            "  --zero-page host|on|off\n"
            "                   map the shared zero page on a read fault of untouched\n"
            "                   anonymous memory as the host's kernel does (default), always\n"
            "                   or never\n"
            "  --thp host|always|madvise|never\n"
            "                   transparent huge pages for anonymous memory: as the\n"
            "                   host's /sys/kernel/mm/transparent_hugepage/enabled says\n"
            "                   (default; madvise when it cannot be read), or forced\n"
            "  --hugetlb N      set aside N 2 MiB pages for MAP_HUGETLB, SHM_HUGETLB and\n"
            "                   MFD_HUGETLB (default 0: they fail with ENOMEM)\n"
            "  --deterministic  the guest's clocks advance with its work, and its random\n"
            "                   bytes come from --seed: runs of programs that decide by\n"
            "                   time or chance (Go's runtime) repeat exactly\n"
            "  --help, --version\n");
}

/* Parses argv into cli. Returns 0, 1 (help/version printed) or -EINVAL (message printed). */
static int parse_cli(int argc, char **argv, struct cli *cli)
{
    enum {
        OPT_MEM = 256,
        OPT_TLB,
        OPT_STATS,
        OPT_REPORT,
        OPT_TIMELINE,
        OPT_HTML,
        OPT_TRACE,
        OPT_MAPS,
        OPT_SWAP,
        OPT_SWAP_FILE,
        OPT_POLICY,
        OPT_SEED,
        OPT_CHECK,
        OPT_PROFILE,
        OPT_ERROR_EXITCODE,
        OPT_GDB,
        OPT_DETERMINISTIC,
        OPT_ZERO_PAGE,
        OPT_THP,
        OPT_HUGETLB,
        OPT_HELP,
        OPT_VERSION
    };
    static const struct option opts[] = {
        {"mem", required_argument, NULL, OPT_MEM},
        {"tlb", required_argument, NULL, OPT_TLB},
        {"stats", no_argument, NULL, OPT_STATS},
        {"report", required_argument, NULL, OPT_REPORT},
        {"timeline", required_argument, NULL, OPT_TIMELINE},
        {"html", required_argument, NULL, OPT_HTML},
        {"trace", no_argument, NULL, OPT_TRACE},
        {"maps", no_argument, NULL, OPT_MAPS},
        {"swap", required_argument, NULL, OPT_SWAP},
        {"swap-file", required_argument, NULL, OPT_SWAP_FILE},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"seed", required_argument, NULL, OPT_SEED},
        {"check", required_argument, NULL, OPT_CHECK},
        {"profile", required_argument, NULL, OPT_PROFILE},
        {"error-exitcode", required_argument, NULL, OPT_ERROR_EXITCODE},
        {"gdb", required_argument, NULL, OPT_GDB},
        {"deterministic", no_argument, NULL, OPT_DETERMINISTIC},
        {"zero-page", required_argument, NULL, OPT_ZERO_PAGE},
        {"thp", required_argument, NULL, OPT_THP},
        {"hugetlb", required_argument, NULL, OPT_HUGETLB},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    int c;
    uint64_t num;
    *cli = (struct cli){.mem = DEFAULT_MEM,
                        .tlb_entries = DEFAULT_TLB,
                        .tlb_ways = DEFAULT_TLB_WAYS,
                        .tlb_huge_entries = TLB_HUGE_ENTRIES,
                        .tlb_huge_ways = TLB_HUGE_WAYS,
                        .swap = SWAP_DEFAULT_MAX,
                        .policy = RECLAIM_DEFAULT_POLICY,
                        .seed = RECLAIM_DEFAULT_SEED,
                        .zero_page = -1,
                        .timeline = TIMELINE_DEFAULT_INTERVAL,
                        .error_exitcode = -1};
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case OPT_MEM:
            if (parse_size(optarg, &cli->mem) < 0 || cli->mem < (64ULL << 10)) {
                fprintf(stderr,
                        "vmemu: --mem %s: expected a size of at least 64K "
                        "such as 256M or 4G\n",
                        optarg);
                return -EINVAL;
            }
            break;
        case OPT_TLB:
            if (tlb_parse_geometries(optarg, &cli->tlb_entries, &cli->tlb_ways,
                                     &cli->tlb_huge_entries, &cli->tlb_huge_ways) < 0) {
                fprintf(stderr,
                        "vmemu: --tlb %s: expected ENTRIES or ENTRIESxWAYS, powers of "
                        "two, such as 64x4, optionally ,ENTRIESxWAYS for 2 MiB pages\n",
                        optarg);
                return -EINVAL;
            }
            break;
        case OPT_STATS:
            cli->stats = true;
            break;
        case OPT_REPORT:
            cli->report = optarg;
            break;
        case OPT_TIMELINE:
            if (parse_u64(optarg, &cli->timeline) < 0 || cli->timeline > (1ULL << 40)) {
                fprintf(stderr, "vmemu: --timeline %s: expected a number of faults (0 to 2^40)\n",
                        optarg);
                return -EINVAL;
            }
            break;
        case OPT_HTML:
            cli->html = optarg;
            break;
        case OPT_TRACE:
            cli->trace = true;
            break;
        case OPT_MAPS:
            cli->maps = true;
            break;
        case OPT_SWAP:
            if (parse_size_or_zero(optarg, &cli->swap) < 0) {
                fprintf(stderr, "vmemu: --swap %s: expected a size such as 64M or 0\n", optarg);
                return -EINVAL;
            }
            break;
        case OPT_SWAP_FILE:
            cli->swap_file = optarg;
            break;
        case OPT_POLICY:
            if (reclaim_policy_parse(optarg, &cli->policy) < 0) {
                fprintf(stderr, "vmemu: --policy %s: expected fifo, clock, lru or random\n",
                        optarg);
                return -EINVAL;
            }
            break;
        case OPT_SEED:
            if (parse_u64(optarg, &cli->seed) < 0) {
                fprintf(stderr, "vmemu: --seed %s: expected a non-negative integer\n", optarg);
                return -EINVAL;
            }
            break;
        case OPT_CHECK:
            if (strcmp(optarg, "heap") == 0) {
                cli->check = CHECK_HEAP;
            } else if (strcmp(optarg, "heap,guard") == 0) {
                cli->check = CHECK_HEAP | CHECK_GUARD;
            } else {
                fprintf(stderr, "vmemu: --check %s: expected heap or heap,guard\n", optarg);
                return -EINVAL;
            }
            break;
        case OPT_PROFILE:
            if (strcmp(optarg, "heap") != 0) {
                fprintf(stderr, "vmemu: --profile %s: expected heap\n", optarg);
                return -EINVAL;
            }
            cli->profile_heap = true;
            break;
        case OPT_ERROR_EXITCODE:
            if (parse_u64(optarg, &num) < 0 || num > 255) {
                fprintf(stderr, "vmemu: --error-exitcode %s: expected 0 to 255\n", optarg);
                return -EINVAL;
            }
            cli->error_exitcode = (int)num;
            break;
        case OPT_GDB:
            if (parse_u64(optarg, &num) < 0 || num == 0 || num > 65535) {
                fprintf(stderr, "vmemu: --gdb %s: expected a TCP port (1 to 65535)\n", optarg);
                return -EINVAL;
            }
            cli->gdb_port = (int)num;
            break;
        case OPT_DETERMINISTIC:
            cli->deterministic = true;
            break;
        case OPT_ZERO_PAGE:
            if (strcmp(optarg, "host") != 0 && strcmp(optarg, "on") != 0 &&
                strcmp(optarg, "off") != 0) {
                fprintf(stderr, "vmemu: --zero-page %s: expected host, on or off\n", optarg);
                return -EINVAL;
            }
            cli->zero_page = optarg[0] == 'h' ? -1 : strcmp(optarg, "on") == 0;
            break;
        case OPT_THP: {
            enum thp_mode mode;
            if (strcmp(optarg, "host") != 0 && thp_mode_parse(optarg, &mode) < 0) {
                fprintf(stderr, "vmemu: --thp %s: expected host, always, madvise or never\n",
                        optarg);
                return -EINVAL;
            }
            cli->thp = strcmp(optarg, "host") == 0 ? NULL : optarg;
            break;
        }
        case OPT_HUGETLB: {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-') {
                fprintf(stderr, "vmemu: --hugetlb %s: expected a number of 2 MiB pages\n", optarg);
                return -EINVAL;
            }
            cli->hugetlb = n;
            break;
        }
        case OPT_HELP:
            usage(stdout);
            return 1;
        case OPT_VERSION:
            printf("vmemu " VMEMU_VERSION " on %s\n", cpu_engine_name());
            return 1;
        default:
            fprintf(stderr, "vmemu: unknown option %s (see vmemu --help)\n", argv[optind - 1]);
            return -EINVAL;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "vmemu: no program given (see vmemu --help)\n");
        return -EINVAL;
    }
    if (cli->check && cli->profile_heap) {
        fprintf(stderr, "vmemu: --check heap and --profile heap cannot be used together\n");
        return -EINVAL;
    }
    cli->argv = &argv[optind];
    return 0;
}

/* --html: the page of the run of s, drawn from its JSON report. Returns 0 or -errno. */
static int write_html(const char *path, const struct sched *s)
{
    json_t *tree = report_json_build(s);
    int rc;

    if (tree == NULL)
        return -ENOMEM;
    rc = report_html(path, tree);
    json_decref(tree);
    return rc;
}

/* The program's path: as given when it contains a slash, else searched in PATH as a shell
 * (and strace) would. Returns a string to free, or NULL when not found. */
static char *find_program(const char *name)
{
    if (strchr(name, '/'))
        return strdup(name);
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t dlen = colon ? (size_t)(colon - path) : strlen(path);
        char *cand = malloc(dlen + strlen(name) + 3);
        if (!cand)
            return NULL;
        sprintf(cand, "%.*s/%s", (int)dlen, dlen ? path : ".", name);
        struct stat st;
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode))
            return cand;
        free(cand);
        path += dlen + (colon ? 1 : 0);
    }
    return strdup(name);
}

/* The output file path as an absolute path in buf (size n): a relative one is taken from
 * vmemu's starting directory, not from wherever the guest's chdir left the host's current
 * directory at exit. Returns path itself when it is absolute or cannot be resolved. */
static const char *output_path(const char *path, char *buf, size_t n)
{
    char cwd[PATH_MAX];

    if (path == NULL || path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL ||
        snprintf(buf, n, "%s/%s", cwd, path) >= (int)n)
        return path;
    return buf;
}

/* Whether the output file path (of option opt) can be written, found out before the guest
 * runs, as /usr/bin/time -o does: the file is created when missing, never truncated here.
 * Returns 0, or -errno with one line on stderr. */
static int output_writable(const char *opt, const char *path)
{
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666) : -1;

    if (path == NULL)
        return 0;
    if (fd < 0) {
        int e = errno;
        fprintf(stderr, "vmemu: %s %s: %s\n", opt, path, strerror(e));
        return -e;
    }
    close(fd);
    return 0;
}

/* `vmemu html REPORT.json FILE`: the --html page of a saved --report. Returns the exit
 * status: 0, 1 (the report cannot be read or the page written), 2 (usage). */
static int html_main(int argc, char **argv)
{
    json_error_t err;
    json_t *tree;
    int rc;

    if (argc != 4) {
        fprintf(stderr, "usage: vmemu html REPORT.json FILE\n");
        return 2;
    }
    tree = json_load_file(argv[2], 0, &err);
    if (tree == NULL) {
        if (err.line > 0)
            fprintf(stderr, "vmemu: html: %s: %s (line %d)\n", argv[2], err.text, err.line);
        else
            fprintf(stderr, "vmemu: html: %s\n", err.text);
        return 1;
    }
    rc = report_html(argv[3], tree);
    json_decref(tree);
    if (rc < 0) {
        fprintf(stderr, "vmemu: html: cannot write %s: %s\n", argv[3],
                rc == -EINVAL ? "the report is not a JSON object" : strerror(-rc));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cli;
    if (argc > 1 && strcmp(argv[1], "html") == 0)
        return html_main(argc, argv);
    if (argc > 1 && strcmp(argv[1], "sweep") == 0) {
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0) {
            fprintf(stderr, "vmemu: sweep: cannot find the vmemu executable\n");
            return 1;
        }
        self[n] = '\0';
        return sweep_main(argc - 1, argv + 1, self);
    }
    int rc = parse_cli(argc, argv, &cli);
    if (rc != 0)
        return rc > 0 ? 0 : EXIT_USAGE;
    static char report_path[PATH_MAX + 256], html_path[PATH_MAX + 256];
    cli.report = output_path(cli.report, report_path, sizeof(report_path));
    cli.html = output_path(cli.html, html_path, sizeof(html_path));
    if (output_writable("--report", cli.report) < 0 || output_writable("--html", cli.html) < 0)
        return EXIT_USAGE;

    static struct vmsys sys;
    if ((rc = vmsys_init(&sys, cli.mem, cli.tlb_entries, cli.tlb_ways)) < 0) {
        fprintf(stderr, "vmemu: cannot create a %llu-byte frame pool: %s\n",
                (unsigned long long)cli.mem, strerror(-rc));
        return 1;
    }
    if ((rc = phys_hugetlb_init(&sys.phys, cli.hugetlb)) < 0) {
        fprintf(stderr, "vmemu: --hugetlb %llu: the %llu-byte frame pool cannot hold them\n",
                (unsigned long long)cli.hugetlb, (unsigned long long)cli.mem);
        vmsys_destroy(&sys);
        return 1;
    }
    if ((rc = tlb_init_huge(&sys.tlb, cli.tlb_huge_entries, cli.tlb_huge_ways)) < 0) {
        fprintf(stderr, "vmemu: cannot create the 2 MiB TLB: %s\n", strerror(-rc));
        vmsys_destroy(&sys);
        return 1;
    }
    if ((rc = vmsys_setup_paging(&sys, cli.policy, cli.seed, cli.swap, cli.swap_file)) < 0) {
        fprintf(stderr, "vmemu: cannot create the swap file %s: %s\n",
                cli.swap_file ? cli.swap_file : "(temporary)", strerror(-rc));
        vmsys_destroy(&sys);
        return 1;
    }
    if (cli.deterministic)
        entropy_seed(&sys.entropy, cli.seed);
    sys.zero_page_host = cli.zero_page < 0;
    sys.no_zero_page = cli.zero_page < 0 ? !vmsys_host_maps_zero_page() : cli.zero_page == 0;
    if (cli.thp)
        (void)thp_mode_parse(cli.thp, &sys.thp_mode); /* checked by parse_cli */
    else if (thp_host_mode(&sys.thp_mode) == 0)
        sys.thp_mode_from = THP_FROM_HOST;
    else
        sys.thp_mode_from = THP_FROM_DEFAULT; /* and thp_mode stays THP_MADVISE */
    struct cpu *cpu = NULL;
    if (cpu_create(&sys, &cpu) < 0) {
        vmsys_destroy(&sys);
        return 1;
    }
    struct run_options opt = {.trace = cli.trace ? stderr : NULL,
                              .maps_at_exit = cli.maps,
                              .check = cli.check,
                              .observer = cli.check          ? &heapcheck_observer
                                          : cli.profile_heap ? &heapprof_observer
                                                             : NULL,
                              .gdb_port = cli.gdb_port,
                              .virtual_clock = cli.deterministic,
                              .realtime_start = -1};
    /* The reproducible-builds convention: a fixed wall clock for repeatable output. */
    const char *epoch = getenv("SOURCE_DATE_EPOCH");
    uint64_t epoch_s;
    if (cli.deterministic && epoch && parse_u64(epoch, &epoch_s) == 0 && epoch_s < (1ULL << 33))
        opt.realtime_start = (int64_t)epoch_s;
    struct sched sched;
    sched_init(&sched, &sys, cpu, &opt);
    if ((cli.check & CHECK_HEAP) && !(cli.check & CHECK_GUARD) &&
        (rc = heapcheck_watch(cpu, &sched)) < 0) {
        fprintf(stderr, "vmemu: cannot watch the heap checker's area: %s\n", strerror(-rc));
        cpu_destroy(cpu);
        vmsys_destroy(&sys);
        return 1;
    }
    struct proc *p = NULL;
    if ((rc = proc_create(&sys, cpu, &opt, &p)) < 0 || (rc = sched_add(&sched, p)) < 0) {
        fprintf(stderr, "vmemu: cannot create the process: %s\n", strerror(-rc));
        proc_destroy(p);
        cpu_destroy(cpu);
        vmsys_destroy(&sys);
        return 1;
    }
    /* A guest writing to a pipe nobody reads gets EPIPE (and its own SIGPIPE from vmemu). */
    signal(SIGPIPE, SIG_IGN);
    char *path = find_program(cli.argv[0]);
    char err[512] = "";
    int status;
    struct timeline *tl = NULL;
    rc = path ? proc_exec(p, path, cli.argv, environ, err, sizeof(err)) : -ENOMEM;
    if (rc == 0 && (cli.report || cli.html) && timeline_attach(&sched, cli.timeline, &tl) < 0)
        fprintf(stderr, "vmemu: no memory for the timeline: the report has none\n");
    if (rc < 0) {
        fprintf(stderr, "vmemu: %s\n", err[0] ? err : strerror(-rc));
        status = (rc == -ENOENT) ? EXIT_NOT_FOUND : EXIT_NOT_RUNNABLE;
    } else if (cli.gdb_port && (rc = gdbstub_open(cli.gdb_port, &sched, &sched.gdb)) < 0) {
        fprintf(stderr, "vmemu: --gdb %d: %s\n", cli.gdb_port, strerror(-rc));
        status = 1;
    } else if (run_all(&sched) < 0) {
        fprintf(stderr, "vmemu: the CPU failed while running %s\n", path);
        status = 1;
    } else {
        fflush(stdout);
        if (cli.maps && p->term_signal == 0) /* a crash report already holds the table */
            maps_print(stderr, p);
        if (cli.report && (rc = report_json_all(cli.report, &sched)) < 0)
            fprintf(stderr, "vmemu: cannot write %s: %s\n", cli.report, strerror(-rc));
        if (cli.html && (rc = write_html(cli.html, &sched)) < 0)
            fprintf(stderr, "vmemu: cannot write %s: %s\n", cli.html, strerror(-rc));
        if (cli.stats) /* after the report: its timeline's cost is in the summary */
            report_stats_all(stderr, &sched);
        status = proc_wait_status(p);
        if (cli.error_exitcode >= 0 && sched.check_errors > 0)
            status = cli.error_exitcode;
    }
    timeline_detach(tl);
    gdbstub_close(sched.gdb);
    free(path);
    sched_destroy(&sched);
    cpu_destroy(cpu);
    vmsys_destroy(&sys);
    return status;
}
