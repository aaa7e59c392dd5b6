/* The --html page (report_html): the document around the sections, its CSS, the header
 * (command, exit status, the options that change counts, the date), the crash report of a
 * process killed by a fault, and the readers of the JSON tree the sections share. The
 * sections themselves are html_tables.c, html_timeline.c, html_heap.c, html_maps.c and
 * html_tree.c.
 * The page has no script and names no URL: it reads the same offline and on paper. */
#include "vmemu/html.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>

#include "html_int.h"

double html_num(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    return json_is_number(v) ? json_number_value(v) : 0;
}

int html_int(const json_t *obj, const char *key)
{
    double v = html_num(obj, key);

    if (!(v > INT_MIN)) /* also NaN */
        return v < 0 ? INT_MIN : 0;
    return v < INT_MAX ? (int)v : INT_MAX;
}

const char *html_str(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    return json_is_string(v) ? json_string_value(v) : NULL;
}

uint64_t html_addr(const json_t *obj, const char *key)
{
    const char *s = html_str(obj, key);

    return s != NULL ? strtoull(s, NULL, 16) : 0;
}

const json_t *html_proc(const json_t *r, int pid)
{
    const json_t *procs = json_object_get(r, "processes");
    size_t i;
    const json_t *p;

    json_array_foreach (procs, i, p) {
        if (html_int(p, "pid") == pid)
            return p;
    }
    return NULL;
}

/* "exited with status 0", "killed by signal 11 (exit status 139)". */
static void exit_text(FILE *f, const json_t *obj)
{
    const json_t *sig = json_object_get(obj, "signal");

    if (json_is_integer(sig))
        fprintf(f, "killed by signal %" JSON_INTEGER_FORMAT " (exit status %.0f)",
                json_integer_value(sig), html_num(obj, "exit_status"));
    else
        fprintf(f, "exited with status %.0f", html_num(obj, "exit_status"));
}

/* The header: command, status and the options that change the counts. */
static void html_header(FILE *f, const json_t *r)
{
    const json_t *argv = json_object_get(r, "argv");
    const json_t *frames = json_object_get(r, "frames");
    const json_t *thp = json_object_get(r, "thp");
    const json_t *paging = json_object_get(r, "paging");
    const json_t *tlb = json_object_get(r, "tlb");
    char buf[32], date[64];
    time_t now = time(NULL);
    struct tm tm;
    size_t i;
    const json_t *a;

    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&now, &tm));
    fputs("<header><h1>vmemu: <code>", f);
    json_array_foreach (argv, i, a) {
        fputs(i ? " " : "", f);
        html_text(f, json_string_value(a));
    }
    fputs("</code></h1>\n<table class=\"meta\" id=\"meta\">\n<tr><th>program</th><td><code>", f);
    html_text(f, html_str(r, "program"));
    fputs("</code></td></tr>\n<tr><th>status</th><td id=\"status\">", f);
    exit_text(f, r);
    fprintf(f, "</td></tr>\n<tr><th>memory</th><td>%s of frames (--mem)",
            svg_bytes(buf, sizeof(buf), html_num(r, "mem_bytes")));
    fprintf(f, "; swap up to %s", svg_bytes(buf, sizeof(buf), html_num(paging, "swap_max_bytes")));
    fputs("</td></tr>\n<tr><th>replacement</th><td>", f);
    html_text(f, html_str(paging, "policy"));
    fprintf(f, " (seed %.0f)</td></tr>\n<tr><th>huge pages</th><td>THP ", html_num(paging, "seed"));
    html_text(f, html_str(thp, "mode"));
    fputs(" (from ", f);
    html_text(f, html_str(thp, "mode_from"));
    fprintf(f, "), hugetlb pool %.0f pages</td></tr>\n<tr><th>zero page</th><td>",
            html_num(thp, "hugetlb_pages"));
    html_text(f, html_str(frames, "zero_page"));
    fputs(" (from ", f);
    html_text(f, html_str(frames, "zero_page_from"));
    fprintf(f,
            ")</td></tr>\n<tr><th>TLB</th><td>%.0f entries, %.0f ways; 2 MiB: %.0f entries, "
            "%.0f ways</td></tr>\n",
            html_num(tlb, "entries"), html_num(tlb, "ways"), html_num(tlb, "huge_entries"),
            html_num(tlb, "huge_ways"));
    fputs("<tr><th>vmemu</th><td>", f);
    html_text(f, html_str(r, "vmemu_version"));
    fprintf(f, "; page drawn %s</td></tr>\n</table></header>\n", date);
}

/* One "label: text" line of the crash report, when text is not NULL. */
static void crash_line(FILE *f, const char *label, const char *text)
{
    if (text == NULL)
        return;
    fprintf(f, "  %-9s ", label);
    html_text(f, text);
    fputc('\n', f);
}

