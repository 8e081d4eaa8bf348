//! The optional session cookie set on the polling handshake.
//!
//! Both reference servers can set a cookie holding the session id on the polling handshake
//! response (never on the WebSocket handshake). Its main use is sticky sessions: a load balancer
//! that routes on the cookie sends every request of a session to the node that owns it. The
//! defaults copy the JS server (`io`, `Path=/`, `HttpOnly`, `SameSite=Lax`).
//!
//! The cookie is configured by the application but written on every handshake, so a bad
//! attribute must not take the server down: [`set_cookie`] drops what cannot go into a header and
//! logs a warning instead of failing.

use std::fmt::Write as _;
use std::time::Duration;

use http::HeaderValue;

/// The session cookie set on the polling handshake (JS `cookie` option; python `cookie`).
///
/// Use it when a load balancer needs a cookie to keep a session on one node (sticky sessions).
/// [`Cookie::new`] and [`Cookie::default`] give the reference defaults; change the public
/// fields to adjust the attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// The cookie name (`io` by default). Must be an HTTP token; an invalid name falls back to
    /// `io`.
    pub name: String,
    /// The `Path` attribute (`/` by default); `None` omits it.
    pub path: Option<String>,
    /// The `Domain` attribute; `None` (the default) omits it, making a host-only cookie.
    pub domain: Option<String>,
    /// Adds `HttpOnly`, hiding the cookie from page scripts (on by default).
    pub http_only: bool,
    /// Adds `Secure`, so the browser sends it only over https (off by default). Browsers require
    /// it together with `SameSite=None`.
    pub secure: bool,
    /// The `SameSite` attribute (`Lax` by default); `None` omits it.
    pub same_site: Option<SameSite>,
    /// The `Max-Age` attribute in whole seconds; `None` (the default) makes a session cookie.
    pub max_age: Option<Duration>,
}

impl Cookie {
    /// `name` with the reference defaults: Path=/, HttpOnly, SameSite=Lax.
    ///
    /// Use it to rename the cookie (for example to match a load balancer's stickiness rule)
    /// while keeping the usual attributes.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            path: Some("/".to_owned()),
            domain: None,
            http_only: true,
            secure: false,
            same_site: Some(SameSite::Lax),
            max_age: None,
        }
    }
}

impl Default for Cookie {
    /// The cookie named `io` with the defaults of [`Cookie::new`], as the JS server's
    /// `cookie: true`.
    fn default() -> Self {
        Self::new("io")
    }
}

/// The `SameSite` attribute of the session cookie.
///
/// Pick `Lax` (the default) unless the client page is on another site, which needs `None` (and
/// `secure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent only with same-site requests.
    Strict,
    /// Sent with same-site requests and top-level cross-site navigations.
    Lax,
    /// Sent with every request, cross-site included; browsers require `Secure` with it.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        }
    }
}

/// The name used when the configured one cannot go into a header.
const FALLBACK_NAME: &str = "io";

/// `Set-Cookie` value: `io=<sid>; Path=/; HttpOnly; SameSite=Lax` (attribute order: Path,
/// Domain, Max-Age, HttpOnly, Secure, SameSite).
///
/// Never fails: an invalid name is replaced by `io`, an invalid `Path` or `Domain` is dropped,
/// and one `tracing` warning per call lists what was changed.
pub fn set_cookie(cookie: &Cookie, sid: &str) -> HeaderValue {
    let mut dropped: Vec<&str> = Vec::new();
    let name = if is_token(&cookie.name) {
        cookie.name.as_str()
    } else {
        dropped.push("name");
        FALLBACK_NAME
    };
    let mut out = String::with_capacity(64 + sid.len());
    out.push_str(name);
    out.push('=');
    push_cookie_value(&mut out, sid);
    if let Some(path) = &cookie.path {
        if is_path_value(path) {
            out.push_str("; Path=");
            out.push_str(path);
        } else {
            dropped.push("Path");
        }
    }
    if let Some(domain) = &cookie.domain {
        if is_domain(domain) {
            out.push_str("; Domain=");
            out.push_str(domain);
        } else {
            dropped.push("Domain");
        }
    }
    if let Some(max_age) = cookie.max_age {
        // Writing to a String cannot fail.
        let _ = write!(out, "; Max-Age={}", max_age.as_secs());
    }
    if cookie.http_only {
        out.push_str("; HttpOnly");
    }
    if cookie.secure {
        out.push_str("; Secure");
    }
    if let Some(same_site) = cookie.same_site {
        out.push_str("; SameSite=");
        out.push_str(same_site.as_str());
    }
    if !dropped.is_empty() {
        tracing::warn!(
            invalid = ?dropped,
            "session cookie: invalid characters; name replaced by `io` / attribute dropped"
        );
    }
    // Everything written above is visible ASCII or space, so this cannot fail.
    HeaderValue::from_str(&out).unwrap_or_else(|_| HeaderValue::from_static("io=; Path=/"))
}

