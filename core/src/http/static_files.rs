//! Serving a few static files next to the Engine.IO endpoint.
//!
//! python-engineio can serve the client page and its assets itself (`static_files`), which is
//! handy for small deployments, demos and the latency example, where a separate web server would
//! be overkill. This module copies those semantics: a map of URL paths to files or directories,
//! the default file `index.html` for URLs ending in `/`, and content types from the extension.
//!
//! URLs are attacker-controlled and end up as file-system paths, so resolution is strict: every
//! segment is percent-decoded and any `.`/`..` segment, empty middle segment, backslash, NUL or
//! encoded `/` refuses the request, and the joined path is checked to stay inside the configured
//! directory. [`resolve`] is pure (no file-system access); [`respond`] does the blocking read.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};

/// The default file served for URLs ending in `/`.
const DEFAULT_FILE: &str = "index.html";

/// The content type when the extension says nothing.
const OCTET_STREAM: &str = "application/octet-stream";

/// What one URL (or URL prefix) is served from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// Exactly this file.
    File(PathBuf),
    /// Files under this directory.
    Dir(PathBuf),
}

/// One configured URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    target: Target,
    content_type: Option<String>,
}

/// Static files served by the server, keyed by URL path (python-engineio's `static_files`).
///
/// Use it to serve the client page and its assets from the same server as the Engine.IO
/// endpoint, without a separate web server. Requests for the Engine.IO path itself are never
/// looked up here. Files are read from disk on every request, so edits show up immediately.
///
/// ```
/// use engineio_core::http::StaticFiles;
///
/// let files = StaticFiles::new()
///     .file("/", "public/index.html")
///     .dir("/static/", "public/static");
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticFiles {
    entries: BTreeMap<String, Entry>,
    default_file: Option<String>,
}

impl StaticFiles {
    /// An empty map: no static files are served.
    ///
    /// Start from it and add entries with [`file`](Self::file) and [`dir`](Self::dir).
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `url` (e.g. "/" or "/latency.html") from the file `path`.
    ///
    /// Use it for single pages. The URL must match exactly (after percent-decoding); a leading
    /// `/` is added if missing. A later entry for the same URL replaces the earlier one.
    pub fn file(mut self, url: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.insert(url.into(), Target::File(path.into()));
        self
    }

    /// Serves every URL under `url_prefix` (e.g. "/static/") from the directory `dir`.
    ///
    /// Use it for asset folders: `/static/js/app.js` is read from `<dir>/js/app.js`, and
    /// `/static/` from `<dir>/index.html` (see [`default_file`](Self::default_file)). Paths that
    /// would leave `dir` are refused. Symbolic links inside `dir` are followed.
    pub fn dir(mut self, url_prefix: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        self.insert(url_prefix.into(), Target::Dir(dir.into()));
        self
    }

    /// Overrides the content type of one entry (as added with `file` or `dir`).
    ///
    /// Use it when the extension is missing or misleading. `url` must be written as it was for
    /// `file` or `dir`; for a directory the type applies to every file under it. An unknown `url`
    /// is ignored with a warning.
    pub fn content_type(mut self, url: &str, content_type: impl Into<String>) -> Self {
        match self.entries.get_mut(&normalize_url(url.to_owned())) {
            Some(entry) => entry.content_type = Some(content_type.into()),
            None => tracing::warn!(url, "static files: content_type for a URL with no entry"),
        }
        self
    }

    /// The file served for URLs that end in `/` (default `index.html`).
    ///
    /// Use it when the directory index has another name, such as `default.htm`.
    pub fn default_file(mut self, name: impl Into<String>) -> Self {
        self.default_file = Some(name.into());
        self
    }

    /// Whether no entry is configured, in which case the server never looks for static files.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn insert(&mut self, url: String, target: Target) {
        self.entries.insert(
            normalize_url(url),
            Entry {
                target,
                content_type: None,
            },
        );
    }
}

/// URL keys always start with `/`.
fn normalize_url(url: String) -> String {
    if url.starts_with('/') {
        url
    } else {
        format!("/{url}")
    }
}

/// A file to serve, as found by [`resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedFile {
    /// The file-system path (not checked for existence).
    pub path: PathBuf,
    /// The Content-Type to answer with.
    pub content_type: String,
}

