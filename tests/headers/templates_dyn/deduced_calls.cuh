// The shape of CCCL 13.0's complex and reverse_iterator operators: two function templates named
// `operator+` in one namespace. Calling the complex one as `ops::operator+<float>(a, b)` would
// substitute `float` into the other as well, whose parameter `typename rev<It>::diff` instantiates
// `rev<float>`: a hard error (float has no member `diff`), not a substitution failure. Called as
// C++ code calls it, `ops::operator+(a, b)`, deduction rejects the other at its second parameter.
#pragma once

namespace ops {

template <class It>
struct rev {
  typedef typename It::diff diff;
  It it;
};

template <class T>
struct cplx {
  T re, im;
  __device__ cplx(T r, T i) : re(r), im(i) {}
  __device__ T real() const { return re; }
  __device__ T imag() const { return im; }
};

template <class T>
__device__ cplx<T> operator+(const cplx<T> &a, const cplx<T> &b) { return cplx<T>(a.re + b.re, a.im + b.im); }

template <class It>
__device__ rev<It> operator+(typename rev<It>::diff n, const rev<It> &x) { return x; }

// `N` is not deduced from the call's arguments: it is written out, `T` with it.
template <int N, class T>
__device__ cplx<T> scaled(const cplx<T> &a) { return cplx<T>(a.re * N, a.im * N); }

}  // namespace ops
