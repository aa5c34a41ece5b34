//! Reading a vendor's status page, as the daemon does every `every`: a synthetic
//! Atlassian `summary.json` with 100, 1,000 and 5,000 components (a big vendor's page
//! has a few hundred) and 20 open incidents, served on 127.0.0.1. Each size is read
//! once in full, then again and again with the conditional request that gets 304 Not
//! Modified, then in full each time (a page without validators). Times are per read,
//! fetch, parse and reduction to one followed component included.
//!
//! Run with: `cargo bench --bench upstream_read` (`UPSTREAM_READ_RUNS=N`, default 200).

use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use chrono::Utc;
use forewarn::config::Config;
use forewarn::upstream::{PageReader, follow};

fn summary(components: usize) -> String {
    let comps: Vec<serde_json::Value> = (0..components)
        .map(|i| {
            serde_json::json!({
                "id": format!("c{i:06}"), "name": format!("Component {i}"),
                "status": if i == 7 { "partial_outage" } else { "operational" },
                "created_at": "2024-01-01T00:00:00.000Z", "updated_at": "2026-11-27T10:04:31.233Z",
                "position": i, "description": "Something customers use", "showcase": true,
                "start_date": null, "group_id": null, "page_id": "bench", "group": false,
                "only_show_if_degraded": false
            })
        })
        .collect();
    let incidents: Vec<serde_json::Value> = (0..20)
        .map(|i| {
            serde_json::json!({
                "id": format!("inc{i}"), "name": format!("Incident number {i}"), "status": "identified",
                "created_at": "2026-11-27T10:04:00.000Z", "updated_at": "2026-11-27T10:20:00.000Z",
                "impact": "major", "shortlink": format!("https://stspg.example/inc{i}"),
                "started_at": "2026-11-27T10:04:00.000Z", "page_id": "bench",
                "incident_updates": [{"id": "u", "status": "identified", "body": "We found the cause.", "created_at": "2026-11-27T10:20:00.000Z"}],
                "components": [comps[i % components].clone()]
            })
        })
        .collect();
    serde_json::json!({
        "page": {"id": "bench", "name": "Bench Vendor", "url": "https://status.bench.example", "time_zone": "Etc/UTC", "updated_at": "2026-11-27T10:04:31.233Z"},
        "components": comps, "incidents": incidents, "scheduled_maintenances": [],
        "status": {"indicator": "major", "description": "Partial System Outage"}
    })
    .to_string()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("UPSTREAM_READ_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("| components | body | first read | conditional (304) | full, without validators |");
    println!("| ---: | ---: | ---: | ---: | ---: |");
    for n in [100, 1_000, 5_000] {
        let body = summary(n);
        let size = body.len();
        let served = body.clone();
        let addr = rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let app = axum::Router::new().fallback(move |headers: HeaderMap| {
                let served = served.clone();
                async move {
                    if headers.get("if-none-match").is_some_and(|v| v == "\"v1\"") {
                        return (
                            axum::http::StatusCode::NOT_MODIFIED,
                            [("etag", "\"v1\"")],
                            String::new(),
                        );
                    }
                    (axum::http::StatusCode::OK, [("etag", "\"v1\"")], served)
                }
            });
            tokio::spawn(async move { axum::serve(listener, app).await.ok() });
            addr
        });
        let text = format!(
            "[site]\ntitle = \"Bench\"\nbase_url = \"https://status.bench.example\"\n[site.contact]\nemail = \"h@bench.example\"\n\n[[component]]\nid = \"c\"\nname = \"C\"\ndepends_on = [\"v\"]\n[component.check]\nurl = \"https://bench.example/\"\n\n[[upstream]]\nid = \"v\"\nname = \"Vendor\"\npage = \"http://{addr}/\"\ncomponents = [\"Component 7\"]\nkind = \"statuspage\"\n"
        );
        let config =
            Config::parse(std::path::Path::new("bench.toml"), &text, &|_| None).expect("config");
        let up = config.upstreams[0].clone();
        let (first, conditional, full) = rt.block_on(async {
            let mut reader =
                PageReader::new(None, up.kind, Duration::from_secs(15)).expect("reader");
            let t = Instant::now();
            let f = reader.read(&up.page, Utc::now()).await.expect("read");
            let first = t.elapsed();
            assert_eq!(follow(&up, &f.page).reading.incidents.len(), 1);
            let mut conditional = Vec::new();
            for _ in 0..runs {
                let t = Instant::now();
                let f = reader.read(&up.page, Utc::now()).await.expect("read");
                conditional.push(t.elapsed());
                assert!(f.unchanged);
                std::hint::black_box(follow(&up, &f.page));
            }
            let mut full = Vec::new();
            for _ in 0..runs {
                // A new reader each time holds no validators: the whole page comes.
                let mut fresh =
                    PageReader::new(None, up.kind, Duration::from_secs(15)).expect("reader");
                let t = Instant::now();
                let f = fresh.read(&up.page, Utc::now()).await.expect("read");
                full.push(t.elapsed());
                std::hint::black_box(follow(&up, &f.page));
            }
            (first, median(conditional), median(full))
        });
        println!(
            "| {n} | {:.0} KB | {:.2} ms | {:.2} ms | {:.2} ms |",
            size as f64 / 1024.0,
            first.as_secs_f64() * 1000.0,
            conditional.as_secs_f64() * 1000.0,
            full.as_secs_f64() * 1000.0
        );
    }
}
