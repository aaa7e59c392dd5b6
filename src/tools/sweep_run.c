/* The runs of `vmemu sweep`: each cell a child `vmemu --mem M --policy P --report TMPFILE
 * ... -- PROGRAM ARGS` (fork/execv of the running vmemu), up to -j at a time, reaped in any
 * order; its counters are read back from its --report JSON with a small line reader
 * (report.c writes one member per line), and the end of its stderr kept when it wrote no
 * report. Temporary files are removed as soon as each cell has been read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sweep_int.h"
#include "vmemu/reclaim.h"
#include "vmemu/util.h"

#define SWEEP_TAIL_BYTES 2048 /* how much of a failed cell's stderr is kept */
#define SWEEP_TAIL_LINES 8    /* ... and how many of its last lines are shown */
#define REPORT_MAX_DEPTH 16   /* nesting the report reader follows */
#define REPORT_PATH_MAX  256  /* longest member path it follows ("processes.0.faults.minor") */

/* Present in every report vmemu writes: a report is whole when it has this member and its
 * closing brace. */
#define REPORT_MARKER_PATH "processes.0.exit_status"

/* Where the report reader is: the member path of the innermost open object or array. */
struct report_reader {
    char path[REPORT_PATH_MAX];   /* path of the innermost open container ("" at the top) */
    size_t len[REPORT_MAX_DEPTH]; /* strlen(path) of each open container */
    long index[REPORT_MAX_DEPTH]; /* next element index of an open array; -1 for an object */
    int depth;                    /* open containers (beyond REPORT_MAX_DEPTH: not followed) */
    bool marker;                  /* REPORT_MARKER_PATH was read */
    bool closed;                  /* the document's closing brace was read */
};

/* Reads one line of a report: `"key": value` in an object, a value in an array, or a
 * closing bracket; a value may open an object or array. A number whose path is one of
 * sweep_counters is stored in cell. Strings (argv, command, ...) are never looked into. */
static void report_read_line(struct report_reader *r, const char *line, struct sweep_cell *cell)
{
    const char *s = line + strspn(line, " \t");
    char name[32], full[REPORT_PATH_MAX + sizeof(name) + 1];
    int d = r->depth;

    if (*s == '}' || *s == ']') {
        if (d > 0 && --r->depth > 0 && r->depth <= REPORT_MAX_DEPTH)
            r->path[r->len[r->depth - 1]] = '\0';
        r->closed |= d == 1;
        return;
    }
    if (d > REPORT_MAX_DEPTH) {
        r->depth += (*s == '{' || *s == '[') && s[1] != '}' && s[1] != ']';
        return;
    }
    if (d == 0) {
        name[0] = '\0';
    } else if (r->index[d - 1] >= 0) {
        snprintf(name, sizeof(name), "%ld", r->index[d - 1]++);
    } else if (*s == '"') { /* the keys vmemu writes are plain words: no escapes */
        const char *end = strchr(s + 1, '"');

        if (end == NULL || end[1] != ':')
            return;
        snprintf(name, sizeof(name), "%.*s", (int)(end - s - 1), s + 1);
        s = end + 2 + strspn(end + 2, " ");
    } else {
        return;
    }
    snprintf(full, sizeof(full), "%s%s%s", r->path, r->path[0] != '\0' ? "." : "", name);
    if ((*s == '{' || *s == '[') && s[1] != '}' && s[1] != ']') {
        r->depth++;
        if (d < REPORT_MAX_DEPTH) {
            /* a path too long to keep is cut: it then matches no counter */
            snprintf(r->path, sizeof(r->path), "%.*s", REPORT_PATH_MAX - 1, full);
            r->len[d] = strlen(r->path);
            r->index[d] = *s == '[' ? 0 : -1;
        }
        return;
    }
    r->marker |= strcmp(full, REPORT_MARKER_PATH) == 0;
    for (int i = 0; i < CNT_COUNT; i++) {
        if (strcmp(full, sweep_counters[i].path) == 0)
            cell->count[i] = strtoull(s, NULL, 10);
    }
}

/* Reads cell's report file into its counters. Leaves cell->has_report false when the file
 * cannot be read or does not hold a whole report. */
static void sweep_read_report(struct sweep_cell *cell)
{
    struct report_reader r = {.depth = 0};
    FILE *f = fopen(cell->report, "re");
    char *line = NULL;
    size_t cap = 0;

    if (f == NULL)
        return;
    while (getline(&line, &cap, f) >= 0)
        report_read_line(&r, line, cell);
    free(line);
    fclose(f);
    cell->has_report = r.marker && r.closed;
}

/* Keeps the last SWEEP_TAIL_LINES lines of what the cell wrote on stderr in
 * cell->err_tail (NULL when it wrote nothing). */
static void sweep_read_err_tail(struct sweep_cell *cell)
{
    char buf[SWEEP_TAIL_BYTES + 1];
    struct stat st;
    off_t off;
    ssize_t n;
    char *start;
    int lines = 0;

    if (fstat(cell->err_fd, &st) < 0 || st.st_size == 0)
        return;
    off = st.st_size > SWEEP_TAIL_BYTES ? st.st_size - SWEEP_TAIL_BYTES : 0;
    n = pread(cell->err_fd, buf, SWEEP_TAIL_BYTES, off);
    if (n <= 0)
        return;
    while (n > 0 && buf[n - 1] == '\n')
        n--;
    buf[n] = '\0';
    start = buf + n;
    while (start > buf && lines < SWEEP_TAIL_LINES) {
        start--;
        if (*start == '\n' && ++lines == SWEEP_TAIL_LINES)
            start++;
    }
    if (off > 0 && start == buf) /* the first line was cut: drop it */
        start = strchr(buf, '\n') != NULL ? strchr(buf, '\n') + 1 : buf;
    cell->err_tail = strdup(start);
}

