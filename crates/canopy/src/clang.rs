//! The one door to libclang: small safe handles over `clang-sys`, and clang's kinds translated into
//! our own enums so that nothing outside this file names a `CX*` item.

// clang-sys spells clang's C constants as they are in the C headers.
#![allow(non_upper_case_globals)]

use std::borrow::Cow;
use std::ffi::{c_char, c_void, CStr, CString, OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use clang_sys::*;

/// The loaded libclang, shared by every thread (clang-sys keeps one handle per thread).
static LIBRARY: OnceLock<Result<Arc<SharedLibrary>, String>> = OnceLock::new();
static LOAD_LOCK: Mutex<()> = Mutex::new(());

/// Loads libclang from `path` once per process and makes it current on this thread.
pub(crate) fn ensure_loaded(path: &Path) -> Result<(), String> {
    let lib = LIBRARY.get_or_init(|| {
        let _guard = LOAD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // clang-sys finds the library through this variable; set once, before any parse.
        std::env::set_var("LIBCLANG_PATH", path);
        let lib = clang_sys::load_manually().map_err(|e| format!("cannot load libclang at {}: {e}", path.display()))?;
        match lib.version() {
            Some(v) if v >= clang_sys::Version::V16_0 => Ok(Arc::new(lib)),
            v => Err(format!(
                "libclang at {} is too old ({}); version 16 or newer is needed: pip install 'libclang-ng>=22'",
                path.display(),
                v.map(|v| format!("{v:?}")).unwrap_or_else(|| "unknown".into())
            )),
        }
    });
    match lib {
        Ok(lib) => {
            if !clang_sys::is_loaded() {
                clang_sys::set_library(Some(lib.clone()));
            }
            Ok(())
        }
        Err(e) => Err(e.clone()),
    }
}

/// Path of the libclang that was loaded, if any.
pub(crate) fn loaded_path() -> Option<PathBuf> {
    LIBRARY.get().and_then(|l| l.as_ref().ok()).map(|l| l.path().to_path_buf())
}

fn take_string(s: CXString) -> String {
    // SAFETY: `s` comes from libclang and is disposed exactly once here.
    unsafe {
        let ptr = clang_getCString(s);
        let out = if ptr.is_null() { String::new() } else { CStr::from_ptr(ptr).to_string_lossy().into_owned() };
        clang_disposeString(s);
        out
    }
}

/// The bytes of a path or argument, unchanged where the platform allows (a Unix path need not be
/// UTF-8); libclang takes them as C strings.
pub(crate) fn os_bytes(s: &OsStr) -> Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Cow::Borrowed(s.as_bytes())
    }
    #[cfg(not(unix))]
    {
        match s.to_string_lossy() {
            Cow::Borrowed(b) => Cow::Borrowed(b.as_bytes()),
            Cow::Owned(o) => Cow::Owned(o.into_bytes()),
        }
    }
}

/// `s` as a C string for libclang; `None` when it holds a NUL byte.
fn c_string(s: &OsStr) -> Option<CString> {
    CString::new(os_bytes(s).into_owned()).ok()
}

/// A path from the bytes libclang gave.
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(OsStr::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// A path that libclang returned as a CXString, byte for byte.
fn take_path(s: CXString) -> PathBuf {
    // SAFETY: `s` comes from libclang and is disposed exactly once here.
    unsafe {
        let ptr = clang_getCString(s);
        let out = if ptr.is_null() { PathBuf::new() } else { path_from_bytes(CStr::from_ptr(ptr).to_bytes()) };
        clang_disposeString(s);
        out
    }
}

/// libclang's full version string, e.g. `clang version 22.1.4`.
pub(crate) fn version_string() -> String {
    // SAFETY: no arguments; returns an owned CXString.
    take_string(unsafe { clang_getClangVersion() })
}

pub(crate) struct Index(CXIndex);

impl Index {
    pub(crate) fn new() -> Index {
        // SAFETY: plain constructor; disposed in Drop.
        Index(unsafe { clang_createIndex(0, 0) })
    }

    /// An index whose translation units' cursors skip the declarations read from a precompiled
    /// header: visiting the TU then walks only what the parse itself read, and nothing from the
    /// PCH is deserialized for the walk.
    pub(crate) fn excluding_pch_declarations() -> Index {
        // SAFETY: plain constructor; disposed in Drop.
        Index(unsafe { clang_createIndex(1, 0) })
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        // SAFETY: created by clang_createIndex, disposed once.
        unsafe { clang_disposeIndex(self.0) }
    }
}

/// Options for parsing a translation unit.
pub(crate) struct ParseOptions {
    pub skip_function_bodies: bool,
    /// Parse a prefix of a translation unit, to be saved as a precompiled header.
    pub for_pch: bool,
}

/// Why libclang returned no translation unit.
#[derive(Debug)]
pub(crate) enum ParseFailure {
    Crashed,
    InvalidArguments,
    Failed,
}

pub(crate) struct TranslationUnit<'i> {
    raw: CXTranslationUnit,
    _index: std::marker::PhantomData<&'i Index>,
}

