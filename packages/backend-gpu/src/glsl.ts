/**
 * GLSL helpers shared by every kernel (injected once per gpu.js instance). Written for GLSL ES 1.00
 * (WebGL1 / headless-gl), which WebGL2's GLSL ES 3.00 also accepts: no `%`, no bit operators, no
 * isnan/isinf/trunc/round builtins, loops with constant bounds only.
 *
 * Infinity and NaN cannot be written as constants (ANGLE folds 1.0/0.0 to FLT_MAX), so every
 * kernel receives them as uniforms and stores them in DL_INF / DL_NAN first.
 *
 * `texture2D` is the sampling function's name: texture2D in GLSL ES 1.00, texture in 3.00; GLSL ES
 * 3.00 reads by integer texel coordinates (texelFetch: no float coordinate math, no filtering).
 *
 * Names carry a dl_ prefix: gpu.js's shader prelude already defines tanh, sinh, trunc, ... with
 * formulas that overflow (its tanh(50.0) is NaN).
 */
export function glslPrelude(texture2D: "texture2D" | "texture"): string {
  return `
float DL_INF;
float DL_NAN;

/* element idx of a texture holding 4 values per RGBA float texel, row-major over size.x texels */
float dl_fetch(sampler2D tex, ivec2 size, int idx) {
  int t = idx / 4;
  int lane = idx - t * 4;
  int y = t / size.x;
  int x = t - y * size.x;
  vec4 texel = ${texture2D === "texture" ? "texelFetch(tex, ivec2(x, y), 0)" : "texture2D(tex, (vec2(float(x), float(y)) + 0.5) / vec2(size))"};
  return lane == 0 ? texel.r : (lane == 1 ? texel.g : (lane == 2 ? texel.b : texel.a));
}

/* the whole texel holding elements idx..idx+3 (idx a multiple of 4) */
vec4 dl_fetch4(sampler2D tex, ivec2 size, int idx) {
  int t = idx / 4;
  int y = t / size.x;
  int x = t - y * size.x;
  return ${texture2D === "texture" ? "texelFetch(tex, ivec2(x, y), 0)" : "texture2D(tex, (vec2(float(x), float(y)) + 0.5) / vec2(size))"};
}

/* the texel at column x, row y */
vec4 dl_texel(sampler2D tex, ivec2 size, int x, int y) {
  return ${texture2D === "texture" ? "texelFetch(tex, ivec2(x, y), 0)" : "texture2D(tex, (vec2(float(x), float(y)) + 0.5) / vec2(size))"};
}

/*
 * The four values of the texel being rendered. gpu.js computes a fragment's four outputs by calling
 * the kernel for lanes r, g, b, a in that order, so a kernel may compute all four in lane r, keep
 * them here, and hand them out in lanes g, b, a (outputs sharing operands read them once).
 */
vec4 DL_QUAD;

bool dl_isnan(float x) { return !(x == x); }
bool dl_isinf(float x) { return x == DL_INF || x == -DL_INF; }
bool dl_isfinite(float x) { return !dl_isnan(x) && !dl_isinf(x); }
bool dl_signbit(float x) { return x < 0.0 || (x == 0.0 && 1.0 / x < 0.0); }
float dl_bool(bool b) { return b ? 1.0 : 0.0; }
float dl_trunc(float x) { return x < 0.0 ? ceil(x) : floor(x); }
float dl_sign(float x) { return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0); }

/* round half to even; |x| >= 2^23 is already integral */
float dl_round(float x) {
  float a = abs(x);
  if (!(a < 8388608.0)) return x;
  float r = floor(a + 0.5);
  if (r - a == 0.5 && mod(r, 2.0) == 1.0) r -= 1.0;
  return x < 0.0 ? -r : r;
}

/* exact powers of two for integral e in [-149, 127] (exp2 may be approximate) */
float dl_pow2(float e) {
  float r = 1.0;
  float a = abs(e);
  bool neg = e < 0.0;
  if (a >= 64.0) { r *= neg ? 5.421010862427522e-20 : 18446744073709551616.0; a -= 64.0; }
  if (a >= 64.0) { r *= neg ? 5.421010862427522e-20 : 18446744073709551616.0; a -= 64.0; }
  if (a >= 32.0) { r *= neg ? 2.3283064365386963e-10 : 4294967296.0; a -= 32.0; }
  if (a >= 16.0) { r *= neg ? 0.0000152587890625 : 65536.0; a -= 16.0; }
  if (a >= 8.0) { r *= neg ? 0.00390625 : 256.0; a -= 8.0; }
  if (a >= 4.0) { r *= neg ? 0.0625 : 16.0; a -= 4.0; }
  if (a >= 2.0) { r *= neg ? 0.25 : 4.0; a -= 2.0; }
  if (a >= 1.0) { r *= neg ? 0.5 : 2.0; }
  return r;
}

/* x * 2^e in two steps, so that no factor leaves float32's normal range */
float dl_ldexp(float x, float e) {
  float h = floor(e * 0.5);
  return x * dl_pow2(h) * dl_pow2(e - h);
}

/* floor(log2(a)) for finite a > 0, corrected where log2 is approximate */
float dl_exponent(float a) {
  float e = floor(log2(a));
  if (dl_pow2(e) > a) e -= 1.0;
  else if (dl_pow2(e + 1.0) <= a) e += 1.0;
  return e;
}

/* round to a float with mbits mantissa bits and minimum normal exponent emin (ties to even) */
float dl_round_bits(float x, float mbits, float emin, float maxFinite) {
  if (dl_isnan(x) || dl_isinf(x)) return x;
  /* GPU arithmetic flushes float32 subnormals: those compare equal to 0 and become a signed 0 */
  if (x == 0.0) return dl_signbit(x) ? -0.0 : 0.0;
  float a = abs(x);
  float e = max(dl_exponent(a), emin);
  float v = dl_ldexp(a, mbits - e);
  float r = floor(v + 0.5);
  if (r - v == 0.5 && mod(r, 2.0) == 1.0) r -= 1.0;
  float y = dl_ldexp(r, e - mbits);
  if (y > maxFinite) y = DL_INF;
  return x < 0.0 ? -y : y;
}
float dl_f16(float x) { return dl_round_bits(x, 10.0, -14.0, 65504.0); }
float dl_bf16(float x) { return dl_round_bits(x, 7.0, -126.0, 3.3895313892515355e38); }

/* values held by integer dtypes: truncated, non-finite values become 0 (as the CPU backend) */
float dl_int(float x) { return dl_isfinite(x) ? dl_trunc(x) + 0.0 : 0.0; }
/* a bool result: 1 for non-zero numbers, 0 for 0 and NaN */
float dl_boolv(float x) { return (x != 0.0 && !dl_isnan(x)) ? 1.0 : 0.0; }

float dl_expm1(float x) {
  if (abs(x) < 1e-5) return x + 0.5 * x * x;
  float u = exp(x);
  if (u == 1.0) return x;
  float um1 = u - 1.0;
  if (um1 == -1.0) return -1.0;
  if (dl_isinf(u)) return u;
  return um1 * x / log(u);
}

float dl_log1p(float x) {
  float u = 1.0 + x;
  if (u == 1.0) return x;
  if (dl_isinf(x) && x > 0.0) return x;
  return log(u) * x / (u - 1.0);
}

float dl_sinh(float x) {
  if (dl_isnan(x)) return x;
  float a = abs(x);
  float t = a > 88.0 ? exp(a - 0.6931471805599453) : 0.0;
  if (a <= 88.0) { float e = dl_expm1(a); t = 0.5 * (e + e / (e + 1.0)); }
  return x < 0.0 ? -t : t;
}

float dl_cosh(float x) {
  float a = abs(x);
  return exp(a - 0.6931471805599453) + 0.5 * exp(-a);
}

float dl_tanh(float x) {
  float a = abs(x);
  if (a > 9.5) return x < 0.0 ? -1.0 : 1.0;
  if (dl_isnan(x)) return x;
  float e = dl_expm1(2.0 * a);
  float t = e / (e + 2.0);
  return x < 0.0 ? -t : t;
}

float dl_asinh(float x) {
  float a = abs(x);
  float r;
  if (a > 1e10) r = log(a) + 0.6931471805599453;
  else r = dl_log1p(a + a * a / (1.0 + sqrt(1.0 + a * a)));
  return x < 0.0 ? -r : r;
}

float dl_acosh(float x) {
  if (x < 1.0) return DL_NAN;
  if (x > 1e10) return log(x) + 0.6931471805599453;
  float t = x - 1.0;
  return dl_log1p(t + sqrt(2.0 * t + t * t));
}

float dl_atanh(float x) {
  float a = abs(x);
  if (a > 1.0) return DL_NAN;
  if (a == 1.0) return x * DL_INF;
  float r = 0.5 * dl_log1p(2.0 * a / (1.0 - a));
  return x < 0.0 ? -r : r;
}

/* Cephes' single-precision atan/asin (the GL builtins are off by ~1e-4 on llvmpipe, atan(NaN) is 0) */
float dl_atan(float x) {
  if (dl_isnan(x)) return x;
  float a = abs(x);
  float y0 = 0.0;
  if (a > 2.414213562373095) { y0 = 1.5707963267948966; a = -1.0 / a; }
  else if (a > 0.4142135623730950) { y0 = 0.7853981633974483; a = (a - 1.0) / (a + 1.0); }
  float z = a * a;
  float y = y0 + ((((8.05374449538e-2 * z - 1.38776856032e-1) * z + 1.99777106478e-1) * z - 3.33329491539e-1) * z * a + a);
  return x < 0.0 ? -y : y;
}

float dl_asin(float x) {
  if (dl_isnan(x)) return x;
  float a = abs(x);
  if (a > 1.0) return DL_NAN;
  float z;
  float s;
  bool big = a > 0.5;
  if (big) { z = 0.5 * (1.0 - a); s = sqrt(z); }
  else { z = a * a; s = a; }
  float r = ((((4.2163199048e-2 * z + 2.4181311049e-2) * z + 4.5470025998e-2) * z + 7.4953002686e-2) * z + 1.6666752422e-1) * z * s + s;
  if (big) r = 1.5707963267948966 - 2.0 * r;
  return x < 0.0 ? -r : r;
}

float dl_acos(float x) {
  if (dl_isnan(x)) return x;
  if (abs(x) > 1.0) return DL_NAN;
  if (x < -0.5) return 3.141592653589793 - 2.0 * dl_asin(sqrt(0.5 * (1.0 + x)));
  if (x > 0.5) return 2.0 * dl_asin(sqrt(0.5 * (1.0 - x)));
  return 1.5707963267948966 - dl_asin(x);
}

float dl_sigmoid(float x) {
  if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
  float e = exp(x);
  return e / (1.0 + e);
}

/* erfc for x >= 0 (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7) */
float dl_erfc_pos(float z) {
  float t = 1.0 / (1.0 + 0.5 * z);
  float p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(-z * z + p);
}

float dl_erf(float x) {
  if (dl_isnan(x)) return x;
  float a = abs(x);
  float r;
  if (a < 0.5) {
    /* Maclaurin series: accurate relative error near 0 */
    float x2 = x * x;
    r = a * (1.1283791670955126 + x2 * (-0.3761263890318375 + x2 * (0.11283791670955126 +
      x2 * (-0.026866170645131252 + x2 * (0.005223977625442188 + x2 * -0.0008548327023450852)))));
  } else {
    r = 1.0 - dl_erfc_pos(a);
  }
  return x < 0.0 ? -r : r;
}

float dl_erfc(float x) {
  if (dl_isnan(x)) return x;
  if (x < 0.5) return 1.0 - dl_erf(x);
  return dl_erfc_pos(x);
}

float dl_erfinv(float y) {
  if (dl_isnan(y)) return y;
  if (y <= -1.0) return y == -1.0 ? -DL_INF : DL_NAN;
  if (y >= 1.0) return y == 1.0 ? DL_INF : DL_NAN;
  float w = -log((1.0 - y) * (1.0 + y));
  float p;
  if (w < 5.0) {
    w = w - 2.5;
    p = 2.81022636e-08;
    p = 3.43273939e-07 + p * w;
    p = -3.5233877e-06 + p * w;
    p = -4.39150654e-06 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = sqrt(w) - 3.0;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  float x = p * y;
  /* one Newton step on erf */
  float err = dl_erf(x) - y;
  x -= err / (1.1283791670955126 * exp(-x * x));
  return x;
}

/* fmod with the dividend's sign, exact (binary long division; each subtraction is exact by Sterbenz) */
float dl_fmod(float a, float b) {
  if (b == 0.0 || dl_isnan(a) || dl_isnan(b) || dl_isinf(a)) return DL_NAN;
  if (dl_isinf(b)) return a;
  float r = abs(a);
  float d = abs(b);
  if (r >= d) {
    float e = dl_exponent(r) - dl_exponent(d);
    float s = dl_ldexp(d, e);
    if (s > r) { s *= 0.5; e -= 1.0; }
    for (int k = 0; k < 280; k++) {
      if (r >= s) r -= s;
      if (e <= 0.0) break;
      s *= 0.5;
      e -= 1.0;
    }
  }
  return a < 0.0 ? -r : r;
}

float dl_remainder(float a, float b) {
  float r = dl_fmod(a, b);
  if (r != 0.0 && (r < 0.0) != (b < 0.0)) r += b;
  return r;
}

/* PyTorch's div_floor_floating */
float dl_floordiv(float a, float b) {
  if (b == 0.0) return a / b;
  float m = dl_fmod(a, b);
  float d = (a - m) / b;
  if (m != 0.0 && (b < 0.0) != (m < 0.0)) d -= 1.0;
  if (d == 0.0) return (a < 0.0) != (b < 0.0) ? -0.0 * abs(a) : 0.0;
  float f = floor(d);
  if (d - f > 0.5) f += 1.0;
  return f;
}

/* integer floor division (values exact in float32); x // 0 gives 0 as the CPU backend */
float dl_ifloordiv(float a, float b) {
  if (b == 0.0) return 0.0;
  float q = floor(a / b);
  float r = a - q * b;
  if (b > 0.0) { if (r < 0.0) q -= 1.0; else if (r >= b) q += 1.0; }
  else { if (r > 0.0) q -= 1.0; else if (r <= b) q += 1.0; }
  return q;
}

float dl_itruncdiv(float a, float b) {
  if (b == 0.0) return 0.0;
  float q = dl_ifloordiv(a, b);
  if (q < 0.0 && q * b != a) q += 1.0;
  return q;
}

float dl_iremainder(float a, float b) {
  if (b == 0.0) return 0.0;
  return a - dl_ifloordiv(a, b) * b;
}

float dl_ifmod(float a, float b) {
  if (b == 0.0) return 0.0;
  return a - dl_itruncdiv(a, b) * b;
}

float dl_pow(float a, float b) {
  if (a == 1.0 || b == 0.0) return 1.0;
  if (dl_isnan(a) || dl_isnan(b)) return DL_NAN;
  if (a == -1.0 && dl_isinf(b)) return 1.0;
  bool bint = floor(b) == b && !dl_isinf(b);
  if (bint && abs(b) <= 64.0) {
    /* exact repeated squaring for small integral exponents (integer powers stay integral) */
    float e = abs(b);
    float r = 1.0;
    float x = a;
    for (int k = 0; k < 7; k++) {
      if (mod(e, 2.0) == 1.0) r *= x;
      e = floor(e / 2.0);
      if (e == 0.0) break;
      x *= x;
    }
    return b < 0.0 ? 1.0 / r : r;
  }
  if (a == 0.0) return b > 0.0 ? 0.0 : DL_INF;
  if (dl_isinf(a)) {
    bool odd = bint && mod(b, 2.0) == 1.0;
    float r = b > 0.0 ? DL_INF : 0.0;
    return (a < 0.0 && odd) ? -r : r;
  }
  if (a < 0.0) {
    if (dl_isinf(b)) return (-a < 1.0) == (b > 0.0) ? 0.0 : DL_INF;
    if (!bint) return DL_NAN;
    float r = pow(-a, b);
    return mod(b, 2.0) == 1.0 ? -r : r;
  }
  if (dl_isinf(b)) return (a < 1.0) == (b > 0.0) ? 0.0 : DL_INF;
  return exp2(b * log2(a));
}

float dl_atan2(float y, float x) {
  if (dl_isnan(x) || dl_isnan(y)) return DL_NAN;
  float pi = 3.141592653589793;
  if (y == 0.0) {
    float r = dl_signbit(x) ? pi : 0.0;
    return dl_signbit(y) ? -r : r;
  }
  if (x == 0.0) return y > 0.0 ? pi * 0.5 : -pi * 0.5;
  if (dl_isinf(x)) {
    if (dl_isinf(y)) {
      float r = x > 0.0 ? pi * 0.25 : pi * 0.75;
      return y < 0.0 ? -r : r;
    }
    float r = x > 0.0 ? 0.0 : pi;
    return y < 0.0 ? -r : r;
  }
  if (dl_isinf(y)) return y > 0.0 ? pi * 0.5 : -pi * 0.5;
  float t = dl_atan(y / x);
  if (x > 0.0) return t;
  return y >= 0.0 ? t + pi : t - pi;
}

float dl_hypot(float a, float b) {
  if (dl_isinf(a) || dl_isinf(b)) return DL_INF;
  if (dl_isnan(a) || dl_isnan(b)) return DL_NAN;
  float x = abs(a);
  float y = abs(b);
  float m = max(x, y);
  if (m == 0.0) return 0.0;
  float r = min(x, y) / m;
  return m * sqrt(1.0 + r * r);
}

float dl_maximum(float a, float b) { return (dl_isnan(a) || dl_isnan(b)) ? DL_NAN : (a > b ? a : b); }
float dl_minimum(float a, float b) { return (dl_isnan(a) || dl_isnan(b)) ? DL_NAN : (a < b ? a : b); }
float dl_fmax(float a, float b) { return dl_isnan(a) ? b : (dl_isnan(b) ? a : (a > b ? a : b)); }
float dl_fmin(float a, float b) { return dl_isnan(a) ? b : (dl_isnan(b) ? a : (a < b ? a : b)); }
float dl_copysign(float a, float b) { return dl_signbit(b) ? -abs(a) : abs(a); }
float dl_xlogy(float a, float b) { return dl_isnan(b) ? DL_NAN : (a == 0.0 ? 0.0 : a * log(b)); }

/* bitwise and (op 0), or (1), xor (2) of integers in two's complement over 26 bits (values are exact up to 2^24) */
float dl_bitwise(float a, float b, int op) {
  int x = int(a);
  int y = int(b);
  if (x < 0) x += 67108864;
  if (y < 0) y += 67108864;
  int r = 0;
  int p = 1;
  for (int k = 0; k < 26; k++) {
    int xb = x - (x / 2) * 2;
    int yb = y - (y / 2) * 2;
    int bit = op == 0 ? xb * yb : (op == 1 ? (xb + yb > 0 ? 1 : 0) : (xb + yb == 1 ? 1 : 0));
    r += bit * p;
    x = x / 2;
    y = y / 2;
    p = p * 2;
  }
  if (r >= 33554432) r -= 67108864;
  return float(r);
}

/* log(exp(a) + exp(b)) as PyTorch's _log_add_exp_helper */
float dl_logaddexp(float a, float b) {
  if (dl_isnan(a) || dl_isnan(b)) return DL_NAN;
  float lo = min(a, b);
  float hi = max(a, b);
  if (lo == hi && dl_isinf(lo)) return a;
  return dl_log1p(exp(lo - hi)) + hi;
}

/* sort order of (key, original index) pairs: padding (index >= len) last, NaN above numbers, ties by index */
bool dl_sort_before(float ka, float ia, float kb, float ib, int len, int desc) {
  bool padA = ia >= float(len);
  bool padB = ib >= float(len);
  if (padA != padB) return padB;
  if (padA) return ia < ib;
  bool nA = dl_isnan(ka);
  bool nB = dl_isnan(kb);
  if (nA != nB) return desc == 1 ? nA : nB;
  if (!nA && ka != kb) return desc == 1 ? ka > kb : ka < kb;
  return ia < ib;
}
`;
}
