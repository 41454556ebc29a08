/*
 * Ed25519 verification against keys seen many times (docs/AUDIT.md section 9).
 *
 * Why this exists: an audit verifies about 1.5 signatures per entry, and a million entries come
 * from a thousand keys. libsodium verifies each signature from scratch: it decodes the key and
 * computes [S]B - [k]A with about 250 doublings. Here each key is decoded once (by the caller)
 * and turned into a table of its multiples, like the table libsodium keeps for the base point B,
 * so a verification is 128 table additions and 4 doublings, then one encoding.
 *
 * What it decides: R == encode([S]B - [k]A) with S < L, the cofactorless equation. That implies
 * the strict rule's cofactored one (src/crypto/verify.ts), so an acceptance here is final and a
 * refusal is confirmed by the reference, exactly as for libsodium. The caller checks the key
 * (canonical, not of small order) before building its table and computes k = SHA-512(R, A, M)
 * mod L. Everything here runs on public data, so nothing needs to be constant time.
 *
 * Field elements are five 51-bit limbs (as in libsodium's fe_51 and ed25519-donna); every add
 * and sub carries, so all limbs entering a multiplication stay below 2^52.
 */
#include <node_api.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <stdlib.h>

typedef unsigned __int128 u128;
typedef uint64_t fe[5];

#define MASK51 0x7ffffffffffffULL

static const fe FE_D2 = {0x69b9426b2f159ULL, 0x35050762add7aULL, 0x3cf44c0038052ULL, 0x6738cc7407977ULL, 0x2406d9dc56dffULL};
static const fe FE_D = {0x34dca135978a3ULL, 0x1a8283b156ebdULL, 0x5e7a26001c029ULL, 0x739c663a03cbbULL, 0x52036cee2b6ffULL};
static const fe FE_SQRTM1 = {0x61b274a0ea0b0ULL, 0xd5a5fc8f189dULL, 0x7ef5e9cbd0c60ULL, 0x78595a6804c9eULL, 0x2b8324804fc1dULL};
static const fe FE_BX = {0x62d608f25d51aULL, 0x412a4b4f6592aULL, 0x75b7171a4b31dULL, 0x1ff60527118feULL, 0x216936d3cd6e5ULL};
static const fe FE_BY = {0x6666666666658ULL, 0x4ccccccccccccULL, 0x1999999999999ULL, 0x3333333333333ULL, 0x6666666666666ULL};

static inline void fe_carry(fe h) {
  uint64_t c;
  c = h[0] >> 51; h[0] &= MASK51; h[1] += c;
  c = h[1] >> 51; h[1] &= MASK51; h[2] += c;
  c = h[2] >> 51; h[2] &= MASK51; h[3] += c;
  c = h[3] >> 51; h[3] &= MASK51; h[4] += c;
  c = h[4] >> 51; h[4] &= MASK51; h[0] += 19 * c;
}

static inline void fe_add(fe h, const fe f, const fe g) {
  for (int i = 0; i < 5; i++) h[i] = f[i] + g[i];
  fe_carry(h);
}

/* f - g + 4p: positive for any g with limbs below 2^53 - 76. */
static inline void fe_sub(fe h, const fe f, const fe g) {
  h[0] = f[0] + 0x1fffffffffffb4ULL - g[0];
  h[1] = f[1] + 0x1ffffffffffffcULL - g[1];
  h[2] = f[2] + 0x1ffffffffffffcULL - g[2];
  h[3] = f[3] + 0x1ffffffffffffcULL - g[3];
  h[4] = f[4] + 0x1ffffffffffffcULL - g[4];
  fe_carry(h);
}

static inline void fe_neg(fe h, const fe f) {
  static const fe zero = {0, 0, 0, 0, 0};
  fe_sub(h, zero, f);
}

/* The limbs of a product, each below 2^115, carried down to 51 bits (h[1] may exceed by a bit). */
static inline void fe_carry128(fe h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
  uint64_t h0, h1, h2, h3, h4, c;
  h0 = (uint64_t)r0 & MASK51; r1 += (uint64_t)(r0 >> 51);
  h1 = (uint64_t)r1 & MASK51; r2 += (uint64_t)(r1 >> 51);
  h2 = (uint64_t)r2 & MASK51; r3 += (uint64_t)(r2 >> 51);
  h3 = (uint64_t)r3 & MASK51; r4 += (uint64_t)(r3 >> 51);
  h4 = (uint64_t)r4 & MASK51; c = (uint64_t)(r4 >> 51);
  h0 += 19 * c;
  c = h0 >> 51; h0 &= MASK51; h1 += c;
  h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4;
}

