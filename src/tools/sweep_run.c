/* The runs of `vmemu sweep`: each cell a child `vmemu --mem M --policy P --report TMPFILE
 * --timeline 0 ... -- PROGRAM ARGS` (fork/execv of the running vmemu), up to -j at a time,
 * reaped in any order; its counters are read back from its --report JSON with jansson,
 * and the end of its stderr kept when it wrote no report. Temporary files are removed as soon as
 * each cell has been read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "sweep_int.h"
#include "vmemu/reclaim.h"
#include "vmemu/util.h"

#define SWEEP_TAIL_BYTES   2048 /* how much of a failed cell's stderr is kept */
#define SWEEP_TAIL_LINES   8    /* ... and how many of its last lines are shown */
/* Present in every report vmemu writes: a report is whole when it has this member. */
#define REPORT_MARKER_PATH "processes.0.exit_status"

/* The member at path ("processes.0.faults.minor": object keys, array indexes) of root,
 * or NULL. */
static json_t *report_member(json_t *root, const char *path)
{
    char key[64];
    json_t *v = root;

    while (v != NULL && *path != '\0') {
        size_t len = strcspn(path, ".");

        if (len >= sizeof(key))
            return NULL;
        memcpy(key, path, len);
        key[len] = '\0';
        path += len + (path[len] == '.');
        if (json_is_array(v))
            v = json_array_get(v, strtoul(key, NULL, 10));
        else
            v = json_object_get(v, key);
    }
    return v;
}

/* Reads cell's report file (with jansson) into its counters: every sweep_counters path
 * that holds an integer (another reads as 0). Leaves cell->has_report false when the file
 * cannot be read, is not JSON or does not hold a whole report. */
static void sweep_read_report(struct sweep_cell *cell)
{
    json_error_t err;
    json_t *root = json_load_file(cell->report, 0, &err);

    if (root == NULL)
        return;
    for (int i = 0; i < CNT_COUNT; i++) {
        json_t *v = report_member(root, sweep_counters[i].path);

        cell->count[i] =
            json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
    }
    cell->has_report = report_member(root, REPORT_MARKER_PATH) != NULL;
    json_decref(root);
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
 * file. argv is a scratch array of sw->npass + 12 + program-argument entries. Returns true
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
    argv[n++] = "--timeline"; /* only the counters are read: no periodic samples */
    argv[n++] = "0";
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
    argv = calloc(nargs + sw->npass + 12, sizeof(*argv));
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
