/* The results of `vmemu sweep`: the table in a fixed order (policy by policy, sizes in the
 * order given) whatever order the cells finished in, the Belady's-anomaly notes, the CSV
 * file, the failed cells' stderr, and the freeing of the sweep; the counters' report paths
 * and column names. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sweep_int.h"
#include "vmemu/reclaim.h"

const struct sweep_counter_info sweep_counters[CNT_COUNT] = {
    [CNT_MINOR] = {"processes.0.faults.minor", "minor", "minor"},
    [CNT_MAJOR] = {"processes.0.faults.major", "major", "major"},
    [CNT_SWAP_IN] = {"processes.0.faults.swap_in", "swap-in", "swap_in"},
    [CNT_FILE_MAJOR] = {"processes.0.faults.file_major", "file-read", "file_major"},
    [CNT_SWAP_OUTS] = {"paging.swap_outs", "swap-outs", "swap_outs"},
    [CNT_WRITEBACKS] = {"paging.file_writebacks", "writebacks", "file_writebacks"},
    [CNT_EVICTIONS] = {"paging.evictions", "evictions", "evictions"},
    [CNT_REFAULT_PERMILLE] = {"processes.0.refault_permille", "refault\u2030", "refault_permille"},
};

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
void sweep_print_table(FILE *out, const struct sweep *sw)
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

/* Finds Belady's anomalies: wherever one policy's major faults rise with memory (which
 * fifo can show and lru, a stack algorithm, should not). Each size is compared with the
 * next smaller size given (in bytes) that has a report, so a curve with one rise gives one
 * anomaly however many sizes it spans. Runs that ended with different exit statuses are
 * not compared: a run cut short (OOM kill) is not one with fewer faults. Fills order with
 * the sizes' indexes by increasing bytes (equal sizes in the order given) and prev[cell]
 * with the index of the smaller cell it has more major faults than, or -1. */
void sweep_anomalies(const struct sweep *sw, size_t *order, long *prev)
{
    for (size_t i = 0; i < sw->nmems; i++) {
        size_t k = i;

        for (; k > 0 && sw->mem_bytes[order[k - 1]] > sw->mem_bytes[i]; k--)
            order[k] = order[k - 1];
        order[k] = i;
    }
    for (size_t i = 0; i < sw->ncells; i++)
        prev[i] = -1;
    for (size_t p = 0; p < sw->npolicies; p++) {
        const struct sweep_cell *row = &sw->cells[p * sw->nmems], *s = NULL;

        for (size_t i = 0; i < sw->nmems; i++) {
            const struct sweep_cell *b = &row[order[i]];

            if (!b->has_report)
                continue;
            if (s != NULL && s->mem_bytes < b->mem_bytes && s->status == b->status &&
                b->count[CNT_MAJOR] > s->count[CNT_MAJOR])
                prev[b - sw->cells] = s - sw->cells;
            if (s == NULL || s->mem_bytes < b->mem_bytes)
                s = b;
        }
    }
}

/* Prints a note for every Belady's anomaly (see sweep_anomalies), policy by policy, sizes
 * by increasing bytes. order and prev are scratch space for sw->nmems and sw->ncells
 * entries. */
void sweep_print_notes(FILE *out, const struct sweep *sw, size_t *order, long *prev)
{
    sweep_anomalies(sw, order, prev);
    for (size_t p = 0; p < sw->npolicies; p++) {
        for (size_t i = 0; i < sw->nmems; i++) {
            const struct sweep_cell *b = &sw->cells[p * sw->nmems + order[i]], *s;

            if (prev[b - sw->cells] < 0)
                continue;
            s = &sw->cells[prev[b - sw->cells]];
            fprintf(out,
                    "note: Belady's anomaly: %s has more major faults with %s (%" PRIu64
                    ") than with %s (%" PRIu64 ")\n",
                    reclaim_policy_name(b->policy), b->mem, b->count[CNT_MAJOR], s->mem,
                    s->count[CNT_MAJOR]);
        }
    }
}

/* Writes the results as CSV to f: a heading line, then one line per cell in table order.
 * The counters of a cell without a report, and the exit status and time of one that did
 * not start, are empty fields. Returns 0 or -EIO. */
int sweep_write_csv(FILE *f, const struct sweep *sw)
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
size_t sweep_print_failures(const struct sweep *sw)
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

void sweep_free(struct sweep *sw)
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
