// Records: constructors of every kind, operators, conversion operators, nested records,
// access specifiers, alignas, static and const methods.

struct Plain {
  int a;
  float b;
};

struct alignas(16) Vec3 {
  float x, y, z;

  __device__ Vec3();                                 // default
  __device__ Vec3(const Vec3 &other);                // copy
  __device__ Vec3(Vec3 &&other);                     // move
  __device__ Vec3(float s);                          // converting
  explicit __device__ Vec3(double s);                // explicit: not converting
  __device__ Vec3(float x, float y, float z);        // other
  __device__ ~Vec3();

  __device__ Vec3 &operator=(const Vec3 &other);
  __device__ Vec3 &operator=(Vec3 &&other);
  __device__ Vec3 operator+(const Vec3 &rhs) const;
  __device__ Vec3 operator-(const Vec3 &rhs) const;
  __device__ Vec3 operator-() const;
  __device__ Vec3 &operator+=(const Vec3 &rhs);
  __device__ bool operator==(const Vec3 &rhs) const;
  __device__ float operator[](int i) const;
  __device__ float operator()(int i, int j) const;
  __device__ explicit operator bool() const;
  __device__ operator float() const;

  __device__ float dot(const Vec3 &rhs) const;
  __device__ static Vec3 zero();
  __device__ void scale(float s);
};

class Access {
 public:
  int pub;
  __device__ int get() const;

 protected:
  int prot;
  __device__ int protected_method();

 private:
  int priv;
  __device__ int private_method();
  __device__ Access(int, int, int);

 public:
  __device__ Access();
  __device__ Access(const Access &) = delete;
};

struct Outer {
  struct Inner {
    int v;
    __device__ int get() const;
  };
  union Bits {
    unsigned int u;
    float f;
  };
  Inner inner;
  Bits bits;
  unsigned flag : 1;
  unsigned rest : 31;
};

struct Derived : public Plain, private Outer {
  double extra;
};

struct WithAnonymous {
  union {
    int i;
    float f;
  };
  int tail;
};

struct Polymorphic {
  __device__ virtual ~Polymorphic();
  __device__ virtual int area() const = 0;
  __device__ static int count();
  int id;
};
