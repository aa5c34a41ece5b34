//! A notice as an email: multipart/alternative (plain text and HTML from the
//! `email.txt.hbs` / `email.html.hbs` templates), threaded per incident, with the
//! headers that let mail clients file it and unsubscribe in one click (RFC 8058).

use std::path::Path;
use std::time::SystemTime;

use anyhow::Context;
use handlebars::Handlebars;
use lettre::Message;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::notify::compose::Composed;
use crate::notify::notice::Notice;
use crate::present::text::{mailto, markdown};
use crate::vocab::ComponentStatus;

const TEXT: (&str, &str) = (
    "email.txt.hbs",
    include_str!("../../../templates/email.txt.hbs"),
);
const HTML: (&str, &str) = (
    "email.html.hbs",
    include_str!("../../../templates/email.html.hbs"),
);
const CONFIRM_TEXT: (&str, &str) = (
    "confirmation.txt.hbs",
    include_str!("../../../templates/confirmation.txt.hbs"),
);
const CONFIRM_HTML: (&str, &str) = (
    "confirmation.html.hbs",
    include_str!("../../../templates/confirmation.html.hbs"),
);

/// The two email templates, built in or from `[site] templates`.
pub struct Templates {
    text: Handlebars<'static>,
    html: Handlebars<'static>,
}

impl Templates {
    pub fn new(overrides: Option<&Path>) -> anyhow::Result<Templates> {
        let load = |files: [(&str, (&str, &str)); 2],
                    escape: bool|
         -> anyhow::Result<Handlebars<'static>> {
            let mut hb = Handlebars::new();
            hb.set_strict_mode(false);
            if !escape {
                hb.register_escape_fn(handlebars::no_escape);
            }
            for (name, file) in files {
                crate::present::templates::register(&mut hb, name, file, overrides)?;
            }
            Ok(hb)
        };
        Ok(Templates {
            text: load([("notice", TEXT), ("confirmation", CONFIRM_TEXT)], false)?,
            html: load([("notice", HTML), ("confirmation", CONFIRM_HTML)], true)?,
        })
    }
}

impl Templates {
    /// The plain text and the HTML of one email.
    fn render(&self, name: &str, data: &serde_json::Value) -> anyhow::Result<(String, String)> {
        let text = self
            .text
            .render(name, data)
            .with_context(|| format!("cannot render the {name} email's text"))?;
        let html = self
            .html
            .render(name, data)
            .with_context(|| format!("cannot render the {name} email's HTML"))?;
        Ok((text, html))
    }
}

/// Who one email goes to, and the links that are theirs.
pub struct Recipient<'a> {
    pub address: &'a str,
    /// Subscriber key, for the thread's Message-ID.
    pub key: &'a str,
    pub unsubscribe_url: &'a str,
    /// "Checkout, Public API" when they chose some components.
    pub scope: Option<String>,
}

/// Control characters (CR, LF, tab, NUL...) turned into spaces: header values built from
/// operator text can never start a new header.
pub fn header_text(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first line of some Markdown, as plain words, cut to a preheader's length.
fn one_line(markdown: &str) -> String {
    let line = header_text(markdown.trim().lines().next().unwrap_or_default());
    let plain: String = line
        .chars()
        .filter(|c| !matches!(c, '*' | '_' | '`' | '#'))
        .collect();
    if plain.chars().count() > 140 {
        let cut: String = plain.chars().take(139).collect();
        format!("{cut}…")
    } else {
        plain
    }
}

/// The contact address as a mailbox, where replies go (a person reads them).
fn reply_to(config: &Config) -> Option<Mailbox> {
    let address: lettre::Address = config.site.contact.email.as_deref()?.parse().ok()?;
    Some(Mailbox::new(None, address))
}

/// The domain used in Message-IDs and List-Id: the status site's host.
fn domain(config: &Config) -> String {
    config
        .site
        .base_url
        .host_str()
        .unwrap_or("localhost")
        .trim_start_matches('[')
        .trim_end_matches(']')
        .replace(':', "-")
}

fn short_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..10]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The Message-ID every notice of one thread refers to: the first message's.
pub fn thread_root(config: &Config, thread: &str, subscriber: &str) -> String {
    format!(
        "<thread-{}@{}>",
        short_hash(&format!("{thread}\n{subscriber}")),
        domain(config)
    )
}

/// A notice's Message-ID: the same for every attempt, so receivers can drop repeats.
pub fn message_id(config: &Config, composed: &Composed, delivery_id: &str, key: &str) -> String {
    if starts_thread(composed) {
        thread_root(config, &composed.thread, key)
    } else {
        format!("<{delivery_id}@{}>", domain(config))
    }
}

fn starts_thread(c: &Composed) -> bool {
    matches!(c.kind, "incident.opened" | "maintenance.scheduled")
}

