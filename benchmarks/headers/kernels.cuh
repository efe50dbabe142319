// Device functions for benchmarks/call_overhead.py: the native CUDA C++ kernels and the
// Numba kernels (through Numbast bindings) call these same functions, so both do the same work.
#pragma once
#include <cuda_fp16.h>

// (a) memory-bound: one multiply-add per 12 bytes moved.
__device__ float saxpy(float a, float x, float y) { return a * x + y; }

// (b) compute-bound: a degree-63 polynomial, 64 Horner steps (64 FMAs), coefficients
// (-1)^k / (k + 2). For x in [0, 1) the value stays in (0, 0.5], so it can be iterated.
__device__ float poly64(float x)
{
  float acc = 0.0f;
  acc = fmaf(acc, x, -1.0f / 65.0f);
  acc = fmaf(acc, x, 1.0f / 64.0f);
  acc = fmaf(acc, x, -1.0f / 63.0f);
  acc = fmaf(acc, x, 1.0f / 62.0f);
  acc = fmaf(acc, x, -1.0f / 61.0f);
  acc = fmaf(acc, x, 1.0f / 60.0f);
  acc = fmaf(acc, x, -1.0f / 59.0f);
  acc = fmaf(acc, x, 1.0f / 58.0f);
  acc = fmaf(acc, x, -1.0f / 57.0f);
  acc = fmaf(acc, x, 1.0f / 56.0f);
  acc = fmaf(acc, x, -1.0f / 55.0f);
  acc = fmaf(acc, x, 1.0f / 54.0f);
  acc = fmaf(acc, x, -1.0f / 53.0f);
  acc = fmaf(acc, x, 1.0f / 52.0f);
  acc = fmaf(acc, x, -1.0f / 51.0f);
  acc = fmaf(acc, x, 1.0f / 50.0f);
  acc = fmaf(acc, x, -1.0f / 49.0f);
  acc = fmaf(acc, x, 1.0f / 48.0f);
  acc = fmaf(acc, x, -1.0f / 47.0f);
  acc = fmaf(acc, x, 1.0f / 46.0f);
  acc = fmaf(acc, x, -1.0f / 45.0f);
  acc = fmaf(acc, x, 1.0f / 44.0f);
  acc = fmaf(acc, x, -1.0f / 43.0f);
  acc = fmaf(acc, x, 1.0f / 42.0f);
  acc = fmaf(acc, x, -1.0f / 41.0f);
  acc = fmaf(acc, x, 1.0f / 40.0f);
  acc = fmaf(acc, x, -1.0f / 39.0f);
  acc = fmaf(acc, x, 1.0f / 38.0f);
  acc = fmaf(acc, x, -1.0f / 37.0f);
  acc = fmaf(acc, x, 1.0f / 36.0f);
  acc = fmaf(acc, x, -1.0f / 35.0f);
  acc = fmaf(acc, x, 1.0f / 34.0f);
  acc = fmaf(acc, x, -1.0f / 33.0f);
  acc = fmaf(acc, x, 1.0f / 32.0f);
  acc = fmaf(acc, x, -1.0f / 31.0f);
  acc = fmaf(acc, x, 1.0f / 30.0f);
  acc = fmaf(acc, x, -1.0f / 29.0f);
  acc = fmaf(acc, x, 1.0f / 28.0f);
  acc = fmaf(acc, x, -1.0f / 27.0f);
  acc = fmaf(acc, x, 1.0f / 26.0f);
  acc = fmaf(acc, x, -1.0f / 25.0f);
  acc = fmaf(acc, x, 1.0f / 24.0f);
  acc = fmaf(acc, x, -1.0f / 23.0f);
  acc = fmaf(acc, x, 1.0f / 22.0f);
  acc = fmaf(acc, x, -1.0f / 21.0f);
  acc = fmaf(acc, x, 1.0f / 20.0f);
  acc = fmaf(acc, x, -1.0f / 19.0f);
  acc = fmaf(acc, x, 1.0f / 18.0f);
  acc = fmaf(acc, x, -1.0f / 17.0f);
  acc = fmaf(acc, x, 1.0f / 16.0f);
  acc = fmaf(acc, x, -1.0f / 15.0f);
  acc = fmaf(acc, x, 1.0f / 14.0f);
  acc = fmaf(acc, x, -1.0f / 13.0f);
  acc = fmaf(acc, x, 1.0f / 12.0f);
  acc = fmaf(acc, x, -1.0f / 11.0f);
  acc = fmaf(acc, x, 1.0f / 10.0f);
  acc = fmaf(acc, x, -1.0f / 9.0f);
  acc = fmaf(acc, x, 1.0f / 8.0f);
  acc = fmaf(acc, x, -1.0f / 7.0f);
  acc = fmaf(acc, x, 1.0f / 6.0f);
  acc = fmaf(acc, x, -1.0f / 5.0f);
  acc = fmaf(acc, x, 1.0f / 4.0f);
  acc = fmaf(acc, x, -1.0f / 3.0f);
  acc = fmaf(acc, x, 1.0f / 2.0f);
  return acc;
}

// (b') one Horner step, for kernels that call a bound function 64 times per polynomial.
__device__ float horner_step(float acc, float x, float c) { return fmaf(acc, x, c); }

// (c) half precision: a * x + y with one __hfma.
__device__ __half hfma(__half a, __half x, __half y) { return __hfma(a, x, y); }
