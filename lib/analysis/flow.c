#include "analysis/flow.h"

#include <stdlib.h>
#include <string.h>

#define EPS 1e-12

/* One flow problem at a time on the layers 0..top-1 of the graph (depths 0..top). Arcs of
 * node (m, x) are numbered k = 0..2n-1: k < n is the edge down to (m - 1, k), k >= n the
 * reverse of the edge up to (m + 1, k - n), which can carry flow back. */
typedef struct {
    int n, top;
    const double *cap;  /* (layers, n, n) cap[m][x][y]: edge (m + 1, x) -> (m, y) */
    double *f;          /* (layers, n, n) the flow on each of those edges */
    int *level;         /* (nodes,) BFS distance from the source, -1 unreached or dead */
    int *arc;           /* (nodes,) Dinic's current arc */
    int *queue;         /* (nodes,) BFS queue */
    int *path;          /* (nodes,) the arcs taken from the source, as node * 2n + k */
} net;

static size_t edge(const net *g, int m, int x, int y)
{
    return ((size_t)m * (size_t)g->n + (size_t)x) * (size_t)g->n + (size_t)y;
}

/* Residual capacity of arc k of node v, and the node it leads to (*w); 0 if there is none. */
static double residual(const net *g, int v, int k, int *w)
{
    int n = g->n, m = v / n, x = v % n;
    if (k < n) {
        if (m == 0)
            return 0.0;
        *w = v - n - x + k;
        size_t e = edge(g, m - 1, x, k);
        return g->cap[e] - g->f[e];
    }
    if (m == g->top)
        return 0.0;
    *w = v + n - x + (k - n);
    return g->f[edge(g, m, k - n, x)];
}

static void push(net *g, int v, int k, double d)
{
    int n = g->n, m = v / n, x = v % n;
    if (k < n)
        g->f[edge(g, m - 1, x, k)] += d;
    else
        g->f[edge(g, m, k - n, x)] -= d;
}

/* The first arc k >= k0 of v with residual capacity into a node one level further, or 2n.
 * The arcs are scanned as rows of cap and f rather than through residual(): this loop is
 * where the time goes. */
static int next_arc(const net *g, int v, int k0)
{
    int n = g->n, m = v / n, x = v % n, want = g->level[v] + 1;
    int k = k0;
    if (k < n && m > 0) {
        const double *c = g->cap + edge(g, m - 1, x, 0), *f = g->f + edge(g, m - 1, x, 0);
        const int *lv = g->level + (m - 1) * n;
        for (; k < n; k++)
            if (lv[k] == want && c[k] - f[k] > EPS)
                return k;
    }
    if (k < n)
        k = n;
    if (m < g->top) {
        const double *f = g->f + edge(g, m, 0, x); /* f[y * n]: edge (m + 1, y) -> (m, x) */
        const int *lv = g->level + (m + 1) * n;
        for (; k < 2 * n; k++)
            if (lv[k - n] == want && f[(size_t)(k - n) * (size_t)n] > EPS)
                return k;
    }
    return 2 * n;
}

/* Levels from s over arcs with residual capacity, up to t's; 1 when t is reached. Nodes as
 * far as t (other than t) cannot lead to it in this phase: they stay unexpanded and are
 * marked dead. */
static int bfs(net *g, int s, int t)
{
    int n = g->n, nodes = (g->top + 1) * n, head = 0, tail = 0;
    for (int v = 0; v < nodes; v++)
        g->level[v] = -1;
    g->level[s] = 0;
    g->queue[tail++] = s;
    while (head < tail) {
        int v = g->queue[head++];
        if (g->level[t] >= 0 && g->level[v] >= g->level[t])
            break;
        int m = v / n, x = v % n, lv = g->level[v] + 1;
        if (m > 0) {
            const double *c = g->cap + edge(g, m - 1, x, 0), *f = g->f + edge(g, m - 1, x, 0);
            int *to = g->level + (m - 1) * n;
            for (int y = 0; y < n; y++)
                if (to[y] < 0 && c[y] - f[y] > EPS) {
                    to[y] = lv;
                    g->queue[tail++] = (m - 1) * n + y;
                }
        }
        if (m < g->top) {
            const double *f = g->f + edge(g, m, 0, x);
            int *to = g->level + (m + 1) * n;
            for (int y = 0; y < n; y++)
                if (to[y] < 0 && f[(size_t)y * (size_t)n] > EPS) {
                    to[y] = lv;
                    g->queue[tail++] = (m + 1) * n + y;
                }
        }
    }
    if (g->level[t] < 0)
        return 0;
    for (int v = 0; v < nodes; v++)
        if (v != t && g->level[v] >= g->level[t])
            g->level[v] = -1;
    return 1;
}

