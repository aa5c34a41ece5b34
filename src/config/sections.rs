//! Finds the `[[component]]` sections of a configuration, so each can be parsed on its
//! own.
//!
//! A spanned TOML tree costs about thirty times its text: parsing 10,000 components at
//! once held 60 MB for a 1.6 MB file. One section at a time holds a few kilobytes more
//! than the configuration being built. The split uses the TOML lexer, so strings,
//! comments and multi-line arrays are never mistaken for headers; anything it cannot
//! place with certainty (a quoted `"component"` key, a `[component.x]` before the
//! first `[[component]]`) makes the caller parse the whole text at once, as before.

use std::ops::Range;

use toml_parser::Source;
use toml_parser::lexer::{Token, TokenKind};

/// A configuration split into its component sections and the rest.
#[derive(Debug, PartialEq, Eq)]
pub struct Sections {
    /// The text with every component section turned into a comment of the same
    /// length, so offsets into it are offsets into the original.
    pub rest: String,
    /// Where each component section lies, in file order: from its `[[component]]`
    /// header to the line of the next header that is not part of it.
    pub components: Vec<Range<usize>>,
}

/// Split `src`, or `None` when it should be parsed whole (no components, or a layout
/// this split does not handle).
pub fn split(src: &str) -> Option<Sections> {
    let source = Source::new(src);
    let mut tokens = source.lex();
    let mut components: Vec<Range<usize>> = Vec::new();
    let mut open: Option<usize> = None; // start of the component section being read
    let mut depth = 0usize;
    let mut line_start = true;
    while let Some(token) = tokens.next() {
        match token.kind() {
            TokenKind::Newline => line_start = true,
            TokenKind::Whitespace | TokenKind::Comment => {}
            TokenKind::LeftSquareBracket if line_start && depth == 0 => {
                let start = token.span().start();
                let header = header(src, &mut tokens)?;
                let ends_section = match header.kind(open.is_some())? {
                    Kind::ComponentStart => {
                        if let Some(from) = open.replace(start) {
                            components.push(from..line_of(src, start));
                        }
                        false
                    }
                    Kind::InComponent => false,
                    Kind::Other => true,
                };
                if ends_section && let Some(from) = open.take() {
                    components.push(from..line_of(src, start));
                }
                line_start = false;
            }
            kind => {
                match kind {
                    TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => depth += 1,
                    TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => {
                        depth = depth.saturating_sub(1)
                    }
                    _ => {}
                }
                line_start = false;
            }
        }
    }
    if let Some(from) = open {
        components.push(from..src.len());
    }
    if components.is_empty() {
        return None;
    }
    let mut rest = src.as_bytes().to_vec();
    for range in &components {
        blank(&mut rest[range.clone()]);
    }
    let rest = String::from_utf8(rest).ok()?;
    Some(Sections { rest, components })
}

/// The start of the line holding `at` (a header starts its line, but may be indented).
fn line_of(src: &str, at: usize) -> usize {
    src[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// Turn a section into one comment line of the same length: `#`, spaces, and the
/// section's final newline if it had one.
fn blank(bytes: &mut [u8]) {
    let ends_line = bytes.last() == Some(&b'\n');
    bytes.fill(b' ');
    if let Some(first) = bytes.first_mut() {
        *first = b'#';
    }
    if ends_line && let Some(last) = bytes.last_mut() {
        *last = b'\n';
    }
}

/// A table header's key, as written.
struct Header<'s> {
    key: &'s str,
    array: bool,
}

enum Kind {
    /// `[[component]]`
    ComponentStart,
    /// `[component.check]`, `[component.wording]`: a part of the last component.
    InComponent,
    /// Any other table.
    Other,
}

impl Header<'_> {
    fn kind(&self, in_component: bool) -> Option<Kind> {
        if self.key.contains(['"', '\'']) {
            // A quoted key may name "component" in ways this split does not follow.
            return (!self.key.contains("component")).then_some(Kind::Other);
        }
        let mut parts = self.key.split('.').map(str::trim);
        if parts.next() != Some("component") {
            return Some(Kind::Other);
        }
        let deeper = parts.next().is_some();
        match (self.array, deeper) {
            (true, false) => Some(Kind::ComponentStart),
            // `[component]` as a plain table, or a sub-table before any component:
            // the whole parse says what is wrong.
            (false, false) => None,
            (_, true) => in_component.then_some(Kind::InComponent),
        }
    }
}

