// Non-const lvalue reference parameters: given a pointer or an array in place of a value, the
// reference names the caller's storage (the array's first element).
#pragma once

__device__ inline void add_to(int &acc, int x) { acc += x; }
__device__ inline void swap_ints(int &a, int &b) {
  int t = a;
  a = b;
  b = t;
}
__device__ inline int read_twice(const int &x) { return 2 * x; }

struct Scale {
  int k;
  __device__ explicit Scale(int k_) : k(k_) {}
  __device__ void apply(float &v) const { v *= k; }
};

// Keeps the address of what its constructor's reference names, as `cuda::atomic_ref` does.
struct Tracker {
  int *target;
  __device__ explicit Tracker(int &t) : target(&t) {}
  __device__ void add(int v) const { atomicAdd(target, v); }
};

// The same as a class template (as `cuda::atomic_ref<T>`).
template <typename T>
struct Watch {
  T *target;
  __device__ explicit Watch(T &t) : target(&t) {}
  __device__ void add(T v) const { atomicAdd(target, v); }
};

// A class template's method with a reference parameter.
template <typename T>
struct Adder {
  T k;
  __device__ explicit Adder(T k_) : k(k_) {}
  __device__ void into(T &dst) const { dst += k; }
};

// A function template with reference parameters.
template <typename T>
__device__ void swap_any(T &a, T &b) {
  T t = a;
  a = b;
  b = t;
}
