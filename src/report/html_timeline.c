/* The timeline charts of the --html page, from the report's "timeline" (samples of each
 * process's counters stamped with the machine-wide fault sequence number): per process,
 * its faults over time stacked by class, and its virtual size, resident size and swap over
 * time. The processes with the most faults are open, the others folded in <details>, so a
 * shell script's dozen processes stay readable. Without a timeline, a placeholder. */
#include <stdlib.h>
#include <string.h>

#include "html_int.h"

#define CHART_W 600 /* px of each chart; two side by side fit 1280 px */
#define CHART_H 250

/* The stacked classes: Linux's fault classes grouped so that they add up to minor + major
 * (each group the sum of its keys; "other minor" what minor has beyond the groups). */
static const struct {
    const char *id;      /* data-series of its area */
    const char *name;    /* legend */
    const char *keys[3]; /* fault classes summed, NULL-terminated */
    bool major;          /* a major-fault group */
} fault_groups[] = {
    {"zero_page", "zero page", {"zero_page"}, false},
    {"anon", "new anonymous page", {"anon", "thp", "hugetlb"}, false},
    {"page_cache", "page-cache hit", {"file_minor", "shared_write"}, false},
    {"cow", "copy-on-write", {"cow", "cow_reuse"}, false},
    {"swap_cache", "swap-cache hit", {"swap_cache"}, false},
    {"other", "other minor", {NULL}, false},
    {"file_major", "file read (major)", {"file_major"}, true},
    {"swap_in", "swap-in (major)", {"swap_in"}, true},
};
#define NGROUPS (sizeof(fault_groups) / sizeof(fault_groups[0]))
static const char *const group_colors[NGROUPS] = {
    "#56B4E9", "#0072B2", "#009E73", "#CC79A7", "#F0E442", "#999999", "#E69F00", "#D55E00",
};

/* The samples of one process, in order. */
struct proc_series {
    int pid;          /* the process */
    const json_t **s; /* its samples */
    size_t n;         /* number of samples */
    double total;     /* minor + major at its last sample */
};

/* The value of group g in the "faults" object fl of a sample. */
static double group_value(const json_t *fl, size_t g)
{
    double v = 0;

    if (fault_groups[g].keys[0] == NULL) { /* other minor */
        double known = 0;

        for (size_t k = 0; k < NGROUPS; k++)
            for (size_t i = 0; !fault_groups[k].major && i < 3 && fault_groups[k].keys[i]; i++)
                known += html_num(fl, fault_groups[k].keys[i]);
        v = html_num(fl, "minor") - known;
        return v > 0 ? v : 0;
    }
    for (size_t i = 0; i < 3 && fault_groups[g].keys[i] != NULL; i++)
        v += html_num(fl, fault_groups[g].keys[i]);
    return v;
}

/* The faults chart of ps: one stacked area per group that has faults. */
static void chart_faults(FILE *f, const struct proc_series *ps, double x0, double x1)
{
    const json_t *last = json_object_get(ps->s[ps->n - 1], "faults");
    const char *names[NGROUPS], *colors[NGROUPS];
    double *below = calloc(ps->n, sizeof(double));
    size_t nshown = 0;
    struct svg_chart c;
    char id[48], title[96];

    if (below == NULL)
        return;
    svg_axis_fit(&c.x, x0, x1, SVG_COUNT, "page faults of the whole run so far (fault clock)");
    svg_axis_fit(&c.y, 0, ps->total, SVG_COUNT, "faults of this process");
    snprintf(id, sizeof(id), "faults-%d", ps->pid);
    snprintf(title, sizeof(title), "page faults of pid %d over time, by class", ps->pid);
    fputs("<div class=\"chart-box\">", f);
    svg_chart_begin(&c, f, CHART_W, CHART_H, "chart faults", id, title);
    for (size_t g = 0; g < NGROUPS; g++) {
        if (group_value(last, g) <= 0)
            continue;
        names[nshown] = fault_groups[g].name;
        colors[nshown++] = group_colors[g];
        fprintf(f, "<path data-series=\"%s\" data-points=\"%zu\" fill=\"%s\" d=\"",
                fault_groups[g].id, ps->n, group_colors[g]);
        for (size_t i = 0; i < ps->n; i++) {
            const json_t *fl = json_object_get(ps->s[i], "faults");
            double seq = html_num(ps->s[i], "seq");

            fprintf(f, "%c%.1f %.1f", i ? 'L' : 'M', svg_x(&c, seq),
                    svg_y(&c, below[i] + group_value(fl, g)));
        }
        for (size_t i = ps->n; i-- > 0;)
            fprintf(f, "L%.1f %.1f", svg_x(&c, html_num(ps->s[i], "seq")), svg_y(&c, below[i]));
        fprintf(f, "Z\"><title>%s</title></path>\n", fault_groups[g].name);
        for (size_t i = 0; i < ps->n; i++)
            below[i] += group_value(json_object_get(ps->s[i], "faults"), g);
    }
    svg_chart_end(&c);
    svg_legend(f, names, colors, nshown);
    fputs("</div>\n", f);
    free(below);
}