static inline void fe_mul(fe h, const fe f, const fe g) {
  const uint64_t f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3], f4 = f[4];
  const uint64_t g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3], g4 = g[4];
  const uint64_t f1_19 = 19 * f1, f2_19 = 19 * f2, f3_19 = 19 * f3, f4_19 = 19 * f4;
  u128 r0 = (u128)f0 * g0 + (u128)f1_19 * g4 + (u128)f2_19 * g3 + (u128)f3_19 * g2 + (u128)f4_19 * g1;
  u128 r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2_19 * g4 + (u128)f3_19 * g3 + (u128)f4_19 * g2;
  u128 r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3_19 * g4 + (u128)f4_19 * g3;
  u128 r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4_19 * g4;
  u128 r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;
  fe_carry128(h, r0, r1, r2, r3, r4);
}

static inline void fe_sq(fe h, const fe f) {
  const uint64_t f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3], f4 = f[4];
  const uint64_t f0_2 = 2 * f0, f1_2 = 2 * f1, f1_38 = 38 * f1, f2_38 = 38 * f2, f3_38 = 38 * f3;
  const uint64_t f3_19 = 19 * f3, f4_19 = 19 * f4;
  u128 r0 = (u128)f0 * f0 + (u128)f1_38 * f4 + (u128)f2_38 * f3;
  u128 r1 = (u128)f0_2 * f1 + (u128)f2_38 * f4 + (u128)f3_19 * f3;
  u128 r2 = (u128)f0_2 * f2 + (u128)f1 * f1 + (u128)f3_38 * f4;
  u128 r3 = (u128)f0_2 * f3 + (u128)f1_2 * f2 + (u128)f4_19 * f4;
  u128 r4 = (u128)f0_2 * f4 + (u128)f1_2 * f3 + (u128)f2 * f2;
  fe_carry128(h, r0, r1, r2, r3, r4);
}

static void fe_sqn(fe h, const fe f, int n) {
  fe_sq(h, f);
  while (--n > 0) fe_sq(h, h);
}

/* z^(2^250 - 1), and z^11 on the way: the common part of ref10's chains for 1/z and sqrt. */
static void fe_pow2_250_1(fe out, fe z11, const fe z) {
  fe z2, z9, z2_5_0, z2_10_0, z2_20_0, z2_50_0, z2_100_0, t;
  fe_sq(z2, z);
  fe_sqn(t, z2, 2);
  fe_mul(z9, t, z);
  fe_mul(z11, z9, z2);
  fe_sq(t, z11);
  fe_mul(z2_5_0, t, z9);
  fe_sqn(t, z2_5_0, 5);
  fe_mul(z2_10_0, t, z2_5_0);
  fe_sqn(t, z2_10_0, 10);
  fe_mul(z2_20_0, t, z2_10_0);
  fe_sqn(t, z2_20_0, 20);
  fe_mul(t, t, z2_20_0);
  fe_sqn(t, t, 10);
  fe_mul(z2_50_0, t, z2_10_0);
  fe_sqn(t, z2_50_0, 50);
  fe_mul(z2_100_0, t, z2_50_0);
  fe_sqn(t, z2_100_0, 100);
  fe_mul(t, t, z2_100_0);
  fe_sqn(t, t, 50);
  fe_mul(out, t, z2_50_0);
}

/* z^(p-2) = 1/z: z^(2^255 - 32) · z^11. */
static void fe_invert(fe out, const fe z) {
  fe t, z11;
  fe_pow2_250_1(t, z11, z);
  fe_sqn(t, t, 5);
  fe_mul(out, t, z11);
}

/* z^((p-5)/8) = z^(2^252 - 3), for square roots: z^(2^252 - 4) · z. */
static void fe_pow22523(fe out, const fe z) {
  fe t, z11;
  fe_pow2_250_1(t, z11, z);
  fe_sqn(t, t, 2);
  fe_mul(out, t, z);
}

static inline uint64_t load64(const uint8_t *s) {
  uint64_t r = 0;
  for (int i = 7; i >= 0; i--) r = (r << 8) | s[i];
  return r;
}

static inline void store64(uint8_t *s, uint64_t v) {
  for (int i = 0; i < 8; i++) { s[i] = (uint8_t)v; v >>= 8; }
}

/* The low 255 bits of s (the caller has checked that they are below p). */
static void fe_frombytes(fe h, const uint8_t s[32]) {
  const uint64_t a0 = load64(s), a1 = load64(s + 8), a2 = load64(s + 16), a3 = load64(s + 24);
  h[0] = a0 & MASK51;
  h[1] = ((a0 >> 51) | (a1 << 13)) & MASK51;
  h[2] = ((a1 >> 38) | (a2 << 26)) & MASK51;
  h[3] = ((a2 >> 25) | (a3 << 39)) & MASK51;
  h[4] = (a3 >> 12) & MASK51;
}

