/* The report's JSON tree for the HTML page: the document report_json_all() writes, read
 * back with jansson from an in-memory file (a memfd named through /proc/self/fd), so that
 * the page and the --report file can never disagree. */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmemu/html.h"
#include "vmemu/report.h"

/* Writes the report of s into a memfd and parses it. Returns the tree or NULL. */
json_t *report_json_tree(const struct sched *s)
{
    char path[64];
    json_error_t err;
    json_t *tree = NULL;
    int fd = memfd_create("vmemu-report", MFD_CLOEXEC);

    if (fd < 0)
        return NULL;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (report_json_all(path, s) == 0 && lseek(fd, 0, SEEK_SET) == 0)
        tree = json_loadfd(fd, 0, &err);
    close(fd);
    return tree;
}
