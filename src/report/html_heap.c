/* The --html page's heap section, drawn from the report's "heap_profile" (--profile heap):
 * per profiled process, the heap in use over time (bytes against the allocator-call
 * sequence number, the peak marked) and the allocation sites that held the most at the
 * peak, with the page faults charged to each and its resident pages. No section when the
 * report has no profile. */
#include <stdlib.h>

#include "html_int.h"

#define HEAP_CHART_W 600 /* px of the heap chart */
#define HEAP_CHART_H 250
#define HEAP_SITES   10 /* sites listed per process */
#define HEAP_FRAMES  3  /* frames shown per site (all in its hover title) */

/* The total of the fault classes of obj (a site's "faults" or "metadata_faults"). */
static double faults_total(const json_t *obj)
{
    const char *key;
    const json_t *v;
    double n = 0;

    json_object_foreach ((json_t *)obj, key, v)
        n += json_is_number(v) ? json_number_value(v) : 0;
    return n;
}

/* Writes the classes of obj with a fault as "anon 12, cow 3" (or "none"). */
static void faults_text(FILE *f, const json_t *obj)
{
    const char *key;
    const json_t *v;
    bool any = false;

    json_object_foreach ((json_t *)obj, key, v) {
        if (!json_is_number(v) || json_number_value(v) <= 0)
            continue;
        fprintf(f, "%s", any ? ", " : "");
        html_text(f, key);
        fprintf(f, " %.0f", json_number_value(v));
        any = true;
    }
    if (!any)
        fputs("none", f);
}

/* Writes frame fr as "function+offset" (or its pc when it has no symbol). */
static void frame_text(FILE *f, const json_t *fr)
{
    const char *fn = html_str(fr, "function");

    if (fn == NULL) {
        html_text(f, html_str(fr, "pc"));
        return;
    }
    html_text(f, fn);
    fprintf(f, "+%.0f", html_num(fr, "offset"));
}

/* The chart of heap bytes over allocator calls of profile p, the peak ringed. */
static void heap_chart(FILE *f, const json_t *p, int pid)
{
    const json_t *samples = json_object_get(p, "timeline");
    const json_t *peak = json_object_get(p, "peak");
    size_t n = json_is_array(samples) ? json_array_size(samples) : 0;
    double x1 = 0, top = html_num(peak, "bytes");
    struct svg_chart c;
    char id[48], title[96], buf[32];

    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(samples, i);
        if (html_num(s, "call") > x1)
            x1 = html_num(s, "call");
        if (html_num(s, "bytes") > top)
            top = html_num(s, "bytes");
    }
    svg_axis_fit(&c.x, 0, x1, SVG_COUNT, "allocator calls so far");
    svg_axis_fit(&c.y, 0, top, SVG_BYTES, "heap in use (bytes asked for)");
    snprintf(id, sizeof(id), "heap-%d", pid);
    snprintf(title, sizeof(title), "heap in use of pid %d over time", pid);
    fputs("<div class=\"chart-box\">", f);
    svg_chart_begin(&c, f, HEAP_CHART_W, HEAP_CHART_H, "chart heap", id, title);
    fprintf(f,
            "<polyline data-series=\"heap\" data-points=\"%zu\" fill=\"none\" stroke=\"%s\" "
            "stroke-width=\"2\" points=\"",
            n, svg_palette[4]);
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(samples, i);
        fprintf(f, "%s%.1f,%.1f", i ? " " : "", svg_x(&c, html_num(s, "call")),
                svg_y(&c, html_num(s, "bytes")));
    }
    fputs("\"><title>heap in use</title></polyline>\n", f);
    if (peak != NULL)
        fprintf(f,
                "<circle class=\"peak\" cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"none\" "
                "stroke=\"%s\" stroke-width=\"2\"><title>peak: %s in %.0f blocks at call %.0f "
                "(fault %.0f)</title></circle>\n",
                svg_x(&c, html_num(peak, "call")), svg_y(&c, html_num(peak, "bytes")),
                svg_palette[5], svg_bytes(buf, sizeof(buf), html_num(peak, "bytes")),
                html_num(peak, "blocks"), html_num(peak, "call"), html_num(peak, "fault_seq"));
    svg_chart_end(&c);
    fputs("</div>\n", f);
}

/* A site and its sort keys. */
struct site_ref {
    double peak;     /* bytes it held at the peak */
    double faults;   /* faults charged to it */
    const json_t *s; /* the site */
};

/* Orders sites by their peak bytes, then by their faults, most first. */
static int by_peak(const void *a, const void *b)
{
    const struct site_ref *x = a, *y = b;

    if (x->peak != y->peak)
        return x->peak < y->peak ? 1 : -1;
    return (x->faults < y->faults) - (x->faults > y->faults);
}