/* The canonical encoding: fully reduced below p (the reduction of libsodium's fe_51). */
static void fe_tobytes(uint8_t s[32], const fe f) {
  uint64_t t[5];
  memcpy(t, f, sizeof t);
  for (int pass = 0; pass < 2; pass++) {
    t[1] += t[0] >> 51; t[0] &= MASK51;
    t[2] += t[1] >> 51; t[1] &= MASK51;
    t[3] += t[2] >> 51; t[2] &= MASK51;
    t[4] += t[3] >> 51; t[3] &= MASK51;
    t[0] += 19 * (t[4] >> 51); t[4] &= MASK51;
  }
  t[0] += 19;
  t[1] += t[0] >> 51; t[0] &= MASK51;
  t[2] += t[1] >> 51; t[1] &= MASK51;
  t[3] += t[2] >> 51; t[2] &= MASK51;
  t[4] += t[3] >> 51; t[3] &= MASK51;
  t[0] += 19 * (t[4] >> 51); t[4] &= MASK51;
  t[0] += 0x8000000000000ULL - 19;
  t[1] += 0x8000000000000ULL - 1;
  t[2] += 0x8000000000000ULL - 1;
  t[3] += 0x8000000000000ULL - 1;
  t[4] += 0x8000000000000ULL - 1;
  t[1] += t[0] >> 51; t[0] &= MASK51;
  t[2] += t[1] >> 51; t[1] &= MASK51;
  t[3] += t[2] >> 51; t[2] &= MASK51;
  t[4] += t[3] >> 51; t[3] &= MASK51;
  t[4] &= MASK51;
  store64(s, t[0] | (t[1] << 51));
  store64(s + 8, (t[1] >> 13) | (t[2] << 38));
  store64(s + 16, (t[2] >> 26) | (t[3] << 25));
  store64(s + 24, (t[3] >> 39) | (t[4] << 12));
}

typedef struct { fe X, Y, Z, T; } ge_p3;      /* x = X/Z, y = Y/Z, xy = T/Z */
typedef struct { fe X, Y, Z; } ge_p2;         /* x = X/Z, y = Y/Z */
typedef struct { fe X, Y, Z, T; } ge_p1p1;    /* x = X/Z, y = Y/T */
typedef struct { fe YplusX, YminusX, Z, T2d; } ge_cached;

/* One entry of a table: 4 field elements. A key's table is 32 rows of 8 entries. */
#define ROWS 32
#define COLS 8
#define TABLE_BYTES (ROWS * COLS * sizeof(ge_cached))

static inline void p1p1_to_p3(ge_p3 *r, const ge_p1p1 *p) {
  fe_mul(r->X, p->X, p->T);
  fe_mul(r->Y, p->Y, p->Z);
  fe_mul(r->Z, p->Z, p->T);
  fe_mul(r->T, p->X, p->Y);
}

static inline void p1p1_to_p2(ge_p2 *r, const ge_p1p1 *p) {
  fe_mul(r->X, p->X, p->T);
  fe_mul(r->Y, p->Y, p->Z);
  fe_mul(r->Z, p->Z, p->T);
}

static inline void p3_to_cached(ge_cached *r, const ge_p3 *p) {
  fe_add(r->YplusX, p->Y, p->X);
  fe_sub(r->YminusX, p->Y, p->X);
  memcpy(r->Z, p->Z, sizeof(fe));
  fe_mul(r->T2d, p->T, FE_D2);
}

/* r = p + q: the complete extended-coordinates addition for a = -1 (ref10's ge_add). */
static inline void ge_add(ge_p1p1 *r, const ge_p3 *p, const ge_cached *q) {
  fe t0;
  fe_add(r->X, p->Y, p->X);
  fe_sub(r->Y, p->Y, p->X);
  fe_mul(r->Z, r->X, q->YplusX);
  fe_mul(r->Y, r->Y, q->YminusX);
  fe_mul(r->T, q->T2d, p->T);
  fe_mul(r->X, p->Z, q->Z);
  fe_add(t0, r->X, r->X);
  fe_sub(r->X, r->Z, r->Y);
  fe_add(r->Y, r->Z, r->Y);
  fe_add(r->Z, t0, r->T);
  fe_sub(r->T, t0, r->T);
}