/* Makes a temporary file under sw->tmpdir (close-on-exec). Stores its name (to free) in
 * *name unless name is NULL, in which case the file is unlinked at once. Returns its
 * descriptor or -errno. */
static int sweep_tmpfile(const struct sweep *sw, char **name)
{
    char *path = malloc(strlen(sw->tmpdir) + sizeof("/vmemu-sweep-XXXXXX"));
    int fd;

    if (path == NULL)
        return -ENOMEM;
    sprintf(path, "%s/vmemu-sweep-XXXXXX", sw->tmpdir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        fd = -errno;
        free(path);
        return fd;
    }
    if (name != NULL) {
        *name = path;
    } else {
        unlink(path);
        free(path);
    }
    return fd;
}

/* Marks a cell that could not be started: status -1, and why in place of its stderr tail. */
static void sweep_cell_not_started(struct sweep_cell *cell, const char *what, int err)
{
    char msg[256];

    snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
    cell->status = -1;
    cell->err_tail = strdup(msg);
}

/* Starts the run of one cell: `self --mem M --policy P --report FILE [pass-through] --
 * PROGRAM ARGS` with stdin and stdout on /dev/null and stderr in an unlinked temporary
 * file. argv is a scratch array of sw->npass + 10 + program-argument entries. Returns true
 * when the child was started; false (cell marked) when it could not be. */
static bool sweep_start(struct sweep *sw, struct sweep_cell *cell, char **argv)
{
    size_t n = 0;
    int fd;

    if ((fd = sweep_tmpfile(sw, &cell->report)) < 0) {
        sweep_cell_not_started(cell, "cannot create a temporary file", -fd);
        return false;
    }
    close(fd);
    if ((fd = sweep_tmpfile(sw, NULL)) < 0) {
        sweep_cell_not_started(cell, "cannot create a temporary file", -fd);
        return false;
    }
    cell->err_fd = fd;
    argv[n++] = (char *)sw->self;
    argv[n++] = "--mem";
    argv[n++] = (char *)cell->mem;
    argv[n++] = "--policy";
    argv[n++] = (char *)reclaim_policy_name(cell->policy);
    argv[n++] = "--report";
    argv[n++] = cell->report;
    for (size_t i = 0; i < sw->npass; i++)
        argv[n++] = (char *)sw->pass[i];
    argv[n++] = "--";
    for (char **a = sw->prog; *a != NULL; a++)
        argv[n++] = *a;
    argv[n] = NULL;

    cell->start_ns = now_ns();
    cell->pid = fork();
    if (cell->pid < 0) {
        cell->pid = 0;
        sweep_cell_not_started(cell, "fork", errno);
        return false;
    }
    if (cell->pid == 0) {
        int null;

        /* stderr first: err_fd may be 0 or 1 when sweep was started with those closed */
        if (cell->err_fd == STDERR_FILENO ? fcntl(STDERR_FILENO, F_SETFD, 0) < 0
                                          : dup2(cell->err_fd, STDERR_FILENO) < 0)
            _exit(127);
        null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
            _exit(127);
        execv(sw->self, argv);
        dprintf(STDERR_FILENO, "vmemu: sweep: cannot run %s: %s\n", sw->self, strerror(errno));
        _exit(127);
    }
    return true;
}

/* Waits for one of the running cells to end and reads its results. Returns the cell, or
 * NULL when no child is left (it should not happen: a bookkeeping error). */
static struct sweep_cell *sweep_reap(struct sweep *sw)
{
    struct sweep_cell *cell = NULL;
    int st;
    pid_t pid;

    do {
        pid = waitpid(-1, &st, 0);
    } while (pid < 0 && errno == EINTR);
    if (pid < 0)
        return NULL;
    for (size_t i = 0; i < sw->ncells && cell == NULL; i++) {
        if (sw->cells[i].pid == pid)
            cell = &sw->cells[i];
    }
    if (cell == NULL) /* not one of ours (main.c started no other child) */
        return sweep_reap(sw);
    cell->wall_ns = now_ns() - cell->start_ns;
    cell->pid = 0;
    cell->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    sweep_read_report(cell);
    unlink(cell->report);
    free(cell->report);
    cell->report = NULL;
    if (!cell->has_report)
        sweep_read_err_tail(cell);
    close(cell->err_fd);
    cell->err_fd = -1;
    return cell;
}

/* Runs every cell, at most sw->jobs at a time. Returns 0, or -ENOMEM (nothing started). */
int sweep_run(struct sweep *sw)
{
    size_t nargs = 0, next = 0, running = 0;
    char **argv;

    for (char **a = sw->prog; *a != NULL; a++)
        nargs++;
    argv = calloc(nargs + sw->npass + 10, sizeof(*argv));
    if (argv == NULL)
        return -ENOMEM;
    while (next < sw->ncells || running > 0) {
        while (running < sw->jobs && next < sw->ncells)
            running += sweep_start(sw, &sw->cells[next++], argv);
        if (running > 0 && sweep_reap(sw) != NULL)
            running--;
        else if (running > 0)
            break;
    }
    free(argv);
    return 0;
}
