/* The --html page: one self-contained HTML file (inline SVG and CSS, nothing fetched, no
 * script) drawn from the report's JSON tree: header, summary tables, fault and memory
 * timelines, the address space, the process tree and the crash. */
#ifndef VMEMU_HTML_H
#define VMEMU_HTML_H

#include <jansson.h>

/* Writes the HTML page of the JSON report tree report (the --report document) to path
 * (created or truncated). Members the tree lacks are left out of the page (a timeline
 * placeholder says so). Returns 0, -EINVAL when report is not an object, or -errno. */
int report_html(const char *path, const json_t *report);

#endif
