// Free functions: references, pointers, const, rvalue references, attributes, execution spaces,
// constexpr, variadic, free operators, and functions defined by a macro.

struct Pt {
  int x, y;
};

__device__ int by_value(int a, float b);
__device__ void by_ref(int &out, const int &in);
__device__ void by_ptr(int *out, const int *in, const int *const fixed);
__device__ void by_rvalue(Pt &&p);
__device__ const Pt &const_ref_return(const Pt *p);
__device__ void const_ptr_ref(const int *const &r);
__device__ void pointer_to_pointer(char **argv, const char *const *names);
__device__ void array_param(int values[4]);
__device__ void volatile_ptr(volatile unsigned *p);
__device__ void null_pointer(decltype(nullptr) p);
__device__ void matrix_param(float m[3][4]);

__device__ __noinline__ int never_inlined(int a);
__device__ __forceinline__ int always_inlined(int a);
__host__ __device__ float both_sides(float a);
__host__ float host_only(float a);
float no_space(float a);
__global__ void kernel(float *out);
__device__ constexpr int square(int a) { return a * a; }
__device__ int first_of(int count, ...);
__device__ __attribute__((deprecated)) int old_api(int a);

__device__ Pt operator+(const Pt &a, const Pt &b);
__device__ Pt operator-(const Pt &a);
__device__ bool operator<(const Pt &a, const Pt &b);

#define DEFINE_UNARY(name, type) \
  __device__ type name(type x);

DEFINE_UNARY(neg_int, int)
DEFINE_UNARY(neg_float, float)

__device__ int declared_twice(int a);
__device__ int declared_twice(int a);

extern "C" __device__ int c_linkage(int a);

__device__ void takes_float(float f);
__device__ void takes_float(double f) = delete;  // deleted: not reported