/// One unsaved (in-memory) file.
pub(crate) struct Unsaved {
    pub name: PathBuf,
    pub contents: String,
}

impl<'i> TranslationUnit<'i> {
    pub(crate) fn parse(
        index: &'i Index,
        file: &Path,
        args: &[OsString],
        unsaved: &[Unsaved],
        opts: &ParseOptions,
    ) -> Result<TranslationUnit<'i>, ParseFailure> {
        // Paths and arguments go to clang as their bytes: a path need not be UTF-8.
        let c_file = c_string(file.as_os_str()).ok_or(ParseFailure::InvalidArguments)?;
        let c_args: Vec<CString> =
            args.iter().map(|a| c_string(a)).collect::<Option<_>>().ok_or(ParseFailure::InvalidArguments)?;
        let arg_ptrs: Vec<*const c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
        let c_unsaved: Vec<(CString, CString)> = unsaved
            .iter()
            .map(|u| Some((c_string(u.name.as_os_str())?, CString::new(u.contents.as_str()).ok()?)))
            .collect::<Option<_>>()
            .ok_or(ParseFailure::InvalidArguments)?;
        let mut raw_unsaved: Vec<CXUnsavedFile> = c_unsaved
            .iter()
            .map(|(n, c)| CXUnsavedFile { Filename: n.as_ptr(), Contents: c.as_ptr(), Length: c.as_bytes().len() as _ })
            .collect();
        let mut flags = CXTranslationUnit_KeepGoing;
        if opts.skip_function_bodies {
            flags |= CXTranslationUnit_SkipFunctionBodies;
        }
        if opts.for_pch {
            flags |= CXTranslationUnit_Incomplete | CXTranslationUnit_ForSerialization;
        }
        let mut tu: CXTranslationUnit = std::ptr::null_mut();
        // SAFETY: every pointer outlives the call; `tu` receives an owned handle or stays null.
        let code = unsafe {
            clang_parseTranslationUnit2(
                index.0,
                c_file.as_ptr(),
                arg_ptrs.as_ptr(),
                arg_ptrs.len() as _,
                raw_unsaved.as_mut_ptr(),
                raw_unsaved.len() as _,
                flags,
                &mut tu,
            )
        };
        match code {
            CXError_Success if !tu.is_null() => Ok(TranslationUnit { raw: tu, _index: std::marker::PhantomData }),
            CXError_Crashed => Err(ParseFailure::Crashed),
            CXError_InvalidArguments => Err(ParseFailure::InvalidArguments),
            _ => Err(ParseFailure::Failed),
        }
    }

    pub(crate) fn cursor(&self) -> Cursor {
        // SAFETY: valid TU handle.
        Cursor(unsafe { clang_getTranslationUnitCursor(self.raw) })
    }

    pub(crate) fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        // SAFETY: valid TU; each diagnostic is disposed after reading.
        unsafe {
            for i in 0..clang_getNumDiagnostics(self.raw) {
                let d = clang_getDiagnostic(self.raw, i);
                let severity = match clang_getDiagnosticSeverity(d) {
                    CXDiagnostic_Fatal => Severity::Fatal,
                    CXDiagnostic_Error => Severity::Error,
                    CXDiagnostic_Warning => Severity::Warning,
                    _ => Severity::Note,
                };
                let loc = SourcePos::from_spelling(clang_getDiagnosticLocation(d));
                let message = take_string(clang_getDiagnosticSpelling(d));
                clang_disposeDiagnostic(d);
                out.push(Diagnostic { severity, file: loc.file, line: loc.line, column: loc.column, message });
            }
        }
        out
    }

    /// Writes the translation unit to `path` as an AST file that `-include-pch` can load.
    pub(crate) fn save(&self, path: &Path) -> Result<(), String> {
        let c_path = c_string(path.as_os_str()).ok_or_else(|| "the path holds a NUL byte".to_string())?;
        // SAFETY: valid TU handle; the path outlives the call.
        let code = unsafe { clang_saveTranslationUnit(self.raw, c_path.as_ptr(), clang_defaultSaveOptions(self.raw)) };
        match code {
            CXSaveError_None => Ok(()),
            CXSaveError_TranslationErrors => Err("the translation unit has errors".into()),
            CXSaveError_InvalidTU => Err("invalid translation unit".into()),
            _ => Err(format!("cannot write {}", path.display())),
        }
    }

    /// Every file the translation unit read, the main file included. With a precompiled header,
    /// only the files read by the parse itself (not those the PCH was built from).
    pub(crate) fn included_files(&self) -> Vec<PathBuf> {
        extern "C" fn visit(file: CXFile, _stack: *mut CXSourceLocation, _len: u32, data: CXClientData) {
            // SAFETY: `data` is the Vec passed below; `file` is valid during the callback.
            let files = unsafe { &mut *(data as *mut Vec<PathBuf>) };
            files.push(file_path(file));
        }
        let mut files: Vec<PathBuf> = Vec::new();
        // SAFETY: the callback only touches `files`, which outlives the call.
        unsafe { clang_getInclusions(self.raw, visit, &mut files as *mut Vec<PathBuf> as *mut c_void) };
        files
    }

    /// The first token spelled where `cursor`'s extent begins, following macro expansions to the
    /// macro's definition (so the `always_inline` of `__forceinline__` is found in the CUDA headers).
    pub(crate) fn first_spelled_token(&self, cursor: Cursor) -> Option<String> {
        // SAFETY: plain queries on a valid TU and cursor; the range is built from a file location.
        let range = unsafe {
            let start = clang_getRangeStart(clang_getCursorExtent(cursor.0));
            let mut file: CXFile = std::ptr::null_mut();
            let mut offset = 0u32;
            clang_getSpellingLocation(start, &mut file, std::ptr::null_mut(), std::ptr::null_mut(), &mut offset);
            if file.is_null() {
                return None;
            }
            let loc = clang_getLocationForOffset(self.raw, file, offset);
            clang_getRange(loc, loc)
        };
        self.tokenize(range).into_iter().next()
    }

    /// Whether a parameter declaration has a default argument: an `=` outside parentheses and
    /// brackets among its tokens. (Its expression children alone do not tell: an array bound such
    /// as the `N` of `T (&a)[N]` is one too.)
    pub(crate) fn param_has_default(&self, param: Cursor) -> bool {
        // SAFETY: the extent of a valid cursor.
        let range = unsafe { clang_getCursorExtent(param.0) };
        let mut depth = 0i32;
        for t in self.tokenize(range) {
            match t.as_str() {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => depth -= 1,
                "=" if depth == 0 => return true,
                _ => {}
            }
        }
        false
    }

    fn tokenize(&self, range: CXSourceRange) -> Vec<String> {
        let mut out = Vec::new();
        // SAFETY: tokens are disposed after their spellings are copied.
        unsafe {
            let mut toks: *mut CXToken = std::ptr::null_mut();
            let mut n: u32 = 0;
            clang_tokenize(self.raw, range, &mut toks, &mut n);
            if toks.is_null() {
                return out;
            }
            for i in 0..n as usize {
                out.push(take_string(clang_getTokenSpelling(self.raw, *toks.add(i))));
            }
            clang_disposeTokens(self.raw, toks, n);
        }
        out
    }
}

