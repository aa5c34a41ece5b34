//! A typed walk over a spanned TOML document that records every problem it meets.
//!
//! serde's `deny_unknown_fields` stops at the first problem; operators fixing a config
//! want all of them at once, each with its line and key. This reader reads keys one by
//! one, reports wrong types, missing keys and unknown keys (with a "did you mean") to a
//! [`Report`], and carries on.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::{Report, did_you_mean};

pub type Value<'i> = Spanned<DeValue<'i>>;

/// "a string", "an integer", ... for error messages.
/// The longest text a key takes. Names and titles are read at a glance (a DNS name
/// may be 253 characters); messages are read whole, and nothing an operator writes needs
/// more than a few pages.
fn max_chars(key: &str) -> usize {
    match key {
        "title" => 200,
        "name" => 255,
        _ => 100_000,
    }
}

pub fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a number with a fraction",
        DeValue::Boolean(_) => "true or false",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// One TOML table being read, with the words that locate it for the reader
/// (`component "api"`) and its key path (`check`).
pub struct Table<'a, 'i> {
    inner: &'a DeTable<'i>,
    span: Range<usize>,
    context: String,
    path: String,
    used: Vec<String>,
}

impl<'a, 'i> Table<'a, 'i> {
    pub fn new(inner: &'a DeTable<'i>, span: Range<usize>, context: &str, path: &str) -> Self {
        Table {
            inner,
            span,
            context: context.to_owned(),
            path: path.to_owned(),
            used: Vec::new(),
        }
    }

    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    pub fn context(&self) -> &str {
        &self.context
    }

    pub fn set_context(&mut self, context: &str) {
        self.context = context.to_owned();
    }

    /// `component "api": check.every`
    pub fn label(&self, key: &str) -> String {
        let path = if self.path.is_empty() {
            key.to_owned()
        } else if key.is_empty() {
            self.path.clone()
        } else {
            format!("{}.{key}", self.path)
        };
        if self.context.is_empty() {
            path
        } else {
            format!("{}: {path}", self.context)
        }
    }

    pub fn error(&self, rep: &mut Report, span: Range<usize>, key: &str, message: &str) {
        rep.error(span, format!("{}: {message}", self.label(key)));
    }

    pub fn has(&self, key: &str) -> bool {
        self.inner.get(key).is_some()
    }

    /// The raw value of a key, marking it as read.
    pub fn raw(&mut self, key: &str) -> Option<&'a Value<'i>> {
        let v = self.inner.get(key)?;
        self.used.push(key.to_owned());
        Some(v)
    }

    fn wrong_type(&self, rep: &mut Report, key: &str, v: &Value<'_>, expected: &str) {
        self.error(
            rep,
            v.span(),
            key,
            &format!("expected {expected}, found {}", type_name(v.get_ref())),
        );
    }

    pub fn missing(&self, rep: &mut Report, key: &str, help: &str) {
        let msg = if help.is_empty() {
            "is required".to_owned()
        } else {
            format!("is required ({help})")
        };
        self.error(rep, self.span(), key, &msg);
    }

    pub fn string(&mut self, rep: &mut Report, key: &str) -> Option<Spanned<String>> {
        let v = self.raw(key)?;
        match v.get_ref() {
            DeValue::String(s) if s.chars().count() > max_chars(key) => {
                self.error(
                    rep,
                    v.span(),
                    key,
                    &format!(
                        "is {} characters long; use at most {}",
                        s.chars().count(),
                        max_chars(key)
                    ),
                );
                None
            }
            DeValue::String(s) => Some(Spanned::new(v.span(), s.to_string())),
            _ => {
                self.wrong_type(rep, key, v, "a string");
                None
            }
        }
    }

    /// A string that must be present and not blank.
    pub fn required_string(
        &mut self,
        rep: &mut Report,
        key: &str,
        help: &str,
    ) -> Option<Spanned<String>> {
        if !self.has(key) {
            self.missing(rep, key, help);
            return None;
        }
        let s = self.string(rep, key)?;
        if s.get_ref().trim().is_empty() {
            self.error(rep, s.span(), key, "must not be empty");
            return None;
        }
        Some(s)
    }

