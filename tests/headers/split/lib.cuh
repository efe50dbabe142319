// Every kind of definition a split shim unit meets: external definitions (cut) and the rest (kept).
#pragma once
#include "detail.cuh"

namespace lib {

struct Acc {
    int total;
    __device__ Acc(int start);
    __device__ int add(int x);
    __device__ int twice() const { return 2 * total; }  // in its class: inline
};

__device__ Acc::Acc(int start) : total{start} { }       // external: the whole definition is cut
__device__ int Acc::add(int x) { total += x; return total; }

/* a comment with a brace { */
__device__ int offset(int x) {
    const char *s = "}";  // a brace in a string
    return x + (s[0] == '}' ? 1000 : 0);
}

__device__ inline int kept_inline(int x) { return x - 1; }
static __device__ int kept_static(int x) { return x * 5; }
namespace {
__device__ int kept_anonymous(int x) { return x + 7; }
}
template <typename T>
__device__ T kept_template(T x) { return x; }
template <>
__device__ int kept_template<int>(int x) { return x + 2; }  // an explicit specialization: cut
__device__ constexpr int kept_constexpr(int x) { return x * 11; }

__device__ int use_all(int x) {
    return kept_inline(x) + kept_static(x) + kept_anonymous(x) + kept_template(x) + kept_constexpr(x) + scale(x);
}

}  // namespace lib
