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

    fprintf(f, "<g class=\"axis\" data-axis=\"x\">\n");
    for (size_t i = 0; i < 64; i++) {
        double v = axis_tick(&c->x, i);

        if (v > c->x.hi * (1 + 1e-9) + 1e-9)
            break;
        double x = svg_x(c, v);
        fprintf(f,
                "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
                x, c->top, x, c->bottom, x, c->bottom, x, c->bottom + 4, x, c->bottom + 16);
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