/// Maps a URL path (already without the query) to a file, or None.
///
/// `None` means "not a static file": no entry matches, or the path is unsafe or malformed.
/// Lookup: the exact (decoded) path first, then, stripping one trailing segment at a time, a
/// directory entry for the prefix or the prefix + `/`. File entries match only exactly.
/// No file-system access happens here: the file may not exist, which [`respond`] reports as 404.
pub fn resolve(files: &StaticFiles, url_path: &str) -> Option<ResolvedFile> {
    if files.is_empty() {
        return None;
    }
    let segments = decode_path(url_path)?;
    let trailing_slash = segments.last().is_some_and(String::is_empty);
    if let Some(entry) = files.entries.get(&join_url(&segments)) {
        return finish(files, entry, &[], trailing_slash);
    }
    for i in (0..segments.len()).rev() {
        let prefix = join_url(&segments[..i]);
        let entry = files
            .entries
            .get(&prefix)
            .or_else(|| files.entries.get(&format!("{prefix}/")));
        if let Some(
            entry @ Entry {
                target: Target::Dir(_),
                ..
            },
        ) = entry
        {
            return finish(files, entry, &segments[i..], trailing_slash);
        }
    }
    None
}

/// Builds the file path and content type for a matched entry and the rest of the URL.
fn finish(
    files: &StaticFiles,
    entry: &Entry,
    rest: &[String],
    trailing_slash: bool,
) -> Option<ResolvedFile> {
    let path = match &entry.target {
        Target::File(path) if rest.is_empty() => path.clone(),
        Target::File(_) => return None,
        Target::Dir(dir) => {
            let mut path = dir.clone();
            for segment in rest.iter().filter(|s| !s.is_empty()) {
                path.push(segment);
            }
            if trailing_slash {
                path.push(files.default_file.as_deref().unwrap_or(DEFAULT_FILE));
            }
            // Belt and braces: the result must be `dir` followed by plain names only.
            let inside = path
                .strip_prefix(dir)
                .is_ok_and(|tail| tail.components().all(|c| matches!(c, Component::Normal(_))));
            if !inside {
                return None;
            }
            path
        }
    };
    let content_type = entry
        .content_type
        .clone()
        .unwrap_or_else(|| guess_content_type(&path));
    Some(ResolvedFile { path, content_type })
}

/// The content type from the file extension, `application/octet-stream` when unknown.
fn guess_content_type(path: &Path) -> String {
    mime_guess::from_path(path)
        .first_raw()
        .unwrap_or(OCTET_STREAM)
        .to_owned()
}

/// `["a", "b"]` → `"/a/b"`; `["a", ""]` → `"/a/"`; `[]` → `""`.
fn join_url(segments: &[String]) -> String {
    segments.iter().fold(String::new(), |mut url, segment| {
        url.push('/');
        url.push_str(segment);
        url
    })
}

/// Splits an absolute URL path into percent-decoded segments (the last one empty when the path
/// ends with `/`), or `None` when it is malformed or unsafe.
fn decode_path(url_path: &str) -> Option<Vec<String>> {
    let rest = url_path.strip_prefix('/')?;
    let raw: Vec<&str> = rest.split('/').collect();
    let last = raw.len() - 1;
    let mut segments = Vec::with_capacity(raw.len());
    for (i, segment) in raw.into_iter().enumerate() {
        if segment.is_empty() {
            if i != last {
                return None;
            }
            segments.push(String::new());
            continue;
        }
        let decoded = percent_decode(segment)?;
        if decoded == "." || decoded == ".." || decoded.contains(['/', '\\', '\0']) {
            return None;
        }
        segments.push(decoded);
    }
    Some(segments)
}

