/* The heap profiler's output: the text summary printed at a process's end (peak, the top
 * sites by bytes at the peak and by page faults, with their stacks, like ms_print and
 * heaptrack_print) and the process's section of the JSON report's "heap_profile", built
 * with jansson. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "heapprof_int.h"
#include "vmemu/backtrace.h"
#include "vmemu/symbols.h"

#define HP_TOP        4 /* sites listed per table */
#define HP_TOP_FRAMES 4 /* frames printed per site */

/* Fault classes by enum fault_class, in the JSON report's words. */
static const char *const hp_class_names[HP_NCLASSES] = {
    "zero_page",    "anon",    "file_minor", "file_major", "cow",     "cow_reuse",
    "shared_write", "swap_in", "swap_cache", "thp",        "hugetlb",
};

static uint64_t hp_site_faults(const struct hp_site *s)
{
    uint64_t n = 0;
    for (int c = 0; c < HP_NCLASSES; c++)
        n += s->faults[c];
    return n;
}

/* "12,345,678" into buf. */
static const char *hp_num(char *buf, size_t len, uint64_t v)
{
    char t[32];
    int n = snprintf(t, sizeof(t), "%" PRIu64, v), o = 0;
    for (int i = 0; i < n && o + 2 < (int)len; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = t[i];
    }
    buf[o] = '\0';
    return buf;
}

/* The faults of one class set as "anon 2,057, cow 3" (the classes with a count). */
static void hp_classes(char *buf, size_t len, const uint64_t *faults)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int c = 0; c < HP_NCLASSES && o < len; c++) {
        char n[32];
        if (faults[c])
            o += (size_t)snprintf(buf + o, len - o, "%s%s %s", o ? ", " : "", hp_class_names[c],
                                  hp_num(n, sizeof(n), faults[c]));
    }
    if (o == 0)
        snprintf(buf, len, "none");
}

