// Class templates for tests/test_templates.py: defaults, public fields, constructors, methods,
// member templates, nested records, a private nested record, an enum non-type parameter.
#pragma once

namespace tpl {

enum class Mode { Plain = 0, Doubled = 1 };

template <typename T, int N = 4, Mode M = Mode::Plain>
struct Vec {
  T data[N];
  int tag;

  struct Stats {
    T lo;
    T hi;
  };

  __device__ Vec() : tag(N) {
    for (int i = 0; i < N; ++i) data[i] = T(0);
  }
  __device__ explicit Vec(T fill) : tag(N) {
    for (int i = 0; i < N; ++i) data[i] = fill + T(i);
  }
  __device__ T sum() const {
    T s = 0;
    for (int i = 0; i < N; ++i) s += data[i];
    return M == Mode::Doubled ? s + s : s;
  }
  __device__ T get(int i) const { return data[i]; }
  __device__ Stats stats() const {
    Stats s{data[0], data[0]};
    for (int i = 1; i < N; ++i) {
      s.lo = data[i] < s.lo ? data[i] : s.lo;
      s.hi = data[i] > s.hi ? data[i] : s.hi;
    }
    return s;
  }
  // A member template, deduced from its argument.
  template <typename U>
  __device__ U scaled_sum(U factor) const { return U(sum()) * factor; }
  // Copies into an output (out_return intent).
  __device__ void first_last(T &first, T &last) const {
    first = data[0];
    last = data[N - 1];
  }
  // Fills an array through a reference to an array of the class's own extent.
  __device__ void copy_to(T (&out)[N]) const {
    for (int i = 0; i < N; ++i) out[i] = data[i];
  }

 private:
  struct Hidden {
    int x;
  };
};

template <typename T>
struct Pair {
  T first;
  T second;
  __device__ Pair(T a, T b) : first(a), second(b) {}
  __device__ T sum() const { return first + second; }
};

}  // namespace tpl

namespace tpl {

// An explicit specialization, bound as a struct of its own.
template <>
struct Pair<char> {
  int packed;
  __device__ explicit Pair(int p) : packed(p) {}
  __device__ int sum() const { return packed * 2; }
};

}  // namespace tpl
