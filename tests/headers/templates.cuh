// Templates: type, non-type, template-template and pack parameters with defaults; member
// templates; partial specializations (not reported as templates); explicit specializations;
// CRTP and dependent signatures.

// A default given by a declaration ahead of the definition (as libcu++'s `span`), which C++ merges.
template <typename T, int N = 2>
struct Ahead;
template <typename T, int N>
struct Ahead {
  T items[N];
};

template <typename T, int N = 4>
struct Array {
  T data[N];
  __device__ T &operator[](int i);
  __device__ const T &at(int i) const;
  __device__ int size() const { return N; }
  template <typename U>
  __device__ U convert() const;
};

template <typename T>
struct Array<T, 0> {  // partial specialization: not a template of its own
  __device__ int size() const { return 0; }
};

template <>
struct Array<int, 4> {  // explicit specialization
  int data[4];
  __device__ int sum() const;
};

template <>
struct Array<float, 2> {
  float data[2];
};

template <template <typename, int> class Container, typename Elem = float, unsigned Size = 8u>
struct Wrapper {
  Container<Elem, Size> inner;
};

template <typename... Ts>
struct Tuple {};

template <typename T, typename... Rest>
__device__ T first(T head, Rest... rest);

template <class T, class U = T, bool Checked = false>
__device__ U cast(const T &value);

template <int N>
__device__ int shift(int value);

template <typename Derived>
struct Base {
  __device__ Derived &self() { return static_cast<Derived &>(*this); }
  __device__ const Derived &self() const { return static_cast<const Derived &>(*this); }
  __device__ void interface() { self().implementation(); }
};

struct Impl : Base<Impl> {
  __device__ void implementation();
};

template <typename T>
struct Traits {
  typedef typename T::value_type value_type;
  __device__ static value_type get(const T &t);
  __device__ typename T::pointer data(T *t);
};

template <typename T>
__device__ auto deduced(T t) -> decltype(t + 1);

namespace lib {
template <typename T, bool Fast>
struct Op {};

template <>
struct Op<double, true> {
  __device__ double run(double x) const;
};
}  // namespace lib
