// Structs for tests/test_dynamic.py: both data models, constructors, conversion operators,
// const and non-const methods, nested records, array fields, enum fields, alignment.
#pragma once
#include <cuda_fp16.h>

namespace geo {
enum class Tag : unsigned char { A = 1, B = 2 };

// A PrimitiveModel candidate: opaque bytes, a conversion operator to float.
struct Pixel {
  unsigned char r, g, b, a;
  __device__ Pixel(int r_, int g_, int b_, int a_) : r(r_), g(g_), b(b_), a(a_) {}
  __device__ int brightness() const { return r + g + b; }
  __device__ operator float() const { return a / 2.0f; }
};

struct Vec2 {
  float x, y;
  __device__ Vec2() : x(0), y(0) {}
  __device__ Vec2(float a, float b) : x(a), y(b) {}
  __device__ Vec2(float s) : x(s), y(s) {}  // converting: an implicit cast from numbers
  __device__ Vec2(const Pixel &p) : x(p.r), y(p.g) {}  // converting: an implicit cast from Pixel
  __device__ float sum() const { return x + y; }
  __device__ float scaled_sum(float k) { x *= k; y *= k; return x + y; }  // mutates a copy
  __device__ float pick() const { return x; }
  __device__ float pick(int i) const { return i == 0 ? x : y; }
  __device__ void split(float &a, float &b) const { a = x; b = y; }
  __device__ operator double() const { return x * 10 + y; }
  // static member functions: `Vec2.dot(a, b)`, `Vec2.diagonal(s)` in kernels, overloads merged
  static __device__ float dot(Vec2 a, Vec2 b) { return a.x * b.x + a.y * b.y; }
  static __device__ float dot(float a, float b) { return a * b + 0.5f; }
  static __host__ __device__ Vec2 diagonal(float s) { return Vec2(s, -s); }
};
__device__ float length2(Vec2 v) { return v.x * v.x + v.y * v.y; }

// Every field in layout order, with padding, a private field and a nested record.
struct Record {
  struct Inner {
    int a;
    short b;
    __device__ int total() const { return a + b; }
  };
  char c;
  double d;
  short s;
  Tag tag;
  bool flag;
  float arr[3];
  __half h;
  Vec2 v;
  const int *p;
  Inner inner;

 private:
  int secret;

 public:
  __device__ Record(int k)
      : c(1), d(2.5), s(-3), tag(Tag::B), flag(true), arr{4, 5, 6}, h(__float2half(7.5f)),
        v(8, 9), p(nullptr), inner{10, 11}, secret(k) {}
  __device__ int get_secret() const { return secret; }
};

// C++ alignment above the fields' own: vector members and alignas.
struct alignas(32) Wide {
  float4 f;
  double2 d;
  char c;
};
__device__ Wide make_wide(float k) {
  Wide w;
  w.f = make_float4(k, k + 1, k + 2, k + 3);
  w.d = make_double2(k * 2, k * 3);
  w.c = 9;
  return w;
}
__device__ float wide_sum(const Wide &w) { return w.f.x + w.f.y + w.f.z + w.f.w + w.d.x + w.d.y + w.c; }

// 12 bytes, 4-byte aligned: in an array (C++'s `Triple[n]`) its elements are 12 bytes apart.
struct Triple {
  int a, b, c;
  __device__ Triple() : a(0), b(0), c(0) {}
  __device__ Triple(int a_, int b_, int c_) : a(a_), b(b_), c(c_) {}
};
// Reads `n` triples as C++ lays them out: their digits, three per triple.
__device__ int weigh_triples(const Triple *t, int n) {
  int s = 0;
  for (int i = 0; i < n; ++i) s = s * 1000 + t[i].a * 100 + t[i].b * 10 + t[i].c;
  return s;
}
// Writes `n` triples as C++ lays them out.
__device__ void fill_triples(Triple *t, int n, int base) {
  for (int i = 0; i < n; ++i) t[i] = Triple(base + i, base + i + 1, base + i + 2);
}

namespace {
struct Hidden {
  int h;
  __device__ int twice() const { return 2 * h; }
};
__device__ Hidden make_hidden(int h) { return Hidden{h}; }
}  // namespace
}  // namespace geo
