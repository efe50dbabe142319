// Class templates shaped like CUB's block primitives, each with one trait that binding must handle.
#pragma once

namespace blk {

template <class T>
struct Raw  // as cub::Uninitialized
{
  T storage;
};

// `Storage` is an alias whose target names a private member (`Raw<_Storage>`): clang spells the
// constructor's parameter by the target, which a shim outside the class may not name.
// `Sum` and `Fill` take arrays whose extent is the member template's own parameter.
template <typename T, int Threads>
class Staged
{
  struct _Storage
  {
    T last[Threads];
  };

public:
  using Storage = Raw<_Storage>;

  __device__ Staged(Storage& storage)
      : s_(storage.storage)
  {}

  template <int N>
  __device__ T Sum(T (&items)[N]) const
  {
    T total = 0;
    for (int i = 0; i < N; ++i)
    {
      total += items[i];
    }
    return total;
  }

  template <int N, typename Op>
  __device__ void Fill(T (&items)[N], Op op)
  {
    for (int i = 0; i < N; ++i)
    {
      items[i] = op(i);
    }
  }

private:
  _Storage& s_;
};

template <typename T>
struct Times
{
  T factor;
  __device__ Times(T f)
      : factor(f)
  {}
  __device__ T operator()(int i) const
  {
    return factor * i;
  }
};

// `Scaled` gets `Storage` and `Scale` from its base class, named through a private alias.
template <typename T, int N, class Derived>
class Strategy
{
public:
  struct Storage
  {
    T buff[N];
  };

  __device__ Strategy(Storage& storage)
      : s_(storage)
  {}

  template <class Op>
  __device__ void Scale(T (&items)[N], Op op)
  {
    for (int i = 0; i < N; ++i)
    {
      items[i] = op(i) + items[i];
    }
  }

  __device__ T Last(const T* items) const
  {
    return items[N - 1];
  }

protected:
  Storage& s_;
};

template <typename T, int N>
class Scaled : public Strategy<T, N, Scaled<T, N>>
{
  using StrategyT = Strategy<T, N, Scaled>;

public:
  __device__ explicit Scaled(typename StrategyT::Storage& storage)
      : StrategyT(storage)
  {}
};

} // namespace blk
