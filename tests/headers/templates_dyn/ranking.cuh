// Overload ranking between templates and non-templates, as C++ does it.
#pragma once

// A non-template wins only where it takes the arguments as they are; `twice(2.5f)` calls the
// template (an exact match), not `twice(int)` through a conversion.
__device__ inline int twice(int x) { return 2 * x; }
template <class T>
__device__ inline T twice(T x) { return x + x; }

// Partial ordering: `pick(T, T)` is more specialized than `pick(T, U)` (cuda::std::fmax's shape).
template <class T>
__device__ T pick(T a, T b) { return a; }
template <class T, class U>
__device__ auto pick(T a, U b) { return a + b; }
