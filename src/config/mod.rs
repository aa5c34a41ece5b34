//! The operator's configuration: `config/forewarn.toml`, read into typed values once,
//! with every problem reported at once as `file:line:column: key: message`.

mod check;
pub mod cluster;
pub mod declared;
pub mod diagnostic;
pub mod email;
mod http;
mod net;
mod reader;
mod sections;
pub mod serve;
mod site;
pub mod subscribers;
mod target;
pub mod upstream;
mod values;
pub mod wording;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use reqwest::Url;
use toml::de::DeTable;

pub use cluster::{ClusterSettings, Node, NodeOverrides};
pub use diagnostic::{Diagnostic, Diagnostics};
use diagnostic::{ReadError, Report, SourceMap};
pub use email::{EmailSettings, NotifySettings};
use reader::Table;
pub use serve::{FrontLimits, ServeSettings};
pub use subscribers::Subscribers;
pub use target::{
    Check, DnsRecord, DnsTarget, HeartbeatTarget, HttpTarget, StatusMatch, Target, TcpTarget,
    TlsTarget, When,
};
pub use upstream::{PageKind, Upstream};
pub use values::{http_url, show_duration};
pub use wording::{Promises, Wording};

use crate::vocab::ComponentStatus;

/// Where `forewarn` looks for its configuration unless told otherwise.
pub const DEFAULT_CONFIG_PATH: &str = "config/forewarn.toml";
/// Consecutive failed samples before an outage is declared.
pub const DEFAULT_FAIL_AFTER: u32 = 3;
/// Consecutive good samples before a recovery is declared.
pub const DEFAULT_RECOVER_AFTER: u32 = 2;
/// How often a check runs when neither `every` nor `schedule` is given.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(60);
/// The longest a probe may take unless `timeout` says otherwise (capped by the interval).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many probes may run at the same moment across all checks.
pub const DEFAULT_MAX_CONCURRENCY: usize = 1000;
/// How much of an HTTP response body is read at most.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// The most `max_body_bytes` may allow.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The largest body JSON conditions are checked on (parsing takes many times the size).
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
/// Days of certificate validity left below which a TLS check reports degraded.
pub const DEFAULT_TLS_WARN_DAYS: u32 = 14;
/// The shortest interval a check may run at.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// The longest interval a check may run at.
pub const MAX_INTERVAL: Duration = Duration::from_secs(31 * 24 * 3600);

/// A loaded, valid configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub file: PathBuf,
    pub site: Site,
    pub monitor: MonitorSettings,
    pub components: Vec<Component>,
    /// How mail leaves (`[email]`): `.eml` files unless SMTP is configured.
    pub email: EmailSettings,
    /// How deliveries are paced (`[notify]`).
    pub notify: NotifySettings,
    /// forewarn's own HTTP front (`[serve]`).
    pub serve: ServeSettings,
    /// The promises forewarn's updates make, and how they are kept (`[wording]`).
    pub promises: Promises,
    /// The vendors' status pages followed (`[[upstream]]`), in file order.
    pub upstreams: Vec<Upstream>,
    /// Several nodes sharing one journal on NATS JetStream (`[cluster]`); `None`: one
    /// node with its file journal.
    pub cluster: Option<ClusterSettings>,
}

#[derive(Debug, Clone)]
pub struct Site {
    pub title: String,
    pub base_url: Url,
    pub timezone: Tz,
    pub contact: Contact,
    /// Where the status site is built (`--out` overrides it), relative to the config.
    pub out_dir: Option<PathBuf>,
    /// A folder whose templates replace the built-in ones of the same name.
    pub templates: Option<PathBuf>,
}

/// How customers reach a person. At least one way is always configured.
#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub chat_url: Option<Url>,
    pub hours: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MonitorSettings {
    pub max_concurrency: usize,
}

impl Default for MonitorSettings {
    fn default() -> Self {
        MonitorSettings {
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
        }
    }
}

/// Something customers use, and how it is checked.
#[derive(Debug, Clone)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub group: Option<String>,
    pub description: Option<String>,
    pub check: Check,
    /// What automatic incidents about this component say.
    /// Shared with every component that keeps the site's wording.
    pub wording: Arc<Wording>,
    /// Publish what the probe saw ("HTTP 503") in automatic incident updates.
    pub public_detail: bool,
    /// Shown on the site, feeds and API, and told to subscribers. A component with
    /// `public = false` is watched and told to operators only.
    pub public: bool,
    /// The upstreams (`[[upstream]]` ids) whose trouble may explain this component's.
    pub depends_on: Vec<String>,
}

impl Config {
    /// Read and validate a configuration file.
    pub fn load(path: &Path) -> Result<Config, LoadError> {
        Config::load_with(path, true)
    }

    /// Read and validate a configuration file for a caller that never probes, sends or
    /// guards anything (`forewarn build`): a `*_env` variable that is unset is no error,
    /// and what it would have held is left out (a check's address read from one is a
    /// reserved `.invalid` name).
    pub fn load_for_build(path: &Path) -> Result<Config, LoadError> {
        Config::load_with(path, false)
    }