/* r = 2p (ref10's ge_p2_dbl). */
static inline void ge_dbl(ge_p1p1 *r, const ge_p2 *p) {
  fe t0;
  fe_sq(r->X, p->X);
  fe_sq(r->Z, p->Y);
  fe_sq(r->T, p->Z);
  fe_add(r->T, r->T, r->T);
  fe_add(r->Y, p->X, p->Y);
  fe_sq(t0, r->Y);
  fe_add(r->Y, r->Z, r->X);
  fe_sub(r->Z, r->Z, r->X);
  fe_sub(r->X, t0, r->Y);
  fe_sub(r->T, r->T, r->Z);
}

static inline void p3_to_p2(ge_p2 *r, const ge_p3 *p) {
  memcpy(r->X, p->X, sizeof(fe));
  memcpy(r->Y, p->Y, sizeof(fe));
  memcpy(r->Z, p->Z, sizeof(fe));
}

static void p2_tobytes(uint8_t s[32], const ge_p2 *p) {
  fe recip, x, y;
  uint8_t xs[32];
  fe_invert(recip, p->Z);
  fe_mul(x, p->X, recip);
  fe_mul(y, p->Y, recip);
  fe_tobytes(s, y);
  fe_tobytes(xs, x);
  s[31] ^= (uint8_t)((xs[0] & 1) << 7);
}

/* table[cols * j + k] = (k + 1) * 256^j * P, for j < ROWS and k < cols. */
static void build_rows(ge_cached *table, const ge_p3 *point, int cols) {
  ge_p3 base = *point, cur;
  ge_p1p1 t;
  ge_p2 p2;
  for (int j = 0; j < ROWS; j++) {
    ge_cached b;
    p3_to_cached(&b, &base);
    table[j * cols] = b;
    cur = base;
    for (int k = 1; k < cols; k++) {
      ge_add(&t, &cur, &b);
      p1p1_to_p3(&cur, &t);
      p3_to_cached(&table[j * cols + k], &cur);
    }
    p3_to_p2(&p2, &base);
    for (int i = 0; i < 7; i++) {
      ge_dbl(&t, &p2);
      p1p1_to_p2(&p2, &t);
    }
    ge_dbl(&t, &p2);
    p1p1_to_p3(&base, &t);
  }
}

/* a = sum e[i] 16^i with e[i] in [-8, 8) (e[63] in [-8, 8]); a[31] must be below 128. */
static void digits(signed char e[64], const uint8_t a[32]) {
  int carry = 0;
  for (int i = 0; i < 32; i++) {
    e[2 * i] = a[i] & 15;
    e[2 * i + 1] = (a[i] >> 4) & 15;
  }
  for (int i = 0; i < 63; i++) {
    e[i] += carry;
    carry = (e[i] + 8) >> 4;
    e[i] -= carry << 4;
  }
  e[63] += carry;
}

static inline void add_entry(ge_p3 *acc, const ge_cached *c, int negate);

static inline void add_digit(ge_p3 *acc, const ge_cached *table, int row, int e) {
  if (e > 0) add_entry(acc, &table[row * COLS + e - 1], 0);
  else if (e < 0) add_entry(acc, &table[row * COLS - e - 1], 1);
}

/* L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const uint8_t ORDER[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                  0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                  0, 0, 0, 0, 0, 0x10};

static int below_order(const uint8_t s[32]) {
  for (int i = 31; i >= 0; i--) {
    if (s[i] < ORDER[i]) return 1;
    if (s[i] > ORDER[i]) return 0;
  }
  return 0;
}

/*
 * The base point gets a bigger table than a key: 8-bit signed digits, 32 rows of 128 multiples
 * (640 KiB, built once per process), so [S]B takes 32 additions instead of 64.
 * base_table[128i + k] = (k + 1) * 256^i * B.
 */
#define BASE_COLS 128
static ge_cached base_table[ROWS * BASE_COLS];
static pthread_once_t base_once = PTHREAD_ONCE_INIT;

static void build_base_table(void) {
  ge_p3 b;
  memcpy(b.X, FE_BX, sizeof(fe));
  memcpy(b.Y, FE_BY, sizeof(fe));
  memset(b.Z, 0, sizeof(fe));
  b.Z[0] = 1;
  fe_mul(b.T, b.X, b.Y);
  build_rows(base_table, &b, BASE_COLS);
}

/* a = sum e[i] 256^i with e[i] in [-128, 128); a[31] must be below 128. */
static void digits256(int e[32], const uint8_t a[32]) {
  int carry = 0;
  for (int i = 0; i < 31; i++) {
    e[i] = a[i] + carry;
    carry = (e[i] + 128) >> 8;
    e[i] -= carry << 8;
  }
  e[31] = a[31] + carry;
}

