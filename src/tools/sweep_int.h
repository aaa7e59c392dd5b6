/* Inside `vmemu sweep`: what its files share. sweep.c (usage, options, sweep_main),
 * sweep_run.c (the children and their JSON reports) and sweep_table.c (the table, notes,
 * CSV, failures). Not for other modules: main.c uses vmemu/sweep.h. */
#ifndef VMEMU_SWEEP_INT_H
#define VMEMU_SWEEP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "vmemu/reclaim.h"

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

/* What each counter is: where the report has it and what the table and CSV call it. */
struct sweep_counter_info {
    const char *path;    /* member path in the report: object keys and array indexes */
    const char *heading; /* table column heading */
    const char *csv;     /* CSV column name */
};

/* The counters' paths and column names (sweep_table.c). */
extern const struct sweep_counter_info sweep_counters[CNT_COUNT];

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
    const char *html;              /* --html FILE, or NULL */
    unsigned jobs;                 /* -j: cells run at a time */
    const char *pass[6];           /* pass-through options and their values (each once) */
    size_t npass;                  /* used entries of pass */
    char **prog;                   /* PROGRAM ARGS..., NULL-terminated */
    struct sweep_cell *cells;      /* npolicies * nmems cells, policy-major */
    size_t ncells;                 /* number of cells */
    const char *tmpdir;            /* $TMPDIR or /tmp */
};

/* ---- sweep_run.c */

/* Runs every cell, at most sw->jobs at a time, and reads back each one's report (or, when
 * it wrote none, the end of its stderr). Returns 0, or -ENOMEM (nothing started). */
int sweep_run(struct sweep *sw);

/* ---- sweep_table.c */

/* Prints the table to out: a heading line, then one line per cell in cell order. */
void sweep_print_table(FILE *out, const struct sweep *sw);
/* Finds every Belady's anomaly: a size with more major faults than the next smaller size
 * of the same policy (runs with the same exit status). Fills order (sw->nmems entries)
 * with the size indexes by increasing bytes and prev (sw->ncells entries) with, for each
 * cell, the index of the smaller cell it has more major faults than, or -1. */
void sweep_anomalies(const struct sweep *sw, size_t *order, long *prev);
/* Prints to out a note for every Belady's anomaly (sweep_anomalies). order and prev are
 * scratch space for sw->nmems and sw->ncells entries. */
void sweep_print_notes(FILE *out, const struct sweep *sw, size_t *order, long *prev);
/* Writes the results as CSV to f: a heading line, then one line per cell in table order.
 * Returns 0 or -EIO. */
int sweep_write_csv(FILE *f, const struct sweep *sw);
/* Prints, on stderr, why each cell without a report failed. Returns the number of such
 * cells. */
size_t sweep_print_failures(const struct sweep *sw);
/* Frees what sw holds (not sw itself): closes the cells' stderr files, removes their
 * report files that are left. */
void sweep_free(struct sweep *sw);

/* ---- sweep_html.c */

/* Writes the sweep's HTML page to path: major and total faults against memory size, one
 * line per policy, Belady's anomalies marked (sweep_anomalies with order and prev), the
 * run time, and the table. Returns 0 or -errno. */
int sweep_write_html(const char *path, const struct sweep *sw, const size_t *order,
                     const long *prev);

#endif
