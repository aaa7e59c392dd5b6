/* The drawing helpers of the HTML pages: HTML escaping, human-readable numbers, the
 * palette and chart frames (axes with ticks and labels) in inline SVG. They only write
 * text to a FILE; callers (html*.c, the sweep's page) draw the series themselves inside
 * the frame with svg_x()/svg_y(). */
#include "vmemu/svg.h"

#include <math.h>
#include <string.h>

const char *const svg_palette[SVG_NPALETTE] = {
    "#0072B2", /* blue */
    "#E69F00", /* orange */
    "#009E73", /* bluish green */
    "#CC79A7", /* reddish purple */
    "#56B4E9", /* sky blue */
    "#D55E00", /* vermillion */
    "#F0E442", /* yellow */
    "#000000", /* black */
};

/* The page's style: readable at 1280 px, printable (no backgrounds needed, charts kept
 * whole on a page). */
static const char html_css[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "color:#222;background:#fff;margin:0 auto;max-width:1240px;padding:12px 20px}\n"
    "h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:24px 0 8px;"
    "border-bottom:2px solid #0072B2}h3{font-size:15px;margin:12px 0 4px}\n"
    "code,pre{font:12px/1.35 'DejaVu Sans Mono',Menlo,Consolas,monospace}\n"
    "pre{background:#f6f6f6;border:1px solid #ddd;padding:8px;overflow-x:auto}\n"
    "table{border-collapse:collapse;margin:4px 16px 12px 0;font-size:13px}\n"
    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
    "th{background:#eef3f8}td.l,th.l{text-align:left}\n"
    "tr:nth-child(even) td{background:#fafafa}td.zero{color:#666;max-width:260px;"
    "white-space:normal;font-size:12px}\n"
    "td.cmd{max-width:380px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\n"
    ".tables{display:flex;flex-wrap:wrap;align-items:flex-start}\n"
    ".meta td{text-align:left;border:none;padding:1px 12px 1px 0}.meta th{text-align:left;"
    "background:none;border:none;padding:1px 12px 1px 0;color:#555}\n"
    "svg text{font-size:11px;fill:#333}svg .label{font-size:12px;fill:#222}\n"
    "svg .axis line{stroke:#888}svg .axis line.grid{stroke:#e4e4e4}svg "
    ".frame{fill:none;stroke:#888}\n"
    ".charts{display:flex;flex-wrap:wrap;gap:8px}.chart-box{break-inside:avoid;width:600px}\n"
    "svg.tree,svg.maps{max-width:100%;height:auto}svg .cow,svg .addr{font-size:10px;fill:#555}\n"
    "ul.legend{list-style:none;padding:0;margin:2px 0 8px 70px;font-size:12px}"
    "ul.legend li{display:inline-block;margin-right:14px}\n"
    ".sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px;"
    "border:1px solid #555}\n"
    "details{margin:4px 0;break-inside:avoid}summary{cursor:pointer;font-weight:600}\n"
    ".note,.foot{color:#555;font-size:12px}.foot{border-top:1px solid #ccc;margin-top:24px}\n"
    ".crash{border-left:6px solid #D55E00;padding-left:10px}"
    ".crash pre{white-space:pre-wrap;overflow-wrap:anywhere}\n"
    ".placeholder{color:#777;font-style:italic}\n"
    "tr td.anomaly{background:#fde3d0;font-weight:600}\n"
    "@media print{body{max-width:none;padding:0}details>summary{list-style:none}"
    "svg,table,.chart-box{break-inside:avoid}}\n";

/* Writes the start of a page: doctype, <head> with the title "vmemu: title" and the
 * style, and <body>. */
void html_page_begin(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width\">\n<title>vmemu: ",
          f);
    html_text(f, title);
    fprintf(f, "</title>\n<style>\n%s</style></head>\n<body>\n", html_css);
}

