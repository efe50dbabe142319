// Operator overloads for tests/test_dynamic.py: every bindable operator, as members of `Mem` and
// as free functions over `Fre`, inside a namespace; and `int * T` for both.
#pragma once

namespace ops {
struct Mem {
  int v;
  __device__ Mem() : v(0) {}
  __device__ explicit Mem(int x) : v(x) {}
  __device__ Mem &operator=(const Mem &o) { v = o.v; return *this; }

  __device__ Mem operator+(const Mem &o) const { return Mem(v + o.v); }
  __device__ Mem operator-(const Mem &o) const { return Mem(v - o.v); }
  __device__ Mem operator*(const Mem &o) const { return Mem(v * o.v); }
  __device__ Mem operator/(const Mem &o) const { return Mem(v / o.v); }
  __device__ Mem operator%(const Mem &o) const { return Mem(v % o.v); }
  __device__ Mem operator&(const Mem &o) const { return Mem(v & o.v); }
  __device__ Mem operator|(const Mem &o) const { return Mem(v | o.v); }
  __device__ Mem operator^(const Mem &o) const { return Mem(v ^ o.v); }
  __device__ Mem operator<<(int k) const { return Mem(v << k); }
  __device__ Mem operator>>(int k) const { return Mem(v >> k); }
  __device__ bool operator==(const Mem &o) const { return v == o.v; }
  __device__ bool operator!=(const Mem &o) const { return v != o.v; }
  __device__ bool operator<(const Mem &o) const { return v < o.v; }
  __device__ bool operator<=(const Mem &o) const { return v <= o.v; }
  __device__ bool operator>(const Mem &o) const { return v > o.v; }
  __device__ bool operator>=(const Mem &o) const { return v >= o.v; }
  __device__ Mem operator-() const { return Mem(-v); }
  __device__ Mem operator+() const { return Mem(v + 1000); }
  __device__ Mem operator~() const { return Mem(~v); }
  __device__ bool operator!() const { return v == 0; }
  __device__ Mem &operator+=(const Mem &o) { v += o.v; return *this; }
  __device__ Mem &operator-=(const Mem &o) { v -= o.v; return *this; }
  __device__ Mem &operator*=(const Mem &o) { v *= o.v; return *this; }
  __device__ Mem &operator/=(const Mem &o) { v /= o.v; return *this; }
  __device__ Mem &operator%=(const Mem &o) { v %= o.v; return *this; }
  __device__ Mem &operator&=(const Mem &o) { v &= o.v; return *this; }
  __device__ Mem &operator|=(const Mem &o) { v |= o.v; return *this; }
  __device__ Mem &operator^=(const Mem &o) { v ^= o.v; return *this; }
  __device__ Mem &operator<<=(int k) { v <<= k; return *this; }
  __device__ Mem &operator>>=(int k) { v >>= k; return *this; }
};

// A builtin number on the left: only a free operator can do that.
__device__ Mem operator*(int k, const Mem &a) { return Mem(k * a.v + 1); }

struct Fre {
  int v;
  __device__ explicit Fre(int x) : v(x) {}
};
__device__ Fre operator+(const Fre &a, const Fre &b) { return Fre(a.v + b.v); }
__device__ Fre operator-(const Fre &a, const Fre &b) { return Fre(a.v - b.v); }
__device__ Fre operator*(const Fre &a, const Fre &b) { return Fre(a.v * b.v); }
__device__ Fre operator*(int k, const Fre &a) { return Fre(k * a.v + 1); }
__device__ Fre operator/(const Fre &a, const Fre &b) { return Fre(a.v / b.v); }
__device__ Fre operator%(const Fre &a, const Fre &b) { return Fre(a.v % b.v); }
__device__ Fre operator&(const Fre &a, const Fre &b) { return Fre(a.v & b.v); }
__device__ Fre operator|(const Fre &a, const Fre &b) { return Fre(a.v | b.v); }
__device__ Fre operator^(const Fre &a, const Fre &b) { return Fre(a.v ^ b.v); }
__device__ Fre operator<<(const Fre &a, int k) { return Fre(a.v << k); }
__device__ Fre operator>>(const Fre &a, int k) { return Fre(a.v >> k); }
__device__ bool operator==(const Fre &a, const Fre &b) { return a.v == b.v; }
__device__ bool operator!=(const Fre &a, const Fre &b) { return a.v != b.v; }
__device__ bool operator<(const Fre &a, const Fre &b) { return a.v < b.v; }
__device__ bool operator<=(const Fre &a, const Fre &b) { return a.v <= b.v; }
__device__ bool operator>(const Fre &a, const Fre &b) { return a.v > b.v; }
__device__ bool operator>=(const Fre &a, const Fre &b) { return a.v >= b.v; }
__device__ Fre operator-(const Fre &a) { return Fre(-a.v); }
__device__ Fre operator+(const Fre &a) { return Fre(a.v + 1000); }
__device__ Fre operator~(const Fre &a) { return Fre(~a.v); }
__device__ bool operator!(const Fre &a) { return a.v == 0; }
__device__ Fre &operator+=(Fre &a, const Fre &b) { a.v += b.v; return a; }
__device__ Fre &operator-=(Fre &a, const Fre &b) { a.v -= b.v; return a; }
__device__ Fre &operator*=(Fre &a, const Fre &b) { a.v *= b.v; return a; }
__device__ Fre &operator/=(Fre &a, const Fre &b) { a.v /= b.v; return a; }
__device__ Fre &operator%=(Fre &a, const Fre &b) { a.v %= b.v; return a; }
__device__ Fre &operator&=(Fre &a, const Fre &b) { a.v &= b.v; return a; }
__device__ Fre &operator|=(Fre &a, const Fre &b) { a.v |= b.v; return a; }
__device__ Fre &operator^=(Fre &a, const Fre &b) { a.v ^= b.v; return a; }
__device__ Fre &operator<<=(Fre &a, int k) { a.v <<= k; return a; }
__device__ Fre &operator>>=(Fre &a, int k) { a.v >>= k; return a; }
}  // namespace ops