/* Indexes of the sites sorted by key, largest first (a sorted copy, *n entries). */
static size_t *hp_sorted(const struct heapprof *h, uint64_t (*key)(const struct hp_site *),
                         size_t *n)
{
    size_t *v = malloc((h->nsites ? h->nsites : 1) * sizeof(*v));
    *n = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < h->nsites; i++)
        if (key(&h->sites[i]) > 0)
            v[(*n)++] = i;
    for (size_t i = 1; i < *n; i++) { /* insertion sort: stable, sites are few */
        size_t x = v[i], j = i;
        for (; j > 0 && key(&h->sites[v[j - 1]]) < key(&h->sites[x]); j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
    return v;
}

static uint64_t hp_key_peak(const struct hp_site *s)
{
    return s->peak_bytes;
}

static uint64_t hp_key_faults(const struct hp_site *s)
{
    return hp_site_faults(s);
}

static void hp_print_frames(const struct heapprof *h, FILE *out, const struct hp_site *s)
{
    int n = (int)(s->key.n < HP_TOP_FRAMES ? s->key.n : HP_TOP_FRAMES);
    if (n == 0)
        fprintf(out, "==%d==        (no stack)\n", h->pid);
    for (int i = 0; i < n; i++) {
        char f[160];
        backtrace_format(h->syms->syms, s->key.pcs[i], f, sizeof(f));
        fprintf(out, "==%d==        #%d  %s\n", h->pid, i, f);
    }
}

/* The text summary; see heapprof_int.h. */
void hp_print_summary(const struct heapprof *h, FILE *out)
{
    char a[32], b[32], c[32], d[32], cls[256];
    int pid = h->pid;
    fprintf(out, "==%d== HEAP PROFILE (--profile heap)", pid);
    if (h->ppid)
        fprintf(out, ", forked from %d", h->ppid);
    fprintf(out, "\n==%d== %s calls: %s allocations, %s frees\n", pid,
            hp_num(a, sizeof(a), h->calls), hp_num(b, sizeof(b), h->allocs),
            hp_num(c, sizeof(c), h->frees));
    fprintf(out, "==%d== peak: %s bytes in %s blocks at call %s (fault #%s)\n", pid,
            hp_num(a, sizeof(a), h->peak_bytes), hp_num(b, sizeof(b), h->peak_blocks),
            hp_num(c, sizeof(c), h->peak_call), hp_num(d, sizeof(d), h->peak_fault_seq));
    fprintf(out, "==%d== at exit: %s bytes in %s blocks\n", pid,
            hp_num(a, sizeof(a), h->live_bytes), hp_num(b, sizeof(b), h->live_blocks));
    size_t n;
    size_t *v = hp_sorted(h, hp_key_peak, &n);
    if (v && n > 0) {
        fprintf(out, "==%d== top sites by bytes at the peak:\n", pid);
        for (size_t i = 0; i < n && i < HP_TOP; i++) {
            const struct hp_site *s = &h->sites[v[i]];
            fprintf(out, "==%d==   %s bytes (%.1f%%) in %s block%s; %s allocation%s here in all\n",
                    pid, hp_num(a, sizeof(a), s->peak_bytes),
                    h->peak_bytes ? 100.0 * (double)s->peak_bytes / (double)h->peak_bytes : 0.0,
                    hp_num(b, sizeof(b), s->peak_blocks), s->peak_blocks == 1 ? "" : "s",
                    hp_num(c, sizeof(c), s->allocs), s->allocs == 1 ? "" : "s");
            hp_print_frames(h, out, s);
        }
    }
    free(v);
    v = hp_sorted(h, hp_key_faults, &n);
    if (v && n > 0) {
        fprintf(out, "==%d== top sites by page faults:\n", pid);
        for (size_t i = 0; i < n && i < HP_TOP; i++) {
            const struct hp_site *s = &h->sites[v[i]];
            hp_classes(cls, sizeof(cls), s->faults);
            fprintf(out, "==%d==   %s faults (%s); resident %s pages at the peak, %s at exit\n",
                    pid, hp_num(a, sizeof(a), hp_site_faults(s)), cls,
                    hp_num(b, sizeof(b), s->resident_peak), hp_num(c, sizeof(c), s->resident_exit));
            hp_print_frames(h, out, s);
        }
    }
    free(v);
    hp_classes(cls, sizeof(cls), h->meta_faults);
    fprintf(out, "==%d== allocator metadata / free memory: faults %s\n", pid, cls);
}

static json_t *hp_json_faults(const uint64_t *faults)
{
    json_t *o = json_object();
    for (int c = 0; o && c < HP_NCLASSES; c++)
        json_object_set_new(o, hp_class_names[c], json_integer((json_int_t)faults[c]));
    return o;
}

static json_t *hp_json_site(const struct heapprof *h, size_t id)
{
    const struct hp_site *s = &h->sites[id];
    json_t *frames = json_array();
    for (uint32_t i = 0; frames && i < s->key.n; i++) {
        char pc[24];
        uint64_t off = 0;
        const char *fn = symtab_lookup(h->syms->syms, s->key.pcs[i], &off);
        snprintf(pc, sizeof(pc), "0x%" PRIx64, (uint64_t)s->key.pcs[i]);
        json_array_append_new(frames, json_pack("{s:s, s:s?, s:I}", "pc", pc, "function", fn,
                                                "offset", (json_int_t)off));
    }
    return json_pack(
        "{s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I}", "id", (json_int_t)id, "frames",
        frames, "allocations", (json_int_t)s->allocs, "bytes_allocated", (json_int_t)s->bytes_total,
        "peak_bytes", (json_int_t)s->peak_bytes, "peak_blocks", (json_int_t)s->peak_blocks,
        "exit_bytes", (json_int_t)s->live_bytes, "exit_blocks", (json_int_t)s->live_blocks,
        "faults", hp_json_faults(s->faults), "resident_pages_at_peak", (json_int_t)s->resident_peak,
        "resident_pages_at_exit", (json_int_t)s->resident_exit);
}

/* The JSON section; see heapprof_int.h. */
json_t *hp_json(const struct heapprof *h)
{
    json_t *tl = json_array(), *sites = json_array();
    for (size_t i = 0; tl && i < h->ntl; i++)
        json_array_append_new(
            tl, json_pack("{s:I, s:I, s:I, s:I}", "call", (json_int_t)h->tl[i].call, "fault_seq",
                          (json_int_t)h->tl[i].fault_seq, "bytes", (json_int_t)h->tl[i].bytes,
                          "blocks", (json_int_t)h->tl[i].blocks));
    size_t n;
    size_t *v = hp_sorted(h, hp_key_peak, &n);
    /* Sites that held bytes at the peak first (largest first), then the others that
     * allocated or were charged faults, in the order they appeared. */
    for (size_t i = 0; v && sites && i < n; i++)
        json_array_append_new(sites, hp_json_site(h, v[i]));
    for (size_t i = 0; sites && i < h->nsites; i++) {
        const struct hp_site *s = &h->sites[i];
        if (s->peak_bytes == 0 && (s->allocs > 0 || s->live_blocks > 0 || hp_site_faults(s) > 0))
            json_array_append_new(sites, hp_json_site(h, i));
    }
    free(v);
    json_t *peak =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "bytes", (json_int_t)h->peak_bytes, "blocks",
                  (json_int_t)h->peak_blocks, "call", (json_int_t)h->peak_call, "fault_seq",
                  (json_int_t)h->peak_fault_seq, "resident_walked_bytes",
                  (json_int_t)h->walked_bytes, "resident_walked_call", (json_int_t)h->walked_call);
    return json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "pid", h->pid,
                     "ppid", h->ppid, "calls", (json_int_t)h->calls, "allocations",
                     (json_int_t)h->allocs, "frees", (json_int_t)h->frees, "exit_bytes",
                     (json_int_t)h->live_bytes, "exit_blocks", (json_int_t)h->live_blocks, "peak",
                     peak, "timeline", tl, "sites", sites, "metadata_faults",
                     hp_json_faults(h->meta_faults));
}
