//! One read of a vendor's page: its JSON files fetched politely (a User-Agent that
//! names forewarn and the site asking, conditional requests, a bounded body and time),
//! the dialect detected once and remembered, and the whole page parsed.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::header::{
    CONTENT_LENGTH, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use reqwest::{StatusCode, Url};

use super::{Page, PageError, PageKind, betterstack, instatus, statuspage};

/// The most of one JSON file read: a busy vendor page is tens of kilobytes.
pub const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;
/// The longest one request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A page read, and whether any of its files changed since the last read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub page: Page,
    /// Every file answered "not modified" (304).
    pub unchanged: bool,
}

/// A file's last answer, for a conditional request next time.
struct Cached {
    etag: Option<String>,
    last_modified: Option<String>,
    body: Bytes,
}

/// What one GET gave.
enum Got {
    Body {
        body: Bytes,
        fresh: bool,
    },
    /// 404 or 410: the file is not there (so the page is of another kind).
    Absent,
}

/// Reads one vendor's page, again and again, remembering its kind and its files'
/// validators.
pub struct PageReader {
    client: reqwest::Client,
    forced: Option<PageKind>,
    detected: Option<PageKind>,
    cache: HashMap<String, Cached>,
    timeout: Duration,
}

impl PageReader {
    /// `site`: our status site, named in the User-Agent so a vendor knows who reads
    /// (none for an operator's one-off read without a configuration).
    /// `timeout`: the longest one request may take ([`REQUEST_TIMEOUT`] in the daemon).
    pub fn new(
        site: Option<&Url>,
        forced: Option<PageKind>,
        timeout: Duration,
    ) -> Result<PageReader, PageError> {
        let agent = match site {
            Some(site) => format!(
                "forewarn/{} (status page follower; +{})",
                env!("CARGO_PKG_VERSION"),
                site.as_str().trim_end_matches('/')
            ),
            None => format!(
                "forewarn/{} (status page follower)",
                env!("CARGO_PKG_VERSION")
            ),
        };
        let client = reqwest::Client::builder()
            .user_agent(agent)
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| PageError::Unreachable(format!("cannot set up HTTP: {e}")))?;
        Ok(PageReader {
            client,
            forced,
            detected: None,
            cache: HashMap::new(),
            timeout,
        })
    }

    /// The kind this page was found to be, once read.
    pub fn kind(&self) -> Option<PageKind> {
        self.forced.or(self.detected)
    }

    /// Read the page once.
    pub async fn read(&mut self, page: &Url, now: DateTime<Utc>) -> Result<Fetched, PageError> {
        if let Some(kind) = self.kind() {
            match self.read_as(kind, page, now).await {
                Ok(Some(f)) => return Ok(f),
                Ok(None) if self.forced.is_some() => {
                    return Err(PageError::NotUnderstood(format!(
                        "it has no {} files ({})",
                        kind.label(),
                        endpoints(kind)
                    )));
                }
                Err(PageError::NotUnderstood(why)) if self.forced.is_some() => {
                    return Err(PageError::NotUnderstood(why));
                }
                Err(e @ (PageError::Unreachable(_) | PageError::Busy { .. })) => return Err(e),
                // It moved to another kind of page: detect it again.
                _ => self.detected = None,
            }
        }
        let mut why = Vec::new();
        for kind in [
            PageKind::Statuspage,
            PageKind::Instatus,
            PageKind::BetterStack,
        ] {
            match self.read_as(kind, page, now).await {
                Ok(Some(f)) => {
                    self.detected = Some(f.page.kind);
                    return Ok(f);
                }
                Ok(None) => why.push(format!("no {}", endpoints(kind))),
                Err(PageError::NotUnderstood(w)) => why.push(w),
                Err(e) => return Err(e),
            }
        }
        Err(PageError::NotUnderstood(format!(
            "it is not a status page forewarn can read: {}. Name its kind with `kind = \"...\"` if it is one of {}",
            why.join("; "),
            PageKind::ALL.map(|k| k.as_str()).join(", ")
        )))
    }

    /// Read the page as `kind`; `None` when its files are not there.
    async fn read_as(
        &mut self,
        kind: PageKind,
        page: &Url,
        now: DateTime<Utc>,
    ) -> Result<Option<Fetched>, PageError> {
        let file = |path: &str| {
            page.join(path).map_err(|e| {
                PageError::NotUnderstood(format!("cannot make its {path} address: {e}"))
            })
        };
        match kind {
            PageKind::Statuspage | PageKind::IncidentIo | PageKind::Forewarn => {
                let Got::Body { body, fresh } = self.get(file("api/v2/summary.json")?).await?
                else {
                    return Ok(None);
                };
                let (mut parsed, missing) = statuspage::summary(&body, page)?;
                let mut unchanged = !fresh;
                if missing || kind == PageKind::IncidentIo && parsed.incidents.is_empty() {
                    // incident.io's summary may leave active incidents out. A list
                    // that cannot be read fails the whole read (an empty one would
                    // read as "fixed"); a page without one has none to tell.
                    if let Got::Body { body, fresh } =
                        self.get(file("api/v2/incidents.json")?).await?
                    {
                        parsed.incidents = statuspage::open_incidents(&body, page)?;
                        unchanged &= !fresh;
                    }
                }
                if let Some(forced) = self.forced {
                    parsed.kind = forced;
                }
                Ok(Some(Fetched {
                    page: parsed,
                    unchanged,
                }))
            }
            PageKind::Instatus => {
                let Got::Body { body, fresh } = self.get(file("summary.json")?).await? else {
                    return Ok(None);
                };
                if self.forced.is_none() && !instatus::looks_like(&body) {
                    return Err(PageError::NotUnderstood(
                        "its summary.json is not Instatus's".into(),
                    ));
                }
                // Components that cannot be read fail the whole read, as above.
                let components = match self.get(file("v2/components.json")?).await? {
                    Got::Body { body, fresh: f } => Some((body, f)),
                    Got::Absent => None,
                };
                let parsed =
                    instatus::summary(&body, components.as_ref().map(|(b, _)| &b[..]), page)?;
                Ok(Some(Fetched {
                    page: parsed,
                    unchanged: !fresh && components.is_none_or(|(_, f)| !f),
                }))
            }
            PageKind::BetterStack => {
                let Got::Body { body, fresh } = self.get(file("index.json")?).await? else {
                    return Ok(None);
                };
                if self.forced.is_none() && !betterstack::looks_like(&body) {
                    return Err(PageError::NotUnderstood(
                        "its index.json is not Better Stack's".into(),
                    ));
                }
                Ok(Some(Fetched {
                    page: betterstack::index(&body, page, now)?,
                    unchanged: !fresh,
                }))
            }
        }
    }

    /// GET one file, conditionally, within the size and time bounds.
    async fn get(&mut self, url: Url) -> Result<Got, PageError> {
        let key = url.to_string();
        let path = url.path().trim_start_matches('/').to_owned();
        let mut req = self.client.get(url).header("Accept", "application/json");
        if let Some(c) = self.cache.get(&key) {
            if let Some(e) = &c.etag {
                req = req.header(IF_NONE_MATCH, e);
            }
            if let Some(m) = &c.last_modified {
                req = req.header(IF_MODIFIED_SINCE, m);
            }
        }
        let timeout = self.timeout;
        let mut resp = req.send().await.map_err(|e| unreachable(&e, timeout))?;
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED
            && let Some(c) = self.cache.get(&key)
        {
            return Ok(Got::Body {
                body: c.body.clone(),
                fresh: false,
            });
        }
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Ok(Got::Absent);
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(PageError::Busy {
                status: status.as_u16(),
                retry_after: resp
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| super::polite::retry_after(v, Utc::now())),
            });
        }
        if !status.is_success() {
            return Err(PageError::Unreachable(format!(
                "their page answered HTTP {} for {path}",
                status.as_u16()
            )));
        }
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header(ETAG);
        let last_modified = header(LAST_MODIFIED);
        let too_big = || {
            PageError::NotUnderstood(format!(
                "its {path} is larger than {} MB; a status page's data never is",
                MAX_PAGE_BYTES / (1024 * 1024)
            ))
        };
        if header(CONTENT_LENGTH)
            .and_then(|l| l.parse::<u64>().ok())
            .is_some_and(|l| l > MAX_PAGE_BYTES as u64)
        {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| unreachable(&e, timeout))? {
            if body.len() + chunk.len() > MAX_PAGE_BYTES {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        if body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'<')
        {
            return Err(PageError::NotUnderstood(format!(
                "its {path} is a web page (HTML), not JSON"
            )));
        }
        let body = Bytes::from(body);
        if etag.is_some() || last_modified.is_some() {
            self.cache.insert(
                key,
                Cached {
                    etag,
                    last_modified,
                    body: body.clone(),
                },
            );
        }
        Ok(Got::Body { body, fresh: true })
    }
}

fn endpoints(kind: PageKind) -> &'static str {
    match kind {
        PageKind::Statuspage | PageKind::IncidentIo | PageKind::Forewarn => "api/v2/summary.json",
        PageKind::Instatus => "summary.json",
        PageKind::BetterStack => "index.json",
    }
}

/// A request that failed, in words for operators (no library debug text).
fn unreachable(e: &reqwest::Error, timeout: Duration) -> PageError {
    let what = if e.is_timeout() {
        format!(
            "their page did not answer within {}",
            crate::config::show_duration(timeout)
        )
    } else if e.is_connect() {
        "cannot connect to their page".to_owned()
    } else if e.is_redirect() {
        "their page redirects too many times".to_owned()
    } else if e.is_body() || e.is_decode() {
        "their page stopped answering halfway".to_owned()
    } else {
        "cannot reach their page".to_owned()
    };
    PageError::Unreachable(what)
}
