// Non-const methods change the variable they are called on; const methods only read it.
#pragma once

struct Counter {
  int value;
  __device__ Counter() : value(0) {}
  __device__ explicit Counter(int v) : value(v) {}
  __device__ void add(int x) { value += x; }
  __device__ int bump() { return ++value; }
  __device__ void load(const int *from) { value = *from; }
  __device__ int get() const { return value; }
  __device__ int peek() const { return value; }
  __device__ int peek() { return value; }
};

struct Stepper {
  int n;
  __device__ Stepper() : n(0) {}
  __device__ int operator()(int x) {
    n += x;
    return n;
  }
  __device__ int get() const { return n; }
};

template <typename T>
struct Accumulator {
  T total;
  int count;
  __device__ Accumulator() : total(0), count(0) {}
  __device__ void add(T x) {
    total += x;
    ++count;
  }
  __device__ T sum() const { return total; }
  __device__ int size() const { return count; }
};

struct Tally {
  int n;
  __device__ Tally() : n(0) {}
  template <typename T>
  __device__ void count(T) {
    ++n;
  }
  __device__ int get() const { return n; }
};
