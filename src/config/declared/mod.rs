//! What operators declare in files next to the main configuration:
//! `incidents/*.toml` (one incident each, with its timeline of updates) and
//! `maintenance/*.toml` (one planned window each).
//!
//! Each file is read on its own, so one broken file never blocks the others; a daemon
//! keeps the last good version of a broken file (see [`Declared::keep_last_good`]).

mod incident;
mod maintenance;
pub mod time;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use toml::de::DeTable;

pub use incident::IncidentFile;
pub use maintenance::{DEFAULT_REMIND_BEFORE, MaintenanceFile};

use super::Config;
use super::diagnostic::{Diagnostic, ReadError, Report, SourceMap, read_text};
use super::reader::Table;

pub const INCIDENTS_DIR: &str = "incidents";
pub const MAINTENANCE_DIR: &str = "maintenance";
/// How far in the future an update may be dated (clock differences between machines).
pub const MAX_FUTURE: TimeDelta = TimeDelta::minutes(5);

/// What the journal says was published before, as far as reading the declared files
/// needs it: the status view answers it; `None` means there is no journal to ask.
pub trait Published {
    /// The incident known by this id.
    fn incident(&self, id: &str) -> Option<PublishedIncident>;
    /// The incident known by this reference (`follows` names one).
    fn incident_by_reference(&self, reference: &str) -> Option<PublishedIncident>;
    /// The maintenance window known by this id.
    fn maintenance(&self, id: &str) -> Option<PublishedWindow>;
}

/// An incident customers have been told of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedIncident {
    pub reference: String,
    /// Opened by the monitor rather than declared in a file.
    pub automatic: bool,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A maintenance window customers have been told of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedWindow {
    pub starts_at: DateTime<Utc>,
    /// Completed or cancelled.
    pub over: bool,
}

/// Nothing published: how files are read when there is no journal.
struct NothingPublished;

impl Published for NothingPublished {
    fn incident(&self, _: &str) -> Option<PublishedIncident> {
        None
    }
    fn incident_by_reference(&self, _: &str) -> Option<PublishedIncident> {
        None
    }
    fn maintenance(&self, _: &str) -> Option<PublishedWindow> {
        None
    }
}

/// Everything declared in files, in file-name order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Declared {
    pub incidents: Vec<IncidentFile>,
    pub maintenance: Vec<MaintenanceFile>,
}

/// The result of reading the declared files.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The files that are valid.
    pub declared: Declared,
    /// Every problem, with file, line and key.
    pub problems: Vec<Diagnostic>,
    /// Files that could not be used.
    pub broken: Vec<PathBuf>,
    /// What could not be checked without the journal (`forewarn check` on a config
    /// folder alone): past maintenance windows and `follows`, with file and line.
    pub unchecked: Vec<Diagnostic>,
}

struct Ctx<'a> {
    tz: Tz,
    components: &'a [&'a str],
    now: DateTime<Utc>,
    published: &'a dyn Published,
    /// Is `published` the journal folded? Without it, what only the journal can tell (was a
    /// past window announced, does `follows` name a real incident) is noted, not refused.
    journal: bool,
    /// What could not be checked for want of the journal.
    unchecked: RefCell<Vec<Diagnostic>>,
    /// id → its first claim, to catch the same id in two files.
    seen: RefCell<HashMap<String, Claim>>,
}

/// Who used an id first, and where, so a later duplicate can disqualify both.
struct Claim {
    path: PathBuf,
    name: String,
    /// Where the id stands in the first file, with the start of its message.
    at: Diagnostic,
    /// The other files using it.
    also: Vec<String>,
}

impl Declared {
    /// Read `incidents/` and `maintenance/` next to the main configuration file.
    /// `published` (the journal folded) tells which incidents `follows` may name and
    /// which ids are taken.
    pub fn load(config: &Config, published: &dyn Published, now: DateTime<Utc>) -> Loaded {
        Declared::load_with(config, published, now, None)
    }

    /// Check the files of a configuration folder without its journal (an operator's CI):
    /// past maintenance windows and `follows` cannot be judged, and are listed in
    /// [`Loaded::unchecked`] instead of being refused.
    pub fn load_without_journal(config: &Config, now: DateTime<Utc>) -> Loaded {
        Declared::load_inner(config, None, now, None)
    }

    /// As [`Declared::load`], reading `text` instead of what is on disk for `path`
    /// (which may not exist yet): how a file is checked before it is written.
    pub fn load_with(
        config: &Config,
        published: &dyn Published,
        now: DateTime<Utc>,
        replace: Option<(&Path, &str)>,
    ) -> Loaded {
        Declared::load_inner(config, Some(published), now, replace)
    }

