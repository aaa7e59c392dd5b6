/* Private to the HTML page (src/report/html*.c): the sections of the page, each drawn from
 * the report's JSON tree (the --report document), and small readers of that tree. Nothing
 * here looks at a live process: the page is a function of the tree alone. */
#ifndef VMEMU_SRC_REPORT_HTML_INT_H
#define VMEMU_SRC_REPORT_HTML_INT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "vmemu/svg.h"

/* Processes whose timeline charts are open; the others are folded (<details>). */
#define HTML_OPEN_PROCS   4
/* Processes given timeline charts (those with the most faults). */
#define HTML_TIMELINE_MAX 64
/* Processes drawn in the process tree; the others are counted in a note. */
#define HTML_TREE_MAX     200

/* ---- html.c: readers of the tree */

/* The number obj[key] (integer or real), or 0 when obj is not an object or has no such
 * number. */
double html_num(const json_t *obj, const char *key);
/* The number obj[key] as an int (a pid), clamped to int's range; 0 when there is none. */
int html_int(const json_t *obj, const char *key);
/* The string obj[key], or NULL when there is none. */
const char *html_str(const json_t *obj, const char *key);
/* The address string obj[key] ("0x..." as the report writes addresses), or 0. */
uint64_t html_addr(const json_t *obj, const char *key);
/* The process of report r with pid, or NULL. */
const json_t *html_proc(const json_t *r, int pid);

/* ---- the sections, each a <section> with a heading and a footnote */

/* The summary tables that --stats prints: faults by class, TLB, paging, per process. */
void html_tables(FILE *f, const json_t *r);
/* Faults over time (stacked by class) and memory over time (VSZ, RSS, swap) per process,
 * from r's "timeline"; a placeholder when r has none. */
void html_timeline(FILE *f, const json_t *r);
/* The address space at exit (or at the crash) of every process that still has its VMAs,
 * with the faulting VMA of a crash highlighted. */
void html_maps(FILE *f, const json_t *r);
/* The process tree, with the pages shared copy-on-write on each edge. */
void html_tree(FILE *f, const json_t *r);
/* --profile heap's section (html_heap.c): per profiled process, the heap over allocator
 * calls with its peak, and the allocation sites holding the most at the peak with their
 * faults and resident pages. Nothing when r has no "heap_profile". */
void html_heap(FILE *f, const json_t *r);

#endif
