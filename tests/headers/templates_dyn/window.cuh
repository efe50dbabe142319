// A class template whose methods return its own type spelled with a non-type argument, as
// `cuda::std::span<T>::subspan()` returns `span<T, dynamic_extent>`.
#pragma once

constexpr long dynamic = -1;

template <class T, long N = dynamic>
struct Window {
  T *data;
  long size;
  __device__ Window(T *d, long n) : data(d), size(n) {}
  __device__ Window<T, dynamic> drop(long k) const { return Window<T, dynamic>(data + k, size - k); }
  __device__ auto head(long k) const { return Window<T, dynamic>(data, k); }
  __device__ T front() const { return data[0]; }
  __device__ long length() const { return size; }
};