static inline void add_entry(ge_p3 *acc, const ge_cached *c, int negate) {
  ge_p1p1 t;
  if (!negate) {
    ge_add(&t, acc, c);
  } else {
    ge_cached n;
    memcpy(n.YplusX, c->YminusX, sizeof(fe));
    memcpy(n.YminusX, c->YplusX, sizeof(fe));
    memcpy(n.Z, c->Z, sizeof(fe));
    fe_neg(n.T2d, c->T2d);
    ge_add(&t, acc, &n);
  }
  p1p1_to_p3(acc, &t);
}

/*
 * [s]B + [k]N, where ntable holds the multiples of N (the negated key): N's radix-16 digits in
 * two halves around four doublings (ref10's ge_scalarmult_base), B's radix-256 digits after them.
 */
static void double_scalarmult_p3(ge_p3 *out, const uint8_t s[32], const ge_cached *ntable, const uint8_t k[32]) {
  signed char ek[64];
  int es[32];
  ge_p3 acc;
  ge_p1p1 t;
  ge_p2 p2;
  digits256(es, s);
  digits(ek, k);
  memset(&acc, 0, sizeof acc);
  acc.Y[0] = 1;
  acc.Z[0] = 1;
  for (int i = 1; i < 64; i += 2) add_digit(&acc, ntable, i / 2, ek[i]);
  p3_to_p2(&p2, &acc);
  for (int i = 0; i < 3; i++) {
    ge_dbl(&t, &p2);
    p1p1_to_p2(&p2, &t);
  }
  ge_dbl(&t, &p2);
  p1p1_to_p3(&acc, &t);
  for (int i = 0; i < 64; i += 2) add_digit(&acc, ntable, i / 2, ek[i]);
  for (int i = 0; i < 32; i++) {
    const int e = es[i];
    if (e > 0) add_entry(&acc, &base_table[i * BASE_COLS + e - 1], 0);
    else if (e < 0) add_entry(&acc, &base_table[i * BASE_COLS - e - 1], 1);
  }
  *out = acc;
}

static void double_scalarmult(ge_p2 *out, const uint8_t s[32], const ge_cached *ntable, const uint8_t k[32]) {
  ge_p3 acc;
  double_scalarmult_p3(&acc, s, ntable, k);
  p3_to_p2(out, &acc);
}

/* ---- Batch verification ---- */

static int fe_iszero(const fe f) {
  uint8_t b[32], any = 0;
  fe_tobytes(b, f);
  for (int i = 0; i < 32; i++) any |= b[i];
  return any == 0;
}

static int fe_isnegative(const fe f) {
  uint8_t b[32];
  fe_tobytes(b, f);
  return b[0] & 1;
}

/* Whether the low 255 bits of s are below p = 2^255 - 19 (a canonical y). */
static int y_canonical(const uint8_t s[32]) {
  if ((s[31] & 0x7f) != 0x7f) return 1;
  for (int i = 30; i > 0; i--)
    if (s[i] != 0xff) return 1;
  return s[0] < 0xed;
}

/*
 * -P for the canonical encoding s of a point P (ref10's ge_frombytes_negate_vartime, with the
 * strict rule's canonical checks): 0 when y >= p, when no x fits, or when x = 0 with the sign bit
 * set. The caller then leaves the signature to the single path, which decides it.
 */
static int ge_frombytes_neg(ge_p3 *h, const uint8_t s[32]) {
  static const fe one = {1, 0, 0, 0, 0};
  fe u, v, v3, vxx, check;
  if (!y_canonical(s)) return 0;
  fe_frombytes(h->Y, s);
  memcpy(h->Z, one, sizeof(fe));
  fe_sq(u, h->Y);
  fe_mul(v, u, FE_D);
  fe_sub(u, u, one); /* y^2 - 1 */
  fe_add(v, v, one); /* d y^2 + 1 */
  fe_sq(v3, v);
  fe_mul(v3, v3, v); /* v^3 */
  fe_sq(h->X, v3);
  fe_mul(h->X, h->X, v);
  fe_mul(h->X, h->X, u); /* u v^7 */
  fe_pow22523(h->X, h->X);
  fe_mul(h->X, h->X, v3);
  fe_mul(h->X, h->X, u); /* u v^3 (u v^7)^((p-5)/8) */
  fe_sq(vxx, h->X);
  fe_mul(vxx, vxx, v);
  fe_sub(check, vxx, u);
  if (!fe_iszero(check)) {
    fe_add(check, vxx, u);
    if (!fe_iszero(check)) return 0;
    fe_mul(h->X, h->X, FE_SQRTM1);
  }
  const int sign = s[31] >> 7;
  if (sign && fe_iszero(h->X)) return 0;
  if (fe_isnegative(h->X) == sign) fe_neg(h->X, h->X);
  fe_mul(h->T, h->X, h->Y);
  return 1;
}

