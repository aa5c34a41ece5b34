//! The few pages the front answers with itself (unsubscribe, confirm, manage, and what
//! goes wrong), from the templates in `templates/front/`, compiled into the binary.
//! Plain HTML with a form where a choice is needed; no script, no cookie. Everything
//! shown is HTML-escaped by the templates.

use std::sync::OnceLock;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use handlebars::Handlebars;
use serde_json::{Value, json};

macro_rules! front {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../templates/front/", $name, ".hbs")),
        )
    };
}

const TEMPLATES: &[(&str, &str)] = &[
    front!("layout"),
    front!("confirm-unsubscribe"),
    front!("unsubscribed"),
    front!("invalid-link"),
    front!("bad-request"),
    front!("unavailable"),
    front!("check-inbox"),
    front!("too-many"),
    front!("confirm-subscription"),
    front!("subscribed"),
    front!("expired-link"),
    front!("manage"),
];

fn registry() -> &'static Handlebars<'static> {
    static REGISTRY: OnceLock<Handlebars<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        for (name, text) in TEMPLATES {
            let name = if *name == "layout" {
                "front-layout"
            } else {
                name
            };
            // Built in and checked by this module's test: a broken one cannot ship.
            if let Err(e) = hb.register_template_string(name, *text) {
                tracing::error!(template = name, error = %e, "a built-in page template is not valid");
            }
        }
        hb
    })
}

fn page(status: StatusCode, template: &str, site: &str, data: Value) -> Response {
    let mut data = data;
    data["site"] = json!(site);
    let html = registry().render(template, &data).unwrap_or_else(|e| {
        tracing::error!(template, error = %e, "cannot render a page of the front");
        String::from(
            "<!DOCTYPE html><title>Please try again</title><p>Please try again in a minute.</p>",
        )
    });
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
        "confirm-unsubscribe",
        site,
        json!({ "address": address }),
    )
}

pub fn unsubscribed(site: &str, address: &str) -> Response {
    page(
        StatusCode::OK,
        "unsubscribed",
        site,
        json!({ "address": address }),
    )
}

pub fn invalid_link(site: &str) -> Response {
    page(StatusCode::NOT_FOUND, "invalid-link", site, json!({}))
}

pub fn bad_request(site: &str, why: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "bad-request",
        site,
        json!({ "why": why }),
    )
}

pub fn unavailable(site: &str) -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        site,
        json!({}),
    )
}

pub fn check_inbox(site: &str) -> Response {
    page(StatusCode::OK, "check-inbox", site, json!({}))
}

pub fn too_many(site: &str) -> Response {
    page(StatusCode::TOO_MANY_REQUESTS, "too-many", site, json!({}))
}

pub fn confirm_subscription(site: &str, address: &str) -> Response {
    page(
        StatusCode::OK,
        "confirm-subscription",
        site,
        json!({ "address": address }),
    )
}

pub fn subscribed(site: &str, address: &str) -> Response {
    page(
        StatusCode::OK,
        "subscribed",
        site,
        json!({ "address": address }),
    )
}

pub fn expired_link(site: &str) -> Response {
    page(StatusCode::NOT_FOUND, "expired-link", site, json!({}))
}

pub fn manage(site: &str, token: &str, m: &super::Manage) -> Response {
    let components: Vec<Value> = m
        .components
        .iter()
        .map(|(id, name, chosen)| json!({ "id": id, "name": name, "chosen": chosen }))
        .collect();
    let status = if m.problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page(
        status,
        "manage",
        site,
        json!({
            "token": token,
            "address": m.address,
            "saved": m.saved,
            "problem": m.problem,
            "from_file": m.from_file,
            "components": components,
            "everything": m.components.iter().all(|(_, _, chosen)| !chosen),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[test]
    fn every_built_in_page_template_is_valid() {
        for (name, text) in TEMPLATES {
            let mut hb = Handlebars::new();
            hb.register_template_string(name, *text)
                .unwrap_or_else(|e| panic!("templates/front/{name}.hbs: {e}"));
        }
        assert_eq!(registry().get_templates().len(), TEMPLATES.len());
    }

    #[tokio::test]
    async fn operator_and_visitor_text_is_escaped_and_the_page_has_its_words() {
        let page = body(unsubscribed("<b>Acme</b>", "o…@x.test<script>")).await;
        assert!(page.contains("<h1>You are unsubscribed</h1>"), "{page}");
        assert!(page.contains("&lt;b&gt;Acme&lt;/b&gt;"), "{page}");
        assert!(!page.contains("<script>"), "{page}");
        let manage = body(manage(
            "Acme",
            "tok\"en",
            &super::super::Manage {
                address: "a…@x.test".into(),
                components: vec![
                    ("api".into(), "Public <API>".into(), true),
                    ("web".into(), "Website".into(), false),
                ],
                from_file: false,
                saved: true,
                problem: None,
            },
        ))
        .await;
        assert!(manage.contains("<strong>Saved.</strong>"));
        assert!(
            manage.contains("value=\"api\" checked> Public &lt;API&gt;"),
            "{manage}"
        );
        assert!(manage.contains("value=\"web\"> Website"));
        assert!(manage.contains("Now: only what is ticked."));
        assert!(
            manage.contains("action=\"../unsubscribe/tok&quot;en\""),
            "{manage}"
        );
    }
}
