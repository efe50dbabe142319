"""The C++ forms of template instantiation shims, with holes (`str.format` fields) that the
template runtime fills with the spellings of deduced types (`_template_shims.instantiation_shim`),
and the helpers those shims use. Generated from `crates/bindgen/src/shim.rs`, which writes every
other shim too (`shim::tests::runtime_template_shim_forms_are_current` keeps this copy current;
`UPDATE_EXPECTED=1` rewrites it)."""

# Template shim forms: generated from crates/bindgen/src/shim.rs (TEMPLATE_SHIM_FORMS).
SHIM_FORMS = {
    "shim": 'extern "C" __device__ void {name}({params})\n{{\n    {body}\n}}\n',
    "guard": "#if {condition}\n{shim}#endif\n",
    "ret": "__nbst_ptr<{type}> __nbst_ret",
    "self": "__nbst_ptr<{type}> __nbst_self",
    "self_const": "__nbst_ptr<const {type}> __nbst_self",
    "param": "__nbst_ptr<{type}> __nbst_a{index}",
    "arg": "*__nbst_a{index}",
    "arg_rvalue": "__nbst_move(*__nbst_a{index})",
    "arg_items": "__nbst_items({arg})",
    "functor": "__nbst_lvalue({type}{{}})",
    "functor_rvalue": "{type}{{}}",
    "call": "{callee}({args})",
    "construct": "::new (static_cast<void *>(__nbst_ret)) {call};",
    "return": "::new (static_cast<void *>(__nbst_ret)) {type}({call});",
    "discard": "{call};",
    "helpers": "#ifndef NUMBAST_TEMPLATE_HELPERS\n#define NUMBAST_TEMPLATE_HELPERS\ntemplate <class T> using __nbst_ptr = T *;\ntemplate <class T> using __nbst_id = T;\ntemplate <class T> __device__ T &&__nbst_move(T &x) { return static_cast<T &&>(x); }\ntemplate <class T> struct __nbst_items_of {\n  T *p;\n  template <unsigned long long N> using ref = T (&)[N];\n  template <unsigned long long N> __device__ operator ref<N>() const { return *reinterpret_cast<T (*)[N]>(p); }\n  __device__ operator T *() const { return p; }\n};\ntemplate <class T> __device__ __nbst_items_of<T> __nbst_items(T *p) { return {p}; }\n#endif\n",
    "operator_helpers": "#ifndef NUMBAST_OPERATOR_HELPERS\n#define NUMBAST_OPERATOR_HELPERS\ntemplate <class T> __device__ T &__nbst_lvalue(T &&x) { return x; }\n#endif\n",
}
# (end of the generated template shim forms)
