// Free functions for tests/test_dynamic.py: overloads, parameter kinds, namespaces, enums, every
// arithmetic type, half and bfloat16, vector types, a registered type and argument intents.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#ifdef __CUDACC_RTC__
#include <cuda/std/cstdint>
#else
#include <stdint.h>
#endif

// Every overload of one name; by value and by const reference.
__device__ int add(int a, int b) { return a + b; }
__device__ float add(float a, float b) { return a + b + 0.5f; }
__device__ double add(const double &a, const double &b) { return a + b + 0.25; }
__device__ int add(int a, int b, int c) { return a + b + c; }

// Pointers, const pointers, void returns.
__device__ void store(int *p, int v) { *p = v; }
__device__ int load(const int *p) { return *p; }
__device__ const int *advance(const int *const p, int n) { return p + n; }
__device__ void nothing() {}

namespace lib {
enum class Mode : unsigned char { Fast = 1, Exact = 7 };
__device__ int mode_value(Mode m) { return m == Mode::Fast ? 10 : 20; }
__device__ Mode flip(const Mode &m) { return m == Mode::Fast ? Mode::Exact : Mode::Fast; }

// Argument-dependent lookup would not find this for two __half arguments.
__device__ __half blend(__half a, __half b) { return __hadd(a, b); }

namespace detail {
namespace deep {
__device__ int twice(int x) { return 2 * x; }
}  // namespace deep
}  // namespace detail

namespace {
enum Color { Red = 3, Green = 4 };
__device__ int hidden(int x) { return x + 100; }
__device__ int color_value(Color c) { return 10 * static_cast<int>(c); }
}  // namespace

inline namespace v2 {
__device__ int versioned(int x) { return x + 2; }
}
}  // namespace lib

// Every arithmetic type, by its C++ and its <stdint.h> names.
namespace arith {
__device__ bool t_bool(bool x) { return !x; }
__device__ char t_char(char x) { return x + 1; }
__device__ signed char t_schar(signed char x) { return x + 1; }
__device__ unsigned char t_uchar(unsigned char x) { return x + 1; }
__device__ short t_short(short x) { return x + 1; }
__device__ unsigned short t_ushort(unsigned short x) { return x + 1; }
__device__ int t_int(int x) { return x + 1; }
__device__ unsigned int t_uint(unsigned int x) { return x + 1; }
__device__ long t_long(long x) { return x + 1; }
__device__ unsigned long t_ulong(unsigned long x) { return x + 1; }
__device__ long long t_llong(long long x) { return x + 1; }
__device__ unsigned long long t_ullong(unsigned long long x) { return x + 1; }
__device__ wchar_t t_wchar(wchar_t x) { return x + 1; }
__device__ char16_t t_char16(char16_t x) { return x + 1; }
__device__ char32_t t_char32(char32_t x) { return x + 1; }
__device__ int8_t t_i8(int8_t x) { return x + 1; }
__device__ int16_t t_i16(int16_t x) { return x + 1; }
__device__ int32_t t_i32(int32_t x) { return x + 1; }
__device__ int64_t t_i64(int64_t x) { return x + 1; }
__device__ uint8_t t_u8(uint8_t x) { return x + 1; }
__device__ uint16_t t_u16(uint16_t x) { return x + 1; }
__device__ uint32_t t_u32(uint32_t x) { return x + 1; }
__device__ uint64_t t_u64(uint64_t x) { return x + 1; }
__device__ float t_float(float x) { return x + 1.0f; }
__device__ double t_double(double x) { return x + 1.0; }
}  // namespace arith

// Half precision under both names, bfloat16, and the CUDA vector types.
__device__ __half h_mul(__half a, half b) { return __hmul(a, b); }
__device__ __nv_bfloat16 bf_from(float x) { return __float2bfloat16(x); }
__device__ float bf_to(nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __nv_bfloat16 bf_twice(__nv_bfloat16 x) { return __hmul(x, __float2bfloat16(2.0f)); }
__device__ float4 reverse4(float4 v) { return make_float4(v.w, v.z, v.y, v.x); }
__device__ double2 swap2(const double2 &v) { return make_double2(v.y, v.x); }
__device__ float2 halve2(float2 v) { return make_float2(v.x / 2, v.y / 2); }
__device__ int4 plus4(int4 v, int k) { return make_int4(v.x + k, v.y + k, v.z + k, v.w + k); }
__device__ uchar4 shift4(uchar4 v) { return make_uchar4(v.y, v.z, v.w, v.x); }
__device__ short3 neg3(short3 v) { return make_short3(-v.x, -v.y, -v.z); }
__device__ longlong2 wide2(int a, int b) { return make_longlong2(a * 1000000000000LL, b); }

// A type the test registers with register_cxx_type (as a tuple of two int32).
namespace reg {
struct alignas(8) Pair {
  int a, b;
};
}  // namespace reg
__device__ reg::Pair make_pair(int a, int b) { return reg::Pair{a, b}; }
__device__ int pair_diff(reg::Pair p) { return p.b - p.a; }

// Reference parameters with argument intents.
__device__ void bump(int &x) { x += 1; }
__device__ void fill(float &out, float v) { out = v; }
__device__ int divmod(int a, int b, int &rem) {
  rem = a % b;
  return a / b;
}
__device__ void polar(float r, float &s, float &c) {
  s = r * 0.5f;
  c = r * 2.0f;
}
namespace lib {
__device__ void minmax3(int a, int b, int c, int &lo, int &hi) {
  lo = min(a, min(b, c));
  hi = max(a, max(b, c));
}
}  // namespace lib
