/* Float formatting and libm: printf's %f %e %g %a on doubles and floats, strtod of the input
 * tokens, trig/exp/log/pow, float (f32) arithmetic, conversions, NaN and infinities. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  char tok[128];
  double acc = 0;
  float facc = 0;
  int i = 0;
  while (scanf("%127s", tok) == 1) {
    char *end;
    double d = strtod(tok, &end);
    float f = strtof(tok, NULL);
    printf("%-12s %.17g %a %.9g %e %d\n", tok, d, d, (double)f, d, *end != 0);
    acc = acc * 1.0000001 + d;
    facc = facc * 0.999f + f;
    i++;
  }
  printf("acc %.17g facc %.9g n %d\n", acc, (double)facc, i);
  for (int k = -3; k <= 12; k++) {
    double x = k * 0.7312 + 0.1;
    printf("%3d sin %.17g cos %.17g tan %.17g exp %.17g log %.17g\n", k, sin(x), cos(x), tan(x), exp(x), log(fabs(x)));
    printf("    pow %.17g sqrt %.17g cbrt %.17g atan2 %.17g fmod %.17g hypot %.17g\n", pow(fabs(x), 1.7), sqrt(fabs(x)), cbrt(x), atan2(x, 1.3), fmod(x * 17, 3.1), hypot(x, 2));
    float fx = (float)x;
    printf("    f32 %.9g %.9g %.9g %.9g %ld %lld %u\n", (double)(fx * fx), (double)sqrtf(fabsf(fx)), (double)sinf(fx), (double)(fx / 3.0f), lrint(x * 1e3), llround(x * 1e9), (unsigned)(x * x * 1000));
  }
  volatile double zero = 0;
  /* the sign of a NaN result is not specified by WebAssembly (V8 on x86 makes 0/0 negative, the
     machine makes every NaN result positive: docs/MACHINE.md): print it without its sign */
  printf("%f %f %f %g %g\n", fabs(zero / zero), 1 / zero, -1 / zero, DBL_MAX, DBL_MIN);
  printf("%f %f\n", -NAN, copysign(NAN, -1)); /* bit patterns: their signs are exact */
  printf("%.20f %.0f %.3e %g %g\n", 0.1, 2.5, 12345.6789, 1e-320, (double)FLT_EPSILON);
  printf("%d %d %d\n", isnan(zero / zero), isinf(-1 / zero), signbit(-zero));
  return 0;
}
