//! What happens in the demo, and when (in demo seconds): the service's own changes, and
//! an operator using the real `forewarn incident` and `forewarn maintenance` commands.

use std::net::SocketAddr;

use super::service::STORY;

/// Something the demo does at a moment of its story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    /// A line about the pretend service.
    Say(&'static str),
    /// The operator announces the database maintenance.
    AnnounceMaintenance,
    /// The operator says what is wrong with checkout, with an ETA.
    Identified,
    /// The operator says the fix is in and they are watching.
    Monitoring,
    /// The operator resolves the checkout incident with an apology and a credit.
    Resolve,
    /// A customer signs up on the status page for checkout notices.
    SignUp,
    /// The customer presses the link in the confirmation email.
    Confirm,
}

pub fn beats() -> Vec<(f64, Beat)> {
    let mut b = vec![
        (0.5, Beat::AnnounceMaintenance),
        (4.0, Beat::SignUp),
        (9.0, Beat::Confirm),
        (
            STORY.provider_outage.0,
            Beat::Say("(payment provider) their status page reports an outage of card payments"),
        ),
        (
            STORY.checkout_fails.0,
            Beat::Say("(demo service) checkout starts answering HTTP 503"),
        ),
        (
            STORY.provider_outage.1,
            Beat::Say("(payment provider) their status page reports card payments fixed"),
        ),
        (32.0, Beat::Identified),
        (
            STORY.search_slow.0,
            Beat::Say("(demo service) search becomes slow"),
        ),
        (
            STORY.search_down.0,
            Beat::Say("(demo service) search stops answering: HTTP 503"),
        ),
        (
            STORY.search_down.1,
            Beat::Say("(demo service) search is fast again"),
        ),
        (
            STORY.database_down.0,
            Beat::Say("(demo service) the database goes down for its upgrade"),
        ),
        (
            STORY.database_down.1,
            Beat::Say("(demo service) the database is back"),
        ),
        (
            STORY.checkout_fails.1,
            Beat::Say("(demo service) checkout is repaired"),
        ),
        (79.0, Beat::Monitoring),
        (86.0, Beat::Resolve),
    ];
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    b
}

pub const IDENTIFIED: &str = "Our payment provider's outage is making card payments fail. We are moving card payments to our backup provider.";
pub const MONITORING: &str =
    "Card payments go through our backup provider and succeed again. We are watching closely.";
pub const RESOLVED: &str = "Card payments have worked normally since the move, and our payment provider reports their outage fixed.";
pub const APOLOGY: &str = "We are sorry: for almost a minute, some of you could not pay.";
pub const CREDIT: &str = "We have credited 10% of this month's fee to the affected accounts.";
pub const MAINTENANCE_MESSAGE: &str = "We are upgrading the database. Orders placed during the work are kept and processed right after.";

/// The environment variable holding the demo webhook's signing secret.
pub const WEBHOOK_SECRET_ENV: &str = "FOREWARN_DEMO_WEBHOOK_SECRET";

/// Two people by email (one only cares about checkout, in New York time), a partner's
/// system by signed webhook, and the shop's on-call engineer, who alone hears operator
/// alerts.
pub fn subscribers(addr: SocketAddr) -> String {
    format!(
        "# Written by `forewarn demo`; it is rewritten on every demo run.\n\n[[email]]\naddress = \"ops@demo-shop.test\"\n\n[[email]]\naddress = \"finance@demo-shop.test\"\ncomponents = [\"checkout\"]\ntimezone = \"America/New_York\"\n\n[[webhook]]\nurl = \"http://{addr}/hooks/forewarn\"\nsecret_env = \"{WEBHOOK_SECRET_ENV}\"\nformat = \"standard\"\ncomponents = [\"checkout\"]\n\n[[operator]]\naddress = \"oncall@demo-shop.test\"\n"
    )
}

/// The demo's configuration: the shop's HTTP endpoints, its payment gateway, its
/// website over TLS (`website`, whose certificate `ca_file` vouches for), and the
/// payment provider's status page that checkout depends on.
pub fn config(
    addr: SocketAddr,
    website: SocketAddr,
    ca_file: &std::path::Path,
    speed: f64,
    front: SocketAddr,
) -> String {
    let ms = |s: f64| format!("{}ms", (s * 1000.0 / speed).round() as u64);
    let every = ms(2.0);
    let timeout = ms(1.8);
    let threshold = ms(0.8);
    let http = |id: &str, name: &str, group: &str, path: &str, extra: &str| {
        format!(
            "[[component]]\nid = \"{id}\"\nname = \"{name}\"\ngroup = \"{group}\"\n\n[component.check]\nkind = \"http\"\nurl = \"http://{addr}{path}\"\nevery = \"{every}\"\ntimeout = \"{timeout}\"\n{extra}\n"
        )
    };
    [
        "# Written by `forewarn demo`; it is rewritten on every demo run.\n".to_owned(),
        "[site]\ntitle = \"Demo Shop Status\"\nbase_url = \"https://status.demo-shop.test\"\ntimezone = \"UTC\"\n\n".to_owned(),
        "[site.contact]\nemail = \"support@demo-shop.test\"\nphone = \"+1 555 0100\"\nhours = \"every day, 08:00 to 20:00 UTC\"\n\n".to_owned(),
        format!("[serve]\nlisten = \"{front}\"\npublic_url = \"http://{front}\"\n\n"),
        http("api", "Public API", "Shop", "/api/health", "json = { \"/status\" = \"ok\" }"),
        http("checkout", "Checkout", "Shop", "/checkout/health", "body_contains = \"ok\"\nseverity = \"major_outage\"").replace("group = \"Shop\"\n", "group = \"Shop\"\ndepends_on = [\"payments\"]\n"),
        http("search", "Search", "Shop", "/search/health", &format!("latency_threshold = \"{threshold}\"")),
        http("database", "Database", "Infrastructure", "/database/health", ""),
        format!(
            "[[component]]\nid = \"gateway\"\nname = \"Payment gateway\"\ngroup = \"Infrastructure\"\n\n[component.check]\nkind = \"tcp\"\naddress = \"{addr}\"\nevery = \"{every}\"\ntimeout = \"{timeout}\"\n\n"
        ),
        format!(
            "[[component]]\nid = \"website\"\nname = \"Website\"\ngroup = \"Shop\"\n\n[component.check]\nkind = \"tls\"\naddress = \"{website}\"\nserver_name = \"localhost\"\nca_file = {ca}\nwarn_days = 14\nevery = \"{every}\"\ntimeout = \"{timeout}\"\n",
            ca = serde_json::to_string(&ca_file.display().to_string()).unwrap_or_default()
        ),
        format!(
            "\n[[upstream]]\nid = \"payments\"\nname = \"Payment provider\"\npage = \"http://{addr}/provider/\"\ncomponents = [\"Card payments\"]\nevery = \"{every}\"\n"
        ),
    ]
    .concat()
}
