/* The address-space picture of the --html page: the VMAs of each process that still has
 * them in the report (the first process at exit, or at its crash), in address order on a
 * folded logarithmic axis: each area's width grows with the logarithm of its size, the
 * gaps between areas are folded into a fixed-width break. Areas are coloured by kind, with
 * bars under each for its resident, dirty and swapped share, and a hover title with its
 * maps line. The area holding a crash's faulting address (or the gap it fell into) is
 * outlined. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "html_int.h"

#define MAP_W  1200 /* px of a row */
#define GAP_W  14   /* px of a folded gap */
#define AREA_H 36   /* px of an area's box */
#define BAR_H  6    /* px of each share bar */
#define ADDR_H 14   /* px above the boxes for the addresses after gaps */
#define ROW_H  (ADDR_H + AREA_H + 3 * (BAR_H + 2) + 34)
#define HILITE "#D55E00"

/* The kinds the picture tells apart and their colours. */
static const struct {
    const char *kind;  /* data-kind */
    const char *color; /* fill */
} map_kinds[] = {
    {"text", "#0072B2"}, {"rodata", "#56B4E9"},  {"data", "#009E73"}, {"bss", "#F0E442"},
    {"heap", "#E69F00"}, {"stack", "#CC79A7"},   {"anon", "#999999"}, {"file", "#7f6a4d"},
    {"shm", "#333333"},  {"checker", "#cccccc"},
};
#define NKINDS (sizeof(map_kinds) / sizeof(map_kinds[0]))

/* The picture's kind of area v (the report's kind refined by permissions). */
static size_t vma_kind(const json_t *v)
{
    const char *kind = html_str(v, "kind"), *perms = html_str(v, "perms");
    const char *k = "anon";

    if (kind == NULL || perms == NULL || strlen(perms) < 4)
        return 6;
    if (strcmp(kind, "image") == 0)
        k = perms[2] == 'x' ? "text" : perms[1] == 'w' ? "data" : "rodata";
    else if (perms[3] == 's' && (strcmp(kind, "anon") == 0 || html_str(v, "file") == NULL ||
                                 strncmp(html_str(v, "file"), "/dev/zero", 9) == 0 ||
                                 strncmp(html_str(v, "file"), "/SYSV", 5) == 0))
        k = "shm";
    else
        k = kind;
    for (size_t i = 0; i < NKINDS; i++)
        if (strcmp(map_kinds[i].kind, k) == 0)
            return i;
    return 6;
}

/* Width in px of an area of pages pages (before fitting the rows). */
static double area_width(double pages)
{
    return 12 + 14 * log2(pages > 1 ? pages : 1);
}

/* One share bar (resident, dirty or swapped) under an area at x of width w. */
static void share_bar(FILE *f, double x, double y, double w, double share, const char *color,
                      const char *what)
{
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"#eee\"/>", x, y, w,
            BAR_H);
    if (share > 0)
        fprintf(f,
                "<rect class=\"share\" data-share=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                "height=\"%d\" fill=\"%s\"/>",
                what, x, y, w * share > 1 ? w * share : 1, BAR_H, color);
}