/* A blocking flow in the level graph, found path by path without recursion; returns its
 * value. */
static double blocking(net *g, int s, int t)
{
    int n = g->n, n2 = 2 * n, nodes = (g->top + 1) * n;
    for (int v = 0; v < nodes; v++)
        g->arc[v] = 0;
    double total = 0.0;
    int depth = 0, v = s;
    for (;;) {
        if (v == t) {
            double d = 1e300;
            for (int i = 0; i < depth; i++) {
                int w, u = g->path[i] / n2, k = g->path[i] % n2;
                double r = residual(g, u, k, &w);
                if (r < d)
                    d = r;
            }
            for (int i = 0; i < depth; i++)
                push(g, g->path[i] / n2, g->path[i] % n2, d);
            total += d;
            depth = 0; /* saturated arcs are skipped from their current-arc pointers */
            v = s;
            continue;
        }
        g->arc[v] = next_arc(g, v, g->arc[v]);
        if (g->arc[v] < n2) {
            int k = g->arc[v], m = v / n;
            g->path[depth++] = v * n2 + k;
            v = k < n ? (m - 1) * n + k : (m + 1) * n + (k - n);
            continue;
        }
        g->level[v] = -1; /* dead end: no path to t through v in this phase */
        if (depth == 0)
            return total;
        v = g->path[--depth] / n2;
        g->arc[v]++;
    }
}

static double max_flow(net *g, int s, int t)
{
    size_t edges = (size_t)g->top * (size_t)g->n * (size_t)g->n;
    memset(g->f, 0, edges * sizeof *g->f);
    double total = 0.0;
    while (bfs(g, s, t))
        total += blocking(g, s, t);
    return total;
}

uint64_t mhv_flow_bytes(int num_layers, int n)
{
    /* as mhv_flow's mallocs: the flows g.f and the four per-node arrays */
    uint64_t nn = (uint64_t)n * (uint64_t)n, nodes = (uint64_t)(num_layers + 1) * (uint64_t)n;
    net g;
    return (num_layers ? (uint64_t)num_layers : 1) * (nn ? nn : 1) * sizeof *g.f +
           (nodes ? nodes : 1) * (sizeof *g.level + sizeof *g.arc + sizeof *g.queue +
                                  sizeof *g.path);
}

mhv_status mhv_flow(const double *a, int num_layers, int n, double *out, mhv_error *err)
{
    size_t nn = (size_t)n * (size_t)n, nodes = (size_t)(num_layers + 1) * (size_t)n;
    net g = {.n = n, .cap = a};
    g.f = malloc((num_layers ? (size_t)num_layers : 1) * (nn ? nn : 1) * sizeof *g.f);
    g.level = malloc((nodes ? nodes : 1) * sizeof *g.level);
    g.arc = malloc((nodes ? nodes : 1) * sizeof *g.arc);
    g.queue = malloc((nodes ? nodes : 1) * sizeof *g.queue);
    g.path = malloc((nodes ? nodes : 1) * sizeof *g.path);
    if (!g.f || !g.level || !g.arc || !g.queue || !g.path) {
        free(g.f), free(g.level), free(g.arc), free(g.queue), free(g.path);
        return mhv_fail(err, MHV_ENOMEM, "", "out of memory");
    }
    for (int l = 0; l < num_layers; l++) {
        g.top = l + 1;
        double *o = out + (size_t)l * nn;
        for (int i = 0; i < n; i++) {
            double sum = 0.0;
            for (int j = 0; j < n; j++) {
                o[(size_t)i * (size_t)n + (size_t)j] = max_flow(&g, (l + 1) * n + i, j);
                sum += o[(size_t)i * (size_t)n + (size_t)j];
            }
            if (sum > 0)
                for (int j = 0; j < n; j++)
                    o[(size_t)i * (size_t)n + (size_t)j] /= sum;
        }
    }
    free(g.f), free(g.level), free(g.arc), free(g.queue), free(g.path);
    return MHV_OK;
}
