//! The shapes of what page templates receive: plain, ready-to-print values.

use serde::Serialize;

use super::uptime::Run;

/// `incidents/<reference>/index.html`: the incident's page is one folder up; browsers
/// go there at once, and anything else finds the link and the canonical address.
pub fn pointer(page_title: &str, title: &str, reference: &str, canonical: &str) -> String {
    let esc = handlebars::html_escape;
    let target = format!("../{}.html", crate::present::text::url_encode(reference));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<link rel=\"canonical\" href=\"{}\">\n<meta http-equiv=\"refresh\" content=\"0; url={}\">\n</head>\n<body>\n<main><p>This incident's page: <a href=\"{}\">{}</a> ({}).</p></main>\n</body>\n</html>\n",
        esc(page_title),
        esc(canonical),
        esc(&target),
        esc(&target),
        esc(title),
        esc(reference),
    )
}

/// Everything a page needs besides its own content.
#[derive(Debug, Clone, Serialize)]
pub struct Common {
    pub site_title: String,
    /// The `<title>` of the page.
    pub page_title: String,
    /// `""` for top-level pages, `"../"` one folder down.
    pub root: String,
    pub contact: ContactCard,
    pub updated: String,
    pub updated_iso: String,
    /// Say when the page was made (pages kept current: the front page, open incidents).
    pub show_updated: bool,
    /// The sign-up form, when forewarn's HTTP front has a public address.
    pub subscribe: Option<SubscribeForm>,
    /// The shared stylesheet's address (`../style-….css`); `None` on the front page,
    /// which carries its style inline so a phone draws it from one request.
    pub stylesheet: Option<String>,
    /// The page's one address, when it is also published under another.
    pub canonical: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubscribeForm {
    /// `<public_url>/subscribe`
    pub action: String,
    pub components: Vec<ComponentChoice>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentChoice {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContactCard {
    pub email: Option<String>,
    pub mailto: Option<String>,
    pub phone: Option<String>,
    pub tel: Option<String>,
    pub chat_url: Option<String>,
    pub hours: Option<String>,
    /// The reference to quote, when there is one: the worst open incident's.
    pub reference: Option<String>,
    /// That incident's title.
    pub title: Option<String>,
    /// The other open incidents, each with the reference to quote about it.
    pub also: Vec<QuoteOther>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuoteOther {
    pub reference: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Banner {
    pub class: &'static str,
    pub text: &'static str,
    pub symbol: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub status: &'static str,
    pub class: &'static str,
    pub symbol: &'static str,
    pub runs: Vec<Run>,
    /// "99.98% uptime over 90 days", or "No data yet".
    pub uptime: String,
    pub sparkline: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub name: Option<String>,
    /// Each component's row, already rendered (rows are kept between builds).
    pub components: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentSummary {
    pub reference: String,
    pub title: String,
    pub status: &'static str,
    pub resolved: bool,
    pub impact: &'static str,
    pub impact_class: &'static str,
    pub affected: String,
    pub latest_html: String,
    pub latest_when: String,
    pub latest_iso: String,
    pub eta: Option<String>,
    /// An ETA that has passed with the trouble still there.
    pub eta_passed: Option<String>,
    /// When the next update was promised, while that is ahead.
    pub next_update: Option<String>,
    pub started: String,
    pub duration: String,
    /// Vendors in trouble that an affected component depends on.
    pub causes: Vec<super::vendors::CauseView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpdateView {
    pub status: &'static str,
    pub when: String,
    pub iso: String,
    pub html: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AffectedView {
    pub name: String,
    pub status: &'static str,
    pub class: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentPage {
    pub common: Common,
    #[serde(flatten)]
    pub summary: IncidentSummary,
    pub affected_list: Vec<AffectedView>,
    pub apology: Option<String>,
    pub credit: Option<String>,
    pub postmortem_url: Option<String>,
    pub updates: Vec<UpdateView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MaintenanceSummary {
    pub id: String,
    pub title: String,
    pub state: &'static str,
    pub active: bool,
    pub when: String,
    pub starts_iso: String,
    pub components: String,
    pub html: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IndexPage {
    pub common: Common,
    pub banner: Banner,
    pub active: Vec<IncidentSummary>,
    pub maintenance: Vec<MaintenanceSummary>,
    pub groups: Vec<Group>,
    /// The services we depend on (`[[upstream]]`).
    pub vendors: Vec<super::vendors::VendorRow>,
    pub recent: Vec<IncidentSummary>,
}

/// An incident as one line of a long list (no message: history pages stay light).
#[derive(Debug, Clone, Serialize)]
pub struct IncidentRow {
    pub reference: String,
    pub title: String,
    pub status: &'static str,
    pub resolved: bool,
    pub impact: &'static str,
    pub affected: String,
    pub started: String,
    pub duration: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Month {
    pub key: String,
    pub label: String,
    /// One rendered line per incident (lines are kept between builds).
    pub incidents: Vec<String>,
    pub maintenance: Vec<MaintenanceSummary>,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryPage {
    pub common: Common,
    /// The latest months, shown in full.
    pub months: Vec<Month>,
    /// Every month with something in it, newest first, for the archive links.
    pub archive: Vec<Month>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MonthPage {
    pub common: Common,
    pub month: Month,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentPage {
    pub common: Common,
    pub row: ComponentRow,
    pub incidents: Vec<IncidentSummary>,
}