/* Draws one area (index i of vmas) at (x, y), width w. */
static void draw_area(FILE *f, const json_t *v, double x, double y, double w, bool hit)
{
    uint64_t start = html_addr(v, "start"), end = html_addr(v, "end");
    double pages = (double)(end - start) / 4096;
    double res = html_num(v, "resident"), dirty = html_num(v, "dirty");
    double swapped = html_num(v, "swapped");
    size_t k = vma_kind(v);
    char size[32];

    svg_bytes(size, sizeof(size), (double)(end - start));
    fprintf(f,
            "<g class=\"vma%s\" data-kind=\"%s\" data-start=\"0x%" PRIx64 "\" data-pages=\"%.0f\" "
            "data-resident=\"%.0f\" data-dirty=\"%.0f\" data-swapped=\"%.0f\"><title>",
            hit ? " fault" : "", map_kinds[k].kind, start, pages, res, dirty, swapped);
    fprintf(f, "%012" PRIx64 "-%012" PRIx64 " ", start, end);
    html_text(f, html_str(v, "perms"));
    fputc(' ', f);
    html_text(f, html_str(v, "kind"));
    fputc(' ', f);
    html_text(f, html_str(v, "file"));
    fprintf(f, "\n%s (%.0f pages): resident %.0f, dirty %.0f, swapped %.0f%s</title>", size, pages,
            res, dirty, swapped, hit ? "\nthe crash's faulting address is here" : "");
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"%s/>", x, y, w,
            AREA_H, map_kinds[k].color,
            hit ? " stroke=\"" HILITE "\" stroke-width=\"4\"" : " stroke=\"#fff\"");
    if (w >= 34)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\"%s>%s</text>", x + w / 2,
                y + AREA_H / 2 + 4, k == 8 || k == 0 ? " style=\"fill:#fff\"" : "",
                map_kinds[k].kind);
    share_bar(f, x, y + AREA_H + 2, w, pages > 0 ? res / pages : 0, "#009E73", "resident");
    share_bar(f, x, y + AREA_H + 2 + (BAR_H + 2), w, pages > 0 ? dirty / pages : 0, "#E69F00",
              "dirty");
    share_bar(f, x, y + AREA_H + 2 + 2 * (BAR_H + 2), w, pages > 0 ? swapped / pages : 0, "#D55E00",
              "swapped");
    if (w >= 40)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>", x + w / 2,
                y + AREA_H + 3 * (BAR_H + 2) + 14, size);
    fputs("</g>\n", f);
}

/* A folded gap of bytes bytes at (x, y); hit when the crash address fell into it. */
static void draw_gap(FILE *f, double x, double y, uint64_t bytes, bool hit, uint64_t addr)
{
    char size[32];

    fprintf(f, "<g class=\"gap%s\"><title>unmapped: %s", hit ? " fault" : "",
            svg_bytes(size, sizeof(size), (double)bytes));
    if (hit)
        fprintf(f, "\nthe crash's faulting address 0x%" PRIx64 " is in this gap", addr);
    fprintf(f,
            "</title><path d=\"M%.1f %.1fl4 6l-4 6l4 6l-4 6l4 6l-4 6\" fill=\"none\" "
            "stroke=\"%s\" stroke-width=\"%d\"/>",
            x + GAP_W / 2 - 2, y, hit ? HILITE : "#888", hit ? 4 : 1);
    if (hit) /* the address, under the zigzag, below the sizes */
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" style=\"fill:" HILITE
                ";font-weight:bold\">&#8593; 0x%" PRIx64 "</text>",
                x, y + AREA_H + 3 * (BAR_H + 2) + 28, addr);
    fputs("</g>\n", f);
}

/* Lays out (f NULL) or draws (f the page) the areas of vmas in rows of MAP_W px, each
 * area's width scaled by scale. Returns the number of rows. */
static size_t walk_areas(FILE *f, const json_t *vmas, double scale, bool has_crash,
                         uint64_t crash_addr, bool *kinds)
{
    size_t n = json_array_size(vmas), row = 0;
    double x = 0, label_end = 0; /* x where the last address label ends */

    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(vmas, i);
        uint64_t start = html_addr(v, "start"), end = html_addr(v, "end");
        uint64_t prev_end = i ? html_addr(json_array_get(vmas, i - 1), "end") : 0;
        double w = area_width((double)(end - start) / 4096) * scale;
        bool gap = start > prev_end || i == 0;

        double y = row * ROW_H + 4 + ADDR_H;

        if (x + w + (gap ? GAP_W : 0) > MAP_W && x > 0) {
            x = label_end = 0;
            y = ++row * ROW_H + 4 + ADDR_H;
        }
        if (gap) {
            if (f != NULL)
                draw_gap(f, x + 4, y, start - prev_end,
                         has_crash && crash_addr >= prev_end && crash_addr < start, crash_addr);
            x += GAP_W;
            /* the address where mapped memory starts again, when there is room */
            if (f != NULL && x + 4 >= label_end) {
                char addr[24];
                int len = snprintf(addr, sizeof(addr), "0x%" PRIx64, start);

                fprintf(f, "<text class=\"addr\" x=\"%.1f\" y=\"%.1f\">%s</text>\n", x + 4, y - 4,
                        addr);
                label_end = x + 4 + 6.5 * len + 6; /* 10 px text: about 6.5 px a character */
            }
        }
        if (f != NULL)
            draw_area(f, v, x + 4, y, w, has_crash && crash_addr >= start && crash_addr < end);
        kinds[vma_kind(v)] = true;
        x += w + 2;
        if (i + 1 == n && has_crash && crash_addr >= end && f != NULL)
            draw_gap(f, x + 4, row * ROW_H + 4 + ADDR_H, 0, true, crash_addr);
    }
    return row + 1;
}