    pub fn integer(
        &mut self,
        rep: &mut Report,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<Spanned<i64>> {
        let v = self.raw(key)?;
        let DeValue::Integer(i) = v.get_ref() else {
            self.wrong_type(rep, key, v, "a whole number");
            return None;
        };
        let digits = i.as_str().replace('_', "");
        let parsed = i64::from_str_radix(
            digits
                .trim_start_matches(['+'])
                .trim_start_matches("0x")
                .trim_start_matches("0o")
                .trim_start_matches("0b"),
            i.radix(),
        );
        match parsed {
            Ok(n) if range.contains(&n) => Some(Spanned::new(v.span(), n)),
            _ => {
                self.error(
                    rep,
                    v.span(),
                    key,
                    &format!(
                        "{} is out of range (use {} to {})",
                        i.as_str(),
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    pub fn boolean(&mut self, rep: &mut Report, key: &str) -> Option<bool> {
        let v = self.raw(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(rep, key, v, "true or false");
                None
            }
        }
    }

    pub fn array(&mut self, rep: &mut Report, key: &str) -> Option<&'a [Value<'i>]> {
        let v = self.raw(key)?;
        match v.get_ref() {
            DeValue::Array(a) => Some(a.as_ref()),
            _ => {
                self.wrong_type(rep, key, v, "an array");
                None
            }
        }
    }

    /// A sub-table, read with the same context.
    pub fn table(&mut self, rep: &mut Report, key: &str) -> Option<Table<'a, 'i>> {
        let v = self.raw(key)?;
        match v.get_ref() {
            DeValue::Table(t) => {
                let path = if self.path.is_empty() {
                    key.to_owned()
                } else {
                    format!("{}.{key}", self.path)
                };
                Some(Table::new(t, v.span(), &self.context, &path))
            }
            _ => {
                self.wrong_type(rep, key, v, "a table");
                None
            }
        }
    }

    /// The tables of an array of tables (`[[component]]`), with their spans.
    pub fn tables(&mut self, rep: &mut Report, key: &str) -> Vec<(&'a DeTable<'i>, Range<usize>)> {
        let Some(v) = self.raw(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(rep, key, v, &format!("[[{key}]] tables"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            match item.get_ref() {
                DeValue::Table(t) => out.push((t, item.span())),
                _ => self.wrong_type(rep, key, item, "a table"),
            }
        }
        out
    }

    /// Every key/value pair of this table, marking all as read.
    pub fn entries(&mut self) -> Vec<(Spanned<String>, &'a Value<'i>)> {
        let mut out = Vec::new();
        for (k, v) in self.inner.iter() {
            self.used.push(k.get_ref().to_string());
            out.push((Spanned::new(k.span(), k.get_ref().to_string()), v));
        }
        out
    }

    /// Report every key that nobody read as unknown, suggesting the closest known key.
    /// `elsewhere` may explain a key that is valid in another place.
    pub fn finish(
        self,
        rep: &mut Report,
        known: &[&str],
        elsewhere: &dyn Fn(&str) -> Option<String>,
    ) {
        for (k, _) in self.inner.iter() {
            let name = k.get_ref().as_ref();
            // A known key left unread was skipped because something it depends on is
            // broken (and reported): it is not unknown.
            if self.used.iter().any(|u| u == name) || known.contains(&name) {
                continue;
            }
            let msg = if let Some(why) = elsewhere(name) {
                format!("unknown key: {why}")
            } else if let Some(s) = did_you_mean(name, known) {
                format!("unknown key; did you mean \"{s}\"?")
            } else if known.is_empty() {
                "unknown key".to_owned()
            } else {
                format!("unknown key (expected one of: {})", known.join(", "))
            };
            rep.error(k.span(), format!("{}: {msg}", self.label(name)));
        }
    }
}

/// A string inside an array, or a type error.
pub fn array_string(
    table: &Table<'_, '_>,
    rep: &mut Report,
    key: &str,
    v: &Value<'_>,
) -> Option<Spanned<String>> {
    match v.get_ref() {
        DeValue::String(s) => Some(Spanned::new(v.span(), s.to_string())),
        other => {
            table.error(
                rep,
                v.span(),
                key,
                &format!("expected a string, found {}", type_name(other)),
            );
            None
        }
    }
}
