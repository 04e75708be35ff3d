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

/* Levels from s over arcs with residual capacity; 1 when t is reached. */
static int bfs(net *g, int s, int t)
{
    int nodes = (g->top + 1) * g->n, head = 0, tail = 0;
    for (int v = 0; v < nodes; v++)
        g->level[v] = -1;
    g->level[s] = 0;
    g->queue[tail++] = s;
    while (head < tail) {
        int v = g->queue[head++];
        for (int k = 0; k < 2 * g->n; k++) {
            int w;
            if (residual(g, v, k, &w) > EPS && g->level[w] < 0) {
                g->level[w] = g->level[v] + 1;
                g->queue[tail++] = w;
            }
        }
    }
    return g->level[t] >= 0;
}

/* A blocking flow in the level graph, found path by path without recursion; returns its
 * value. */
static double blocking(net *g, int s, int t)
{
    int n2 = 2 * g->n, nodes = (g->top + 1) * g->n;
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
        int w = -1;
        for (; g->arc[v] < n2; g->arc[v]++) {
            int x;
            if (residual(g, v, g->arc[v], &x) > EPS && g->level[x] == g->level[v] + 1) {
                w = x;
                break;
            }
        }
        if (w >= 0) {
            g->path[depth++] = v * n2 + g->arc[v];
            v = w;
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
