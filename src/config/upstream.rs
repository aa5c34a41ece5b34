//! `[[upstream]]` tables: the status pages of the vendors our components depend on.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Url;

use super::diagnostic::Report;
use super::reader::{Table, array_string};
use super::values::{self, duration_key, show_duration};

const UPSTREAM_KEYS: &[&str] = &[
    "id",
    "name",
    "page",
    "components",
    "every",
    "kind",
    "notify_customers",
];
/// How often a vendor's page is read unless `every` says otherwise.
pub const DEFAULT_UPSTREAM_EVERY: Duration = Duration::from_secs(120);
/// The most often a vendor's page may be read: their page is not ours to load. (A
/// page on this machine may be read as often as a check runs.)
pub const MIN_UPSTREAM_EVERY: Duration = Duration::from_secs(30);
/// The least often: a day.
pub const MAX_UPSTREAM_EVERY: Duration = Duration::from_secs(24 * 3600);
/// The most components followed on one vendor page.
const MAX_FOLLOWED: usize = 100;

/// A vendor's status page, followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub id: String,
    /// What customers read: "Payment provider".
    pub name: String,
    /// The vendor's status page, as people open it.
    pub page: Url,
    /// Names or ids of components on their page; empty: the page's overall status.
    pub components: Vec<String>,
    /// Where each of `components` is written in the file, for `forewarn check`.
    pub component_spans: Vec<std::ops::Range<usize>>,
    pub every: Duration,
    /// The kind of page, when the operator named it; otherwise it is detected.
    pub kind: Option<PageKind>,
    /// Tell subscribers of the components that depend on it when the vendor reports
    /// trouble while our checks pass (worded as possible impact).
    pub notify_customers: bool,
}

/// The kinds of status page forewarn reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageKind {
    /// Atlassian Statuspage: `api/v2/summary.json`.
    Statuspage,
    /// incident.io's Statuspage-compatible `api/v2`, without groups and maybe without
    /// the incidents in the summary.
    IncidentIo,
    /// Instatus: `summary.json` and `v2/components.json`.
    Instatus,
    /// Better Stack: `index.json`.
    BetterStack,
    /// Another forewarn: its own `api/v2`.
    Forewarn,
}

impl PageKind {
    pub const ALL: [PageKind; 5] = [
        PageKind::Statuspage,
        PageKind::IncidentIo,
        PageKind::Instatus,
        PageKind::BetterStack,
        PageKind::Forewarn,
    ];

    /// The name in `kind = "..."`.
    pub fn as_str(self) -> &'static str {
        match self {
            PageKind::Statuspage => "statuspage",
            PageKind::IncidentIo => "incidentio",
            PageKind::Instatus => "instatus",
            PageKind::BetterStack => "betterstack",
            PageKind::Forewarn => "forewarn",
        }
    }

    /// What people call it.
    pub fn label(self) -> &'static str {
        match self {
            PageKind::Statuspage => "Atlassian Statuspage",
            PageKind::IncidentIo => "incident.io (Statuspage-compatible)",
            PageKind::Instatus => "Instatus",
            PageKind::BetterStack => "Better Stack",
            PageKind::Forewarn => "forewarn",
        }
    }
}

impl std::str::FromStr for PageKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        PageKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(())
    }
}

/// The address people open for a vendor's page, from what an operator wrote: an
/// `https://` or `http://` page, or one of its JSON files (whose page it is taken as).
pub fn page_url(text: &str) -> Result<Url, String> {
    let mut url = values::http_url(text)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "holds a user name or password; a status page is public: give its address without them"
                .into(),
        );
    }
    let path = url.path().to_owned();
    for file in ["/api/v2/summary.json", "/summary.json", "/index.json"] {
        if let Some(base) = path.strip_suffix(file) {
            url.set_path(&format!("{base}/"));
            break;
        }
    }
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