    fn load_with(path: &Path, secrets_needed: bool) -> Result<Config, LoadError> {
        let src = diagnostic::read_text(path).map_err(|e| match e {
            ReadError::Io(source) => LoadError::Read {
                path: path.to_owned(),
                source,
            },
            ReadError::NotText(d) => LoadError::Invalid(Diagnostics(vec![d])),
        })?;
        let env = |name: &str| std::env::var(name).ok();
        Config::parse_with(path, &src, &env, secrets_needed).map_err(LoadError::Invalid)
    }

    /// Parse and validate configuration text. `env` looks up environment variables for
    /// `*_env` keys; relative paths (such as `ca_file`) are taken from `path`'s folder.
    pub fn parse(
        path: &Path,
        src: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, Diagnostics> {
        Config::parse_with(path, src, env, true)
    }

    fn parse_with(
        path: &Path,
        src: &str,
        env: &dyn Fn(&str) -> Option<String>,
        secrets_needed: bool,
    ) -> Result<Config, Diagnostics> {
        let mut rep = Report::new(SourceMap::new(path.display().to_string(), src));
        // Components are parsed one section at a time; the rest at once.
        let mut split = sections::split(src);
        let (mut doc, mut syntax) =
            DeTable::parse_recoverable(split.as_ref().map_or(src, |s| s.rest.as_str()));
        if split.is_some() && syntax.is_empty() && doc.get_ref().contains_key("component") {
            // `component` is also written outside the sections: let the whole parse judge.
            split = None;
            (doc, syntax) = DeTable::parse_recoverable(src);
        }
        for e in &syntax {
            let span = e.span().unwrap_or(0..0);
            rep.error(span, format!("invalid TOML: {}", e.message().trim()));
        }
        if !syntax.is_empty() {
            return Err(Diagnostics(rep.into_diagnostics()));
        }
        let base_dir = path.parent().unwrap_or(Path::new("."));
        let ctx = values::Ctx {
            env,
            base_dir,
            secrets_needed,
            upstreams: &[],
            upstreams_broken: false,
        };
        let span = doc.span();
        let mut root = Table::new(doc.get_ref(), span, "", "");
        let sections = split.as_ref().map(|s| (src, s.components.as_slice()));
        let built = build(&mut root, &mut rep, &ctx, sections);
        root.finish(
            &mut rep,
            &[
                "site",
                "monitor",
                "wording",
                "component",
                "email",
                "notify",
                "serve",
                "upstream",
                "cluster",
            ],
            &|key| {
                (key == "components")
                    .then(|| "components are declared as [[component]] tables".into())
            },
        );
        match built {
            Some(b) if !rep.has_errors() => Ok(Config {
                file: path.to_owned(),
                site: b.site,
                monitor: b.monitor,
                components: b.components,
                email: b.email,
                notify: b.notify,
                serve: b.serve,
                promises: b.promises,
                upstreams: b.upstreams,
                cluster: b.cluster,
            }),
            _ => Err(Diagnostics(rep.into_diagnostics())),
        }
    }

    pub fn component(&self, id: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.id == id)
    }

    pub fn upstream(&self, id: &str) -> Option<&Upstream> {
        self.upstreams.iter().find(|u| u.id == id)
    }

    /// May customers hear of this vendor? Not when only components kept from them
    /// depend on it. (One no longer configured may be named, as history does.)
    pub fn upstream_is_public(&self, id: &str) -> bool {
        let mut dependents = self.dependents_of(id).peekable();
        dependents.peek().is_none() || dependents.any(|c| c.public)
    }

    /// The components that depend on an upstream, in file order.
    pub fn dependents_of<'a>(&'a self, upstream: &'a str) -> impl Iterator<Item = &'a Component> {
        self.components
            .iter()
            .filter(move |c| c.depends_on.iter().any(|d| d == upstream))
    }

    /// May customers see this component? (An id no longer configured still is, as
    /// history names it.)
    pub fn is_public(&self, id: &str) -> bool {
        self.component(id).is_none_or(|c| c.public)
    }

    /// The components customers see, in order.
    pub fn public_components(&self) -> impl Iterator<Item = &Component> {
        self.components.iter().filter(|c| c.public)
    }

    /// A page of the status site: `site_url("")` is the front page,
    /// `site_url("incidents/INC-….html")` an incident's.
    pub fn site_url(&self, path: &str) -> String {
        format!("{}/{path}", self.site_root())
    }

    /// The status site's address without a trailing slash.
    pub fn site_root(&self) -> &str {
        self.site.base_url.as_str().trim_end_matches('/')
    }

    /// Where people follow links to forewarn's HTTP front: `[serve] public_url`, or the
    /// site's address. No trailing slash.
    pub fn front_url(&self) -> String {
        self.serve
            .public_url
            .as_ref()
            .unwrap_or(&self.site.base_url)
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }
}

/// The parts of a configuration, read.
struct Built {
    site: Site,
    monitor: MonitorSettings,
    components: Vec<Component>,
    email: EmailSettings,
    notify: NotifySettings,
    serve: ServeSettings,
    promises: Promises,
    upstreams: Vec<Upstream>,
    cluster: Option<ClusterSettings>,
}

