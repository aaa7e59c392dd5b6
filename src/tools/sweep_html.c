/* The sweep's HTML page (vmemu sweep --html FILE): the fault curves a textbook draws,
 * major faults and all faults against memory size (a base-2 logarithmic axis at the sizes
 * run), one line per policy, each Belady's anomaly (more memory, more major faults) ringed;
 * the run time of each cell; then the sweep's table with the anomalous cells marked. One
 * self-contained file drawn with the report layer's svg helpers. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "sweep_int.h"
#include "vmemu/svg.h"

#define CHART_W 600 /* px: two charts side by side fit 1280 px */
#define CHART_H 300

/* What a chart plots of a cell. */
enum sweep_metric { METRIC_MAJOR, METRIC_TOTAL, METRIC_TIME };

/* The value of metric m for cell c (which has a report, or for time, a status). */
static double metric(const struct sweep_cell *c, enum sweep_metric m)
{
    if (m == METRIC_MAJOR)
        return (double)c->count[CNT_MAJOR];
    if (m == METRIC_TOTAL)
        return (double)(c->count[CNT_MAJOR] + c->count[CNT_MINOR]);
    return (double)c->wall_ns / 1e6;
}

/* Whether cell c has a value for metric m. */
static bool has_metric(const struct sweep_cell *c, enum sweep_metric m)
{
    return m == METRIC_TIME ? c->status >= 0 : c->has_report;
}

/* One chart of metric m against memory size: a polyline per policy, anomalies ringed
 * (for the fault metrics). */
static void sweep_chart(FILE *f, const struct sweep *sw, const size_t *order, const long *prev,
                        enum sweep_metric m)
{
    static const char *const ids[] = {"sweep-major", "sweep-total", "sweep-time"};
    static const char *const titles[] = {
        "major page faults against memory size, one line per policy",
        "all page faults (minor + major) against memory size, one line per policy",
        "run time (host wall clock) against memory size, one line per policy"};
    static const char *const ylabels[] = {"major faults", "faults (minor + major)",
                                          "run time (host, ms)"};
    const char *names[SVG_NPALETTE], *colors[SVG_NPALETTE];
    double *ticks = calloc(sw->nmems, sizeof(double)), top = 0, pad;
    size_t nticks = 0, nnames = 0;
    struct svg_chart c;

    if (ticks == NULL)
        return;
    for (size_t i = 0; i < sw->nmems; i++)
        if (nticks == 0 || (double)sw->mem_bytes[order[i]] > ticks[nticks - 1])
            ticks[nticks++] = (double)sw->mem_bytes[order[i]];
    for (size_t i = 0; i < sw->ncells; i++)
        if (has_metric(&sw->cells[i], m) && metric(&sw->cells[i], m) > top)
            top = metric(&sw->cells[i], m);
    /* the sizes with a margin of 8% of their (logarithmic) range, at least 1/16 octave */
    pad = (log2(ticks[nticks - 1]) - log2(ticks[0])) * 0.08;
    pad = pad > 0.0625 ? pad : 0.0625;
    c.x = (struct svg_axis){.lo = ticks[0] / exp2(pad),
                            .hi = ticks[nticks - 1] * exp2(pad),
                            .log2 = true,
                            .ticks = ticks,
                            .nticks = nticks,
                            .unit = SVG_BYTES,
                            .label = "memory size (--mem, logarithmic)"};
    svg_axis_fit(&c.y, 0, top, m == METRIC_TIME ? SVG_MS : SVG_COUNT, ylabels[m]);
    fputs("<div class=\"chart-box\">", f);
    svg_chart_begin(&c, f, CHART_W, CHART_H, "chart sweep", ids[m], titles[m]);
    for (size_t p = 0; p < sw->npolicies; p++) {
        const char *color = svg_palette[p % SVG_NPALETTE];
        const char *name = reclaim_policy_name(sw->policies[p]);
        size_t npoints = 0;

        for (size_t i = 0; i < sw->nmems; i++)
            npoints += has_metric(&sw->cells[p * sw->nmems + i], m);
        fprintf(f,
                "<g data-series=\"%s\" data-points=\"%zu\"><polyline fill=\"none\" "
                "stroke=\"%s\" stroke-width=\"2\" points=\"",
                name, npoints, color);
        for (size_t i = 0, k = 0; i < sw->nmems; i++) {
            const struct sweep_cell *cell = &sw->cells[p * sw->nmems + order[i]];

            if (has_metric(cell, m))
                fprintf(f, "%s%.1f,%.1f", k++ ? " " : "", svg_x(&c, (double)cell->mem_bytes),
                        svg_y(&c, metric(cell, m)));
        }
        fputs("\"/>\n", f);
        for (size_t i = 0; i < sw->nmems; i++) {
            const struct sweep_cell *cell = &sw->cells[p * sw->nmems + order[i]];
            char v[32];

            if (!has_metric(cell, m))
                continue;
            fprintf(f,
                    "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\">"
                    "<title>%s, %s: %s</title></circle>\n",
                    svg_x(&c, (double)cell->mem_bytes), svg_y(&c, metric(cell, m)), color, name,
                    cell->mem, svg_value(v, sizeof(v), metric(cell, m), c.y.unit));
            if (m == METRIC_MAJOR && prev[cell - sw->cells] >= 0) {
                const struct sweep_cell *s = &sw->cells[prev[cell - sw->cells]];

                fprintf(
                    f,
                    "<circle class=\"anomaly\" data-policy=\"%s\" data-mem=\"%s\" "
                    "cx=\"%.1f\" cy=\"%.1f\" r=\"10\" fill=\"none\" stroke=\"#D55E00\" "
                    "stroke-width=\"3\"><title>Belady's anomaly: %s has more major "
                    "faults with %s (%" PRIu64 ") than with %s (%" PRIu64 ")</title></circle>\n",
                    name, cell->mem, svg_x(&c, (double)cell->mem_bytes), svg_y(&c, metric(cell, m)),
                    name, cell->mem, cell->count[CNT_MAJOR], s->mem, s->count[CNT_MAJOR]);
            }
        }
        fputs("</g>\n", f);
        if (nnames < SVG_NPALETTE) {
            names[nnames] = name;
            colors[nnames++] = color;
        }
    }
    svg_chart_end(&c);
    svg_legend(f, names, colors, nnames);
    fputs("</div>\n", f);
    free(ticks);
}