    fn load_inner(
        config: &Config,
        published: Option<&dyn Published>,
        now: DateTime<Utc>,
        replace: Option<(&Path, &str)>,
    ) -> Loaded {
        let dir = config.file.parent().unwrap_or(Path::new("."));
        let ids: Vec<&str> = config.components.iter().map(|c| c.id.as_str()).collect();
        let mut loaded = Loaded::default();
        for (sub, is_incident) in [(INCIDENTS_DIR, true), (MAINTENANCE_DIR, false)] {
            let ctx = Ctx {
                tz: config.site.timezone,
                components: &ids,
                now,
                published: published.unwrap_or(&NothingPublished),
                journal: published.is_some(),
                unchecked: RefCell::new(Vec::new()),
                seen: RefCell::new(HashMap::new()),
            };
            let mut paths = toml_files(&dir.join(sub));
            if let Some((p, _)) = replace
                && p.parent() == Some(dir.join(sub).as_path())
                && !paths.iter().any(|x| x == p)
            {
                paths.push(p.to_owned());
                paths.sort();
            }
            for path in paths {
                let display = path.display().to_string();
                let read = match replace {
                    Some((p, text)) if p == path => Ok(text.to_owned()),
                    _ => read_text(&path),
                };
                let src = match read {
                    Ok(s) => s,
                    Err(ReadError::NotText(d)) => {
                        loaded.problems.push(d);
                        loaded.broken.push(path);
                        continue;
                    }
                    Err(ReadError::Io(e)) => {
                        loaded.problems.push(
                            SourceMap::new(display, "")
                                .diagnostic(0..0, format!("cannot read: {e}")),
                        );
                        loaded.broken.push(path);
                        continue;
                    }
                };
                let mut rep = Report::new(SourceMap::new(display, &src));
                let (doc, syntax) = DeTable::parse_recoverable(&src);
                for e in &syntax {
                    rep.error(
                        e.span().unwrap_or(0..0),
                        format!("invalid TOML: {}", e.message().trim()),
                    );
                }
                if syntax.is_empty() {
                    let t = Table::new(doc.get_ref(), doc.span(), "", "");
                    if is_incident {
                        if let Some(i) = incident::parse(t, &mut rep, &ctx, path.clone())
                            && !rep.has_errors()
                        {
                            loaded.declared.incidents.push(i);
                        }
                    } else if let Some(m) = maintenance::parse(t, &mut rep, &ctx, path.clone())
                        && !rep.has_errors()
                    {
                        loaded.declared.maintenance.push(m);
                    }
                }
                if rep.has_errors() {
                    loaded.problems.extend(rep.into_diagnostics());
                    loaded.broken.push(path);
                }
            }
            ctx.disqualify_first_claims(&mut loaded);
            loaded.unchecked.extend(ctx.unchecked.take());
        }
        loaded
    }

    /// The newly read files, with the last good version of any file that is broken now
    /// (unless a valid file now holds its id).
    pub fn keep_last_good(loaded: &Loaded, previous: &Declared) -> Declared {
        let mut d = loaded.declared.clone();
        for path in &loaded.broken {
            for i in previous.incidents.iter().filter(|i| &i.path == path) {
                if !d
                    .incidents
                    .iter()
                    .any(|x| x.incident_id() == i.incident_id())
                {
                    d.incidents.push(i.clone());
                }
            }
            for m in previous.maintenance.iter().filter(|m| &m.path == path) {
                if !d.maintenance.iter().any(|x| x.id == m.id) {
                    d.maintenance.push(m.clone());
                }
            }
        }
        d.incidents.sort_by(|a, b| a.path.cmp(&b.path));
        d.maintenance.sort_by(|a, b| a.path.cmp(&b.path));
        d
    }
}

impl Ctx<'_> {
    /// Note something only the journal could tell.
    fn not_checked(&self, rep: &Report, span: std::ops::Range<usize>, message: String) {
        self.unchecked
            .borrow_mut()
            .push(rep.map().diagnostic(span, message));
    }

    /// Record an id; the name of the file that used it first, if another did.
    fn claim(&self, id: &str, path: &Path, at: Diagnostic) -> Option<String> {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut seen = self.seen.borrow_mut();
        match seen.get_mut(id) {
            Some(first) => {
                first.also.push(name);
                Some(first.name.clone())
            }
            None => {
                seen.insert(
                    id.to_owned(),
                    Claim {
                        path: path.to_owned(),
                        name,
                        at,
                        also: Vec::new(),
                    },
                );
                None
            }
        }
    }

    /// The first files of ids used twice are not used either: which copy is meant is for
    /// the operator to say. Their last good version stays in force meanwhile.
    fn disqualify_first_claims(&self, loaded: &mut Loaded) {
        for claim in self.seen.borrow().values().filter(|c| !c.also.is_empty()) {
            let mut d = claim.at.clone();
            d.message = format!("{}, also used in {}", d.message, claim.also.join(", "));
            loaded.problems.push(d);
            loaded.declared.incidents.retain(|i| i.path != claim.path);
            loaded.declared.maintenance.retain(|m| m.path != claim.path);
            if !loaded.broken.contains(&claim.path) {
                loaded.broken.push(claim.path.clone());
            }
        }
    }
}

/// A declared file's `id`: present, a valid slug, and not used by another file of the
/// folder. Sets the table's context to `<kind> "<id>"`. Returns the id and its span.
fn file_id(
    t: &mut Table<'_, '_>,
    rep: &mut Report,
    ctx: &Ctx<'_>,
    path: &Path,
    kind: &str,
    example: &str,
) -> Option<(String, std::ops::Range<usize>)> {
    let id = t.required_string(
        rep,
        "id",
        &format!("a short name for this {kind}, such as \"{example}\""),
    )?;
    let span = id.span();
    if let Err(e) = super::values::slug(id.get_ref()) {
        t.error(rep, span, "id", &e);
        return None;
    }
    let id = id.into_inner();
    t.set_context(&format!("{kind} \"{id}\""));
    let label = t.label("id");
    let note = rep
        .map()
        .diagnostic(span.clone(), format!("{label}: duplicate id"));
    if let Some(first) = ctx.claim(&id, path, note) {
        t.error(
            rep,
            span.clone(),
            "id",
            &format!("duplicate id, already used in {first}"),
        );
    }
    Some((id, span))
}

/// The `.toml` files of a folder, by name; hidden files (editor leftovers) are skipped.
fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "toml")
                && p.file_name()
                    .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
                && p.is_file()
        })
        .collect();
    files.sort();
    files
}

#[cfg(test)]
pub(crate) mod tests;
