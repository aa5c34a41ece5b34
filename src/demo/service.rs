//! The demo's pretend service: healthy, failing and slow endpoints on 127.0.0.1 that
//! follow a scripted story.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The story, in seconds of demo time (divided by the speed factor in real time).
pub struct Story {
    pub checkout_fails: (f64, f64),
    pub search_slow: (f64, f64),
    /// Search, slow until then, fails outright: the slowdown escalates to an outage.
    pub search_down: (f64, f64),
    /// The planned maintenance window of the database.
    pub maintenance: (f64, f64),
    /// The database is down for part of its maintenance.
    pub database_down: (f64, f64),
    pub ends: f64,
    /// How slow the search endpoint answers while it is slow.
    pub slow_answer: f64,
}

pub const STORY: Story = Story {
    checkout_fails: (20.0, 70.0),
    search_slow: (35.0, 45.0),
    search_down: (45.0, 55.0),
    maintenance: (58.0, 74.0),
    database_down: (60.0, 70.0),
    ends: 92.0,
    slow_answer: 1.2,
};

#[derive(Clone)]
struct Clock {
    started: Instant,
    speed: f64,
}

impl Clock {
    /// Demo seconds since the start.
    fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * self.speed
    }

    fn within(&self, (from, to): (f64, f64)) -> bool {
        (from..to).contains(&self.now())
    }
}

/// Start the service; returns its address. It stops when `stop` is cancelled.
/// The demo partner's webhook receiver: checks each signature and says what came.
#[derive(Clone)]
pub struct Hooks {
    pub secret: String,
    pub said: mpsc::UnboundedSender<String>,
}

async fn hook(State(hooks): State<Hooks>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, ts) = (header("webhook-id"), header("webhook-timestamp"));
    let valid = ts
        .parse::<i64>()
        .ok()
        .and_then(|ts| crate::notify::channels::standard::sign(&hooks.secret, &id, ts, &body).ok())
        .is_some_and(|sig| header("webhook-signature").split(' ').any(|s| s == sig));
    if !valid {
        let _ = hooks
            .said
            .send("(partner's webhook receiver) rejected a request with a bad signature".into());
        return StatusCode::UNAUTHORIZED;
    }
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let about = json["data"]["incident"]["reference"]
        .as_str()
        .or(json["data"]["component"]["name"].as_str())
        .unwrap_or("");
    let _ = hooks.said.send(format!(
        "(partner's webhook receiver) {} {about}, signature valid, id {id}",
        json["type"].as_str().unwrap_or("?")
    ));
    StatusCode::NO_CONTENT
}

pub async fn start(
    speed: f64,
    started: Instant,
    stop: CancellationToken,
    hooks: Hooks,
) -> std::io::Result<SocketAddr> {
    let clock = Arc::new(Clock { started, speed });
    let app = Router::new()
        .route(
            "/api/health",
            get(|| async { (StatusCode::OK, "{\"status\":\"ok\"}") }),
        )
        .route("/checkout/health", get(checkout))
        .route("/search/health", get(search))
        .route("/database/health", get(database))
        .with_state(clock)
        .merge(
            Router::new()
                .route("/hooks/forewarn", post(hook))
                .with_state(hooks),
        );
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
    });
    Ok(addr)
}

async fn checkout(State(clock): State<Arc<Clock>>) -> (StatusCode, &'static str) {
    if clock.within(STORY.checkout_fails) {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "{\"status\":\"unavailable\"}",
        )
    } else {
        (StatusCode::OK, "{\"status\":\"ok\"}")
    }
}

async fn search(State(clock): State<Arc<Clock>>) -> (StatusCode, &'static str) {
    if clock.within(STORY.search_down) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "{\"status\":\"unavailable\"}",
        );
    }
    if clock.within(STORY.search_slow) {
        tokio::time::sleep(Duration::from_secs_f64(STORY.slow_answer / clock.speed)).await;
    }
    (StatusCode::OK, "{\"status\":\"ok\"}")
}

async fn database(State(clock): State<Arc<Clock>>) -> (StatusCode, &'static str) {
    if clock.within(STORY.database_down) {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "{\"status\":\"upgrading\"}",
        )
    } else {
        (StatusCode::OK, "{\"status\":\"ok\"}")
    }
}
