// Call operators and member function templates of structs and class templates, as CUB's radix
// operations and cooperative groups' helpers declare them.
#pragma once

namespace mt {

// A function object: its call operator with two operands and with three.
struct Affine {
    int a;
    __device__ Affine(int a_) : a(a_) {}
    __device__ int operator()(int x) const { return a * x; }
    __device__ int operator()(int x, int y) const { return a * x + y; }
};

// Member function templates of a plain struct: a method, a static one, a call operator.
struct Scaler {
    int k;
    __device__ Scaler(int k_) : k(k_) {}
    __device__ int twice() const { return 2 * k; }
    template <typename T>
    __device__ T scale(T x) const { return x * static_cast<T>(k); }
    template <typename T>
    __device__ T operator()(T x, T y) const { return x * static_cast<T>(k) + y; }
    template <typename T>
    __device__ static T square(T x) { return x * x; }
    template <typename T>
    __device__ static T offset(T x, int by = 3) { return x + static_cast<T>(by); }
};

// A class template with a call operator and a static member function template.
template <typename T>
struct Poly {
    T c;
    __device__ Poly(T c_) : c(c_) {}
    __device__ T operator()(T x, T y) const { return c * x + y; }
    template <typename U>
    __device__ static U cube(U x) { return x * x * x; }
    template <typename U>
    __device__ T weigh(U x) const { return c * static_cast<T>(x); }
    // A default naming a member of the class (as libcu++'s `optional(_Up &&)` with `_Up = value_type`).
    using value_type = T;
    template <typename U = value_type>
    __device__ U shifted() const { return static_cast<U>(c) + static_cast<U>(1); }
};

// Functions whose signatures name instantiations of a class template (as libcu++'s
// `real(const complex<__half> &)` and cooperative groups' `thread_block_tile<1> this_thread()`).
template <typename T>
struct Box {
    T v;
    __device__ Box(T v_) : v(v_) {}
};
__device__ inline float unbox(const Box<float> &b) { return b.v; }
__device__ inline Box<int> box_int(int v) { return Box<int>(v + 1); }
__device__ inline int unbox(const Box<int> &b) { return b.v; }

}  // namespace mt