/// Read a parsed configuration. `sections`: the file's text and where its component
/// sections are, when they were left out of `root` to be parsed one at a time.
fn build(
    root: &mut Table<'_, '_>,
    rep: &mut Report,
    ctx: &values::Ctx<'_>,
    sections: Option<(&str, &[std::ops::Range<usize>])>,
) -> Option<Built> {
    let site = match root.table(rep, "site") {
        Some(t) => site::site(t, rep, ctx.base_dir),
        None => {
            if !root.has("site") {
                root.missing(
                    rep,
                    "site",
                    "a [site] table with title, base_url and contact",
                );
            }
            None
        }
    };
    let monitor = match root.table(rep, "monitor") {
        Some(t) => site::monitor(t, rep),
        None => Some(MonitorSettings::default()),
    };

    let (site_wording, promises) = match root.table(rep, "wording") {
        Some(t) => wording::site_wording(t, rep),
        None => (Wording::default(), Promises::default()),
    };
    let site_wording = Arc::new(site_wording);
    let upstreams = upstream::all(root, rep);
    let upstream_ids: Vec<String> = upstreams.list.iter().map(|u| u.id.clone()).collect();
    let ctx = &values::Ctx {
        upstreams: &upstream_ids,
        upstreams_broken: upstreams.failed,
        ..*ctx
    };

    let mut components = Components::default();
    match sections {
        None => {
            for (table, span) in root.tables(rep, "component") {
                components.read(table, span, rep, ctx, &site_wording);
            }
        }
        Some((src, ranges)) => {
            components.list.reserve_exact(ranges.len());
            for range in ranges {
                let text = &src[range.clone()];
                let (doc, syntax) = DeTable::parse_recoverable(text);
                rep.set_offset(range.start);
                for e in &syntax {
                    let span = e.span().unwrap_or(0..0);
                    rep.error(span, format!("invalid TOML: {}", e.message().trim()));
                }
                if syntax.is_empty() {
                    let mut section = Table::new(doc.get_ref(), doc.span(), "", "");
                    for (table, span) in section.tables(rep, "component") {
                        components.read(table, span, rep, ctx, &site_wording);
                    }
                    section.finish(rep, &["component"], &|_| None);
                } else {
                    components.failed = true;
                }
                rep.set_offset(0);
            }
        }
    }
    let failed = components.failed;
    let components = components.list;
    if !failed && components.is_empty() && !root.has("component") {
        rep.error(
            root.span().start..root.span().start,
            "no components: add at least one [[component]] with a [component.check]",
        );
    }
    // The other tables are read even when [site] is broken, so their problems are
    // reported in the same run (the default sender then names no site).
    let default_email = match &site {
        Some(site) => EmailSettings::default_for(&site.title, &site.base_url),
        None => {
            EmailSettings::default_for("", &Url::parse("http://localhost/").expect("a valid URL"))
        }
    };
    let email = match root.table(rep, "email") {
        Some(t) => email::email(t, rep, ctx, default_email),
        None => Some(default_email),
    };
    let notify = match root.table(rep, "notify") {
        Some(t) => email::notify(t, rep),
        None => Some(NotifySettings::default()),
    };
    let serve = match root.table(rep, "serve") {
        Some(t) => serve::serve(t, rep, ctx),
        None => Some(ServeSettings::default()),
    };
    let cluster = root
        .table(rep, "cluster")
        .map(|t| cluster::cluster(t, rep, ctx));
    Some(Built {
        site: site?,
        monitor: monitor?,
        components,
        email: email?,
        notify: notify?,
        serve: serve?,
        promises,
        upstreams: (!upstreams.failed).then_some(upstreams.list)?,
        cluster: cluster.map(|c| c.ok_or(())).transpose().ok()?,
    })
}

/// The components read so far, with the line of each id (for duplicate-id errors).
#[derive(Default)]
struct Components {
    list: Vec<Component>,
    first_seen: HashMap<String, usize>,
    /// `[[component]]` tables met, readable or not.
    seen: usize,
    failed: bool,
}

impl Components {
    fn read(
        &mut self,
        table: &DeTable<'_>,
        span: std::ops::Range<usize>,
        rep: &mut Report,
        ctx: &values::Ctx<'_>,
        site_wording: &Arc<Wording>,
    ) {
        self.seen += 1;
        let t = Table::new(
            table,
            span.clone(),
            &format!("component #{}", self.seen),
            "",
        );
        let Some((c, id_span)) = check::component(t, rep, ctx, site_wording) else {
            self.failed = true;
            return;
        };
        if let Some(first) = self.first_seen.get(&c.id) {
            rep.error(
                id_span,
                format!(
                    "component \"{}\": id: duplicate id, already used by the component on line {first}",
                    c.id
                ),
            );
            self.failed = true;
        } else {
            self.first_seen.insert(c.id.clone(), rep.line(&span));
            self.list.push(c);
        }
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Diagnostics),
}

#[cfg(test)]
pub(crate) mod tests;
