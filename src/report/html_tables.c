/* The summary tables of the --html page: what --stats prints, read from the JSON tree.
 * Faults by class (one column per process and the total), the TLB, paging (reclaim and
 * swap) and one row per process (status, faults, peak sizes, syscalls, run time). */
#include <inttypes.h>

#include "html_int.h"

/* Processes given a column of their own in the faults table; the per-process table lists
 * every one. */
#define TABLE_PROC_COLUMNS 8
/* Processes above which the per-process table is folded (<details>). */
#define TABLE_OPEN_ROWS    16

/* A right-aligned cell with the exact count v (tables are for exact numbers). */
static void cell_count(FILE *f, double v)
{
    fprintf(f, "<td>%.0f</td>", v);
}

/* A cell with a number of pages and its size. */
static void cell_pages(FILE *f, double pages)
{
    char buf[32];

    fprintf(f, "<td title=\"%.0f pages\">%s</td>", pages,
            svg_bytes(buf, sizeof(buf), pages * 4096));
}

/* Faults by class: rows are the classes of the totals' "faults" object. */
static void table_faults(FILE *f, const json_t *r)
{
    const json_t *procs = json_object_get(r, "processes");
    const json_t *totals = json_object_get(r, "totals");
    const json_t *classes = json_object_get(totals, "faults");
    size_t ncols =
        json_array_size(procs) < TABLE_PROC_COLUMNS ? json_array_size(procs) : TABLE_PROC_COLUMNS;
    const char *key;
    const json_t *v;
    size_t i;

    if (classes == NULL) /* a one-process report */
        classes = json_object_get(json_array_get(procs, 0), "faults");
    fputs("<table id=\"table-faults\"><caption>Page faults by class</caption>\n<tr><th "
          "class=\"l\">class</th>",
          f);
    for (i = 0; i < ncols; i++)
        fprintf(f, "<th>pid %.0f</th>", html_num(json_array_get(procs, i), "pid"));
    if (totals != NULL && json_array_size(procs) > 1)
        fputs("<th>all</th>", f);
    fputs("</tr>\n", f);
    json_object_foreach ((json_t *)classes, key, v) {
        if (json_number_value(v) == 0)
            continue; /* listed under the table */
        fputs("<tr><td class=\"l\">", f);
        html_text(f, key);
        fputs("</td>", f);
        for (i = 0; i < ncols; i++)
            cell_count(f, html_num(json_object_get(json_array_get(procs, i), "faults"), key));
        if (totals != NULL && json_array_size(procs) > 1)
            cell_count(f, json_number_value(v));
        fputs("</tr>\n", f);
    }
    fputs("<tr><td class=\"l zero\" colspan=\"10\">none of: ", f);
    i = 0;
    json_object_foreach ((json_t *)classes, key, v) {
        if (json_number_value(v) != 0)
            continue;
        fputs(i++ ? ", " : "", f);
        html_text(f, key);
    }
    fputs("</td></tr>\n</table>\n", f);
}

/* One row "name | value" of a two-column table. */
static void row(FILE *f, const char *name, double v)
{
    fputs("<tr><td class=\"l\">", f);
    html_text(f, name);
    fprintf(f, "</td><td>%.0f</td></tr>\n", v);
}

/* vmemu's TLB (machine-wide) and Unicorn's, from the first process's "tlb". */
static void table_tlb(FILE *f, const json_t *r)
{
    const json_t *tlb = json_object_get(json_array_get(json_object_get(r, "processes"), 0), "tlb");
    static const char *const keys[] = {"hits",    "misses",          "fills",    "invalidations",
                                       "flushes", "unicorn_flushes", "huge_hits"};
    double lookups = html_num(tlb, "hits") + html_num(tlb, "misses");

    fputs("<table id=\"table-tlb\"><caption>TLB</caption>\n<tr><th class=\"l\">counter</th>"
          "<th>count</th></tr>\n",
          f);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        row(f, keys[i], html_num(tlb, keys[i]));
    if (lookups > 0)
        fprintf(f, "<tr><td class=\"l\">hit rate</td><td>%.2f %%</td></tr>\n",
                100 * html_num(tlb, "hits") / lookups);
    fputs("</table>\n", f);
}