/// Is the page on this machine (`localhost`, 127.0.0.0/8, `::1`)?
pub fn is_loopback(page: &Url) -> bool {
    let host = page.host_str().unwrap_or_default();
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A duration as written in the configuration ("15s", "2m"), for command-line flags.
pub fn duration(text: &str) -> Result<Duration, String> {
    values::duration(text)
}

/// One `[[upstream]]` table; `None` when it is broken (each problem reported).
pub(super) fn upstream(mut t: Table<'_, '_>, rep: &mut Report) -> Option<Upstream> {
    let (id, _) = values::id_key(
        &mut t,
        rep,
        "upstream",
        "a short name used in `depends_on`, such as \"payments-provider\"",
    );
    let name = t.required_string(
        rep,
        "name",
        "what customers read, such as \"Payment provider\"",
    );
    let page = t.required_string(
        rep,
        "page",
        "the vendor's status page, such as \"https://status.vendor.example\"",
    );
    let page = page.and_then(|p| match page_url(p.get_ref()) {
        Ok(u) => Some(u),
        Err(e) => {
            t.error(rep, p.span(), "page", &e);
            None
        }
    });
    let mut components = Vec::new();
    let mut component_spans = Vec::new();
    let mut components_ok = true;
    if let Some(items) = t.array(rep, "components") {
        for v in items {
            match array_string(&t, rep, "components", v) {
                Some(s) if s.get_ref().trim().is_empty() => {
                    t.error(rep, s.span(), "components", "names must not be empty");
                    components_ok = false;
                }
                Some(s) if components.contains(s.get_ref()) => {
                    t.error(
                        rep,
                        s.span(),
                        "components",
                        &format!("\"{}\" is listed twice", s.get_ref()),
                    );
                    components_ok = false;
                }
                Some(s) => {
                    component_spans.push(s.span());
                    components.push(s.into_inner());
                }
                None => components_ok = false,
            }
        }
        if components.len() > MAX_FOLLOWED {
            t.error(
                rep,
                t.span(),
                "components",
                &format!("follow at most {MAX_FOLLOWED} components of one page"),
            );
            components_ok = false;
        }
    }
    // A page on this machine (another forewarn beside this one) is nobody else's to
    // spare: it may be read as often as a check runs.
    let local = page.as_ref().is_some_and(is_loopback);
    let every = match duration_key(&mut t, rep, "every") {
        None => Some(DEFAULT_UPSTREAM_EVERY),
        Some(d) if *d.get_ref() < MIN_UPSTREAM_EVERY && !local => {
            t.error(
                rep,
                d.span(),
                "every",
                &format!(
                    "{} is too often for someone else's status page (use at least {})",
                    show_duration(*d.get_ref()),
                    show_duration(MIN_UPSTREAM_EVERY)
                ),
            );
            None
        }
        Some(d) if *d.get_ref() < super::MIN_INTERVAL => {
            t.error(
                rep,
                d.span(),
                "every",
                &format!("use at least {}", show_duration(super::MIN_INTERVAL)),
            );
            None
        }
        Some(d) if *d.get_ref() > MAX_UPSTREAM_EVERY => {
            t.error(
                rep,
                d.span(),
                "every",
                &format!(
                    "{} is too seldom to notice their outages (use at most {})",
                    show_duration(*d.get_ref()),
                    show_duration(MAX_UPSTREAM_EVERY)
                ),
            );
            None
        }
        Some(d) => Some(d.into_inner()),
    };
    let kind = match t.string(rep, "kind") {
        None => Some(None),
        Some(k) => match k.get_ref().parse::<PageKind>() {
            Ok(kind) => Some(Some(kind)),
            Err(()) => {
                let names: Vec<&str> = PageKind::ALL.iter().map(|k| k.as_str()).collect();
                t.error(
                    rep,
                    k.span(),
                    "kind",
                    &format!(
                        "\"{}\" is not a kind of status page forewarn reads (use {}, or leave it out to detect it)",
                        k.get_ref(),
                        names.join(", ")
                    ),
                );
                None
            }
        },
    };
    let notify_customers = t.boolean(rep, "notify_customers").unwrap_or(false);
    t.finish(rep, UPSTREAM_KEYS, &|key| {
        (key == "depends_on").then(|| "depends_on belongs in a [[component]] table".to_owned())
    });
    Some(Upstream {
        id: id?,
        name: name?.into_inner(),
        page: page?,
        components: components_ok.then_some(components)?,
        component_spans,
        every: every?,
        kind: kind?,
        notify_customers,
    })
}

/// The `[[upstream]]` tables read, and whether any was broken.
pub(super) struct Upstreams {
    pub(super) list: Vec<Upstream>,
    pub(super) failed: bool,
}

/// Every `[[upstream]]` table, each id once.
pub(super) fn all(root: &mut Table<'_, '_>, rep: &mut Report) -> Upstreams {
    let mut out = Upstreams {
        list: Vec::new(),
        failed: false,
    };
    let mut lines: HashMap<String, usize> = HashMap::new();
    for (n, (table, span)) in root.tables(rep, "upstream").into_iter().enumerate() {
        let t = Table::new(table, span.clone(), &format!("upstream #{}", n + 1), "");
        let Some(u) = upstream(t, rep) else {
            out.failed = true;
            continue;
        };
        if let Some(first) = lines.get(&u.id) {
            rep.error(
                span,
                format!(
                    "upstream \"{}\": id: duplicate id, already used by the upstream on line {first}",
                    u.id
                ),
            );
            out.failed = true;
        } else {
            lines.insert(u.id.clone(), rep.line(&span));
            out.list.push(u);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_may_be_given_as_one_of_its_json_files() {
        let page = |t: &str| page_url(t).map(|u| u.to_string());
        assert_eq!(
            page("https://status.vendor.example").as_deref(),
            Ok("https://status.vendor.example/")
        );
        assert_eq!(
            page("https://status.vendor.example/api/v2/summary.json").as_deref(),
            Ok("https://status.vendor.example/")
        );
        assert_eq!(
            page("https://vendor.example/status/summary.json?x=1").as_deref(),
            Ok("https://vendor.example/status/")
        );
        assert!(page("ftp://vendor.example/").is_err());
        assert!(page("https://user:token@status.vendor.example/").is_err());
    }

    #[test]
    fn only_a_page_on_this_machine_may_be_read_more_often() {
        let local = |t: &str| is_loopback(&page_url(t).unwrap());
        assert!(local("http://127.0.0.1:8080/"));
        assert!(local("http://127.3.4.5/"));
        assert!(local("http://[::1]:8080/"));
        assert!(local("http://localhost/"));
        assert!(!local("https://status.vendor.example/"));
        assert!(!local("http://10.0.0.1/"));
    }
}