/* Writes s with the characters HTML gives a meaning escaped. */
void html_text(FILE *f, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* Formats v / scale with one decimal below 10 (and none when it is whole), none above,
 * followed by suffix. */
static const char *scaled(char *buf, size_t n, double v, double scale, const char *suffix)
{
    double x = v / scale;

    if (fabs(x) < 10 && fabs(x - round(x)) > 0.05)
        snprintf(buf, n, "%.1f%s", x, suffix);
    else if (fabs(x) < 100 && fabs(x - round(x)) > 0.05 && scale > 1)
        snprintf(buf, n, "%.1f%s", x, suffix);
    else
        snprintf(buf, n, "%.0f%s", x, suffix);
    return buf;
}

/* Formats the count v: 7, 999, 12.3 k, 4.5 M, 1.2 G. */
const char *svg_count(char *buf, size_t n, double v)
{
    double a = fabs(v);

    if (a < 1000)
        return scaled(buf, n, v, 1, "");
    if (a < 1e6)
        return scaled(buf, n, v, 1e3, " k");
    if (a < 1e9)
        return scaled(buf, n, v, 1e6, " M");
    return scaled(buf, n, v, 1e9, " G");
}

/* Formats the size v in bytes: 512 B, 4 KiB, 1.2 MiB, 3 GiB, 2 TiB. */
const char *svg_bytes(char *buf, size_t n, double v)
{
    static const char *const units[] = {" B", " KiB", " MiB", " GiB", " TiB", " PiB"};
    double scale = 1;
    size_t i = 0;

    while (i + 1 < sizeof(units) / sizeof(units[0]) && fabs(v) >= 1024 * scale) {
        scale *= 1024;
        i++;
    }
    return scaled(buf, n, v, scale, units[i]);
}

/* Formats v in unit u. */
const char *svg_value(char *buf, size_t n, double v, enum svg_unit u)
{
    if (u == SVG_BYTES)
        return svg_bytes(buf, n, v);
    if (u == SVG_MS)
        return fabs(v) >= 1000 ? scaled(buf, n, v, 1000, " s") : scaled(buf, n, v, 1, " ms");
    return svg_count(buf, n, v);
}

/* The nice step (1, 2 or 5 times a power of ten) at or above raw (> 0). */
static double nice_step10(double raw)
{
    double p = pow(10, floor(log10(raw)));

    if (raw <= p * 1.0000001)
        return p;
    if (raw <= 2 * p)
        return 2 * p;
    if (raw <= 5 * p)
        return 5 * p;
    return 10 * p;
}

/* The nice step at or above raw: nice_step10 of counts, and for sizes of 1 KiB and more
 * 1, 2 or 5 times a power of ten of the largest binary unit below raw (2 MiB, 50 KiB). */
static double nice_step(double raw, bool bytes)
{
    double unit = 1;

    if (!(raw > 0))
        return 1;
    while (bytes && raw >= 1024 * unit)
        unit *= 1024;
    return nice_step10(raw / unit) * unit;
}

/* Fits a linear axis to [lo, hi] with about five nice ticks. */
void svg_axis_fit(struct svg_axis *a, double lo, double hi, enum svg_unit u, const char *label)
{
    double step;

    memset(a, 0, sizeof(*a));
    a->unit = u;
    a->label = label;
    if (!(hi > lo))
        hi = lo + 1;
    step = nice_step((hi - lo) / 5, u == SVG_BYTES);
    if (u != SVG_MS && step < 1)
        step = 1; /* counts and bytes are whole */
    a->step = step;
    a->lo = floor(lo / step) * step;
    a->hi = ceil(hi / step) * step;
    if (a->hi <= a->lo)
        a->hi = a->lo + step;
}

/* Where v falls on axis a, from 0 (start) to 1 (end), clamped. */
static double axis_frac(const struct svg_axis *a, double v)
{
    double t;

    if (a->log2)
        t = (log2(v > 0 ? v : a->lo) - log2(a->lo)) / (log2(a->hi) - log2(a->lo));
    else
        t = (v - a->lo) / (a->hi - a->lo);
    return t < 0 ? 0 : t > 1 ? 1 : t;
}

double svg_x(const struct svg_chart *c, double v)
{
    return c->left + axis_frac(&c->x, v) * (c->right - c->left);
}

double svg_y(const struct svg_chart *c, double v)
{
    return c->bottom - axis_frac(&c->y, v) * (c->bottom - c->top);
}

/* The value of tick i of a, or a value past hi when there is no tick i. */
static double axis_tick(const struct svg_axis *a, size_t i)
{
    if (a->ticks != NULL)
        return i < a->nticks ? a->ticks[i] : INFINITY;
    return a->lo + (double)i * a->step;
}

/* Draws the ticks, grid lines and labels of both axes of c. */
static void draw_axes(struct svg_chart *c)
{
    char buf[32];
    FILE *f = c->f;

    double last_label = -1e9; /* x of the last tick label written */

    fprintf(f, "<g class=\"axis\" data-axis=\"x\">\n");
    for (size_t i = 0; i < 64; i++) {
        double v = axis_tick(&c->x, i);

        if (v > c->x.hi * (1 + 1e-9) + 1e-9)
            break;
        double x = svg_x(c, v);
        fprintf(f,
                "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                x, c->top, x, c->bottom, x, c->bottom, x, c->bottom + 4);
        if (x - last_label < 56) /* labels that would overlap: the tick alone */
            continue;
        last_label = x;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, c->bottom + 16);
        html_text(f, svg_value(buf, sizeof(buf), v, c->x.unit));
        fputs("</text>\n", f);
    }
    fprintf(f, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
            (c->left + c->right) / 2, c->bottom + 32);
    html_text(f, c->x.label);
    fputs("</text></g>\n<g class=\"axis\" data-axis=\"y\">\n", f);
    for (size_t i = 0; i < 64; i++) {
        double v = axis_tick(&c->y, i);

        if (v > c->y.hi * (1 + 1e-9) + 1e-9)
            break;
        double y = svg_y(c, v);
        fprintf(f,
                "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">",
                c->left, y, c->right, y, c->left - 4, y, c->left, y, c->left - 6, y + 4);
        html_text(f, svg_value(buf, sizeof(buf), v, c->y.unit));
        fputs("</text>\n", f);
    }
    fprintf(f,
            "<text class=\"label\" transform=\"translate(%.1f %.1f) rotate(-90)\" "
            "text-anchor=\"middle\">",
            14.0, (c->top + c->bottom) / 2);
    html_text(f, c->y.label);
    fprintf(f,
            "</text></g>\n<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"%.1f\"/>\n",
            c->left, c->top, c->right - c->left, c->bottom - c->top);
}

/* Opens the chart's <svg> and draws its frame and axes. */
void svg_chart_begin(struct svg_chart *c, FILE *f, double w, double h, const char *cls,
                     const char *id, const char *title)
{
    c->f = f;
    c->width = w;
    c->height = h;
    c->left = 70;
    c->top = 10;
    c->right = w - 16;
    c->bottom = h - 42;
    fprintf(f,
            "<svg class=\"%s\" id=\"%s\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\"><title>",
            cls, id, w, h, w, h);
    html_text(f, title);
    fputs("</title>\n", f);
    draw_axes(c);
}

void svg_chart_end(struct svg_chart *c)
{
    fputs("</svg>\n", c->f);
}

/* Writes the legend of n series. */
void svg_legend(FILE *f, const char *const *names, const char *const *colors, size_t n)
{
    fputs("<ul class=\"legend\">", f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "<li><span class=\"sw\" style=\"background:%s\"></span>", colors[i]);
        html_text(f, names[i]);
        fputs("</li>", f);
    }
    fputs("</ul>\n", f);
}
