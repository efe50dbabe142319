// Default template arguments that name declarations of other namespaces: written as C++ resolves
// them from inside `outer`, they must be written out fully qualified for the shims.
#pragma once

namespace other {
struct K
{
    int v;
};
constexpr int width = 4;
enum Mode
{
    Low = 1,
    High = 3
};
}  // namespace other

namespace outer {
namespace inner {
constexpr int width = 100;
}

template <class T, int N = other::width, other::Mode M = other::High>
__device__ T scale(T x)
{
    return x * N + M;
}

// `inner::width` here is `outer::inner::width`.
template <class T, int N = inner::width>
__device__ T scale_inner(T x)
{
    return x * N;
}

template <class T, class U = other::K>
struct Holder
{
    T t;
    U u;
    __device__ Holder(T t_, int v) : t(t_), u{v} {}
    __device__ int value() const { return u.v; }
};
}  // namespace outer