/* The lines of the string array key of c, each after label (the first) or indentation. */
static void crash_lines(FILE *f, const json_t *c, const char *key, const char *label)
{
    size_t i;
    const json_t *s;

    json_array_foreach (json_object_get(c, key), i, s) {
        fprintf(f, "  %-9s ", i == 0 ? label : "");
        html_text(f, json_string_value(s));
        fputc('\n', f);
    }
}

/* The crash report of process p (its "crash" object), as the text report words it. */
static void html_crash_of(FILE *f, const json_t *p)
{
    const json_t *c = json_object_get(p, "crash");
    const json_t *unmap = json_object_get(c, "unmapped_by");
    const char *code = html_str(c, "code");

    fprintf(f, "<div class=\"crash\" id=\"crash-%.0f\"><h3>pid %.0f <code>", html_num(p, "pid"),
            html_num(p, "pid"));
    html_text(f, html_str(p, "command"));
    fputs("</code></h3>\n<pre>", f);
    fputs("killed by ", f);
    html_text(f, html_str(c, "signal_name"));
    if (code != NULL) {
        fputs(" (", f);
        html_text(f, code);
        fputc(')', f);
    }
    fputc('\n', f);
    if (html_str(c, "address") != NULL) {
        fprintf(f, "  %-9s ", "fault:");
        html_text(f, html_str(c, "access"));
        if (html_num(c, "size") > 0)
            fprintf(f, " of %.0f byte%s", html_num(c, "size"), html_num(c, "size") == 1 ? "" : "s");
        fputs(" at ", f);
        html_text(f, html_str(c, "address"));
        fputs(": ", f);
        html_text(f, html_str(c, "cause"));
        fputc('\n', f);
    } else {
        crash_line(f, "fault:", html_str(c, "cause"));
    }
    crash_line(f, "cause:", html_str(unmap, "text"));
    crash_line(f, "cause:", html_str(c, "cause_text"));
    crash_line(f, "heap:", html_str(c, "heap_kind"));
    crash_line(f, "", html_str(c, "heap"));
    if (html_str(c, "vma") == NULL && html_str(c, "address") != NULL)
        crash_line(f, "mapping:", "no mapping contains it (the gap is outlined below)");
    crash_line(f, "mapping:", html_str(c, "vma"));
    crash_line(f, "section:", html_str(c, "section"));
    crash_line(f, "file:", html_str(c, "file"));
    if (html_str(c, "rip") != NULL) {
        fprintf(f, "  %-9s ", "rip:");
        html_text(f, html_str(c, "rip"));
        fputs(" &lt;", f);
        html_text(f, html_str(c, "symbol") ? html_str(c, "symbol") : "?");
        fputs("&gt;: ", f);
        html_text(f, html_str(c, "instruction"));
        fputc('\n', f);
    }
    if (html_str(c, "caller") != NULL) {
        fprintf(f, "  %-9s ", "caller:");
        html_text(f, html_str(c, "caller"));
        fputs(" &lt;", f);
        html_text(f, html_str(c, "caller_symbol") ? html_str(c, "caller_symbol") : "?");
        fputs("&gt;\n", f);
    }
    crash_lines(f, c, "backtrace", "backtrace:");
    crash_lines(f, c, "disassembly", "code:");
    fputs("</pre></div>\n", f);
}

/* The crash section: every process with a "crash" object (none: no section). */
static void html_crash(FILE *f, const json_t *r)
{
    size_t i, n = 0;
    const json_t *p;

    json_array_foreach (json_object_get(r, "processes"), i, p) {
        if (!json_is_object(json_object_get(p, "crash")))
            continue;
        if (n++ == 0)
            fputs("<section id=\"crash\"><h2>Crash</h2>\n", f);
        html_crash_of(f, p);
    }
    if (n > 0)
        fputs("<p class=\"note\">The facts of vmemu's crash report (stderr), read from the "
              "JSON report; the faulting area (or the gap the address fell into) is outlined "
              "in vermillion in the address space "
              "below.</p></section>\n",
              f);
}

/* Writes the page of report to path. */
int report_html(const char *path, const json_t *report)
{
    FILE *f;
    int rc = 0;

    if (!json_is_object(report))
        return -EINVAL;
    f = fopen(path, "w");
    if (f == NULL)
        return -errno;
    html_page_begin(f, html_str(report, "program"));
    html_header(f, report);
    html_crash(f, report);
    html_tables(f, report);
    html_timeline(f, report);
    html_heap(f, report);
    html_maps(f, report);
    html_tree(f, report);
    fputs("<p class=\"foot\">Counts are vmemu's own and are the same on every run of the same "
          "program and options, except the times (host-dependent). A page is 4 KiB; sizes use "
          "binary units (1 MiB = 1024 KiB); counts above 1000 are shortened (12.3 k = "
          "12 300). Made by vmemu --html; the same numbers are in vmemu --report.</p>\n"
          "</body></html>\n",
          f);
    if (ferror(f))
        rc = -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}