/* Reclaim and swap, from "paging" and "frames". */
static void table_paging(FILE *f, const json_t *r)
{
    const json_t *pg = json_object_get(r, "paging");
    const json_t *fr = json_object_get(r, "frames");
    static const char *const keys[] = {"evictions", "swap_outs",       "swap_clean",
                                       "swap_ins",  "file_writebacks", "file_dropped",
                                       "scans",     "skipped",         "peak_swap_pages"};

    fputs("<table id=\"table-paging\"><caption>Frames and paging</caption>\n<tr><th "
          "class=\"l\">counter</th><th>count</th></tr>\n",
          f);
    row(f, "frames", html_num(fr, "total"));
    row(f, "frames peak used", html_num(fr, "peak_used"));
    row(f, "page-cache pages", html_num(fr, "page_cache_pages"));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        row(f, keys[i], html_num(pg, keys[i]));
    fputs("</table>\n", f);
}

/* One row per process. */
static void table_procs(FILE *f, const json_t *r)
{
    size_t i;
    const json_t *p;
    char buf[32];

    size_t n = json_array_size(json_object_get(r, "processes"));

    if (n > TABLE_OPEN_ROWS)
        fprintf(f, "<details><summary>Processes: %zu (table)</summary>\n", n);
    fputs("<table id=\"table-procs\"><caption>Processes</caption>\n<tr><th>pid</th>"
          "<th>ppid</th><th class=\"l\">command</th><th>exit</th><th>minor</th><th>major</th>"
          "<th>COW copies</th><th>swap-ins</th><th>peak RSS</th><th>peak VSZ</th>"
          "<th>peak page tables</th><th>shared at exit</th><th>syscalls</th>"
          "<th>run time (host)</th></tr>\n",
          f);
    json_array_foreach (json_object_get(r, "processes"), i, p) {
        const json_t *fl = json_object_get(p, "faults");
        const json_t *sig = json_object_get(p, "signal");

        fprintf(f, "<tr><td>%.0f</td><td>%.0f</td><td class=\"l cmd\" title=\"", html_num(p, "pid"),
                html_num(p, "ppid"));
        html_text(f, html_str(p, "command"));
        fputs("\"><code>", f);
        html_text(f, html_str(p, "command"));
        fputs("</code></td>", f);
        if (json_is_integer(sig))
            fprintf(f, "<td>signal %" JSON_INTEGER_FORMAT "</td>", json_integer_value(sig));
        else
            cell_count(f, html_num(p, "exit_status"));
        cell_count(f, html_num(fl, "minor"));
        cell_count(f, html_num(fl, "major"));
        cell_count(f, html_num(fl, "cow"));
        cell_count(f, html_num(fl, "swap_in"));
        cell_pages(f, html_num(p, "peak_rss_pages"));
        cell_pages(f, html_num(p, "peak_vm_pages"));
        cell_count(f, html_num(p, "peak_page_table_pages"));
        cell_count(f, html_num(p, "shared_at_exit"));
        cell_count(f, html_num(p, "syscalls"));
        fprintf(f, "<td>%s</td></tr>\n",
                svg_value(buf, sizeof(buf), html_num(p, "run_ns") / 1e6, SVG_MS));
    }
    fputs("</table>\n", f);
    if (n > TABLE_OPEN_ROWS)
        fputs("</details>\n", f);
}

void html_tables(FILE *f, const json_t *r)
{
    const json_t *totals = json_object_get(r, "totals");

    fputs("<section id=\"summary\"><h2>Summary</h2>\n<div class=\"tables\">\n", f);
    table_faults(f, r);
    table_tlb(f, r);
    table_paging(f, r);
    fputs("</div>\n", f);
    table_procs(f, r);
    if (html_num(totals, "processes_not_listed") > 0)
        fprintf(f,
                "<p class=\"note\">%.0f more processes ended early and are only in the "
                "totals.</p>\n",
                html_num(totals, "processes_not_listed"));
    if (json_array_size(json_object_get(r, "processes")) > TABLE_PROC_COLUMNS)
        fprintf(f,
                "<p class=\"note\">The faults table shows the first %d processes and all "
                "of them; the process table has each one.</p>\n",
                TABLE_PROC_COLUMNS);
    fputs("<p class=\"note\">What <code>--stats</code> prints. minor and major are page faults "
          "as Linux counts them (the classes below them split them; <code>populate</code> and "
          "<code>exec</code> are not in them); TLB counters are vmemu's own TLB, machine-wide "
          "(fills: Unicorn's TLB misses, which depend on its size); peak sizes are the "
          "highest of the process; run time is host CPU time.</p></section>\n",
          f);
}
