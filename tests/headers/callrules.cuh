// Call rules: pointer parameters (T *, const T *, void *) and C++ default arguments, in free
// functions, methods, constructors, operators, function templates and class templates.
#pragma once
#include <cuda/std/cstdint>
using cuda::std::int32_t;
using cuda::std::int64_t;
using cuda::std::uint64_t;
using cuda::std::int_fast32_t;
using cuda::std::uint_least16_t;

namespace cr {

struct Acc {
    int total;
    __device__ Acc() : total(0) {}
    // A constructor reading a `const T *`, with a defaulted count.
    __device__ Acc(const int *values, int n = 2) : total(0) {
        for (int i = 0; i < n; ++i) total += values[i];
    }
    // Methods: a `T *` to write through, defaulted trailing parameters.
    __device__ int add_to(int *out, int scale = 1, int bias = 0) const {
        *out += total * scale + bias;
        return total * scale + bias;
    }
    __device__ int bytes_at(const void *p) const { return p != nullptr ? total : -1; }
    // An operator taking a pointer: `acc + p` adds the first element.
    __device__ int operator+(const int *p) const { return total + *p; }
};

// Free functions: `T *`, `const T *`, `void *`, defaults.
__device__ void fill(float *out, float value, int n = 1) {
    for (int i = 0; i < n; ++i) out[i] = value;
}
__device__ float sum(const float *values, int n) {
    float s = 0;
    for (int i = 0; i < n; ++i) s += values[i];
    return s;
}
__device__ int first_byte(const void *p) { return *static_cast<const unsigned char *>(p); }
__device__ int64_t widen(int32_t x, int32_t shift = 4) { return static_cast<int64_t>(x) << shift; }
// An array bound is an expression in the parameter's declaration, not a default argument.
__device__ int first_of(const int (&items)[4], int extra = 0) { return items[0] + extra; }
__device__ uint64_t fast_sum(int_fast32_t a, uint_least16_t b) { return static_cast<uint64_t>(a) + b; }

// A function template on `T *`, with a defaulted parameter.
template <typename T>
__device__ T scaled_first(const T *p, T factor = T(3)) { return p[0] * factor; }

// A class template whose constructor and method take `T *` and defaults.
template <typename T>
struct Buffer {
    T *data;
    int n;
    __device__ Buffer(T *d, int count = 4) : data(d), n(count) {}
    __device__ T total(int from = 0) const {
        T s = T(0);
        for (int i = from; i < n; ++i) s += data[i];
        return s;
    }
    __device__ void store(T value, int at = 0) { data[at] = value; }
};

}  // namespace cr
