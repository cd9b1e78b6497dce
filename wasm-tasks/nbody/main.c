/*
 * n-body: the Computer Language Benchmarks Game's simulation of the Jovian planets (five bodies,
 * symplectic integrator, doubles), a float-heavy task for the interpreter's speed (bench/interpreter.ts,
 * floatSlowdown) and the float tests.
 *
 * Input: the number of steps in decimal ASCII digits (at most 9; parsing stops at the first other
 * byte, so any input is valid and random bytes mean few steps). Output: the energy before and
 * after, then the bodies' final positions and velocities, as raw little-endian f64
 * (2 + 5 * 6 doubles = 256 bytes). Bit-identical on any IEEE 754 engine.
 *
 * Every double operation but sqrt is a macro, so that bench/softfloat.ts can build this very program
 * a second time with -DSOFTFLOAT: with compiler-rt's soft-float routines (__adddf3, __subdf3,
 * __muldf3, __divdf3: integer instructions only, from Debian's libclang-rt-14-dev-wasm32), the way
 * a machine without float instructions (Arbitrum: Berkeley SoftFloat) runs float programs. sqrt stays
 * one instruction in both builds (compiler-rt has none).
 */
#include "truewasm.h"

#ifdef SOFTFLOAT
double __adddf3(double, double);
double __subdf3(double, double);
double __muldf3(double, double);
double __divdf3(double, double);
#define ADD(a, b) __adddf3(a, b)
#define SUB(a, b) __subdf3(a, b)
#define MUL(a, b) __muldf3(a, b)
#define DIV(a, b) __divdf3(a, b)
#else
#define ADD(a, b) ((a) + (b))
#define SUB(a, b) ((a) - (b))
#define MUL(a, b) ((a) * (b))
#define DIV(a, b) ((a) / (b))
#endif

#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DAYS_PER_YEAR 365.24
#define N 5

static double x[N], y[N], z[N], vx[N], vy[N], vz[N], mass[N];

static const double init[N][7] = {
    {0, 0, 0, 0, 0, 0, SOLAR_MASS},
    {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01, 1.66007664274403694e-03 * DAYS_PER_YEAR,
     7.69901118419740425e-03 * DAYS_PER_YEAR, -6.90460016972063023e-05 * DAYS_PER_YEAR, 9.54791938424326609e-04 * SOLAR_MASS},
    {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01, -2.76742510726862411e-03 * DAYS_PER_YEAR,
     4.99852801234917238e-03 * DAYS_PER_YEAR, 2.30417297573763929e-05 * DAYS_PER_YEAR, 2.85885980666130812e-04 * SOLAR_MASS},
    {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01, 2.96460137564761618e-03 * DAYS_PER_YEAR,
     2.37847173959480950e-03 * DAYS_PER_YEAR, -2.96589568540237556e-05 * DAYS_PER_YEAR, 4.36624404335156298e-05 * SOLAR_MASS},
    {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01, 2.68067772490389322e-03 * DAYS_PER_YEAR,
     1.62824170038242295e-03 * DAYS_PER_YEAR, -9.51592254519715870e-05 * DAYS_PER_YEAR, 5.15138902046611451e-05 * SOLAR_MASS},
};

static void offset_momentum(void) {
  double px = 0, py = 0, pz = 0;
  for (int i = 0; i < N; i++) {
    px = ADD(px, MUL(vx[i], mass[i]));
    py = ADD(py, MUL(vy[i], mass[i]));
    pz = ADD(pz, MUL(vz[i], mass[i]));
  }
  vx[0] = DIV(-px, SOLAR_MASS);
  vy[0] = DIV(-py, SOLAR_MASS);
  vz[0] = DIV(-pz, SOLAR_MASS);
}

static double energy(void) {
  double e = 0;
  for (int i = 0; i < N; i++) {
    e = ADD(e, MUL(MUL(0.5, mass[i]), ADD(ADD(MUL(vx[i], vx[i]), MUL(vy[i], vy[i])), MUL(vz[i], vz[i]))));
    for (int j = i + 1; j < N; j++) {
      double dx = SUB(x[i], x[j]), dy = SUB(y[i], y[j]), dz = SUB(z[i], z[j]);
      e = SUB(e, DIV(MUL(mass[i], mass[j]), __builtin_sqrt(ADD(ADD(MUL(dx, dx), MUL(dy, dy)), MUL(dz, dz)))));
    }
  }
  return e;
}

static void advance(double dt) {
  for (int i = 0; i < N; i++) {
    for (int j = i + 1; j < N; j++) {
      double dx = SUB(x[i], x[j]), dy = SUB(y[i], y[j]), dz = SUB(z[i], z[j]);
      double d2 = ADD(ADD(MUL(dx, dx), MUL(dy, dy)), MUL(dz, dz));
      double mag = DIV(dt, MUL(d2, __builtin_sqrt(d2)));
      double mi = MUL(mass[i], mag), mj = MUL(mass[j], mag);
      vx[i] = SUB(vx[i], MUL(dx, mj));
      vy[i] = SUB(vy[i], MUL(dy, mj));
      vz[i] = SUB(vz[i], MUL(dz, mj));
      vx[j] = ADD(vx[j], MUL(dx, mi));
      vy[j] = ADD(vy[j], MUL(dy, mi));
      vz[j] = ADD(vz[j], MUL(dz, mi));
    }
  }
  for (int i = 0; i < N; i++) {
    x[i] = ADD(x[i], MUL(dt, vx[i]));
    y[i] = ADD(y[i], MUL(dt, vy[i]));
    z[i] = ADD(z[i], MUL(dt, vz[i]));
  }
}

static double out[2 + 6 * N];
static unsigned char digits[9];

TRUEWASM_MAIN void run(void) {
  unsigned n = input_size(), steps = 0;
  if (n > sizeof digits) n = sizeof digits;
  input_read(digits, 0, n);
  for (unsigned i = 0; i < n && digits[i] >= '0' && digits[i] <= '9'; i++) steps = steps * 10 + (digits[i] - '0');
  for (int i = 0; i < N; i++) {
    x[i] = init[i][0], y[i] = init[i][1], z[i] = init[i][2];
    vx[i] = init[i][3], vy[i] = init[i][4], vz[i] = init[i][5];
    mass[i] = init[i][6];
  }
  offset_momentum();
  out[0] = energy();
  for (unsigned s = 0; s < steps; s++) advance(0.01);
  out[1] = energy();
  for (int i = 0; i < N; i++) {
    double *o = &out[2 + 6 * i];
    o[0] = x[i], o[1] = y[i], o[2] = z[i], o[3] = vx[i], o[4] = vy[i], o[5] = vz[i];
  }
  output_write(out, sizeof out);
}
