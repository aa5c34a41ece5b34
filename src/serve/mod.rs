//! forewarn's HTTP front, run inside the daemon (`forewarn run --listen ADDR` or
//! `[serve] listen`): it serves the built status site, answers one-click unsubscribe
//! (RFC 8058), and says whether the daemon is alive and ready.
//!
//! Handlers hold no state of their own: anything about subscribers is asked of the
//! daemon's main loop over a channel, which owns the journal.

pub mod bridge;
pub mod connections;
mod files;
mod pages;
mod subscribe;

use crate::config::Config;
pub use crate::notify::asks::{Ask, Manage, Registered, SignUp, WebhookRequest};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

/// The largest request body read; anything longer is refused unread.
pub const MAX_BODY: usize = 16 * 1024;
/// How long a handler waits for the daemon's answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `/readyz` waits: a daemon still replaying its journal is not ready, and a
/// load balancer should hear so at once.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Clone)]
struct Front {
    asks: mpsc::Sender<Ask>,
    site: PathBuf,
    title: String,
    /// Sign-ups per client address.
    limiter: Arc<subscribe::Limiter>,
    /// The bearer token of `POST /webhooks`; none: no such endpoint.
    admin_token: Option<Arc<String>>,
    trusted_proxies: Arc<Vec<std::net::IpAddr>>,
}

/// Listen on `addr` until `shutdown`; returns the address bound (port 0 picks one).
/// The front holds no more connections than the open-file limit allows once `kept`
/// descriptors are left for the rest of the process (see [`connections`]).
pub async fn start(
    addr: SocketAddr,
    site: PathBuf,
    config: &Config,
    asks: mpsc::Sender<Ask>,
    shutdown: CancellationToken,
    kept: usize,
) -> std::io::Result<SocketAddr> {
    let front = Front {
        asks,
        site,
        title: config.site.title.clone(),
        limiter: Arc::new(subscribe::Limiter::default()),
        trusted_proxies: Arc::new(config.serve.trusted_proxies.clone()),
        admin_token: config
            .serve
            .admin_token
            .as_ref()
            .map(|t| Arc::new(t.0.clone())),
    };
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe),
        )
        .route("/subscribe", axum::routing::post(subscribe::subscribe))
        .route("/manage/{token}", get(manage_page).post(manage))
        .route("/webhooks", axum::routing::post(register_webhook))
        .route("/heartbeat/{token}", get(beat).post(beat))
        .route(
            "/heartbeat/{token}/fail",
            get(beat_failed).post(beat_failed),
        )
        .route(
            "/confirm/{token}",
            get(subscribe::confirm_page).post(subscribe::confirm),
        )
        .fallback(files::serve)
        .with_state(front)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // Refuses a longer announced Content-Length before reading any of it.
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::map_response(security_headers));
    let listener = connections::listen(addr)?;
    let bound = listener.local_addr()?;
    let limits = config.serve.limits;
    let capacity = connections::capacity(&limits, kept);
    let exempt = Arc::new(config.serve.trusted_proxies.clone());
    tokio::spawn(connections::serve(
        listener, app, limits, capacity, exempt, shutdown,
    ));
    Ok(bound)
}

/// Headers every answer carries: no script at all, no framing, no sniffing, and no
/// Referer (unsubscribe links hold a token).
async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

impl Front {
    /// Ask the daemon, waiting at most `ASK_TIMEOUT` in all (queue and answer).
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Ask) -> Option<T> {
        self.ask_within(ASK_TIMEOUT, make).await
    }

    async fn ask_within<T>(
        &self,
        limit: Duration,
        make: impl FnOnce(oneshot::Sender<T>) -> Ask,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        tokio::time::timeout(limit, async {
            self.asks.send(make(tx)).await.ok()?;
            rx.await.ok()
        })
        .await
        .ok()
        .flatten()
    }
}

async fn ready(State(front): State<Front>) -> Response {
    match front
        .ask_within(READY_TIMEOUT, |reply| Ask::Ready { reply })
        .await
    {
        Some(true) => (StatusCode::OK, "ready\n").into_response(),
        Some(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the journal cannot be written\n",
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the daemon is starting (replaying its journal) or not answering\n",
        )
            .into_response(),
    }
}

/// `GET` or `POST /heartbeat/<token>`: a job ran.
async fn beat(State(front): State<Front>, Path(token): Path<String>) -> Response {
    heartbeat(&front, token, false).await
}