/* The memory chart of ps: VSZ, RSS and swap (bytes), the VSZ/RSS gap shaded. */
static void chart_memory(FILE *f, const struct proc_series *ps, double x0, double x1)
{
    static const char *const keys[] = {"vm_pages", "rss_pages", "swap_pages"};
    static const char *const ids[] = {"vsz", "rss", "swap"};
    static const char *const names[] = {"virtual size (VSZ)", "resident (RSS)", "swapped out"};
    static const char *const colors[] = {"#0072B2", "#009E73", "#D55E00"};
    double top = 0;
    struct svg_chart c;
    char id[48], title[96];

    for (size_t i = 0; i < ps->n; i++)
        for (size_t k = 0; k < 3; k++)
            if (html_num(ps->s[i], keys[k]) * 4096 > top)
                top = html_num(ps->s[i], keys[k]) * 4096;
    svg_axis_fit(&c.x, x0, x1, SVG_COUNT, "page faults of the whole run so far (fault clock)");
    svg_axis_fit(&c.y, 0, top, SVG_BYTES, "size");
    snprintf(id, sizeof(id), "memory-%d", ps->pid);
    snprintf(title, sizeof(title), "virtual and resident size of pid %d over time", ps->pid);
    fputs("<div class=\"chart-box\">", f);
    svg_chart_begin(&c, f, CHART_W, CHART_H, "chart memory", id, title);
    fputs("<path class=\"gap\" fill=\"#0072B2\" fill-opacity=\"0.12\" d=\"", f);
    for (size_t i = 0; i < ps->n; i++)
        fprintf(f, "%c%.1f %.1f", i ? 'L' : 'M', svg_x(&c, html_num(ps->s[i], "seq")),
                svg_y(&c, html_num(ps->s[i], "vm_pages") * 4096));
    for (size_t i = ps->n; i-- > 0;)
        fprintf(f, "L%.1f %.1f", svg_x(&c, html_num(ps->s[i], "seq")),
                svg_y(&c, html_num(ps->s[i], "rss_pages") * 4096));
    fputs("Z\"><title>mapped but not resident: the VSZ/RSS gap of demand paging</title></path>\n",
          f);
    for (size_t k = 0; k < 3; k++) {
        fprintf(f,
                "<polyline data-series=\"%s\" data-points=\"%zu\" fill=\"none\" stroke=\"%s\" "
                "stroke-width=\"2\"%s points=\"",
                ids[k], ps->n, colors[k], k == 2 ? " stroke-dasharray=\"5 3\"" : "");
        for (size_t i = 0; i < ps->n; i++)
            fprintf(f, "%s%.1f,%.1f", i ? " " : "", svg_x(&c, html_num(ps->s[i], "seq")),
                    svg_y(&c, html_num(ps->s[i], keys[k]) * 4096));
        fprintf(f, "\"><title>%s</title></polyline>\n", names[k]);
    }
    svg_chart_end(&c);
    svg_legend(f, names, colors, 3);
    fputs("</div>\n", f);
}

