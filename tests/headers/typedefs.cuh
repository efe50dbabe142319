// Typedefs and aliases: stdint names are kept, other typedefs resolve to their canonical type,
// anonymous records and enums named by a typedef are reported under the typedef's name.
#include <cstdint>

typedef int myint;
typedef myint myint2;
using real = double;
typedef int32_t word;
typedef uint64_t *u64ptr;
typedef int &intref;

typedef struct {
  int first;
  int second;
} Pair;

struct Tagged {
  int v;
};
typedef Tagged TaggedAlias;

namespace ns {
typedef struct {
  float re, im;
} Complex;
using Callback = void (*)(int);
}  // namespace ns

__device__ int32_t keep_int32(int32_t a, uint64_t b);
__device__ myint2 resolve_typedef(myint a, real b);
__device__ void stdint_pointers(const uint64_t *p, word *w, u64ptr q);
__device__ void pair_ref(const Pair &p, ns::Complex *c);
__device__ void const_ptr_const_ref(const int *const &p);
__device__ void typedef_ref(intref r);
__device__ int8_t small(uint8_t a, int16_t b, uint16_t c, int64_t d, uint32_t e);