/// An RFC 9110 token (the RFC 6265 cookie-name): visible ASCII without separators.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// An RFC 6265 path-value: printable ASCII except `;` (no controls, no non-ASCII), non-empty.
fn is_path_value(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b';')
}

/// A plausible domain: letters, digits, `-`, `.` and `_`, non-empty.
fn is_domain(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// Appends the sid as an RFC 6265 cookie-value. Session ids are URL-safe, so this is a plain
/// copy; any other byte is percent-encoded so the header stays valid whatever the generator.
fn push_cookie_value(out: &mut String, value: &str) {
    for b in value.bytes() {
        let cookie_octet =
            matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e);
        if cookie_octet && b != b'%' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(cookie: &Cookie, sid: &str) -> String {
        set_cookie(cookie, sid).to_str().unwrap().to_owned()
    }

    #[test]
    fn default_output_exact() {
        assert_eq!(
            text(&Cookie::default(), "abc123"),
            "io=abc123; Path=/; HttpOnly; SameSite=Lax"
        );
        assert_eq!(Cookie::default(), Cookie::new("io"));
    }

    #[test]
    fn new_sets_reference_defaults() {
        let cookie = Cookie::new("sticky");
        assert_eq!(cookie.name, "sticky");
        assert_eq!(cookie.path.as_deref(), Some("/"));
        assert_eq!(cookie.domain, None);
        assert!(cookie.http_only);
        assert!(!cookie.secure);
        assert_eq!(cookie.same_site, Some(SameSite::Lax));
        assert_eq!(cookie.max_age, None);
        assert_eq!(
            text(&cookie, "s-_1"),
            "sticky=s-_1; Path=/; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn every_attribute_in_order() {
        let cookie = Cookie {
            name: "sid".into(),
            path: Some("/engine.io/".into()),
            domain: Some(".example.com".into()),
            http_only: true,
            secure: true,
            same_site: Some(SameSite::Strict),
            max_age: Some(Duration::from_millis(3_600_900)),
        };
        assert_eq!(
            text(&cookie, "AbC-_9"),
            "sid=AbC-_9; Path=/engine.io/; Domain=.example.com; Max-Age=3600; HttpOnly; Secure; SameSite=Strict"
        );
    }

    #[test]
    fn minimal_cookie() {
        let cookie = Cookie {
            name: "io".into(),
            path: None,
            domain: None,
            http_only: false,
            secure: false,
            same_site: None,
            max_age: Some(Duration::ZERO),
        };
        assert_eq!(text(&cookie, "x"), "io=x; Max-Age=0");
    }

    #[test]
    fn same_site_none() {
        let cookie = Cookie {
            secure: true,
            same_site: Some(SameSite::None),
            ..Cookie::default()
        };
        assert_eq!(
            text(&cookie, "abc"),
            "io=abc; Path=/; HttpOnly; Secure; SameSite=None"
        );
        let cookie = Cookie {
            same_site: Some(SameSite::None),
            ..Cookie::default()
        };
        assert_eq!(
            text(&cookie, "abc"),
            "io=abc; Path=/; HttpOnly; SameSite=None"
        );
    }

    #[test]
    fn invalid_name_falls_back_to_io() {
        for name in [
            "",
            "a;b",
            "a b",
            "a=b",
            "caf\u{e9}",
            "a\nb",
            "a\u{0}b",
            "(x)",
        ] {
            let cookie = Cookie::new(name);
            assert_eq!(
                text(&cookie, "abc"),
                "io=abc; Path=/; HttpOnly; SameSite=Lax",
                "{name:?}"
            );
        }
    }

    #[test]
    fn invalid_attributes_are_dropped() {
        let cookie = Cookie {
            path: Some("/a;Secure".into()),
            domain: Some("example.com; HttpOnly".into()),
            ..Cookie::default()
        };
        assert_eq!(text(&cookie, "abc"), "io=abc; HttpOnly; SameSite=Lax");
        let cookie = Cookie {
            path: Some("/\u{e9}t\u{e9}".into()),
            domain: Some("ex\u{e4}mple.com".into()),
            ..Cookie::default()
        };
        assert_eq!(text(&cookie, "abc"), "io=abc; HttpOnly; SameSite=Lax");
        let cookie = Cookie {
            path: Some("/a\r\nSet-Cookie: x=y".into()),
            domain: Some(String::new()),
            ..Cookie::default()
        };
        assert_eq!(text(&cookie, "abc"), "io=abc; HttpOnly; SameSite=Lax");
        // Spaces are valid in a path.
        let cookie = Cookie {
            path: Some("/my app".into()),
            ..Cookie::default()
        };
        assert_eq!(
            text(&cookie, "abc"),
            "io=abc; Path=/my app; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn odd_sid_is_encoded_not_panicking() {
        assert_eq!(
            text(&Cookie::default(), "a b;c\u{e9}%"),
            "io=a%20b%3Bc%C3%A9%25; Path=/; HttpOnly; SameSite=Lax"
        );
    }
}
