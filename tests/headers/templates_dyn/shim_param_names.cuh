// Types and variables named like the parameters a shim generator might choose (`ret`, `self`,
// `a0`): a shim that named its parameters so would not compile (fuzz bug BUG-1).
#pragma once

struct ret {
  int v;
};
struct self {
  int w;
};
struct a0 {
  int u;
};

__device__ inline self make_self(int w) { return self{w}; }
__device__ inline a0 make_a0(int u) { return a0{u}; }

template <class T> __device__ ret make(T x) { return ret{static_cast<int>(x) + 1}; }

template <class T> __device__ int unwrap(self s, T x) { return s.w + static_cast<int>(x); }

template <class T> __device__ a0 shifted(a0 a, T by) { return a0{a.u + static_cast<int>(by)}; }

template <class T> struct Box {
  T value;
  __device__ Box(T v) : value(v) {}
  __device__ ret get(a0 a) const { return ret{static_cast<int>(value) + a.u}; }
};
