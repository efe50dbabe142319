// Structs without declared constructors, as C++ headers write plain data: constructed in a kernel
// by aggregate initialization, `Extent(3, 4)` for `Extent{3, 4}`.
#pragma once

namespace agg {

enum class Unit : int { px = 1, mm = 2 };

struct Extent {  // every field a scalar: Extent() to Extent(w, h)
    int w;
    int h;
};

struct Box {  // a record field first: Box(extent) to Box(extent, scale, unit)
    Extent extent;
    float scale;
    Unit unit;
};

struct Span {  // a pointer field
    const float *data;
    int size;
};

struct Vec3 {  // a member function and an operator, no constructor: still an aggregate
    float x, y, z;
    __device__ float operator[](int i) const { return i == 0 ? x : i == 1 ? y : z; }
    __device__ float dot(Vec3 o) const { return x * o.x + y * o.y + z * o.z; }
};

struct Counted {  // declares a constructor: only that one
    __device__ Counted(int n) : n(n * 10) {}
    int n;
};

class Hidden {  // a private field: not an aggregate, no constructor
    int secret;

public:
    __device__ int get() const { return secret; }
};

__device__ inline int area(Extent e) { return e.w * e.h; }
__device__ inline float scaled_area(Box b) { return b.scale * area(b.extent) * static_cast<int>(b.unit); }
__device__ inline float sum(Span s) {
    float t = 0;
    for (int i = 0; i < s.size; ++i) t += s.data[i];
    return t;
}

}  // namespace agg
