/* Drawing for the HTML pages (--html, vmemu sweep --html): HTML escaping, numbers as a
 * person reads them (12.3 k, 1.2 MiB), a colour-blind-safe palette, and an x/y chart frame
 * with ticked, labelled axes into which the callers draw their series as inline SVG. */
#ifndef VMEMU_SVG_H
#define VMEMU_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The Okabe-Ito palette (safe for the common colour-vision deficiencies), black last. */
#define SVG_NPALETTE 8
extern const char *const svg_palette[SVG_NPALETTE];

/* What an axis's numbers are. */
enum svg_unit {
    SVG_COUNT, /* plain counts: 12, 12.3 k, 4.5 M */
    SVG_BYTES, /* sizes: 512 B, 4 KiB, 1.2 MiB */
    SVG_MS     /* host milliseconds: 12 ms, 1.2 s */
};

/* One axis of a chart: the range shown and its ticks. */
struct svg_axis {
    double lo;           /* value at the start of the axis */
    double hi;           /* value at the end (> lo) */
    double step;         /* distance between ticks (linear axes) */
    bool log2;           /* a base-2 logarithmic axis (lo > 0): ticks from ticks[] */
    const double *ticks; /* explicit tick values, or NULL for lo, lo+step, ... */
    size_t nticks;       /* number of ticks[] */
    enum svg_unit unit;  /* how tick labels are written */
    const char *label;   /* axis title, with its unit */
};

/* A chart being drawn: an <svg> of width x height pixels with its plot area inside. */
struct svg_chart {
    FILE *f;           /* the page */
    double width;      /* svg width, px */
    double height;     /* svg height, px */
    double left, top;  /* plot area's top-left corner, px */
    double right;      /* plot area's right edge, px */
    double bottom;     /* plot area's bottom edge, px */
    struct svg_axis x; /* horizontal axis */
    struct svg_axis y; /* vertical axis */
};

/* Writes the start of a page to f: doctype, a <head> with the title "vmemu: " title and
 * the pages' shared style (no script, no external resource), and <body>. The caller
 * writes the body and closes it with "</body></html>". */
void html_page_begin(FILE *f, const char *title);
/* Writes s to f with &, <, >, " and ' escaped, for HTML text and attribute values; NULL
 * writes nothing. */
void html_text(FILE *f, const char *s);
/* Formats the count v into buf (n bytes) as a person reads it: 7, 999, 12.3 k, 4.5 M,
 * 1.2 G; returns buf. */
const char *svg_count(char *buf, size_t n, double v);
/* Formats the size v (bytes) into buf: 512 B, 4 KiB, 1.2 MiB, 3 GiB; returns buf. */
const char *svg_bytes(char *buf, size_t n, double v);
/* Formats v in unit u (see enum svg_unit); returns buf. */
const char *svg_value(char *buf, size_t n, double v, enum svg_unit u);
/* Fits a linear axis to the data range [lo, hi]: a "nice" step (1, 2 or 5 times a power of
 * ten, or of 1024 for bytes) with about five ticks, lo and hi widened to multiples of it.
 * hi <= lo (no data, or a constant) still gives a usable axis. */
void svg_axis_fit(struct svg_axis *a, double lo, double hi, enum svg_unit u, const char *label);
/* Opens an inline <svg> of w x h px on f with a <title> (title), an id and a CSS class
 * (cls, e.g. "chart"), and draws c->x and c->y (set by the caller before): grid lines,
 * ticks, tick labels and axis titles around the plot area. */
void svg_chart_begin(struct svg_chart *c, FILE *f, double w, double h, const char *cls,
                     const char *id, const char *title);
/* The pixel x of value v on c's horizontal axis (clamped to the plot area). */
double svg_x(const struct svg_chart *c, double v);
/* The pixel y of value v on c's vertical axis (clamped to the plot area). */
double svg_y(const struct svg_chart *c, double v);
/* Closes the <svg> of c. */
void svg_chart_end(struct svg_chart *c);
/* Writes an HTML legend: one swatch of colors[i] and names[i] per series. */
void svg_legend(FILE *f, const char *const *names, const char *const *colors, size_t n);

#endif
