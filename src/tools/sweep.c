/* vmemu sweep: runs one program once per (replacement policy, memory size) cell, each run a
 * child `vmemu --mem M --policy P --report TMPFILE ... -- PROGRAM ARGS` (fork/execv of the
 * running vmemu), up to -j cells at a time. It reads each cell's counters back from its
 * --report JSON with jansson, then prints
 * one table in a fixed order (policy by policy, sizes in the order given) whatever order the
 * cells finished in, the Belady's-anomaly notes, and optionally a CSV file. Temporary files
 * live under $TMPDIR or /tmp and are removed as soon as each cell has been read.
 * Called by main.c for `vmemu sweep ...` (sweep_main). This file has the usage, the option
 * parsing and sweep_main; sweep_run.c runs the cells, sweep_table.c prints the results. */
#include "vmemu/sweep.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sweep_int.h"
#include "vmemu/reclaim.h"
#include "vmemu/tlb.h"
#include "vmemu/util.h"

#define SWEEP_EXIT_FAILED 1 /* a cell did not run, or the CSV or HTML was not written */
#define SWEEP_EXIT_USAGE  2 /* bad command line */

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
            "  --html FILE        also write an HTML page to FILE: faults and run time\n"
            "                     against memory size, one line per policy, Belady's\n"
            "                     anomalies marked, and the table\n"
            "  -j, --jobs N       runs at a time (default: the number of online CPUs)\n"
            "  --swap SIZE, --seed N, --tlb E[xW][,E[xW]], --zero-page MODE\n"
            "                   passed to every run (see vmemu --help)\n"
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
        OPT_HTML,
        OPT_SWAP,
        OPT_SWAP_FILE,
        OPT_SEED,
        OPT_TLB,
        OPT_ZERO_PAGE,
        OPT_HELP
    };
    static const struct option opts[] = {
        {"mem", required_argument, NULL, OPT_MEM},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"csv", required_argument, NULL, OPT_CSV},
        {"html", required_argument, NULL, OPT_HTML},
        {"jobs", required_argument, NULL, 'j'},
        {"swap", required_argument, NULL, OPT_SWAP},
        {"swap-file", required_argument, NULL, OPT_SWAP_FILE},
        {"seed", required_argument, NULL, OPT_SEED},
        {"tlb", required_argument, NULL, OPT_TLB},
        {"zero-page", required_argument, NULL, OPT_ZERO_PAGE},
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
        case OPT_HTML:
            sw->html = optarg;
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
            if (tlb_parse_geometries(optarg, &entries, &ways, &entries, &ways) < 0)
                return sweep_usage_error("--tlb %s: expected ENTRIES or ENTRIESxWAYS, powers "
                                         "of two, such as 64x4",
                                         optarg);
            sweep_pass(sw, "--tlb", optarg);
            break;
        case OPT_ZERO_PAGE:
            if (strcmp(optarg, "host") != 0 && strcmp(optarg, "on") != 0 &&
                strcmp(optarg, "off") != 0)
                return sweep_usage_error("--zero-page %s: expected host, on or off", optarg);
            sweep_pass(sw, "--zero-page", optarg);
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
    long *prev = NULL;
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
    prev = calloc(sw.ncells, sizeof(*prev));
    if (sw.cells == NULL || order == NULL || prev == NULL) {
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
    sweep_print_notes(stdout, &sw, order, prev);
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
    if (sw.html != NULL && (rc = sweep_write_html(sw.html, &sw, order, prev)) < 0) {
        fprintf(stderr, "vmemu: sweep: cannot write %s: %s\n", sw.html, strerror(-rc));
        status = SWEEP_EXIT_FAILED;
    }
out:
    if (csv != NULL)
        fclose(csv);
    free(prev);
    free(order);
    sweep_free(&sw);
    return status;
}