/// Read a header after its first `[`: `[x.y]` or `[[x.y]]`. `None` for anything but a
/// well-formed header on one line.
fn header<'s>(src: &'s str, tokens: &mut impl Iterator<Item = Token>) -> Option<Header<'s>> {
    let mut array = false;
    let mut key: Option<Range<usize>> = None;
    loop {
        let token = tokens.next()?;
        match token.kind() {
            TokenKind::LeftSquareBracket if key.is_none() && !array => array = true,
            TokenKind::RightSquareBracket => break,
            TokenKind::Newline | TokenKind::Eof => return None,
            TokenKind::Atom
            | TokenKind::Dot
            | TokenKind::Whitespace
            | TokenKind::BasicString
            | TokenKind::LiteralString => {
                let span = token.span();
                key = Some(match key {
                    None => span.start()..span.end(),
                    Some(k) => k.start..span.end(),
                });
            }
            _ => return None,
        }
    }
    if array && tokens.next()?.kind() != TokenKind::RightSquareBracket {
        return None;
    }
    let key = src.get(key?)?.trim();
    Some(Header { key, array })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(src: &str) -> Option<Vec<&str>> {
        split(src).map(|s| s.components.iter().map(|r| &src[r.clone()]).collect())
    }

    #[test]
    fn each_component_with_its_tables_is_a_section() {
        let src = "[site]\ntitle = \"x\"\n\n[[component]]\nid = \"a\"\n[component.check]\nurl = \"u\"\n  [[component]]\nid = \"b\"\n[component.wording]\nopened = \"o\"\n[email]\nfrom = \"f\"\n[[component]]\nid = \"c\"";
        let split = split(src).expect("split");
        let found: Vec<&str> = split.components.iter().map(|r| &src[r.clone()]).collect();
        assert_eq!(
            found,
            [
                "[[component]]\nid = \"a\"\n[component.check]\nurl = \"u\"\n",
                "[[component]]\nid = \"b\"\n[component.wording]\nopened = \"o\"\n",
                "[[component]]\nid = \"c\"",
            ]
        );
        assert_eq!(split.rest.len(), src.len());
        for range in &split.components {
            let blanked = &split.rest[range.clone()];
            assert!(blanked.starts_with('#'), "{blanked:?}");
            assert!(
                blanked[1..]
                    .trim_end_matches('\n')
                    .bytes()
                    .all(|b| b == b' ')
            );
            assert_eq!(blanked.ends_with('\n'), src[range.clone()].ends_with('\n'));
        }
        let kept: Vec<&str> = split
            .rest
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        assert_eq!(
            kept,
            ["[site]", "title = \"x\"", "", "[email]", "from = \"f\""]
        );
        let doc = toml::de::DeTable::parse(&split.rest).expect("the rest is TOML");
        assert!(doc.get_ref().contains_key("email") && !doc.get_ref().contains_key("component"));
    }

    #[test]
    fn headers_inside_strings_and_arrays_are_not_headers() {
        let src = "[[component]]\nid = \"a\"\nnote = \"\"\"\n[[component]]\n\"\"\"\nlist = [\n  [1],\n]\n# [[component]]\n[[component]]\nid = \"b\"\n";
        let found = pieces(src).expect("split");
        assert_eq!(found.len(), 2);
        assert!(found[0].ends_with("# [[component]]\n"));
        assert_eq!(found[1], "[[component]]\nid = \"b\"\n");
    }

    #[test]
    fn layouts_it_does_not_follow_are_parsed_whole() {
        assert_eq!(pieces("[site]\ntitle = \"x\"\n"), None);
        assert_eq!(pieces("[component.check]\n[[component]]\n"), None);
        assert_eq!(pieces("[[component]]\n[component]\n"), None);
        assert_eq!(pieces("[[\"component\"]]\nid = \"a\"\n"), None);
        assert_eq!(pieces("[[component]\nid = \"a\"\n"), None);
    }
}
