/*
 * stats: summary statistics of the numbers in the input, an ordinary C program (stdio, doubles,
 * libm, malloc, qsort) built with wasi-libc and run as a WASI task (docs/TASKS.md §5).
 *
 * Input: decimal numbers separated by white space ("1 2.5 -3e2\n..."), read from stdin.
 * Output (stdout): count, sum, mean, sample standard deviation, min, quartiles and median, max,
 * each as `name value` with %.17g (round-trip exact), then a 10-bin histogram of the values.
 * Exit code: 0; 1 if a token is not a number (stdout says where); 2 if there are no numbers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The q-quantile of sorted v[0..n) by linear interpolation (R's type 7). */
static double quantile(const double *v, size_t n, double q) {
  double h = (n - 1) * q;
  size_t i = (size_t)floor(h);
  return i + 1 < n ? v[i] + (h - i) * (v[i + 1] - v[i]) : v[i];
}

int main(void) {
  size_t n = 0, cap = 1024;
  double *v = malloc(cap * sizeof *v);
  double x;
  int r;
  while ((r = scanf("%lf", &x)) == 1) {
    if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
    if (!v) return 3;
    v[n++] = x;
  }
  if (r != EOF) {
    printf("error: token %zu is not a number\n", n + 1);
    return 1;
  }
  if (n == 0) {
    fprintf(stderr, "no numbers\n");
    return 2;
  }
  /* Welford's running mean and variance, in input order */
  double mean = 0, m2 = 0, sum = 0;
  for (size_t i = 0; i < n; i++) {
    double d = v[i] - mean;
    mean += d / (i + 1);
    m2 += d * (v[i] - mean);
    sum += v[i];
  }
  qsort(v, n, sizeof *v, cmp);
  printf("count %zu\n", n);
  printf("sum %.17g\n", sum);
  printf("mean %.17g\n", mean);
  printf("stddev %.17g\n", n > 1 ? sqrt(m2 / (n - 1)) : 0.0);
  printf("min %.17g\n", v[0]);
  printf("q1 %.17g\n", quantile(v, n, 0.25));
  printf("median %.17g\n", quantile(v, n, 0.5));
  printf("q3 %.17g\n", quantile(v, n, 0.75));
  printf("max %.17g\n", v[n - 1]);
  double lo = v[0], width = (v[n - 1] - v[0]) / 10;
  size_t bins[10] = {0};
  for (size_t i = 0; i < n; i++) {
    int b = width > 0 ? (int)((v[i] - lo) / width) : 0;
    bins[b > 9 ? 9 : b]++;
  }
  for (int b = 0; b < 10; b++) {
    printf("[%10.4g, %10.4g) %6zu ", lo + b * width, lo + (b + 1) * width, bins[b]);
    for (size_t k = 0; k < bins[b] * 40 / n; k++) putchar('#');
    putchar('\n');
  }
  free(v);
  return 0;
}