/* Scalars up to 512 bits as eight 64-bit limbs, little-endian. */
typedef uint64_t wide[8];

/* acc += z * a, z of 128 bits and a of 256 (both little-endian bytes). */
static void wide_muladd(wide acc, const uint8_t z[16], const uint8_t a[32]) {
  const uint64_t zl[2] = {load64(z), load64(z + 8)};
  const uint64_t al[4] = {load64(a), load64(a + 8), load64(a + 16), load64(a + 24)};
  for (int i = 0; i < 2; i++) {
    u128 carry = 0;
    for (int j = 0; j < 4; j++) {
      u128 t = (u128)zl[i] * al[j] + acc[i + j] + carry;
      acc[i + j] = (uint64_t)t;
      carry = t >> 64;
    }
    for (int k = i + 4; k < 8 && carry; k++) {
      u128 t = (u128)acc[k] + carry;
      acc[k] = (uint64_t)t;
      carry = t >> 64;
    }
  }
}

/* out = acc mod L, by shifting and subtracting (a few per batch: speed does not matter). */
static void wide_reduce(uint8_t out[32], const wide acc) {
  wide r, l;
  memcpy(r, acc, sizeof r);
  memset(l, 0, sizeof l);
  for (int i = 0; i < 4; i++) l[i] = load64(ORDER + 8 * i);
  /* L < 2^253, so L << 259 < 2^512: subtract L << k for k from 259 down to 0. */
  for (int k = 259; k >= 0; k--) {
    wide m;
    const int limbs = k / 64, bits = k % 64;
    memset(m, 0, sizeof m);
    for (int i = 7; i >= limbs; i--) {
      uint64_t v = l[i - limbs] << bits;
      if (bits && i - limbs - 1 >= 0) v |= l[i - limbs - 1] >> (64 - bits);
      m[i] = v;
    }
    int ge = 1;
    for (int i = 7; i >= 0; i--) {
      if (r[i] != m[i]) {
        ge = r[i] > m[i];
        break;
      }
    }
    if (!ge) continue;
    uint64_t borrow = 0;
    for (int i = 0; i < 8; i++) {
      u128 t = (u128)r[i] - m[i] - borrow;
      r[i] = (uint64_t)t;
      borrow = (uint64_t)(t >> 64) & 1;
    }
  }
  for (int i = 0; i < 4; i++) store64(out + 8 * i, r[i]);
}

/* z = sum e[i] 16^i with e[i] in [-8, 8), e[32] in {0, 1}: z of 128 bits. */
static void digits128(signed char e[33], const uint8_t z[16]) {
  int carry = 0;
  for (int i = 0; i < 16; i++) {
    e[2 * i] = z[i] & 15;
    e[2 * i + 1] = (z[i] >> 4) & 15;
  }
  for (int i = 0; i < 32; i++) {
    e[i] += carry;
    carry = (e[i] + 8) >> 4;
    e[i] -= carry << 4;
  }
  e[32] = carry;
}

static void p3_add(ge_p3 *acc, const ge_p3 *q) {
  ge_cached c;
  ge_p1p1 t;
  p3_to_cached(&c, q);
  ge_add(&t, acc, &c);
  p1p1_to_p3(acc, &t);
}

#define BATCH_MAX 1024

/*
 * Whether every one of n signatures satisfies the cofactored equation [8][S]B = [8]R + [8][k]A,
 * with S < L and R canonical, checked together: with random 128-bit z_i,
 *   [8]( [sum z_i S_i mod L]B + sum over keys [sum z_i k_i mod L](-A) + sum [z_i](-R_i) ) = 0.
 * If any one equation fails, the sum is zero with probability at most 2^-128 over the z_i ([8]
 * sends every point into the group of prime order L, where a nonzero term vanishes only for one
 * z_i mod L). A false answer says only that some signature fails (or has S >= L, or R not
 * canonical): the caller then decides each one on the single path.
 */
