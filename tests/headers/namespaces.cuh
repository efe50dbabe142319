// Qualified names through nested, inline and anonymous namespaces and extern "C" blocks.

namespace outer {
struct A {
  int v;
  __device__ int get() const;
};
__device__ int free_fn(A a);

namespace inner {
struct B {
  struct C {
    float f;
  };
  C c;
};
__device__ B::C make_c(float f);
enum class E { X, Y };
template <typename T>
__device__ T identity(T t);
}  // namespace inner

inline namespace v1 {
__device__ int versioned(int a);
}

namespace {
struct Hidden {
  int h;
};
__device__ int hidden_fn(Hidden h);
}  // namespace
}  // namespace outer

namespace outer::inner::deep {
typedef outer::inner::B Alias;
__device__ Alias deep_fn(const Alias &a);
}

extern "C" {
__device__ int c_api(int a);
}