impl Drop for TranslationUnit<'_> {
    fn drop(&mut self) {
        // SAFETY: owned handle, disposed once.
        unsafe { clang_disposeTranslationUnit(self.raw) }
    }
}

/// How declarations are printed: clang's policy for the translation unit, terse (no bodies, no
/// record members).
pub(crate) struct PrintingPolicy(CXPrintingPolicy);

impl PrintingPolicy {
    pub(crate) fn terse(tu: &TranslationUnit<'_>) -> PrintingPolicy {
        // SAFETY: valid TU cursor; the policy is disposed in Drop.
        unsafe {
            let p = clang_getCursorPrintingPolicy(clang_getTranslationUnitCursor(tu.raw));
            clang_PrintingPolicy_setProperty(p, CXPrintingPolicy_TerseOutput, 1);
            PrintingPolicy(p)
        }
    }
}

impl Drop for PrintingPolicy {
    fn drop(&mut self) {
        // SAFETY: created by clang_getCursorPrintingPolicy, disposed once.
        unsafe { clang_PrintingPolicy_dispose(self.0) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Severity {
    Note,
    Warning,
    Error,
    Fatal,
}

pub(crate) struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// The path of `file`, byte for byte (empty for none).
fn file_path(file: CXFile) -> PathBuf {
    if file.is_null() {
        return PathBuf::new();
    }
    // SAFETY: non-null CXFile from libclang.
    unsafe {
        let real = take_path(clang_File_tryGetRealPathName(file));
        if real.as_os_str().is_empty() {
            take_path(clang_getFileName(file))
        } else {
            real
        }
    }
}

/// The path of `file` for display (lossy where it is not UTF-8).
fn file_name(file: CXFile) -> String {
    file_path(file).to_string_lossy().into_owned()
}

/// A resolved source position.
pub(crate) struct SourcePos {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// A file of the translation unit, compared by identity; its name is read only when asked for.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct File(CXFile);

impl File {
    /// The file's path, byte for byte (what matches a path given by the caller).
    pub(crate) fn path(&self) -> PathBuf {
        file_path(self.0)
    }
}

impl SourcePos {
    fn from_spelling(loc: CXSourceLocation) -> SourcePos {
        Self::read(loc, true)
    }

    fn read(loc: CXSourceLocation, spelling: bool) -> SourcePos {
        let mut file: CXFile = std::ptr::null_mut();
        let (mut line, mut column, mut offset) = (0u32, 0u32, 0u32);
        // SAFETY: out-pointers are valid locals.
        unsafe {
            if spelling {
                clang_getSpellingLocation(loc, &mut file, &mut line, &mut column, &mut offset);
            } else {
                clang_getExpansionLocation(loc, &mut file, &mut line, &mut column, &mut offset);
            }
        }
        SourcePos { file: file_name(file), line, column }
    }
}

/// Our names for the cursor kinds the visitor cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CursorKind {
    Namespace,
    LinkageSpec,
    Struct,
    Class,
    Union,
    Enum,
    EnumConstant,
    Field,
    Function,
    Method,
    Constructor,
    Destructor,
    Conversion,
    FunctionTemplate,
    ClassTemplate,
    ClassTemplatePartial,
    TranslationUnit,
    Typedef,
    TypeAlias,
    Param,
    Var,
    BaseSpecifier,
    TemplateTypeParam,
    TemplateNonTypeParam,
    TemplateTemplateParam,
    AccessSpecifier,
    NamespaceRef,
    TypeRef,
    TemplateRef,
    DeclRefExpr,
    DeviceAttr,
    HostAttr,
    GlobalAttr,
    ConstantAttr,
    SharedAttr,
    Attr,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Public,
    Protected,
    Private,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TemplateArgKind {
    Type,
    Integral,
    Other,
}

#[derive(Clone, Copy)]
pub(crate) struct Cursor(CXCursor);

/// Result of evaluating a constant expression.
pub(crate) enum Evaluated {
    Int(i64),
    UInt(u64),
    Float(f64),
}

impl Cursor {
    pub(crate) fn kind(&self) -> CursorKind {
        // SAFETY: reading a field of a valid cursor.
        match unsafe { clang_getCursorKind(self.0) } {
            CXCursor_Namespace => CursorKind::Namespace,
            CXCursor_LinkageSpec => CursorKind::LinkageSpec,
            CXCursor_StructDecl => CursorKind::Struct,
            CXCursor_ClassDecl => CursorKind::Class,
            CXCursor_UnionDecl => CursorKind::Union,
            CXCursor_EnumDecl => CursorKind::Enum,
            CXCursor_EnumConstantDecl => CursorKind::EnumConstant,
            CXCursor_FieldDecl => CursorKind::Field,
            CXCursor_FunctionDecl => CursorKind::Function,
            CXCursor_CXXMethod => CursorKind::Method,
            CXCursor_Constructor => CursorKind::Constructor,
            CXCursor_Destructor => CursorKind::Destructor,
            CXCursor_ConversionFunction => CursorKind::Conversion,
            CXCursor_FunctionTemplate => CursorKind::FunctionTemplate,
            CXCursor_ClassTemplate => CursorKind::ClassTemplate,
            CXCursor_ClassTemplatePartialSpecialization => CursorKind::ClassTemplatePartial,
            CXCursor_TranslationUnit => CursorKind::TranslationUnit,
            CXCursor_TypedefDecl => CursorKind::Typedef,
            CXCursor_TypeAliasDecl => CursorKind::TypeAlias,
            CXCursor_ParmDecl => CursorKind::Param,
            CXCursor_VarDecl => CursorKind::Var,
            CXCursor_CXXBaseSpecifier => CursorKind::BaseSpecifier,
            CXCursor_TemplateTypeParameter => CursorKind::TemplateTypeParam,
            CXCursor_NonTypeTemplateParameter => CursorKind::TemplateNonTypeParam,
            CXCursor_TemplateTemplateParameter => CursorKind::TemplateTemplateParam,
            CXCursor_CXXAccessSpecifier => CursorKind::AccessSpecifier,
            CXCursor_NamespaceRef => CursorKind::NamespaceRef,
            CXCursor_TypeRef => CursorKind::TypeRef,
            CXCursor_TemplateRef => CursorKind::TemplateRef,
            CXCursor_DeclRefExpr => CursorKind::DeclRefExpr,
            CXCursor_CUDADeviceAttr => CursorKind::DeviceAttr,
            CXCursor_CUDAHostAttr => CursorKind::HostAttr,
            CXCursor_CUDAGlobalAttr => CursorKind::GlobalAttr,
            CXCursor_CUDAConstantAttr => CursorKind::ConstantAttr,
            CXCursor_CUDASharedAttr => CursorKind::SharedAttr,
            k if (400..=499).contains(&k) => CursorKind::Attr, // clang's attribute kinds
            _ => CursorKind::Other,
        }
    }

    /// The kind of the template a function template or class template declares.
    pub(crate) fn template_cursor_kind(&self) -> CursorKind {
        // SAFETY: valid cursor.
        let k = unsafe { clang_getTemplateCursorKind(self.0) };
        Cursor(CXCursor { kind: k, ..self.0 }).kind()
    }

    pub(crate) fn spelling(&self) -> String {
        // SAFETY: valid cursor; owned CXString.
        take_string(unsafe { clang_getCursorSpelling(self.0) })
    }

    /// Whether the cursor is an expression.
    pub(crate) fn is_expression(&self) -> bool {
        // SAFETY: reading the kind of a valid cursor.
        unsafe { clang_isExpression(clang_getCursorKind(self.0)) != 0 }
    }

    /// Children in source order.
    pub(crate) fn children(&self) -> Vec<Cursor> {
        extern "C" fn visit(c: CXCursor, _p: CXCursor, data: CXClientData) -> CXChildVisitResult {
            // SAFETY: `data` is the Vec passed below.
            let v = unsafe { &mut *(data as *mut Vec<Cursor>) };
            v.push(Cursor(c));
            CXChildVisit_Continue
        }
        let mut v: Vec<Cursor> = Vec::new();
        // SAFETY: the callback only pushes into `v`, which outlives the call.
        unsafe { clang_visitChildren(self.0, visit, &mut v as *mut Vec<Cursor> as *mut c_void) };
        v
    }

    /// Where the declaration appears after macro expansion.
    pub(crate) fn expansion_pos(&self) -> SourcePos {
        // SAFETY: valid cursor.
        SourcePos::read(unsafe { clang_getCursorLocation(self.0) }, false)
    }

    /// The file holding the declaration after macro expansion (`None` for built-in declarations).
    pub(crate) fn expansion_file(&self) -> Option<File> {
        let mut file: CXFile = std::ptr::null_mut();
        let null = std::ptr::null_mut();
        // SAFETY: valid cursor; null out-pointers are allowed.
        unsafe { clang_getExpansionLocation(clang_getCursorLocation(self.0), &mut file, null, null, null) };
        (!file.is_null()).then_some(File(file))
    }

    /// The declaration as clang prints it under `policy`.
    pub(crate) fn pretty_printed(&self, policy: &PrintingPolicy) -> String {
        // SAFETY: valid cursor and policy; owned CXString.
        take_string(unsafe { clang_getCursorPrettyPrinted(self.0, policy.0) })
    }

    /// The first declaration of the entity this cursor declares (itself when it is the first).
    pub(crate) fn canonical_cursor(&self) -> Cursor {
        // SAFETY: valid cursor; clang returns a cursor of the same translation unit.
        Cursor(unsafe { clang_getCanonicalCursor(self.0) })
    }

    /// Whether two cursors are the same declaration.
    pub(crate) fn same_as(&self, other: &Cursor) -> bool {
        // SAFETY: both cursors are valid.
        unsafe { clang_equalCursors(self.0, other.0) != 0 }
    }

    /// The enclosing declaration (namespace, record, or the translation unit).
    pub(crate) fn semantic_parent(&self) -> Option<Cursor> {
        // SAFETY: valid cursor; null cursor means none.
        Cursor::valid(unsafe { clang_getCursorSemanticParent(self.0) })
    }

    /// `c`, unless it is the null cursor or an invalid one.
    fn valid(c: CXCursor) -> Option<Cursor> {
        // SAFETY: reading a cursor.
        if unsafe { clang_Cursor_isNull(c) } != 0 || unsafe { clang_isInvalid(clang_getCursorKind(c)) } != 0 {
            None
        } else {
            Some(Cursor(c))
        }
    }

    /// The declaration a reference (`NamespaceRef`, `TypeRef`, `TemplateRef`, `DeclRefExpr`...)
    /// names.
    pub(crate) fn referenced(&self) -> Option<Cursor> {
        // SAFETY: valid cursor; null cursor means none.
        Cursor::valid(unsafe { clang_getCursorReferenced(self.0) })
    }

    /// The declaration the cursor is written in (a namespace, a linkage specification, the
    /// translation unit...).
    pub(crate) fn lexical_parent(&self) -> Option<Cursor> {
        // SAFETY: valid cursor; null cursor means none.
        Cursor::valid(unsafe { clang_getCursorLexicalParent(self.0) })
    }

    pub(crate) fn is_inline_namespace(&self) -> bool {
        // SAFETY: valid cursor.
        unsafe { clang_Cursor_isInlineNamespace(self.0) != 0 }
    }

    pub(crate) fn ty(&self) -> Type {
        // SAFETY: valid cursor.
        Type(unsafe { clang_getCursorType(self.0) })
    }

    pub(crate) fn result_type(&self) -> Type {
        // SAFETY: valid cursor.
        Type(unsafe { clang_getCursorResultType(self.0) })
    }

    pub(crate) fn typedef_underlying(&self) -> Type {
        // SAFETY: valid cursor.
        Type(unsafe { clang_getTypedefDeclUnderlyingType(self.0) })
    }

    pub(crate) fn enum_integer_type(&self) -> Type {
        // SAFETY: valid cursor.
        Type(unsafe { clang_getEnumDeclIntegerType(self.0) })
    }

    pub(crate) fn enum_value(&self, unsigned: bool) -> String {
        // SAFETY: valid EnumConstantDecl cursor.
        unsafe {
            if unsigned {
                clang_getEnumConstantDeclUnsignedValue(self.0).to_string()
            } else {
                clang_getEnumConstantDeclValue(self.0).to_string()
            }
        }
    }

    pub(crate) fn access(&self) -> Access {
        // SAFETY: valid cursor.
        match unsafe { clang_getCXXAccessSpecifier(self.0) } {
            CX_CXXPublic => Access::Public,
            CX_CXXProtected => Access::Protected,
            CX_CXXPrivate => Access::Private,
            _ => Access::None,
        }
    }

    pub(crate) fn is_definition(&self) -> bool {
        // SAFETY: valid cursor.
        unsafe { clang_isCursorDefinition(self.0) != 0 }
    }

    /// Whether a function is inline, explicitly or implicitly (defined in its class, constexpr).
    pub(crate) fn is_function_inlined(&self) -> bool {
        // SAFETY: valid cursor.
        unsafe { clang_Cursor_isFunctionInlined(self.0) != 0 }
    }

    /// Whether the declaration has external linkage (not `static`, not in an anonymous namespace).
    pub(crate) fn has_external_linkage(&self) -> bool {
        // SAFETY: valid cursor.
        unsafe { clang_getCursorLinkage(self.0) == CXLinkage_External }
    }

    /// The file of the cursor's extent and its byte offsets there: where it starts after macro
    /// expansion (a leading `__device__` is a macro), and just past its last token (for a function
    /// whose body was skipped, the end of its declarator), which must be written in the file itself,
    /// not by a macro. None when either is not so.
    pub(crate) fn file_extent(&self) -> Option<(File, u32, u32)> {
        // SAFETY: valid cursor; out-pointers are valid locals or null.
        unsafe {
            let range = clang_getCursorExtent(self.0);
            let null = std::ptr::null_mut();
            let (mut start_file, mut start): (CXFile, u32) = (std::ptr::null_mut(), 0);
            clang_getExpansionLocation(clang_getRangeStart(range), &mut start_file, null, null, &mut start);
            let end_loc = clang_getRangeEnd(range);
            let (mut sf, mut ef): (CXFile, CXFile) = (std::ptr::null_mut(), std::ptr::null_mut());
            let (mut so, mut eo) = (0u32, 0u32);
            clang_getSpellingLocation(end_loc, &mut sf, null, null, &mut so);
            clang_getExpansionLocation(end_loc, &mut ef, null, null, &mut eo);
            if sf.is_null() || sf != ef || so != eo || start_file != ef || start > eo {
                return None;
            }
            Some((File(ef), start, eo))
        }
    }

    pub(crate) fn is_anonymous(&self) -> bool {
        // SAFETY: valid cursor.
        unsafe { clang_Cursor_isAnonymous(self.0) != 0 }
    }

    /// Whether the cursor is an anonymous struct or union member (`union { int a; float b; };`),
    /// whose fields are members of the enclosing record.
    pub(crate) fn is_anonymous_record_member(&self) -> bool {
        // SAFETY: valid cursor.
        unsafe { clang_Cursor_isAnonymousRecordDecl(self.0) != 0 }
    }

    pub(crate) fn is_variadic(&self) -> bool {
        // SAFETY: valid cursor.
        unsafe { clang_Cursor_isVariadic(self.0) != 0 }
    }

    pub(crate) fn is_bitfield(&self) -> bool {
        // SAFETY: valid cursor.
        unsafe { clang_Cursor_isBitField(self.0) != 0 }
    }

    pub(crate) fn is_const_method(&self) -> bool {
        // SAFETY: valid cursor.
        unsafe { clang_CXXMethod_isConst(self.0) != 0 }
    }

    pub(crate) fn is_static_method(&self) -> bool {
        // SAFETY: valid cursor.
        unsafe { clang_CXXMethod_isStatic(self.0) != 0 }
    }

    pub(crate) fn is_virtual_method(&self) -> bool {
        // SAFETY: valid cursor.
        unsafe { clang_CXXMethod_isVirtual(self.0) != 0 }
    }

    pub(crate) fn is_deleted_method(&self) -> bool {
        // SAFETY: valid cursor (clang 16+).
        unsafe { clang_CXXMethod_isDeleted(self.0) != 0 }
    }

    pub(crate) fn is_copy_assignment(&self) -> bool {
        // SAFETY: valid cursor (clang 16+).
        unsafe { clang_CXXMethod_isCopyAssignmentOperator(self.0) != 0 }
    }

    pub(crate) fn is_move_assignment(&self) -> bool {
        // SAFETY: valid cursor (clang 16+).
        unsafe { clang_CXXMethod_isMoveAssignmentOperator(self.0) != 0 }
    }

    /// (default, copy, move, converting) flags of a constructor.
    pub(crate) fn constructor_flags(&self) -> (bool, bool, bool, bool) {
        // SAFETY: valid constructor cursor.
        unsafe {
            (
                clang_CXXConstructor_isDefaultConstructor(self.0) != 0,
                clang_CXXConstructor_isCopyConstructor(self.0) != 0,
                clang_CXXConstructor_isMoveConstructor(self.0) != 0,
                clang_CXXConstructor_isConvertingConstructor(self.0) != 0,
            )
        }
    }

    pub(crate) fn is_scoped_enum(&self) -> bool {
        // SAFETY: valid cursor.
        unsafe { clang_EnumDecl_isScoped(self.0) != 0 }
    }

    /// Itanium mangling; for constructors and destructors, the complete-object variant (C1/D1).
    pub(crate) fn mangled_name(&self) -> String {
        let kind = self.kind();
        if matches!(kind, CursorKind::Constructor | CursorKind::Destructor) {
            // SAFETY: the returned set is disposed after reading.
            unsafe {
                let set = clang_Cursor_getCXXManglings(self.0);
                if !set.is_null() {
                    let strings = std::slice::from_raw_parts((*set).Strings, (*set).Count as usize);
                    let names: Vec<String> = strings
                        .iter()
                        .map(|s| {
                            let p = clang_getCString(*s);
                            if p.is_null() {
                                String::new()
                            } else {
                                CStr::from_ptr(p).to_string_lossy().into_owned()
                            }
                        })
                        .collect();
                    clang_disposeStringSet(set);
                    let want = if kind == CursorKind::Constructor { "C1" } else { "D1" };
                    if let Some(n) = names.iter().find(|n| n.contains(want)) {
                        return n.clone();
                    }
                    if let Some(n) = names.into_iter().next() {
                        return n;
                    }
                }
            }
        }
        // SAFETY: valid cursor.
        take_string(unsafe { clang_Cursor_getMangling(self.0) })
    }

    pub(crate) fn num_template_args(&self) -> i32 {
        // SAFETY: valid cursor.
        unsafe { clang_Cursor_getNumTemplateArguments(self.0) }
    }

    pub(crate) fn template_arg(&self, i: u32) -> (TemplateArgKind, Option<Type>, i64) {
        // SAFETY: `i` < num_template_args.
        unsafe {
            match clang_Cursor_getTemplateArgumentKind(self.0, i) {
                CXTemplateArgumentKind_Type => {
                    (TemplateArgKind::Type, Some(Type(clang_Cursor_getTemplateArgumentType(self.0, i))), 0)
                }
                CXTemplateArgumentKind_Integral => {
                    (TemplateArgKind::Integral, None, clang_Cursor_getTemplateArgumentValue(self.0, i))
                }
                _ => (TemplateArgKind::Other, None, 0),
            }
        }
    }

    /// The template this cursor specializes, if any.
    pub(crate) fn specialized_template(&self) -> Option<Cursor> {
        // SAFETY: valid cursor; null cursor means none.
        let c = unsafe { clang_getSpecializedCursorTemplate(self.0) };
        // SAFETY: reading a cursor.
        if unsafe { clang_Cursor_isNull(c) } != 0 {
            None
        } else {
            Some(Cursor(c))
        }
    }

    pub(crate) fn evaluate(&self) -> Option<Evaluated> {
        // SAFETY: the result is disposed after reading.
        unsafe {
            let r = clang_Cursor_Evaluate(self.0);
            if r.is_null() {
                return None;
            }
            let out = match clang_EvalResult_getKind(r) {
                CXEval_Int => {
                    if clang_EvalResult_isUnsignedInt(r) != 0 {
                        Some(Evaluated::UInt(clang_EvalResult_getAsUnsigned(r)))
                    } else {
                        Some(Evaluated::Int(clang_EvalResult_getAsLongLong(r)))
                    }
                }
                CXEval_Float => Some(Evaluated::Float(clang_EvalResult_getAsDouble(r))),
                _ => None,
            };
            clang_EvalResult_dispose(r);
            out
        }
    }
}

/// Our names for the type kinds the model distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeKind {
    Void,
    Bool,
    Char,
    SignedInt,
    UnsignedInt,
    Float,
    Pointer,
    LValueRef,
    RValueRef,
    Record,
    Enum,
    Typedef,
    Elaborated,
    ConstantArray,
    IncompleteArray,
    Dependent,
    FunctionProto,
    Other,
}

#[derive(Clone, Copy)]
pub(crate) struct Type(CXType);

impl Type {
    pub(crate) fn kind(&self) -> TypeKind {
        match self.0.kind {
            CXType_Void => TypeKind::Void,
            CXType_Bool => TypeKind::Bool,
            CXType_Char_S | CXType_Char_U => TypeKind::Char,
            CXType_SChar | CXType_Short | CXType_Int | CXType_Long | CXType_LongLong | CXType_Int128 | CXType_WChar => {
                TypeKind::SignedInt
            }
            CXType_UChar | CXType_UShort | CXType_UInt | CXType_ULong | CXType_ULongLong | CXType_UInt128
            | CXType_Char16 | CXType_Char32 => TypeKind::UnsignedInt,
            CXType_Float | CXType_Double | CXType_LongDouble | CXType_Half | CXType_Float16 | CXType_Float128 => {
                TypeKind::Float
            }
            CXType_Pointer => TypeKind::Pointer,
            CXType_LValueReference => TypeKind::LValueRef,
            CXType_RValueReference => TypeKind::RValueRef,
            CXType_Record => TypeKind::Record,
            CXType_Enum => TypeKind::Enum,
            CXType_Typedef => TypeKind::Typedef,
            CXType_Elaborated => TypeKind::Elaborated,
            CXType_ConstantArray => TypeKind::ConstantArray,
            CXType_IncompleteArray => TypeKind::IncompleteArray,
            CXType_Dependent | CXType_Unexposed => TypeKind::Dependent,
            CXType_FunctionProto | CXType_FunctionNoProto => TypeKind::FunctionProto,
            _ => TypeKind::Other,
        }
    }

    pub(crate) fn spelling(&self) -> String {
        // SAFETY: valid type.
        take_string(unsafe { clang_getTypeSpelling(self.0) })
    }

    pub(crate) fn canonical(&self) -> Type {
        // SAFETY: valid type.
        Type(unsafe { clang_getCanonicalType(self.0) })
    }

    pub(crate) fn pointee(&self) -> Type {
        // SAFETY: valid type.
        Type(unsafe { clang_getPointeeType(self.0) })
    }

    pub(crate) fn named(&self) -> Type {
        // SAFETY: valid type.
        Type(unsafe { clang_Type_getNamedType(self.0) })
    }

    pub(crate) fn element(&self) -> Type {
        // SAFETY: valid type.
        Type(unsafe { clang_getArrayElementType(self.0) })
    }

    pub(crate) fn array_len(&self) -> i64 {
        // SAFETY: valid type.
        unsafe { clang_getArraySize(self.0) }
    }

    pub(crate) fn is_const(&self) -> bool {
        // SAFETY: valid type.
        unsafe { clang_isConstQualifiedType(self.0) != 0 }
    }

    pub(crate) fn is_volatile(&self) -> bool {
        // SAFETY: valid type.
        unsafe { clang_isVolatileQualifiedType(self.0) != 0 }
    }

    pub(crate) fn size_of(&self) -> i64 {
        // SAFETY: valid type; negative values are clang's error codes.
        unsafe { clang_Type_getSizeOf(self.0) }
    }

    /// Byte offset of the field `name` (found through anonymous members too), or a negative error.
    pub(crate) fn offset_of_bits(&self, name: &str) -> i64 {
        let Ok(c_name) = CString::new(name) else { return -1 };
        // SAFETY: valid type; the name outlives the call.
        unsafe { clang_Type_getOffsetOf(self.0, c_name.as_ptr()) }
    }

    pub(crate) fn align_of(&self) -> i64 {
        // SAFETY: valid type.
        unsafe { clang_Type_getAlignOf(self.0) }
    }

    /// The fields of a record type in declaration order, also for an implicit template
    /// instantiation (whose cursor has no children to visit).
    pub(crate) fn fields(&self) -> Vec<Cursor> {
        extern "C" fn visit(c: CXCursor, data: CXClientData) -> CXVisitorResult {
            // SAFETY: `data` is the Vec passed below.
            let v = unsafe { &mut *(data as *mut Vec<Cursor>) };
            v.push(Cursor(c));
            CXVisit_Continue
        }
        let mut v: Vec<Cursor> = Vec::new();
        // SAFETY: the callback only pushes into `v`, which outlives the call.
        unsafe { clang_Type_visitFields(self.0, visit, &mut v as *mut Vec<Cursor> as *mut c_void) };
        v
    }

    pub(crate) fn declaration(&self) -> Cursor {
        // SAFETY: valid type.
        Cursor(unsafe { clang_getTypeDeclaration(self.0) })
    }

    /// The template arguments of a template-id type (`Pair<T, 4>`, dependent or not): the type of
    /// each, None for a non-type argument; None when the type is not a template-id.
    pub(crate) fn template_arg_types(&self) -> Option<Vec<Option<Type>>> {
        // SAFETY: valid type; a negative count means not a template-id.
        let n = unsafe { clang_Type_getNumTemplateArguments(self.0) };
        if n < 0 {
            return None;
        }
        let args = (0..n as u32)
            .map(|i| {
                // SAFETY: `i` < the count; an invalid type means a non-type argument.
                let t = unsafe { clang_Type_getTemplateArgumentAsType(self.0, i) };
                (t.kind != CXType_Invalid).then_some(Type(t))
            })
            .collect();
        Some(args)
    }

    pub(crate) fn typedef_name(&self) -> String {
        // SAFETY: valid type.
        take_string(unsafe { clang_getTypedefName(self.0) })
    }
}