/// `GET` or `POST /heartbeat/<token>/fail`: a job says it failed.
async fn beat_failed(State(front): State<Front>, Path(token): Path<String>) -> Response {
    heartbeat(&front, token, true).await
}

/// Plain words for the job's log: what was recorded, or why nothing was.
async fn heartbeat(front: &Front, token: String, fail: bool) -> Response {
    let text = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    match front
        .ask(|reply| Ask::Heartbeat { token, fail, reply })
        .await
    {
        Some(Some(name)) => {
            let what = if fail { "failure" } else { "heartbeat" };
            (StatusCode::OK, text, format!("OK: {what} of {name} recorded\n")).into_response()
        }
        Some(None) => (
            StatusCode::NOT_FOUND,
            text,
            "No heartbeat check has this address; `forewarn heartbeat-url COMPONENT` shows the right one\n",
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::RETRY_AFTER, "10"),
            ],
            "Not recorded: forewarn is starting or not answering; try again\n",
        )
            .into_response(),
    }
}

async fn manage_page(State(front): State<Front>, Path(token): Path<String>) -> Response {
    show_manage(&front, &token, None).await
}

/// Save the components ticked (`components=api&components=search`; none: everything).
async fn manage(State(front): State<Front>, Path(token): Path<String>, body: Bytes) -> Response {
    let chosen: Vec<String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "components")
        .map(|(_, v)| v.into_owned())
        .collect();
    show_manage(&front, &token, Some(chosen)).await
}

async fn show_manage(front: &Front, token: &str, set: Option<Vec<String>>) -> Response {
    let asked = front
        .ask(|reply| Ask::Manage {
            token: token.to_owned(),
            set,
            reply,
        })
        .await;
    match asked {
        Some(Some(m)) => pages::manage(&front.title, token, &m),
        Some(None) => pages::invalid_link(&front.title),
        None => pages::unavailable(&front.title),
    }
}

/// `POST /webhooks` with `Authorization: Bearer <admin token>` and JSON
/// `{"url": "...", "format": "standard", "components": ["api"]}`.
async fn register_webhook(
    State(front): State<Front>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let Some(expected) = &front.admin_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !crate::notify::token::same(expected, given) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(serde_json::json!({"error": "a valid bearer token is required"})),
        )
            .into_response();
    }
    let Ok(request) = serde_json::from_slice::<WebhookRequest>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": "send JSON such as {\"url\": \"https://...\", \"format\": \"standard\", \"components\": [\"api\"]}"})),
        )
            .into_response();
    };
    match front
        .ask(|reply| Ask::RegisterWebhook { request, reply })
        .await
    {
        Some(Ok(registered)) => (StatusCode::CREATED, axum::Json(registered)).into_response(),
        Some(Err((code, error))) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
            axum::Json(serde_json::json!({ "error": error })),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"error": "try again in a minute"})),
        )
            .into_response(),
    }
}

async fn metrics(State(front): State<Front>) -> Response {
    match front.ask(|reply| Ask::Metrics { reply }).await {
        Some(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the daemon did not answer\n",
        )
            .into_response(),
    }
}

/// GET shows a button and never unsubscribes: mail scanners follow links.
async fn unsubscribe_page(State(front): State<Front>, Path(token): Path<String>) -> Response {
    match front.ask(|reply| Ask::Lookup { token, reply }).await {
        Some(Some(address)) => pages::confirm_unsubscribe(&front.title, &address),
        Some(None) => pages::invalid_link(&front.title),
        None => pages::unavailable(&front.title),
    }
}

/// RFC 8058 one-click: a POST whose body is `List-Unsubscribe=One-Click` (the page's
/// button sends the same). No redirect, no cookie.
async fn unsubscribe(
    State(front): State<Front>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    // `List-Unsubscribe=One-Click`, urlencoded or as a multipart/form-data field.
    let text = String::from_utf8_lossy(&body);
    let one_click = text.contains("List-Unsubscribe") && text.contains("One-Click");
    if !one_click {
        return pages::bad_request(
            &front.title,
            "This address unsubscribes with a POST of List-Unsubscribe=One-Click.",
        );
    }
    match front.ask(|reply| Ask::Unsubscribe { token, reply }).await {
        Some(Some(address)) => pages::unsubscribed(&front.title, &address),
        Some(None) => pages::invalid_link(&front.title),
        None => pages::unavailable(&front.title),
    }
}