/// The words of the email, rendered: (subject, text, html).
pub fn render(
    templates: &Templates,
    config: &Config,
    notice: &Notice,
    recipient: &Recipient<'_>,
) -> anyhow::Result<(String, String, String)> {
    let worst = ComponentStatus::worst(notice.affected.iter().map(|a| a.status))
        .unwrap_or(ComponentStatus::Operational);
    let colour = if notice.over {
        "#2f855a"
    } else {
        match worst {
            ComponentStatus::MajorOutage => "#c53030",
            ComponentStatus::PartialOutage => "#dd6b20",
            ComponentStatus::DegradedPerformance => "#b7791f",
            ComponentStatus::UnderMaintenance => "#2b6cb0",
            ComponentStatus::Operational => "#2f855a",
        }
    };
    let affected: Vec<_> = notice
        .affected
        .iter()
        .map(|a| json!({"name": a.name, "status": a.words()}))
        .collect();
    let data = json!({
        "site": config.site.title,
        "subject": header_text(&notice.subject),
        "title": notice.title,
        "state": notice.state,
        // What mail clients show beside the subject: where things stand, then the news.
        "preheader": format!("{}: {}", notice.state, one_line(&notice.message)),
        "headline": notice.headline,
        "posted": notice.posted,
        "message": notice.message.trim(),
        "message_html": markdown(notice.message.trim()),
        "vendors": notice.vendors,
        "lasted": notice.lasted,
        "eta": notice.eta,
        "next_update": notice.next_update,
        "apology": notice.apology,
        "credit": notice.credit,
        "affected": affected,
        "affected_line": notice.affected_line(),
        "over": notice.over,
        "reference": notice.reference,
        "permalink": notice.permalink,
        "permalink_label": notice.permalink_label,
        "contact": notice.contact,
        "contact_lead": notice.contact_lead,
        "contact_ways": notice.contact_ways,
        "contact_hours": notice.contact_hours,
        "unsubscribe_url": recipient.unsubscribe_url,
        // The same token opens the page where they choose what they hear about.
        "manage_url": recipient.unsubscribe_url.replacen("/unsubscribe/", "/manage/", 1),
        "scope": recipient.scope,
        "colour": colour,
    });
    let (text, html) = templates.render("notice", &data)?;
    Ok((header_text(&notice.subject), text, html))
}

/// The whole message.
pub fn build(
    templates: &Templates,
    config: &Config,
    composed: &Composed,
    notice: &Notice,
    delivery_id: &str,
    recipient: &Recipient<'_>,
) -> anyhow::Result<Message> {
    let (subject, text, html) = render(templates, config, notice, recipient)?;
    let to: lettre::Address = recipient
        .address
        .parse()
        .with_context(|| format!("\"{}\" is not an email address", recipient.address))?;
    let mut unsubscribe = format!("<{}>", recipient.unsubscribe_url);
    if let Some(contact) = &config.site.contact.email {
        unsubscribe.push_str(&format!(
            ", <{}>",
            mailto(contact, &format!("Unsubscribe {}", recipient.address))
        ));
    }
    // List-Id's phrase must stay plain ASCII (an encoded word cannot sit in quotes).
    let list_name: String = header_text(&config.site.title)
        .chars()
        .filter(|c| c.is_ascii() && !matches!(c, '"' | '\\' | '<' | '>'))
        .collect();
    let list_id = match list_name.trim() {
        "" => format!("<notices.{}>", domain(config)),
        name => format!("\"{name}\" <notices.{}>", domain(config)),
    };
    let mut builder = Message::builder()
        .from(config.email.from.clone())
        .to(Mailbox::new(None, to))
        .subject(subject)
        .message_id(Some(message_id(
            config,
            composed,
            delivery_id,
            recipient.key,
        )))
        .date(SystemTime::from(composed.at))
        .header(Raw::<AutoSubmitted>::new("auto-generated".into()))
        .header(Raw::<ListId>::new(list_id))
        .header(Raw::<ListUnsubscribe>::new(unsubscribe));
    // RFC 8058 one-click needs an https address.
    if recipient.unsubscribe_url.starts_with("https://") {
        builder = builder.header(Raw::<ListUnsubscribePost>::new(
            "List-Unsubscribe=One-Click".into(),
        ));
    }
    if !starts_thread(composed) {
        let root = thread_root(config, &composed.thread, recipient.key);
        builder = builder.in_reply_to(root.clone()).references(root);
    }
    // A reply reaches a person, not the status sender.
    if let Some(to) = reply_to(config) {
        builder = builder.reply_to(to);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .context("cannot assemble the email")
}

/// A header whose value forewarn writes itself (ASCII, no line breaks).
#[derive(Clone)]
struct Raw<N> {
    value: String,
    name: std::marker::PhantomData<N>,
}

impl<N> Raw<N> {
    fn new(value: String) -> Self {
        Raw {
            value: header_text(&value),
            name: std::marker::PhantomData,
        }
    }
}

trait Named: Clone {
    const NAME: &'static str;
}

macro_rules! named {
    ($t:ident, $n:literal) => {
        #[derive(Clone)]
        struct $t;
        impl Named for $t {
            const NAME: &'static str = $n;
        }
    };
}
named!(AutoSubmitted, "Auto-Submitted");
named!(ListId, "List-Id");
named!(ListUnsubscribe, "List-Unsubscribe");
named!(ListUnsubscribePost, "List-Unsubscribe-Post");

impl<N: Named> Header for Raw<N> {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str(N::NAME)
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Raw::new(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.value.clone())
    }
}