static int verify_batch(const ge_cached *const *tables, const uint32_t *key_of, size_t nkeys, size_t n,
                        const uint8_t *sigs, const uint8_t *ks, const uint8_t *zs) {
  int ok = 0;
  wide sb;
  wide *kacc = calloc(nkeys, sizeof(wide));
  ge_cached *rt = malloc(n * COLS * sizeof(ge_cached));
  signed char (*ez)[33] = malloc(n * sizeof *ez);
  if (!kacc || !rt || !ez) goto done;
  memset(sb, 0, sizeof sb);
  for (size_t i = 0; i < n; i++) {
    const uint8_t *sig = sigs + 64 * i, *k = ks + 32 * i, *z = zs + 16 * i;
    if (key_of[i] >= nkeys || !below_order(sig + 32) || !below_order(k)) goto done;
    ge_p3 r;
    if (!ge_frombytes_neg(&r, sig)) goto done;
    /* The multiples 1..8 of -R_i. */
    ge_cached *row = rt + COLS * i;
    ge_p3 cur = r;
    ge_p1p1 t;
    p3_to_cached(&row[0], &r);
    for (int j = 1; j < COLS; j++) {
      ge_add(&t, &cur, &row[0]);
      p1p1_to_p3(&cur, &t);
      p3_to_cached(&row[j], &cur);
    }
    digits128(ez[i], z);
    wide_muladd(sb, z, sig + 32);
    wide_muladd(kacc[key_of[i]], z, k);
  }
  /* sum [z_i](-R_i), all at once: 128 doublings shared by every point. */
  ge_p3 acc;
  ge_p1p1 t;
  ge_p2 p2;
  memset(&acc, 0, sizeof acc);
  acc.Y[0] = 1;
  acc.Z[0] = 1;
  for (int j = 32; j >= 0; j--) {
    if (j < 32) {
      p3_to_p2(&p2, &acc);
      for (int d = 0; d < 3; d++) {
        ge_dbl(&t, &p2);
        p1p1_to_p2(&p2, &t);
      }
      ge_dbl(&t, &p2);
      p1p1_to_p3(&acc, &t);
    }
    for (size_t i = 0; i < n; i++) {
      const int e = ez[i][j];
      if (e > 0) add_entry(&acc, &rt[COLS * i + e - 1], 0);
      else if (e < 0) add_entry(&acc, &rt[COLS * i - e - 1], 1);
    }
  }
  static const uint8_t zero[32] = {0};
  uint8_t sc[32];
  ge_p3 part;
  wide_reduce(sc, sb);
  double_scalarmult_p3(&part, sc, NULL, zero);
  p3_add(&acc, &part);
  for (size_t k = 0; k < nkeys; k++) {
    wide_reduce(sc, kacc[k]);
    double_scalarmult_p3(&part, zero, tables[k], sc);
    p3_add(&acc, &part);
  }
  p3_to_p2(&p2, &acc);
  for (int d = 0; d < 3; d++) {
    ge_dbl(&t, &p2);
    p1p1_to_p2(&p2, &t);
  }
  fe yz;
  fe_sub(yz, p2.Y, p2.Z);
  ok = fe_iszero(p2.X) && fe_iszero(yz);
done:
  free(kacc);
  free(rt);
  free(ez);
  return ok;
}

/* ---- Node-API ---- */

static int bytes_arg(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, len, (void **)data, &ab, &offset) != napi_ok) return 0;
  return type == napi_uint8_array;
}

/* The call's n arguments, each a Uint8Array of exactly lens[i] bytes; 0 if any is not. */
static int byte_args(napi_env env, napi_callback_info info, size_t n, uint8_t **data, const size_t *lens) {
  napi_value argv[4];
  size_t argc = 4, len;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (!bytes_arg(env, argv[i], &data[i], &len) || len != lens[i]) return 0;
  return 1;
}

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static napi_value boolean(napi_env env, int b) {
  napi_value r;
  napi_get_boolean(env, b, &r);
  return r;
}

/* table(out: Uint8Array(TABLE_BYTES), x: 32 bytes, y: 32 bytes): the table of -(x, y). */
static napi_value js_table(napi_env env, napi_callback_info info) {
  static const size_t lens[3] = {TABLE_BYTES, 32, 32};
  uint8_t *a[3];
  if (!byte_args(env, info, 3, a, lens))
    return fail(env, "table(out, x, y): a Uint8Array of tableBytes and two of 32 bytes");
  uint8_t *out = a[0], *xs = a[1], *ys = a[2];
  if (((uintptr_t)out & 7) != 0) return fail(env, "table(out, x, y): out must be 8-byte aligned");
  ge_p3 n;
  fe x;
  fe_frombytes(x, xs);
  fe_neg(n.X, x);
  fe_frombytes(n.Y, ys);
  memset(n.Z, 0, sizeof(fe));
  n.Z[0] = 1;
  fe_mul(n.T, n.X, n.Y);
  build_rows((ge_cached *)out, &n, COLS);
  return NULL;
}

