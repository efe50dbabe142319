#pragma once
// A header whose types are named like the parameters a shim might use (`ret`, `self`, `a0`): the
// shims of its templates must still compile.
struct ret {
  int v;
};
struct self {
  int k;
  __device__ self(int k_) : k(k_) {}
};
struct a0 {
  int k;
  __device__ a0(int k_) : k(k_) {}
};
template <class T>
__device__ ret make(T x) {
  ret r;
  r.v = static_cast<int>(x) * 2;
  return r;
}
template <class T>
struct Holder {
  T v;
  __device__ Holder(T x) : v(x) {}
  __device__ int pick(a0 a, self s) const { return static_cast<int>(v) + a.k * 10 + s.k * 100; }
};