/// The one email sent before someone confirms: what they asked for, the link, and that
/// nothing more comes unless they press it.
pub fn confirmation(
    templates: &Templates,
    config: &Config,
    address: &str,
    components: &[String],
    confirm_url: &str,
    expires: chrono::DateTime<chrono::Utc>,
    message_id: &str,
) -> anyhow::Result<Message> {
    let site = header_text(&config.site.title);
    // None: every part of the service.
    let scope = (!components.is_empty()).then(|| {
        components
            .iter()
            .map(|c| config.component(c).map_or(c.as_str(), |x| x.name.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let subject = format!("Confirm your subscription to {site} notices");
    let data = json!({
        "site": site,
        "scope": scope,
        "confirm_url": confirm_url,
        "until": crate::notify::notice::local_time(expires, config.site.timezone),
        "subject": subject,
    });
    let (text, html) = templates.render("confirmation", &data)?;
    plain(
        config,
        address,
        &subject,
        message_id,
        SystemTime::now(),
        (text, html),
    )
}

/// A message of forewarn's own (not a notice): no list headers, no threading.
fn plain(
    config: &Config,
    address: &str,
    subject: &str,
    message_id: &str,
    date: SystemTime,
    (text, html): (String, String),
) -> anyhow::Result<Message> {
    let to: lettre::Address = address
        .parse()
        .with_context(|| format!("\"{address}\" is not an email address"))?;
    Message::builder()
        .from(config.email.from.clone())
        .to(Mailbox::new(None, to))
        .subject(header_text(subject))
        .message_id(Some(message_id.to_owned()))
        .date(date)
        .header(Raw::<AutoSubmitted>::new("auto-generated".into()))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .context("cannot assemble the email")
}

/// An operator alert: plain words, no unsubscribe (the team's own entries are edited in
/// `subscribers.toml`).
pub fn alert(
    config: &Config,
    composed: &Composed,
    address: &str,
    message_id: &str,
) -> anyhow::Result<Message> {
    let notice = crate::notify::alert::notice(config, composed).context("not an operator alert")?;
    let text = format!(
        "{}\n\n{} ({})\n\n{}\n\n{}: {}\n{}\n",
        notice.state,
        notice.title,
        notice.posted.as_deref().unwrap_or_default(),
        notice.message.trim(),
        notice.permalink_label,
        notice.permalink,
        notice.contact,
    );
    let esc = handlebars::html_escape;
    let paragraphs: String = notice
        .message
        .trim()
        .split("\n\n")
        .map(|p| format!("<p>{}</p>\n", esc(p)))
        .collect();
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body style=\"font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1d2330;max-width:600px;margin:0 auto;padding:24px 16px;\">\n<p style=\"color:#4b5565;\">{}</p>\n<h1 style=\"font-size:20px;\">{}</h1>\n{paragraphs}<p><a href=\"{}\">{}</a></p>\n<p style=\"color:#4b5565;\">{}</p>\n</body></html>\n",
        esc(&header_text(&notice.subject)),
        esc(&notice.state),
        esc(&notice.title),
        esc(&notice.permalink),
        esc(&notice.permalink_label),
        esc(&notice.contact),
    );
    plain(
        config,
        address,
        &notice.subject,
        message_id,
        SystemTime::from(composed.at),
        (text, html),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirmation_email_shows_operator_text_as_text() {
        let templates = Templates::new(None).expect("the built-in templates");
        let data = json!({
            "site": "<b>Acme</b> & Co",
            "scope": null,
            "confirm_url": "https://status.acme.test/confirm/a\"b",
            "until": "22 Nov 2026, 12:00 CET",
            "subject": "Confirm your subscription to <b>Acme</b> & Co notices",
        });
        let (text, html) = templates.render("confirmation", &data).expect("rendered");
        assert!(
            text.contains("notices from <b>Acme</b> & Co about outages"),
            "{text}"
        );
        assert!(text.contains("of every part of the service."), "{text}");
        assert!(
            html.contains("from &lt;b&gt;Acme&lt;/b&gt; &amp; Co about"),
            "{html}"
        );
        assert!(!html.contains("<b>Acme"), "{html}");
        assert!(
            html.contains("href=\"https://status.acme.test/confirm/a&quot;b\""),
            "{html}"
        );
    }
}
