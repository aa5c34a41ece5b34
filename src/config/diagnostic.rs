//! Problems found in a configuration file, each pinned to a file, line and column.

use std::fmt;
use std::ops::Range;

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Every problem found while loading a configuration, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        match self.0.len() {
            1 => write!(f, "1 problem found"),
            n => write!(f, "{n} problems found"),
        }
    }
}

impl std::error::Error for Diagnostics {}

/// Maps byte offsets of one source text to 1-based line and column numbers.
#[derive(Debug, Clone)]
pub struct SourceMap {
    file: String,
    line_starts: Vec<usize>,
    src_len: usize,
    text: String,
}

impl SourceMap {
    pub fn new(file: impl Into<String>, src: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        SourceMap {
            file: file.into(),
            line_starts,
            src_len: src.len(),
            text: src.to_owned(),
        }
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    /// Line and column (both 1-based, column counted in characters) of a byte offset.
    pub fn locate(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.src_len);
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line + 1, column + 1)
    }

    pub fn diagnostic(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, column) = self.locate(span.start);
        Diagnostic {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// Why an operator's file could not be read as text.
#[derive(Debug)]
pub enum ReadError {
    /// Opening or reading failed (missing, no permission...).
    Io(std::io::Error),
    /// It is not UTF-8 text: where the first byte that is not.
    NotText(Diagnostic),
}

/// An operator's file as text. A file that is not UTF-8 is reported at the line and
/// column of its first byte that is not, like any other problem in it.
pub fn read_text(path: &std::path::Path) -> Result<String, ReadError> {
    let bytes = std::fs::read(path).map_err(ReadError::Io)?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        let before = String::from_utf8_lossy(&bytes[..valid]);
        let byte = bytes.get(valid).copied().unwrap_or_default();
        ReadError::NotText(
            SourceMap::new(path.display().to_string(), &before).diagnostic(
                valid..valid,
                format!("is not UTF-8 text (byte 0x{byte:02x} here); save the file as UTF-8"),
            ),
        )
    })
}

/// Collects diagnostics for one file.
#[derive(Debug)]
pub struct Report {
    map: SourceMap,
    found: Vec<(usize, Diagnostic)>,
    /// Added to every span: where the text being read starts in the file (a
    /// component section parsed on its own).
    offset: usize,
}

impl Report {
    pub fn new(map: SourceMap) -> Self {
        Report {
            map,
            found: Vec::new(),
            offset: 0,
        }
    }

    /// Spans reported from now on are relative to `offset` in the file.
    pub fn set_offset(&mut self, offset: usize) {
        self.offset = offset;
    }

    /// The line (1-based) of a span's start.
    pub fn line(&self, span: &Range<usize>) -> usize {
        self.map.locate(span.start + self.offset).0
    }

    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let span = span.start + self.offset..span.end + self.offset;
        let start = span.start;
        let d = self.map.diagnostic(span, message);
        self.found.push((start, d));
    }

    pub fn has_errors(&self) -> bool {
        !self.found.is_empty()
    }

    pub fn map(&self) -> &SourceMap {
        &self.map
    }

    /// The diagnostics in file order.
    pub fn into_diagnostics(mut self) -> Vec<Diagnostic> {
        self.found.sort_by_key(|(at, _)| *at);
        self.found.dedup_by(|a, b| a.1 == b.1);
        self.found.into_iter().map(|(_, d)| d).collect()
    }
}

/// Suggest the closest of `candidates` to a mistyped `word`, if one is close enough.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word_lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&word_lower, c), *c))
        .filter(|(dist, c)| *dist <= (c.len() / 3).max(1) || c.starts_with(&word_lower))
        // Never "did you mean" the very word written.
        .filter(|(_, c)| *c != word)
        .min_by_key(|(dist, _)| *dist)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_lines_and_columns() {
        let map = SourceMap::new("f.toml", "a = 1\nbé = \"x\"\n");
        assert_eq!(map.locate(0), (1, 1));
        assert_eq!(map.locate(6), (2, 1));
        // "bé = " is five characters but six bytes.
        assert_eq!(map.locate(12), (2, 6));
    }

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["every", "schedule", "timeout"];
        assert_eq!(did_you_mean("evry", &keys), Some("every"));
        assert_eq!(did_you_mean("timout", &keys), Some("timeout"));
        assert_eq!(did_you_mean("colour", &keys), None);
    }
}
