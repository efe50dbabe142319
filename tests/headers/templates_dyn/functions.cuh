// Function templates for tests/test_templates.py: deduction, explicit specializations, defaults,
// non-deducible parameters, overloads by arity and by deduction, intents, packs, namespaces.
#pragma once

namespace tpl {

template <typename T>
__device__ T saturate(T x) { return x < T(0) ? T(0) : (x > T(1) ? T(1) : x); }

// An explicit specialization: the compiler must pick it for int.
template <>
__device__ int saturate<int>(int x) { return x < 0 ? 0 : (x > 100 ? 100 : x); }

template <typename T>
__device__ T add(const T &a, const T &b) { return a + b; }

// Overloads by arity.
template <typename T>
__device__ T pick(T a) { return a; }
template <typename T>
__device__ T pick(T a, T b) { return a > b ? a : b; }

// Overloads by deduction: a pointer overload is more specific than the value one.
template <typename T>
__device__ T load(const T *p) { return *p; }

// T appears only in the return type: must be given explicitly.
template <typename T>
__device__ T make_value(int x) { return T(x) + T(0.5); }

// Defaults: a type default naming an earlier parameter, a non-type default.
template <class T, class U = T, int Scale = 2>
__device__ U scaled(const T &value) { return U(value * Scale); }

template <int N>
__device__ int shift(int value) { return value << N; }

// An output parameter (bound with the out_return intent).
template <typename T>
__device__ void divmod(T a, T b, T &quotient, T &remainder) {
  quotient = a / b;
  remainder = a % b;
}

// A reference to an array: the extent is a template parameter given explicitly.
template <int N, typename T>
__device__ T sum_array(const T (&items)[N]) {
  T s = 0;
  for (int i = 0; i < N; ++i) s += items[i];
  return s;
}

// A parameter pack.
template <typename T, typename... Rest>
__device__ T count_args(T head, Rest... rest) { return head + T(sizeof...(Rest)); }

// Writes through a reference: with an array argument, into its first element.
template <typename T>
__device__ void store(T &out, T value) { out = value; }

// A forwarding reference: it takes a C++ object (a range, say), never a Numba array's element.
template <typename R>
__device__ int forwarded(R &&r) { return int(sizeof(R)); }

}  // namespace tpl

namespace tpl {

// Return types only the compiler knows: a trailing decltype, and auto.
template <typename T>
__device__ auto widen(T x) -> decltype(x * 2.0) { return x * 2.0; }

template <typename T>
__device__ auto halve(T x) { return x / 2; }

}  // namespace tpl

namespace tpl {

// Overloads by deduction: for a pointer, the more specialized `T *` wins, as in C++.
template <typename T>
__device__ int kind(T) { return 1; }
template <typename T>
__device__ int kind(T *) { return 2; }

}  // namespace tpl
