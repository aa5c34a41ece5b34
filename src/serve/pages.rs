//! The few pages the front writes itself. Plain HTML with a form where a choice is
//! needed; no script, no cookie.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use handlebars::html_escape;

fn page(status: StatusCode, site: &str, heading: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n<title>{heading} · {site}</title>\n<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1d2330}}button{{font:inherit;padding:.6rem 1rem;border-radius:6px;border:0;background:#1d4ed8;color:#fff;cursor:pointer}}a{{color:#1d4ed8}}</style>\n</head>\n<body>\n<main>\n<p><a href=\"../\">{site}</a></p>\n<h1>{heading}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        site = html_escape(site),
        heading = html_escape(heading),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

pub fn confirm_unsubscribe(site: &str, address: &str) -> Response {
    page(
        StatusCode::OK,
        site,
        "Stop these notices?",
        &format!(
            "<p>Notices about outages and maintenance go to <strong>{}</strong>. Press the button to stop them; nothing else changes.</p>\n<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>",
            html_escape(address)
        ),
    )
}

pub fn unsubscribed(site: &str, address: &str) -> Response {
    page(
        StatusCode::OK,
        site,
        "You are unsubscribed",
        &format!(
            "<p>No more notices will be sent to <strong>{}</strong>. The status page stays open to everyone.</p>",
            html_escape(address)
        ),
    )
}

pub fn invalid_link(site: &str) -> Response {
    page(
        StatusCode::NOT_FOUND,
        site,
        "This link does not work",
        "<p>The link is incomplete, or it was not made by this status page. Copy the whole link from the email, or use the contact details on the status page.</p>",
    )
}

pub fn bad_request(site: &str, why: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        site,
        "This request cannot be answered",
        &format!("<p>{}</p>", html_escape(why)),
    )
}

pub fn unavailable(site: &str) -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        site,
        "Please try again in a minute",
        "<p>The status page cannot record this right now. Nothing was changed.</p>",
    )
}

pub fn check_inbox(site: &str) -> Response {
    page(
        StatusCode::OK,
        site,
        "Check your inbox",
        "<p>If this address can receive notices, an email with a link to confirm is on its way. Nothing more is sent until you press it. The link works for 48 hours.</p>",
    )
}

pub fn too_many(site: &str) -> Response {
    page(
        StatusCode::TOO_MANY_REQUESTS,
        site,
        "Please wait a while",
        "<p>Too many sign-ups came from here or for this address lately. Try again later; an email already sent still works.</p>",
    )
}

pub fn confirm_subscription(site: &str, address: &str) -> Response {
    page(
        StatusCode::OK,
        site,
        "Confirm your subscription",
        &format!(
            "<p>Notices about outages and maintenance will go to <strong>{}</strong>, from their start until they are fixed. Every notice has a link to stop them.</p>\n<form method=\"post\"><button type=\"submit\">Confirm</button></form>",
            html_escape(address)
        ),
    )
}

pub fn subscribed(site: &str, address: &str) -> Response {
    page(
        StatusCode::OK,
        site,
        "You are subscribed",
        &format!(
            "<p><strong>{}</strong> will hear about outages first, as the repair goes on, and when it is over.</p>",
            html_escape(address)
        ),
    )
}

pub fn expired_link(site: &str) -> Response {
    page(
        StatusCode::NOT_FOUND,
        site,
        "This link does not work",
        "<p>It has expired, was already used up by a newer sign-up, or is incomplete. Sign up again from the status page to get a new one.</p>",
    )
}

pub fn manage(site: &str, token: &str, m: &super::Manage) -> Response {
    let token = html_escape(token);
    let mut body = String::new();
    if m.saved {
        body.push_str("<p role=\"status\"><strong>Saved.</strong></p>\n");
    }
    if let Some(p) = &m.problem {
        body.push_str(&format!("<p role=\"alert\">{}</p>\n", html_escape(p)));
    }
    body.push_str(&format!(
        "<p>Notices go to <strong>{}</strong>.</p>\n",
        html_escape(&m.address)
    ));
    if m.from_file {
        body.push_str("<p>This address is on the list our team keeps, so they choose what it hears about: ask them to change it (every notice says how to reach them).</p>\n");
    } else {
        let none = m.components.iter().all(|(_, _, c)| !c);
        body.push_str("<form method=\"post\">\n<fieldset>\n<legend>Hear about (leave all unticked for everything)</legend>\n");
        for (id, name, chosen) in &m.components {
            body.push_str(&format!(
                "<label><input type=\"checkbox\" name=\"components\" value=\"{}\"{}> {}</label><br>\n",
                html_escape(id),
                if *chosen { " checked" } else { "" },
                html_escape(name)
            ));
        }
        body.push_str(&format!(
            "</fieldset>\n<p>Now: {}.</p>\n<button type=\"submit\">Save</button>\n</form>\n",
            if none {
                "everything"
            } else {
                "only what is ticked"
            }
        ));
    }
    body.push_str(&format!(
        "<h2>Leave</h2>\n<form method=\"post\" action=\"../unsubscribe/{token}\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>"
    ));
    let status = if m.problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page(status, site, "Your notices", &body)
}
