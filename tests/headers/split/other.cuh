// A second header whose shim unit also reaches chain.cuh (one kernel links both units).
#pragma once
#include "chain.cuh"

namespace other {
__device__ int twice_f(int x) { return 2 * chain::f(x); }
}  // namespace other
