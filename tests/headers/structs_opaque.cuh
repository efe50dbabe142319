// Nested types (member typedefs, records whose layout comes from a base) and structs that only an
// opaque data model can describe (bit-fields, unions, fields of unknown types).
#pragma once

template <class T>
struct Raw {
  alignas(alignof(T)) unsigned char storage[sizeof(T)];
};

template <class T, int N>
struct Box {
  struct _Storage { T items[N]; int count; };
  using TempStorage = Raw<_Storage>;       // a member alias (CUB's `using TempStorage = ...`)
  struct BaseStorage : Raw<_Storage> {};   // a nested record whose layout is its base's
  using value_type = T;
  TempStorage &temp;
  __device__ Box(TempStorage &t) : temp(t) {}
  __device__ Box(BaseStorage &t) : temp(*reinterpret_cast<TempStorage *>(&t)) {}
  __device__ T put(T x) { reinterpret_cast<_Storage *>(&temp)->items[0] = x; return x + T(N); }
};

struct Point { float x, y; };

struct Holder {
  typedef Point point_type;
  using scale_type = double;
  struct Part : Point { int tag; };
  Point p;
};

struct Flags {
  unsigned ready : 1;
  unsigned count : 7;
  __device__ Flags() : ready(1), count(5) {}
  __device__ Flags(unsigned c) : ready(0), count(c) {}
  __device__ unsigned total() const { return ready + count; }
  __device__ Flags operator+(const Flags &o) const { return Flags(count + o.count); }
  __device__ operator int() const { return int(count); }
};

struct Variant {
  union { int i; float f; } u;
  int which;
  __device__ Variant(int v) : which(0) { u.i = v; }
  __device__ int as_int() const { return which == 0 ? u.i : int(u.f); }
};

struct Unknown;  // never defined: a field of it cannot be described

struct WithHandle {
  Unknown *handle_or_null;
  __device__ WithHandle() : handle_or_null(nullptr) {}
  __device__ bool empty() const { return handle_or_null == nullptr; }
};

__device__ inline unsigned flags_total(Flags f) { return f.total(); }
__device__ inline int variant_value(Variant v) { return v.as_int(); }
__device__ inline unsigned dim_volume(dim3 d) { return d.x * d.y * d.z; }
__device__ inline uint3 swap_xy(uint3 v) { return make_uint3(v.y, v.x, v.z); }