/* verify(table, sig: 64 bytes, k: 32 bytes reduced mod L): R == encode([S]B - [k]A) and S < L. */
static napi_value js_verify(napi_env env, napi_callback_info info) {
  static const size_t lens[3] = {TABLE_BYTES, 64, 32};
  uint8_t *a[3];
  if (!byte_args(env, info, 3, a, lens)) return fail(env, "verify(table, sig, k): a table, 64 bytes and 32 bytes");
  const uint8_t *table = a[0], *sig = a[1], *k = a[2];
  if (((uintptr_t)table & 7) != 0) return fail(env, "verify(table, sig, k): table must be 8-byte aligned");
  if (!below_order(sig + 32) || !below_order(k)) return boolean(env, 0);
  ge_p2 r;
  uint8_t rcheck[32];
  double_scalarmult(&r, sig + 32, (const ge_cached *)table, k);
  p2_tobytes(rcheck, &r);
  return boolean(env, memcmp(rcheck, sig, 32) == 0);
}

/*
 * verifyBatch(tables: Uint8Array[], keyOf: Uint32Array(n), sigs: Uint8Array(64n),
 *             ks: Uint8Array(32n), zs: Uint8Array(16n)): verify_batch above. tables[keyOf[i]] is
 * the table of signature i's key; ks are reduced mod L; zs are random, from the caller.
 */
static napi_value js_verify_batch(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  size_t argc = 5;
  const char *usage = "verifyBatch(tables, keyOf, sigs, ks, zs): an array of tables, a Uint32Array "
                      "of n key indices, and Uint8Arrays of 64n, 32n and 16n bytes";
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool is_array = false;
  if (argc != 5 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) return fail(env, usage);
  uint32_t nkeys = 0;
  napi_get_array_length(env, argv[0], &nkeys);
  napi_typedarray_type type;
  napi_value ab;
  size_t n, off, len;
  uint32_t *key_of;
  if (napi_get_typedarray_info(env, argv[1], &type, &n, (void **)&key_of, &ab, &off) != napi_ok ||
      type != napi_uint32_array || n == 0 || n > BATCH_MAX || nkeys == 0 || nkeys > n)
    return fail(env, usage);
  uint8_t *sigs, *ks, *zs;
  if (!bytes_arg(env, argv[2], &sigs, &len) || len != 64 * n) return fail(env, usage);
  if (!bytes_arg(env, argv[3], &ks, &len) || len != 32 * n) return fail(env, usage);
  if (!bytes_arg(env, argv[4], &zs, &len) || len != 16 * n) return fail(env, usage);
  const ge_cached *tables[BATCH_MAX];
  for (uint32_t k = 0; k < nkeys; k++) {
    napi_value el;
    uint8_t *tb;
    napi_get_element(env, argv[0], k, &el);
    if (!bytes_arg(env, el, &tb, &len) || len != TABLE_BYTES || ((uintptr_t)tb & 7) != 0)
      return fail(env, "verifyBatch: every table must be an 8-byte aligned Uint8Array of tableBytes");
    tables[k] = (const ge_cached *)tb;
  }
  return boolean(env, verify_batch(tables, key_of, nkeys, n, sigs, ks, zs));
}

/* Test hook: encode([s]B) for a scalar below L, to check the table against libsodium. */
static napi_value js_base(napi_env env, napi_callback_info info) {
  static const size_t lens[2] = {32, 32};
  uint8_t *a[2];
  if (!byte_args(env, info, 2, a, lens) || !below_order(a[1]))
    return fail(env, "base(out, s): 32 bytes out and a scalar below L");
  uint8_t *out = a[0], *s = a[1];
  static const uint8_t zero[32] = {0};
  ge_p2 r;
  double_scalarmult(&r, s, NULL, zero); /* k = 0: no key table is read */
  p2_tobytes(out, &r);
  return NULL;
}

NAPI_MODULE_INIT() {
  /* Worker threads load the addon too: the shared table is built by the first only. */
  pthread_once(&base_once, build_base_table);
  napi_value fn, size;
  napi_create_function(env, "table", NAPI_AUTO_LENGTH, js_table, NULL, &fn);
  napi_set_named_property(env, exports, "table", fn);
  napi_create_function(env, "verify", NAPI_AUTO_LENGTH, js_verify, NULL, &fn);
  napi_set_named_property(env, exports, "verify", fn);
  napi_create_function(env, "verifyBatch", NAPI_AUTO_LENGTH, js_verify_batch, NULL, &fn);
  napi_set_named_property(env, exports, "verifyBatch", fn);
  napi_create_uint32(env, (uint32_t)BATCH_MAX, &size);
  napi_set_named_property(env, exports, "batchMax", size);
  napi_create_function(env, "base", NAPI_AUTO_LENGTH, js_base, NULL, &fn);
  napi_set_named_property(env, exports, "base", fn);
  napi_create_uint32(env, (uint32_t)TABLE_BYTES, &size);
  napi_set_named_property(env, exports, "tableBytes", size);
  return exports;
}
