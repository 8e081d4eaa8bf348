//! Query strings, split into decoded `key=value` pairs.
//!
//! Every request's query is parsed (the server's routing, and the HTTP layer's check for a
//! handshake), and `form_urlencoded` decodes and re-validates every key and value even when
//! there is nothing to decode: measured, that was a tenth of a polling round trip. Engine.IO
//! queries (`EIO=4&transport=polling&t=…&sid=…`) rarely carry an escape, so a query without
//! `%` or `+` is split in place; one with them goes through `form_urlencoded`. Both give the
//! same pairs (a test holds them to it).

use std::borrow::Cow;

/// The pairs of `query` (without the leading `?`), decoded, in order; empty pairs skipped,
/// a pair without `=` has an empty value.
pub(crate) fn pairs(query: &str) -> Pairs<'_> {
    if memchr::memchr2(b'%', b'+', query.as_bytes()).is_some() {
        Pairs::Encoded(form_urlencoded::parse(query.as_bytes()))
    } else {
        Pairs::Plain(query)
    }
}

/// The iterator [`pairs`] returns.
pub(crate) enum Pairs<'a> {
    /// No escapes: the pairs are slices of the query; this is what is left of it.
    Plain(&'a str),
    /// Escapes: decoded by `form_urlencoded`.
    Encoded(form_urlencoded::Parse<'a>),
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Plain(rest) => loop {
                if rest.is_empty() {
                    return None;
                }
                // `&` and `=` are ASCII, so the byte offsets `memchr` finds are char
                // boundaries. (`str::split` with a `char` pattern costs more to set up than
                // these short strings take to search: a profile showed it.)
                let (pair, after) = split_at_byte(rest, b'&');
                *rest = after;
                if pair.is_empty() {
                    continue;
                }
                let (key, value) = split_at_byte(pair, b'=');
                return Some((Cow::Borrowed(key), Cow::Borrowed(value)));
            },
            Self::Encoded(parse) => parse.next(),
        }
    }
}

/// `text` before and after the first `byte` (an ASCII byte); all of it and `""` without one.
fn split_at_byte(text: &str, byte: u8) -> (&str, &str) {
    match memchr::memchr(byte, text.as_bytes()) {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_queries_split_as_form_urlencoded_does() {
        for query in [
            "",
            "&",
            "&&a=1&&",
            "EIO=4&transport=polling&t=N8hyd6w&sid=abc",
            "a",
            "a=",
            "=b",
            "a=b=c",
            "a=1&a=2",
            "k=caf\u{e9}&\u{1f600}=x",
            "sid=AA-_bb&b64=1",
        ] {
            let ours: Vec<_> = pairs(query).collect();
            let reference: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
            assert_eq!(ours, reference, "{query:?}");
            assert!(matches!(pairs(query), Pairs::Plain(_)));
        }
    }

    #[test]
    fn escaped_queries_are_decoded() {
        let decoded: Vec<_> = pairs("%73id=a%2Db&x=1+2").collect();
        assert_eq!(
            decoded,
            vec![
                (Cow::Borrowed("sid"), Cow::Borrowed("a-b")),
                (Cow::Borrowed("x"), Cow::Borrowed("1 2")),
            ]
        );
    }
}
