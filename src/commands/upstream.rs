//! `forewarn upstream test URL`: read a vendor's status page once and list its kind,
//! components and open incidents, so an operator can copy the right names; and the
//! reads `forewarn check` and `forewarn probe` make of the configured pages.

use std::time::Duration;

use chrono::Utc;
use reqwest::Url;
use tokio::task::JoinSet;

use super::{CommandError, table};
use crate::config::diagnostic::{Diagnostic, SourceMap};
use crate::config::upstream::page_url;
use crate::config::{Config, PageKind, Upstream};
use crate::present::text;
use crate::upstream::{Page, PageError, PageReader, REQUEST_TIMEOUT, follow};

/// Read a page once, as `forewarn upstream test` does. `site`: named in the
/// User-Agent (the configuration's site when there is one).
pub async fn read_once(
    site: Option<&Url>,
    page: &Url,
    kind: Option<PageKind>,
    timeout: Duration,
) -> Result<Page, PageError> {
    let mut reader = PageReader::new(site, kind, timeout)?;
    reader.read(page, Utc::now()).await.map(|f| f.page)
}

/// `forewarn upstream test URL`.
pub async fn test(
    site: Option<&Url>,
    url: &str,
    kind: Option<PageKind>,
    timeout: Duration,
) -> Result<String, CommandError> {
    let page = page_url(url).map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    let read = read_once(site, &page, kind, timeout)
        .await
        .map_err(|e| anyhow::anyhow!("{page}: {e}"))?;
    let mut out = format!(
        "{page}: {}{}\nOverall: {}\n\n",
        read.kind.label(),
        read.title
            .as_ref()
            .map(|t| format!(", \"{t}\""))
            .unwrap_or_default(),
        read.overall.label()
    );
    let rows: Vec<Vec<String>> = read
        .components
        .iter()
        .map(|c| {
            vec![
                c.full_name(),
                c.status.label().to_owned(),
                if c.is_group {
                    "group".into()
                } else {
                    c.id.clone()
                },
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str(
            "The page lists no components: follow its overall status (leave `components` out).\n",
        );
    } else {
        out.push_str(&table::render(&["COMPONENT", "STATUS", "ID"], &rows));
    }
    if read.incidents.is_empty() {
        out.push_str("\nNo open incidents.\n");
    } else {
        out.push_str("\nOpen incidents:\n");
        for (i, _) in &read.incidents {
            out.push_str(&format!(
                "  {}{}{} {}\n",
                i.title,
                i.status
                    .map(|s| format!(" ({})", s.as_str()))
                    .unwrap_or_default(),
                i.started_at
                    .map(|t| format!(", since {}", text::iso(t)))
                    .unwrap_or_default(),
                i.url
            ));
        }
    }
    // JSON string escapes are valid TOML basic strings.
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    out.push_str(&format!(
        "\nTo follow it:\n\n[[upstream]]\nid = \"{}\"\nname = {}\npage = {}\n{}",
        suggest_id(&page),
        quoted(read.title.as_deref().unwrap_or("Vendor")),
        quoted(page.as_str()),
        match read.components.iter().find(|c| !c.is_group) {
            Some(c) => format!(
                "components = [{}]   # names from the table above\n",
                quoted(&c.full_name())
            ),
            None => String::new(),
        }
    ));
    Ok(out)
}

fn suggest_id(page: &Url) -> String {
    let Some(host) = page.domain() else {
        return "vendor".into();
    };
    let word = host
        .split('.')
        .find(|w| !matches!(*w, "status" | "www" | "statuspage"))
        .unwrap_or(host);
    let id: String = word
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if id.is_empty() { "vendor".into() } else { id }
}

/// Read every configured page at once, each within `timeout`.
async fn read_all(config: &Config, timeout: Duration) -> Vec<(Upstream, Result<Page, PageError>)> {
    let mut tasks = JoinSet::new();
    for (n, up) in config.upstreams.iter().enumerate() {
        let (site, up) = (config.site.base_url.clone(), up.clone());
        tasks.spawn(async move {
            let read = read_once(Some(&site), &up.page, up.kind, timeout).await;
            (n, up, read)
        });
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(r) = done {
            out.push(r);
        }
    }
    out.sort_by_key(|(n, _, _)| *n);
    out.into_iter().map(|(_, u, r)| (u, r)).collect()
}

/// `forewarn check`'s look at the vendors' pages: a followed name their page does not
/// have is an error at its place in the file; a page that cannot be read is only noted.
pub async fn check_names(config: &Config, source: &str) -> (Vec<Diagnostic>, String) {
    let map = SourceMap::new(config.file.display().to_string(), source);
    let mut problems = Vec::new();
    let mut notes = String::new();
    for (up, read) in read_all(config, REQUEST_TIMEOUT).await {
        match read {
            Ok(page) => {
                let followed = follow(&up, &page);
                let at = |name: &str| {
                    up.components
                        .iter()
                        .position(|c| c == name)
                        .and_then(|i| up.component_spans.get(i))
                        .cloned()
                };
                for (name, all) in &followed.ambiguous {
                    let Some(span) = at(name) else { continue };
                    problems.push(map.diagnostic(
                        span,
                        format!(
                            "upstream \"{}\": components: \"{name}\" is the name of several components on their page ({}); write the one you mean as \"Group / Name\"",
                            up.id,
                            all.join(", ")
                        ),
                    ));
                }
                for name in &followed.missing {
                    let Some(span) = up
                        .components
                        .iter()
                        .position(|c| c == name)
                        .and_then(|i| up.component_spans.get(i))
                    else {
                        continue;
                    };
                    problems.push(map.diagnostic(
                        span.clone(),
                        format!(
                            "upstream \"{}\": components: \"{name}\" is not on their page ({}); it has: {}",
                            up.id,
                            up.page,
                            followed.available.join(", ")
                        ),
                    ));
                }
                notes.push_str(&format!(
                    "  upstream {:<16} {} ({}), {}\n",
                    up.id,
                    page.kind.as_str(),
                    up.page,
                    followed.reading.status.map_or("unknown", |s| s.as_str())
                ));
            }
            Err(e) => notes.push_str(&format!(
                "  upstream {:<16} not checked: {e} ({})\n",
                up.id, up.page
            )),
        }
    }
    (problems, notes)
}

/// `forewarn probe`'s lines about the vendors' pages.
pub async fn probe_table(config: &Config) -> String {
    if config.upstreams.is_empty() {
        return String::new();
    }
    let rows: Vec<Vec<String>> = read_all(config, REQUEST_TIMEOUT)
        .await
        .into_iter()
        .map(|(up, read)| match read {
            Ok(page) => {
                let f = follow(&up, &page);
                let mut detail: Vec<String> = f
                    .reading
                    .incidents
                    .iter()
                    .map(|i| i.title.clone())
                    .collect();
                if !f.missing.is_empty() {
                    detail.push(format!("not on their page: {}", f.missing.join(", ")));
                }
                vec![
                    up.id.clone(),
                    page.kind.as_str().to_owned(),
                    f.reading
                        .status
                        .map_or("unknown", |s| s.as_str())
                        .to_owned(),
                    detail.join("; "),
                ]
            }
            Err(e) => vec![
                up.id.clone(),
                up.kind.map_or("?", |k| k.as_str()).to_owned(),
                "unknown".to_owned(),
                e.to_string(),
            ],
        })
        .collect();
    format!(
        "\n{}",
        table::render(&["UPSTREAM", "KIND", "STATUS", "DETAIL"], &rows)
    )
}
