//! The demo's pretend service: healthy, failing and slow endpoints on 127.0.0.1 that
//! follow a scripted story, and its payment provider's status page (in Atlassian
//! Statuspage's shape), which reports an outage of card payments.

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
    /// The payment provider's page reports an outage of card payments.
    pub provider_outage: (f64, f64),
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
    provider_outage: (16.0, 68.0),
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
        .route("/provider/api/v2/summary.json", get(provider))
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

/// The payment provider's status page: Statuspage's `summary.json`, with card payments
/// in a partial outage and an incident about it while the story says so.
async fn provider(State(clock): State<Arc<Clock>>) -> ([(&'static str, &'static str); 1], String) {
    let trouble = clock.within(STORY.provider_outage);
    let began = chrono::Utc::now()
        - chrono::TimeDelta::milliseconds(
            ((clock.now() - STORY.provider_outage.0) * 1000.0 / clock.speed) as i64,
        );
    let at = began.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let cards = if trouble {
        "partial_outage"
    } else {
        "operational"
    };
    let component = |id: &str, name: &str, status: &str| {
        serde_json::json!({
            "id": id, "name": name, "status": status, "created_at": "2024-01-01T00:00:00.000Z",
            "updated_at": at, "position": 1, "description": null, "showcase": true,
            "start_date": null, "group_id": null, "page_id": "demoprovider", "group": false,
            "only_show_if_degraded": false
        })
    };
    let incidents = if trouble {
        serde_json::json!([{
            "id": "demo-cards", "name": "Card payments failing for some merchants",
            "status": "identified", "created_at": at, "updated_at": at, "monitoring_at": null,
            "resolved_at": null, "impact": "major", "shortlink": "https://status.payments-provider.test/incidents/demo-cards",
            "started_at": at, "page_id": "demoprovider", "incident_updates": [],
            "components": [component("cards", "Card payments", cards)]
        }])
    } else {
        serde_json::json!([])
    };
    let body = serde_json::json!({
        "page": {"id": "demoprovider", "name": "Payment Provider", "url": "https://status.payments-provider.test", "time_zone": "Etc/UTC", "updated_at": at},
        "components": [component("api", "API", "operational"), component("cards", "Card payments", cards)],
        "incidents": incidents,
        "scheduled_maintenances": [],
        "status": if trouble {
            serde_json::json!({"indicator": "major", "description": "Partial System Outage"})
        } else {
            serde_json::json!({"indicator": "none", "description": "All Systems Operational"})
        },
    });
    ([("content-type", "application/json")], body.to_string())
}