/* Orders processes by faults, most first (pid on ties). */
static int by_faults(const void *a, const void *b)
{
    const struct proc_series *x = a, *y = b;

    if (x->total != y->total)
        return x->total < y->total ? 1 : -1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The <details> of one process: its two charts. */
static void proc_charts(FILE *f, const json_t *r, const struct proc_series *ps, bool open)
{
    const json_t *p = html_proc(r, ps->pid);
    double x0 = html_num(ps->s[0], "seq"), x1 = html_num(ps->s[ps->n - 1], "seq");
    char buf[32];

    fprintf(f,
            "<details id=\"timeline-%d\" data-pid=\"%d\" data-samples=\"%zu\"%s><summary>pid %d ",
            ps->pid, ps->pid, ps->n, open ? " open" : "", ps->pid);
    if (p != NULL) {
        fputs("<code>", f);
        html_text(f, html_str(p, "command"));
        fputs("</code>", f);
    }
    fprintf(f, ": %s faults, %zu samples</summary>\n<div class=\"charts\">\n",
            svg_count(buf, sizeof(buf), ps->total), ps->n);
    chart_faults(f, ps, x0, x1);
    chart_memory(f, ps, x0, x1);
    fputs("</div></details>\n", f);
}

/* A sample and where it is, for sorting the timeline by process. */
struct sample_ref {
    int pid;         /* its process */
    size_t idx;      /* its place in the timeline */
    const json_t *s; /* the sample */
};

/* Orders samples by process, then by their place in the timeline. */
static int by_pid(const void *a, const void *b)
{
    const struct sample_ref *x = a, *y = b;

    if (x->pid != y->pid)
        return (x->pid > y->pid) - (x->pid < y->pid);
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Groups the samples by process: fills *out (to free) with one series per process, whose
 * sample pointers live in *store (to free). Returns the number of processes, 0 when
 * there are none or memory ran out. */
static size_t split_by_pid(const json_t *samples, struct proc_series **out, const json_t ***store)
{
    size_t n = json_array_size(samples), np = 0, i;
    struct sample_ref *refs = calloc(n ? n : 1, sizeof(*refs));
    const json_t **s = calloc(n ? n : 1, sizeof(*s));
    struct proc_series *ps = calloc(n ? n : 1, sizeof(*ps));
    const json_t *sample;

    *out = ps;
    *store = s;
    if (refs == NULL || s == NULL || ps == NULL) {
        free(refs);
        return 0;
    }
    json_array_foreach (samples, i, sample)
        refs[i] = (struct sample_ref){html_int(sample, "pid"), i, sample};
    qsort(refs, n, sizeof(*refs), by_pid);
    for (i = 0; i < n; i++) {
        const json_t *fl = json_object_get(refs[i].s, "faults");

        if (i == 0 || refs[i].pid != refs[i - 1].pid)
            ps[np++] = (struct proc_series){.pid = refs[i].pid, .s = &s[i]};
        s[i] = refs[i].s;
        ps[np - 1].n++;
        ps[np - 1].total = html_num(fl, "minor") + html_num(fl, "major");
    }
    free(refs);
    return np;
}

void html_timeline(FILE *f, const json_t *r)
{
    const json_t *tl = json_object_get(r, "timeline");
    const json_t *samples = json_object_get(tl, "samples");
    struct proc_series *ps;
    const json_t **store;
    size_t np, shown;

    fputs("<section id=\"timeline\"><h2>Over time</h2>\n", f);
    if (json_array_size(samples) == 0) {
        fputs("<p class=\"placeholder\" id=\"no-timeline\">no timeline in this report</p>"
              "</section>\n",
              f);
        return;
    }
    np = split_by_pid(samples, &ps, &store);
    qsort(ps, np, sizeof(*ps), by_faults);
    shown = np < HTML_TIMELINE_MAX ? np : HTML_TIMELINE_MAX;
    fprintf(f,
            "<p class=\"note\">One pair of charts per process (%zu), the %d with the most "
            "faults open, the others folded.</p>\n",
            np, HTML_OPEN_PROCS);
    for (size_t i = 0; i < shown; i++)
        proc_charts(f, r, &ps[i], i < HTML_OPEN_PROCS);
    if (shown < np)
        fprintf(f, "<p class=\"note\">%zu processes with fewer faults are not drawn.</p>\n",
                np - shown);
    free(store);
    free(ps);
    fprintf(f,
            "<p class=\"note\">x axis: the machine-wide page-fault sequence number (a clock that "
            "advances with every fault of any process, the same on every run; samples every "
            "%.0f fault%s and at every fork, exec and exit). Left: this process's faults so "
            "far, stacked by class (minor classes, then major: file reads and swap-ins). Right: "
            "its mapped virtual size, resident size and pages on swap; the shaded band is "
            "mapped but not resident.",
            html_num(tl, "interval"), html_num(tl, "interval") == 1 ? "" : "s");
    if (html_str(tl, "policy") != NULL) {
        fputs(" Sampling: ", f);
        html_text(f, html_str(tl, "policy"));
    }
    fputs("</p></section>\n", f);
}
