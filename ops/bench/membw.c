// membw: main-memory bandwidth, the ceiling for single-sequence decoding
// (tokens/s <= read bandwidth / weight bytes).
//
// usage: membw [MiB=1024] [threads=1] [reps=5]
// Prints one JSON object: best read GB/s (sum of a 64-bit array) and best copy GB/s
// (memcpy; bytes counted = read + written) over `reps` runs, threads splitting the array.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const uint64_t * src;
    uint64_t * dst;
    size_t n;
    int copy;
    uint64_t sum;
} job_t;

static void * worker(void * arg) {
    job_t * j = arg;
    if (j->copy) {
        memcpy(j->dst, j->src, j->n * sizeof(uint64_t));
        return NULL;
    }
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    size_t i = 0;
    for (; i + 4 <= j->n; i += 4) {
        a0 += j->src[i];
        a1 += j->src[i + 1];
        a2 += j->src[i + 2];
        a3 += j->src[i + 3];
    }
    for (; i < j->n; i++) a0 += j->src[i];
    j->sum = a0 + a1 + a2 + a3;
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double run(uint64_t * src, uint64_t * dst, size_t n, int threads, int copy, uint64_t * sink) {
    pthread_t th[64];
    job_t jobs[64];
    size_t per = n / threads;
    double t0 = now();
    for (int k = 0; k < threads; k++) {
        jobs[k] = (job_t){ src + k * per, dst + k * per, k == threads - 1 ? n - k * per : per, copy, 0 };
        pthread_create(&th[k], NULL, worker, &jobs[k]);
    }
    for (int k = 0; k < threads; k++) {
        pthread_join(th[k], NULL);
        *sink += jobs[k].sum;
    }
    return now() - t0;
}

int main(int argc, char ** argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    if (threads < 1 || threads > 64 || mib == 0 || reps < 1) {
        fprintf(stderr, "usage: membw [MiB] [threads 1-64] [reps]\n");
        return 2;
    }
    size_t bytes = mib << 20, n = bytes / sizeof(uint64_t);
    uint64_t * src = aligned_alloc(64, bytes), * dst = aligned_alloc(64, bytes);
    if (!src || !dst) {
        fprintf(stderr, "membw: cannot allocate 2 x %zu MiB\n", mib);
        return 1;
    }
    for (size_t i = 0; i < n; i++) src[i] = i;
    memset(dst, 1, bytes);
    uint64_t sink = 0;
    double best_read = 1e30, best_copy = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = run(src, dst, n, threads, 0, &sink);
        if (t < best_read) best_read = t;
        t = run(src, dst, n, threads, 1, &sink);
        if (t < best_copy) best_copy = t;
    }
    printf("{\"mib\": %zu, \"threads\": %d, \"read_gbs\": %.2f, \"copy_gbs\": %.2f, \"check\": %llu}\n",
           mib, threads, bytes / best_read / 1e9, 2.0 * bytes / best_copy / 1e9,
           (unsigned long long) (sink & 0xff));
    free(src);
    free(dst);
    return 0;
}
