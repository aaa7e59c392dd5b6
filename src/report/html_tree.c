/* The process tree of the --html page: every listed process as a box (pid, command,
 * faults), children to the right of their parent (by "ppid"), each edge labelled with the
 * pages the fork made copy-on-write-shared and how many of them were still shared when the
 * child exited ("cow_shared_at_fork", "cow_shared_at_exit"). */
#include <stdlib.h>
#include <string.h>

#include "html_int.h"

#define NODE_W    210 /* px of a box */
#define NODE_H    22
#define COL_W     300 /* px between depths (room for the edge label) */
#define ROW_H     28
#define LABEL_MAX 24 /* characters of the command shown in a box */

/* A process placed in the tree. */
struct tree_node {
    const json_t *p; /* its entry in "processes" */
    int pid;         /* its pid */
    int ppid;        /* its parent's pid */
    int parent;      /* index of the parent node, -1 for a root */
    int depth;       /* 0 for a root */
    int row;         /* row in the picture, in depth-first order */
};

/* Gives node i and its descendants rows in depth-first order from *row. */
static void place(struct tree_node *t, size_t n, size_t i, int depth, int *row)
{
    t[i].depth = depth;
    t[i].row = (*row)++;
    for (size_t c = 0; c < n; c++)
        if (t[c].parent == (int)i && c != i)
            place(t, n, c, depth + 1, row);
}

/* The short name of command cmd in label (LABEL_MAX characters and a NUL): each path (a
 * word starting with / or .) by its last component ("/bin/busybox sh /x/pipes.sh":
 * "busybox sh pipes.sh"), cut with "..." when longer. */
static void short_command(const char *cmd, char *label)
{
    size_t n = 0;

    while (cmd != NULL && *cmd != '\0' && n < LABEL_MAX) {
        size_t len = strcspn(cmd, " ");
        const char *word = cmd, *slash = memrchr(cmd, '/', len);

        if ((*cmd == '/' || *cmd == '.') && slash != NULL && slash + 1 < cmd + len)
            word = slash + 1;
        len -= (size_t)(word - cmd);
        if (n > 0)
            label[n++] = ' ';
        size_t i = 0;
        for (; i < len && n < LABEL_MAX; i++)
            label[n++] = word[i];
        cmd = word + len;
        cmd += strspn(cmd, " ");
        if ((i < len || *cmd != '\0') && n >= LABEL_MAX) /* something left out */
            memcpy(label + LABEL_MAX - 3, "...", 3);
    }
    label[n] = '\0';
}

/* The box of node t. */
static void draw_node(FILE *f, const struct tree_node *t)
{
    const json_t *fl = json_object_get(t->p, "faults");
    const json_t *sig = json_object_get(t->p, "signal");
    const char *cmd = html_str(t->p, "command");
    double x = 10 + t->depth * COL_W, y = 6 + t->row * ROW_H;
    char label[LABEL_MAX + 1], faults[32];

    short_command(cmd, label);
    svg_count(faults, sizeof(faults), html_num(fl, "minor") + html_num(fl, "major"));
    fprintf(f,
            "<g class=\"node\" data-pid=\"%d\" data-ppid=\"%d\"><title>pid %d, parent %d: ", t->pid,
            t->ppid, t->pid, t->ppid);
    html_text(f, cmd);
    fprintf(f, "\n%.0f minor, %.0f major faults; exit status %.0f</title>", html_num(fl, "minor"),
            html_num(fl, "major"), html_num(t->p, "exit_status"));
    fprintf(f,
            "<rect x=\"%.0f\" y=\"%.0f\" width=\"%d\" height=\"%d\" rx=\"4\" fill=\"#eef3f8\" "
            "stroke=\"%s\" stroke-width=\"%d\"/>",
            x, y, NODE_W, NODE_H, json_is_integer(sig) ? "#D55E00" : "#0072B2",
            json_is_integer(sig) ? 3 : 1);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\"><tspan font-weight=\"bold\">%d</tspan> ", x + 5, y + 15,
            t->pid);
    html_text(f, label);
    fprintf(f,
            "</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\" fill=\"#555\">%s</text></g>\n",
            x + NODE_W - 5, y + 15, faults);
}

