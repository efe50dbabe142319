// Call chains between external definitions: a kernel's link keeps the definitions its shims reach.
#pragma once

namespace chain {

__device__ int late(int x);  // declared before it is defined: the declaration uses nothing

__device__ int h(int x) { return x + 3; }
__device__ float h(float x) { return x + 0.5f; }  // an overload: kept with `h`
__device__ int g(int x) { return h(x) * 2; }
__device__ int f(int x) { return g(x) + 1; }  // f -> g -> h

__device__ int from_inline(int x) { return x * 10; }
__device__ inline int wrapper(int x) { return from_inline(x) - 1; }  // inline: kept in every unit

__device__ int calls_late(int x) { return late(x) + 100; }
__device__ int late(int x) { return x - 5; }

__device__ int unused_a(int x) { return x * 7; }
__device__ int unused_b(int x) { return unused_a(x) - 1; }

}  // namespace chain