/* The sweep's table, policy by policy, sizes in the order given, anomalies marked. */
static void sweep_html_table(FILE *f, const struct sweep *sw, const long *prev)
{
    fputs("<table id=\"sweep-table\"><tr><th class=\"l\">policy</th><th>mem</th><th>exit</th>", f);
    for (int k = 0; k < CNT_COUNT; k++) {
        fputs("<th>", f);
        html_text(f, sweep_counters[k].heading);
        fputs("</th>", f);
    }
    fputs("<th>time (s)</th></tr>\n", f);
    for (size_t i = 0; i < sw->ncells; i++) {
        const struct sweep_cell *c = &sw->cells[i];

        fprintf(f, "<tr><td class=\"l\">%s</td><td>", reclaim_policy_name(c->policy));
        html_text(f, c->mem);
        if (c->status >= 0)
            fprintf(f, "</td><td>%d</td>", c->status);
        else
            fputs("</td><td>-</td>", f);
        for (int k = 0; k < CNT_COUNT; k++) {
            bool hit = k == CNT_MAJOR && prev[i] >= 0;

            if (!c->has_report)
                fputs("<td>-</td>", f);
            else
                fprintf(f, "<td%s>%" PRIu64 "</td>",
                        hit ? " class=\"anomaly\" title=\"Belady's anomaly\"" : "", c->count[k]);
        }
        if (c->status >= 0)
            fprintf(f, "<td>%.3f</td></tr>\n", (double)c->wall_ns / 1e9);
        else
            fputs("<td>-</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* Writes the sweep's page to path. */
int sweep_write_html(const char *path, const struct sweep *sw, const size_t *order,
                     const long *prev)
{
    FILE *f = fopen(path, "we");
    size_t anomalies = 0;
    int rc = 0;

    if (f == NULL)
        return -errno;
    for (size_t i = 0; i < sw->ncells; i++)
        anomalies += prev[i] >= 0;
    html_page_begin(f, "sweep");
    fputs("<header><h1>vmemu sweep: <code>", f);
    for (size_t i = 0; sw->prog[i] != NULL; i++) {
        fputs(i ? " " : "", f);
        html_text(f, sw->prog[i]);
    }
    fputs("</code></h1>\n<table class=\"meta\"><tr><th>runs</th><td>", f);
    fprintf(f, "%zu policies &times; %zu memory sizes", sw->npolicies, sw->nmems);
    fputs("</td></tr>\n<tr><th>options</th><td><code>", f);
    for (size_t i = 0; i < sw->npass; i++) {
        fputs(i ? " " : "", f);
        html_text(f, sw->pass[i]);
    }
    if (sw->npass == 0)
        fputs("none beyond --mem and --policy", f);
    fprintf(f,
            "</code></td></tr>\n<tr><th>Belady's anomalies</th><td id=\"anomalies\" "
            "data-anomalies=\"%zu\">%zu</td></tr></table></header>\n",
            anomalies, anomalies);
    fputs("<section id=\"curves\"><h2>Faults against memory size</h2>\n<div class=\"charts\">\n",
          f);
    sweep_chart(f, sw, order, prev, METRIC_MAJOR);
    sweep_chart(f, sw, order, prev, METRIC_TIME);
    sweep_chart(f, sw, order, prev, METRIC_TOTAL);
    fputs("</div>\n<p class=\"note\">Each line is one replacement policy, each point one run "
          "(hover it for its value). A ringed point (on the major-fault chart; its cell is marked "
          "in the table) is a Belady's anomaly: more major faults "
          "than the next smaller size of the same policy (among runs with the same exit "
          "status). Major faults are the pages read back (swap-ins and file reads); all "
          "faults add the minor ones. The run time is host wall-clock time, which depends on "
          "the machine and its load; the fault counts do not.</p></section>\n"
          "<section id=\"table\"><h2>Table</h2>\n",
          f);
    sweep_html_table(f, sw, prev);
    fputs("<p class=\"note\">What vmemu sweep prints: refault&permil; is pages brought back "
          "after an eviction per 1000 faults (the thrashing indicator); a run without a report "
          "shows -.</p></section>\n</body></html>\n",
          f);
    if (ferror(f))
        rc = -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}