/* The edge from parent pa to child c, labelled with its copy-on-write pages. */
static void draw_edge(FILE *f, const struct tree_node *pa, const struct tree_node *c)
{
    double x0 = 10 + pa->depth * COL_W + NODE_W, y0 = 6 + pa->row * ROW_H + NODE_H / 2;
    double x1 = 10 + c->depth * COL_W, y1 = 6 + c->row * ROW_H + NODE_H / 2;
    const json_t *at_fork = json_object_get(c->p, "cow_shared_at_fork");
    const json_t *at_exit = json_object_get(c->p, "cow_shared_at_exit");

    fprintf(f, "<g class=\"edge\" data-parent=\"%d\" data-child=\"%d\"", pa->pid, c->pid);
    if (json_is_number(at_fork))
        fprintf(f, " data-cow-fork=\"%.0f\" data-cow-exit=\"%.0f\"", json_number_value(at_fork),
                json_number_value(at_exit));
    fprintf(f,
            "><path d=\"M%.0f %.0fH%.0fV%.0fH%.0f\" fill=\"none\" stroke=\"#888\" "
            "stroke-width=\"1.5\"/>",
            x0, y0, x0 + 12, y1, x1);
    if (json_is_number(at_fork))
        fprintf(f,
                "<text class=\"cow\" x=\"%.0f\" y=\"%.0f\"><title>pages the fork made "
                "copy-on-write-shared between parent and child (%.0f), and of those still "
                "shared when the child exited (%.0f)</title>COW %.0f &#8594; %.0f</text>",
                x0 + 16, y1 - 3, json_number_value(at_fork), json_number_value(at_exit),
                json_number_value(at_fork), json_number_value(at_exit));
    fputs("</g>\n", f);
}

void html_tree(FILE *f, const json_t *r)
{
    const json_t *procs = json_object_get(r, "processes");
    size_t n = json_array_size(procs), i;
    struct tree_node *t;
    int rows = 0, depth = 0;
    bool has_cow = false;

    if (n > HTML_TREE_MAX)
        n = HTML_TREE_MAX;
    t = calloc(n ? n : 1, sizeof(*t));
    if (t == NULL)
        return;
    for (i = 0; i < n; i++) {
        t[i].p = json_array_get(procs, i);
        t[i].pid = html_int(t[i].p, "pid");
        t[i].ppid = html_int(t[i].p, "ppid");
        t[i].parent = -1;
        has_cow |= json_is_number(json_object_get(t[i].p, "cow_shared_at_fork"));
    }
    for (i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (j != i && t[j].pid == t[i].ppid && j < i) /* parents are listed first */
                t[i].parent = (int)j;
    for (i = 0; i < n; i++)
        if (t[i].parent < 0)
            place(t, n, i, 0, &rows);
    for (i = 0; i < n; i++)
        depth = t[i].depth > depth ? t[i].depth : depth;
    fprintf(f,
            "<section id=\"tree\"><h2>Process tree</h2>\n<svg class=\"chart tree\" "
            "data-nodes=\"%zu\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "role=\"img\"><title>process tree</title>\n",
            n, 20 + depth * COL_W + NODE_W, 12 + rows * ROW_H, 20 + depth * COL_W + NODE_W,
            12 + rows * ROW_H);
    for (i = 0; i < n; i++)
        if (t[i].parent >= 0)
            draw_edge(f, &t[t[i].parent], &t[i]);
    for (i = 0; i < n; i++)
        draw_node(f, &t[i]);
    fputs("</svg>\n<p class=\"note\">Each box: pid, command (paths shortened; hover for the "
          "whole line) and page faults. A child is "
          "drawn right of its parent; a box outlined in vermillion was killed by a signal.",
          f);
    if (json_array_size(procs) > n)
        fprintf(f, " Only the first %d of %zu processes are drawn.", HTML_TREE_MAX,
                json_array_size(procs));
    fputs(has_cow ? " Edge labels, COW a &#8594; b: the fork made a pages copy-on-write-shared "
                    "between parent and child; b of them were still shared when the child "
                    "exited."
                  : " This report has no copy-on-write counts per fork (cow_shared_at_fork).",
          f);
    fputs("</p></section>\n", f);
    free(t);
}