/// Percent-decodes one segment; `None` on a malformed escape or invalid UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex(*bytes.get(i + 1)?)?;
            let lo = hex(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Reads the file and answers 200 with Content-Type (HEAD/GET only; the caller checks the
/// method), 404 (JSON-free plain text "Not Found") when it does not exist or is not a regular
/// file, 500 on other I/O errors.
///
/// This is a **blocking** `std::fs` read, done on the calling task: static files here are meant
/// to be small and local (a client page and its assets), so the read is short. Serve large or
/// remote files with a dedicated file server instead. No Content-Length is set: the body is a
/// `Full`, whose size the HTTP layer reports.
pub fn respond(file: &ResolvedFile) -> Response<Bytes> {
    match std::fs::metadata(&file.path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return not_found(),
        Err(e) if is_missing(&e) => return not_found(),
        Err(e) => return internal_error(&file.path, &e),
    }
    let data = match std::fs::read(&file.path) {
        Ok(data) => data,
        Err(e) if is_missing(&e) => return not_found(),
        Err(e) => return internal_error(&file.path, &e),
    };
    let content_type = HeaderValue::from_str(&file.content_type).unwrap_or_else(|_| {
        tracing::warn!(
            content_type = file.content_type,
            "static files: invalid content type, using application/octet-stream"
        );
        HeaderValue::from_static(OCTET_STREAM)
    });
    let mut response = Response::new(Bytes::from(data));
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
}

/// Errors that mean "no such file" rather than a server problem.
fn is_missing(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn not_found() -> Response<Bytes> {
    plain(StatusCode::NOT_FOUND, "Not Found")
}

fn internal_error(path: &Path, error: &io::Error) -> Response<Bytes> {
    tracing::error!(path = %path.display(), %error, "static files: cannot read file");
    plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

fn plain(status: StatusCode, text: &'static str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(text.as_bytes()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A unique temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir()
                .join(format!("engineio-static-test-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        fn write(&self, rel: &str, contents: &str) -> PathBuf {
            let path = self.0.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// root/{secret.txt, latency.html, public/...}
    fn fixture() -> (TempDir, PathBuf) {
        let tmp = TempDir::new();
        tmp.write("secret.txt", "secret");
        tmp.write("latency.html", "<p>latency</p>");
        tmp.write("public/index.html", "<p>index</p>");
        tmp.write("public/app.js", "console.log(1)");
        tmp.write("public/style.css", "body{}");
        tmp.write("public/data.zzunknown", "??");
        tmp.write("public/noext", "plain");
        tmp.write("public/with space.txt", "spaced");
        tmp.write("public/sub/page.html", "<p>page</p>");
        tmp.write("public/sub/home.htm", "<p>home</p>");
        tmp.write("public/sub/nested/deep.json", "{}");
        std::fs::create_dir_all(tmp.0.join("public/emptydir")).unwrap();
        let public = tmp.0.join("public");
        (tmp, public)
    }

    fn body_text(response: Response<Bytes>) -> String {
        String::from_utf8(response.into_body().to_vec()).unwrap()
    }

    fn path_of(files: &StaticFiles, url: &str) -> Option<PathBuf> {
        resolve(files, url).map(|r| r.path)
    }

    #[test]
    fn empty_map() {
        let files = StaticFiles::new();
        assert!(files.is_empty());
        assert_eq!(resolve(&files, "/"), None);
        assert!(!files.file("/", "index.html").is_empty());
    }

    #[test]
    fn exact_file() {
        let (tmp, _) = fixture();
        let files = StaticFiles::new().file("/latency.html", tmp.0.join("latency.html"));
        let resolved = resolve(&files, "/latency.html").unwrap();
        assert_eq!(resolved.path, tmp.0.join("latency.html"));
        assert_eq!(resolved.content_type, "text/html");
        let response = respond(&resolved);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html");
        assert_eq!(body_text(response), "<p>latency</p>");
        // A file entry takes no sub-path and is not a prefix.
        assert_eq!(resolve(&files, "/latency.html/x"), None);
        assert_eq!(resolve(&files, "/latency.html/"), None);
        assert_eq!(resolve(&files, "/latency"), None);
        assert_eq!(resolve(&files, "/other.html"), None);
    }

    #[test]
    fn file_at_root_url() {
        let (tmp, _) = fixture();
        let files = StaticFiles::new().file("/", tmp.0.join("latency.html"));
        assert_eq!(path_of(&files, "/"), Some(tmp.0.join("latency.html")));
        assert_eq!(path_of(&files, "/anything"), None);
    }

    #[test]
    fn url_without_leading_slash_is_normalized() {
        let files = StaticFiles::new().file("page", "/srv/page.html");
        assert_eq!(
            path_of(&files, "/page"),
            Some(PathBuf::from("/srv/page.html"))
        );
        assert_eq!(path_of(&files, "page"), None);
    }

    #[test]
    fn dir_with_nested_file() {
        let (_tmp, public) = fixture();
        let files = StaticFiles::new().dir("/static/", &public);
        let resolved = resolve(&files, "/static/sub/nested/deep.json").unwrap();
        assert_eq!(
            resolved.path,
            public.join("sub").join("nested").join("deep.json")
        );
        assert_eq!(resolved.content_type, "application/json");
        let response = respond(&resolved);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_text(response), "{}");
        // The prefix itself without a slash is not under the entry.
        assert_eq!(resolve(&files, "/static"), None);
        assert_eq!(resolve(&files, "/other/app.js"), None);
    }

    #[test]
    fn dir_prefix_without_trailing_slash() {
        let (_tmp, public) = fixture();
        let files = StaticFiles::new().dir("/assets", &public);
        assert_eq!(
            path_of(&files, "/assets/app.js"),
            Some(public.join("app.js"))
        );
        assert_eq!(path_of(&files, "/assets/"), Some(public.join("index.html")));
        // The directory itself: resolves to the directory, which respond() refuses.
        let resolved = resolve(&files, "/assets").unwrap();
        assert_eq!(resolved.path, public);
        assert_eq!(respond(&resolved).status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn longest_prefix_wins() {
        let (tmp, public) = fixture();
        let files = StaticFiles::new()
            .dir("/", &tmp.0)
            .dir("/static/", &public)
            .file("/static/special", tmp.0.join("latency.html"));
        assert_eq!(
            path_of(&files, "/static/app.js"),
            Some(public.join("app.js"))
        );
        assert_eq!(
            path_of(&files, "/latency.html"),
            Some(tmp.0.join("latency.html"))
        );
        assert_eq!(
            path_of(&files, "/static/special"),
            Some(tmp.0.join("latency.html"))
        );
        // The file entry is not a prefix: the directory entry above it answers.
        assert_eq!(
            path_of(&files, "/static/special/x"),
            Some(public.join("special").join("x"))
        );
        assert_eq!(path_of(&files, "/"), Some(tmp.0.join("index.html")));
    }

    #[test]
    fn slash_url_gets_index_html() {
        let (_tmp, public) = fixture();
        let files = StaticFiles::new().dir("/static/", &public);
        let resolved = resolve(&files, "/static/").unwrap();
        assert_eq!(resolved.path, public.join("index.html"));
        assert_eq!(resolved.content_type, "text/html");
        assert_eq!(body_text(respond(&resolved)), "<p>index</p>");
        // A subdirectory without index.html.
        let resolved = resolve(&files, "/static/sub/").unwrap();
        assert_eq!(resolved.path, public.join("sub").join("index.html"));
        assert_eq!(respond(&resolved).status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn custom_default_file() {
        let (_tmp, public) = fixture();
        let files = StaticFiles::new()
            .dir("/static/", &public)
            .default_file("home.htm");
        let resolved = resolve(&files, "/static/sub/").unwrap();
        assert_eq!(resolved.path, public.join("sub").join("home.htm"));
        assert_eq!(resolved.content_type, "text/html");
        assert_eq!(body_text(respond(&resolved)), "<p>home</p>");
    }

    #[test]
    fn default_file_cannot_escape() {
        let (_tmp, public) = fixture();
        let files = StaticFiles::new()
            .dir("/static/", &public)
            .default_file("../secret.txt");
        assert_eq!(resolve(&files, "/static/"), None);
        let files = StaticFiles::new()
            .dir("/static/", &public)
            .default_file("/etc/passwd");
        assert_eq!(resolve(&files, "/static/"), None);
    }

    #[test]
    fn content_type_by_extension() {
        let (_tmp, public) = fixture();
        let files = StaticFiles::new().dir("/s/", &public);
        let ct = |url: &str| resolve(&files, url).unwrap().content_type;
        assert_eq!(ct("/s/style.css"), "text/css");
        assert_eq!(ct("/s/sub/page.html"), "text/html");
        assert_eq!(
            ct("/s/app.js"),
            mime_guess::from_ext("js").first_raw().unwrap()
        );
        assert_eq!(ct("/s/data.zzunknown"), "application/octet-stream");
        assert_eq!(ct("/s/noext"), "application/octet-stream");
    }

    #[test]
    fn content_type_override() {
        let (tmp, public) = fixture();
        let files = StaticFiles::new()
            .dir("/s/", &public)
            .file("/raw", tmp.0.join("latency.html"))
            .content_type("/s/", "text/plain; charset=utf-8")
            .content_type("/raw", "application/x-custom")
            .content_type("/no-such-entry", "text/plain");
        assert_eq!(
            resolve(&files, "/s/app.js").unwrap().content_type,
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            resolve(&files, "/s/").unwrap().content_type,
            "text/plain; charset=utf-8"
        );
        let resolved = resolve(&files, "/raw").unwrap();
        assert_eq!(resolved.content_type, "application/x-custom");
        let response = respond(&resolved);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/x-custom");
        assert_eq!(resolve(&files, "/no-such-entry"), None);
    }

    #[test]
    fn invalid_content_type_falls_back() {
        let (tmp, _) = fixture();
        let resolved = ResolvedFile {
            path: tmp.0.join("secret.txt"),
            content_type: "text/plain\r\nX-Evil: 1".into(),
        };
        let response = respond(&resolved);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/octet-stream");
    }

    #[test]
    fn percent_encoded_names() {
        let (_tmp, public) = fixture();
        let files = StaticFiles::new().dir("/static/", &public);
        let resolved = resolve(&files, "/static/with%20space.txt").unwrap();
        assert_eq!(resolved.path, public.join("with space.txt"));
        assert_eq!(body_text(respond(&resolved)), "spaced");
        assert_eq!(
            path_of(&files, "/static/%61pp.js"),
            Some(public.join("app.js"))
        );
    }

    #[test]
    fn traversal_attempts_are_refused() {
        let (tmp, public) = fixture();
        let files = StaticFiles::new()
            .dir("/static/", &public)
            .file("/latency.html", tmp.0.join("latency.html"));
        for url in [
            "/static/../secret.txt",
            "/static/..",
            "/static/../",
            "/static/%2e%2e/secret.txt",
            "/static/%2E%2E/secret.txt",
            "/static/.%2e/secret.txt",
            "/static/sub/../../secret.txt",
            "/static/..%2Fsecret.txt",
            "/static/..%2fsecret.txt",
            "/static/%2F..%2Fsecret.txt",
            "/static/%2fetc%2fpasswd",
            "/static/sub%2Fpage.html",
            "/static/..\\secret.txt",
            "/static/..%5Csecret.txt",
            "/static/sub\\page.html",
            "/static/.",
            "/static/./app.js",
            "/static/%2e/app.js",
            "/static//app.js",
            "//static/app.js",
            "/static/app.js%00",
            "/static/app.js%00.html",
            "/static/%",
            "/static/%2",
            "/static/%zz",
            "/static/%c3",
            "static/app.js",
            "",
            "/latency.html/../secret.txt",
        ] {
            assert_eq!(resolve(&files, url), None, "{url:?}");
        }
    }

    #[test]
    fn missing_file_is_404() {
        let (_tmp, public) = fixture();
        let files = StaticFiles::new().dir("/static/", &public);
        let resolved = resolve(&files, "/static/missing.js").unwrap();
        let response = respond(&resolved);
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/plain");
        assert_eq!(body_text(response), "Not Found");
        // A path through a regular file (ENOTDIR) is also missing.
        let resolved = resolve(&files, "/static/app.js/x").unwrap();
        assert_eq!(respond(&resolved).status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn directory_without_trailing_slash_is_404() {
        let (_tmp, public) = fixture();
        let files = StaticFiles::new().dir("/static/", &public);
        for url in ["/static/sub", "/static/emptydir", "/static/sub/nested"] {
            let resolved = resolve(&files, url).unwrap();
            let response = respond(&resolved);
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{url}");
            assert_eq!(body_text(response), "Not Found");
        }
    }

    /// Found by the `http_helpers` fuzz target: a default file name that is empty, absolute
    /// or climbs out never takes a URL ending in `/` outside the directory; an empty one
    /// names the directory itself, which is answered 404.
    #[test]
    fn odd_default_file_names_stay_inside() {
        let (_tmp, public) = fixture();
        let inside = |files: &StaticFiles| {
            resolve(files, "/static/").map(|file| file.path.starts_with(&public))
        };
        let empty = StaticFiles::new().dir("/static/", &public).default_file("");
        assert_eq!(inside(&empty), Some(true));
        let dir = resolve(&empty, "/static/").unwrap();
        assert_eq!(respond(&dir).status(), StatusCode::NOT_FOUND);
        for name in ["../secret", "/etc/passwd", "a/../../b"] {
            let files = StaticFiles::new()
                .dir("/static/", &public)
                .default_file(name);
            assert_ne!(inside(&files), Some(false), "{name}");
        }
    }

    #[test]
    fn later_entry_replaces_earlier() {
        let files = StaticFiles::new().file("/a", "/x").file("/a", "/y");
        assert_eq!(path_of(&files, "/a"), Some(PathBuf::from("/y")));
    }
}