/* One row of the sites table. */
static void site_row(FILE *f, const json_t *s)
{
    const json_t *frames = json_object_get(s, "frames");
    const json_t *faults = json_object_get(s, "faults");
    size_t nf = json_is_array(frames) ? json_array_size(frames) : 0;
    char buf[32];

    fputs("<tr class=\"site\"><td class=\"l\" title=\"", f);
    for (size_t i = 0; i < nf; i++) {
        fputs(i ? " &#8592; " : "", f);
        frame_text(f, json_array_get(frames, i));
    }
    fputs("\"><code>", f);
    for (size_t i = 0; i < nf && i < HEAP_FRAMES; i++) {
        fputs(i ? " &#8592; " : "", f);
        frame_text(f, json_array_get(frames, i));
    }
    fprintf(f, "%s</code></td><td>%s</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td title=\"",
            nf > HEAP_FRAMES ? " &#8592; ..." : "",
            svg_bytes(buf, sizeof(buf), html_num(s, "peak_bytes")), html_num(s, "peak_blocks"),
            html_num(s, "allocations"), faults_total(faults));
    faults_text(f, faults);
    fputs("\">", f);
    faults_text(f, faults);
    fprintf(f, "</td><td>%.0f</td><td>%.0f</td></tr>\n", html_num(s, "resident_pages_at_peak"),
            html_num(s, "resident_pages_at_exit"));
}

/* The table of the sites of profile p holding the most at the peak. */
static void heap_sites(FILE *f, const json_t *p, int pid)
{
    const json_t *sites = json_object_get(p, "sites");
    size_t n = json_is_array(sites) ? json_array_size(sites) : 0;
    struct site_ref *order = malloc((n ? n : 1) * sizeof(*order));

    if (order == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        const json_t *site = json_array_get(sites, i);
        order[i] = (struct site_ref){html_num(site, "peak_bytes"),
                                     faults_total(json_object_get(site, "faults")), site};
    }
    qsort(order, n, sizeof(*order), by_peak);
    fprintf(
        f,
        "<table id=\"heap-sites-%d\" class=\"heap-sites\"><caption>Allocation sites, most "
        "bytes at the peak first (%zu of %zu)</caption>\n<tr><th class=\"l\">site "
        "(innermost first)</th><th>at peak</th><th>blocks</th><th>allocations</th><th>faults</th>"
        "<th>by class</th><th>resident at peak</th><th>at exit</th></tr>\n",
        pid, n < HEAP_SITES ? n : HEAP_SITES, n);
    for (size_t i = 0; i < n && i < HEAP_SITES; i++)
        site_row(f, order[i].s);
    fprintf(f,
            "<tr class=\"alloc-meta\"><td class=\"l\">allocator metadata and free "
            "memory</td><td></td><td></td>"
            "<td></td><td>%.0f</td><td>",
            faults_total(json_object_get(p, "metadata_faults")));
    faults_text(f, json_object_get(p, "metadata_faults"));
    fputs("</td><td></td><td></td></tr>\n</table>\n", f);
    free(order);
}

/* Orders profiles by pid (the report lists them as they ended). */
static int by_pid(const void *a, const void *b)
{
    int x = html_int(*(const json_t *const *)a, "pid");
    int y = html_int(*(const json_t *const *)b, "pid");

    return (x > y) - (x < y);
}

/* See html_int.h. */
void html_heap(FILE *f, const json_t *r)
{
    const json_t *hp = json_object_get(r, "heap_profile");
    size_t n = json_is_array(hp) ? json_array_size(hp) : 0;
    const json_t **procs = malloc((n ? n : 1) * sizeof(*procs));
    char buf[32];

    if (n == 0 || procs == NULL) {
        free(procs);
        return;
    }
    for (size_t i = 0; i < n; i++)
        procs[i] = json_array_get(hp, i);
    qsort(procs, n, sizeof(*procs), by_pid);
    fputs("<section id=\"heap\"><h2>Heap profile</h2>\n", f);
    for (size_t i = 0; i < n && i < HTML_TIMELINE_MAX; i++) {
        const json_t *p = procs[i];
        const json_t *peak = json_object_get(p, "peak");
        int pid = html_int(p, "pid");

        fprintf(f,
                "<details data-pid=\"%d\"%s><summary>pid %d: peak %s in %.0f blocks, %.0f "
                "allocations, %.0f frees</summary>\n<div class=\"charts\">\n",
                pid, i < HTML_OPEN_PROCS ? " open" : "", pid,
                svg_bytes(buf, sizeof(buf), html_num(peak, "bytes")), html_num(peak, "blocks"),
                html_num(p, "allocations"), html_num(p, "frees"));
        heap_chart(f, p, pid);
        fputs("</div>\n", f);
        heap_sites(f, p, pid);
        fputs("</details>\n", f);
    }
    fputs("<p class=\"note\">From <code>--profile heap</code>: the program's own allocator "
          "observed. Left: the bytes its live blocks asked for, against the number of "
          "allocator calls so far; the ring is the peak. The table: the call stacks of "
          "<code>malloc</code>'s callers holding the most at the peak, the page faults taken "
          "on their blocks' memory (by class) and their resident pages at the peak and at "
          "exit; faults on memory no live block covered are the allocator's own.</p>"
          "</section>\n",
          f);
    free(procs);
}