/* The picture of process p's areas. crash_addr is the faulting address (has_crash). */
static void draw_process(FILE *f, const json_t *p, bool has_crash, uint64_t crash_addr)
{
    const json_t *vmas = json_object_get(p, "vmas");
    size_t n = json_array_size(vmas), rows, nk = 0;
    double total = 0, scale = 1;
    bool kinds[NKINDS] = {false};
    const char *names[NKINDS], *colors[NKINDS];

    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(vmas, i);
        total += area_width((double)(html_addr(v, "end") - html_addr(v, "start")) / 4096) + 2;
    }
    /* One row filled (areas up to twice their natural width), or narrower areas in up to
     * three rows. */
    if (total + n * GAP_W < MAP_W)
        scale = (MAP_W - n * GAP_W) / total < 2 ? (MAP_W - n * GAP_W) / total : 2;
    else if (total > 3 * (MAP_W - GAP_W * 4))
        scale = 3 * (MAP_W - GAP_W * 4) / (total + n * GAP_W);
    rows = walk_areas(NULL, vmas, scale, has_crash, crash_addr, kinds);
    fprintf(f,
            "<svg class=\"chart maps\" id=\"maps-%.0f\" data-vmas=\"%zu\" width=\"%d\" "
            "height=\"%zu\" viewBox=\"0 0 %d %zu\" role=\"img\"><title>address space of pid "
            "%.0f</title>\n",
            html_num(p, "pid"), n, MAP_W + 20, rows * ROW_H + 4, MAP_W + 20, rows * ROW_H + 4,
            html_num(p, "pid"));
    walk_areas(f, vmas, scale, has_crash, crash_addr, kinds);
    fputs("</svg>\n", f);
    for (size_t k = 0; k < NKINDS; k++) {
        if (kinds[k]) {
            names[nk] = map_kinds[k].kind;
            colors[nk++] = map_kinds[k].color;
        }
    }
    svg_legend(f, names, colors, nk);
}

void html_maps(FILE *f, const json_t *r)
{
    size_t i, shown = 0;
    const json_t *p;

    fputs("<section id=\"maps\"><h2>Address space</h2>\n", f);
    json_array_foreach (json_object_get(r, "processes"), i, p) {
        const json_t *crash = json_object_get(p, "crash");
        const char *addr =
            html_str(crash, "address") ? html_str(crash, "address") : html_str(crash, "rip");

        if (json_array_size(json_object_get(p, "vmas")) == 0)
            continue;
        shown++;
        fprintf(f, "<h3>pid %.0f <code>", html_num(p, "pid"));
        html_text(f, html_str(p, "command"));
        fprintf(f, "</code>: %s</h3>\n", addr != NULL ? "at the crash" : "at exit");
        draw_process(f, p, addr != NULL, addr != NULL ? strtoull(addr, NULL, 16) : 0);
    }
    if (shown == 0)
        fputs("<p class=\"placeholder\">no process has its areas in this report</p>\n", f);
    fputs("<p class=\"note\">Each box is one area (VMA), lowest address first, its width "
          "growing with the logarithm of its size (each doubling adds the same width); the "
          "zigzags are folded unmapped gaps. Under each box: the share of its pages resident "
          "(green), dirty (orange) and swapped out (vermillion). Hover a box for its maps "
          "line. Above the boxes: the address where memory starts after each gap. A crash's "
          "faulting area (or gap) is outlined in vermillion. Processes that "
          "ended before the run did have freed their areas and are not drawn.</p></section>\n",
          f);
}
