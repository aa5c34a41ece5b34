//! The journal on NATS JetStream: a real three-server cluster on 127.0.0.1. A single
//! node's file journal imported into it is stored exactly once (an import run again
//! appends nothing, one stopped halfway appends the rest, a stream holding another
//! journal is left alone) and builds the same site, byte for byte; the journal stays
//! readable with one server killed, and the server catches up when it returns.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::nats::{NatsCluster, require_server};
use common::{forewarn, run_bounded, text, wait_until};

const LIMIT: Duration = Duration::from_secs(60);

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journal-0.1.0")
}

/// The fixture's configuration, with `[cluster]` on these servers when given.
fn config(dir: &Path, name: &str, cluster: Option<&NatsCluster>) -> PathBuf {
    let mut text = std::fs::read_to_string(fixture().join("forewarn.toml")).expect("fixture");
    if let Some(c) = cluster {
        text.push_str(&format!(
            "\n[cluster]\nnats = {}\nnode = \"importer\"\nlocation = \"Test\"\n",
            c.toml_urls()
        ));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

/// A state folder holding the fixture's journal, cut after `lines` lines when given.
fn state_with(dir: &Path, name: &str, lines: Option<usize>) -> PathBuf {
    let state = dir.join(name);
    std::fs::create_dir_all(&state).expect("mkdir");
    let journal = std::fs::read_to_string(fixture().join("journal.jsonl")).expect("fixture");
    let kept: String = match lines {
        Some(n) => journal.lines().take(n).map(|l| format!("{l}\n")).collect(),
        None => journal,
    };
    std::fs::write(state.join("journal.jsonl"), kept).expect("write journal");
    state
}

fn cli(config: &Path, state: &Path, args: &[&str]) -> (bool, String, String) {
    let out = run_bounded(
        forewarn()
            .arg("--config")
            .arg(config)
            .arg("--state")
            .arg(state)
            .args(args),
        LIMIT,
    );
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// Every file under `dir` and its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path
                    .strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string();
                out.insert(name, std::fs::read(&path).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The last record number in the fixture's first `n` lines that ends a batch.
fn batch_end_within(n: usize) -> usize {
    let journal = std::fs::read_to_string(fixture().join("journal.jsonl")).expect("fixture");
    journal
        .lines()
        .take(n)
        .enumerate()
        .filter(|(_, l)| !l.contains("\"more\":true"))
        .map(|(i, _)| i + 1)
        .last()
        .expect("a whole batch")
}

#[test]
fn a_file_journal_is_imported_once_and_builds_the_same_site_byte_for_byte() {
    // One cluster of NATS servers at a time on this machine.
    let _turn = common::nodes::serial();
    let Some(binary) = require_server() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let nats = NatsCluster::start(&binary, &dir.path().join("nats"), 3);
    let single = config(dir.path(), "single.toml", None);
    let clustered = config(dir.path(), "cluster.toml", Some(&nats));
    let total = std::fs::read_to_string(fixture().join("journal.jsonl"))
        .expect("fixture")
        .lines()
        .count();

    // An import stopped halfway: the first batches only.
    let half = batch_end_within(total / 2);
    let partial = state_with(dir.path(), "partial", Some(half));
    let (ok, out, err) = cli(
        &clustered,
        &partial,
        &[
            "cluster",
            "import",
            partial.join("journal.jsonl").to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains(&format!("Imported {half} records")), "{out}");

    // The whole file: only the rest is appended; again: nothing.
    let state = state_with(dir.path(), "state", None);
    let journal = state.join("journal.jsonl");
    let (ok, out, err) = cli(
        &clustered,
        &state,
        &["cluster", "import", journal.to_str().unwrap()],
    );
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(&format!("Imported the remaining {} records", total - half)),
        "{out}"
    );
    let (ok, out, err) = cli(
        &clustered,
        &state,
        &["cluster", "import", journal.to_str().unwrap()],
    );
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(&format!("already holds all {total} records")),
        "{out}"
    );

    let (ok, out, err) = cli(&clustered, &state, &["cluster", "status", "--json"]);
    assert!(ok, "{out}{err}");
    let status: serde_json::Value = serde_json::from_str(&out).expect("status json");
    assert_eq!(status["records"], total as u64, "{out}");
    assert_eq!(status["replicas"], 3, "{out}");

    // Another journal (the same file, changed) is refused whole, and nothing is added.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    let changed = std::fs::read_to_string(&journal)
        .expect("journal")
        .replacen("Database upgrade", "Network upgrade", 1);
    assert!(changed != std::fs::read_to_string(&journal).unwrap());
    std::fs::write(other.join("journal.jsonl"), changed).expect("write");
    let (ok, out, err) = cli(
        &clustered,
        &other,
        &[
            "cluster",
            "import",
            other.join("journal.jsonl").to_str().unwrap(),
        ],
    );
    assert!(!ok, "a different journal must be refused: {out}");
    assert!(err.contains("nothing was imported"), "{err}");
    let (_, out, _) = cli(&clustered, &state, &["cluster", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&out).expect("status json");
    assert_eq!(status["records"], total as u64);

    // The site from the cluster's journal is the file's, byte for byte: both built as
    // of the same moment (SOURCE_DATE_EPOCH), from empty state folders (no rollups).
    let empty_a = dir.path().join("empty-a");
    let empty_b = dir.path().join("empty-b");
    std::fs::create_dir_all(&empty_a).unwrap();
    std::fs::create_dir_all(&empty_b).unwrap();
    std::fs::copy(&journal, empty_a.join("journal.jsonl")).unwrap();
    let at = chrono::Utc::now().timestamp().to_string();
    let from_file = dir.path().join("site-file");
    let from_cluster = dir.path().join("site-cluster");
    let build = |config: &Path, state: &Path, out: &Path| {
        let run = run_bounded(
            forewarn()
                .arg("--config")
                .arg(config)
                .arg("--state")
                .arg(state)
                .args(["build", "--out"])
                .arg(out)
                .env("SOURCE_DATE_EPOCH", &at),
            LIMIT,
        );
        assert!(run.status.success(), "{}", text(&run.stderr));
    };
    build(&single, &empty_a, &from_file);
    build(&clustered, &empty_b, &from_cluster);
    // A SOURCE_DATE_EPOCH that is not a number of seconds is refused, naming it.
    let refused = run_bounded(
        forewarn()
            .arg("--config")
            .arg(&single)
            .arg("--state")
            .arg(&empty_a)
            .args(["build", "--out"])
            .arg(dir.path().join("site-refused"))
            .env("SOURCE_DATE_EPOCH", "yesterday"),
        LIMIT,
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("SOURCE_DATE_EPOCH is \"yesterday\""),
        "{}",
        text(&refused.stderr)
    );
    assert!(!dir.path().join("site-refused").exists(), "nothing built");
    let (a, b) = (tree(&from_file), tree(&from_cluster));
    assert!(a.len() > 20, "a whole site: {} files", a.len());
    let differ: Vec<&String> = a.keys().filter(|k| a.get(*k) != b.get(*k)).collect();
    assert!(
        differ.is_empty() && a.len() == b.len(),
        "the sites differ in {differ:?}"
    );
}

#[test]
fn the_journal_stays_readable_with_one_server_killed_and_the_server_catches_up() {
    // One cluster of NATS servers at a time on this machine.
    let _turn = common::nodes::serial();
    let Some(binary) = require_server() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut nats = NatsCluster::start(&binary, &dir.path().join("nats"), 3);
    let clustered = config(dir.path(), "cluster.toml", Some(&nats));
    let half = batch_end_within(40);
    let partial = state_with(dir.path(), "partial", Some(half));
    let (ok, out, err) = cli(
        &clustered,
        &partial,
        &[
            "cluster",
            "import",
            partial.join("journal.jsonl").to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}{err}");

    nats.kill_server(1);
    // The rest goes in while one server of three is gone.
    let state = state_with(dir.path(), "state", None);
    let journal = state.join("journal.jsonl");
    let (ok, out, err) = cli(
        &clustered,
        &state,
        &["cluster", "import", journal.to_str().unwrap()],
    );
    assert!(ok, "with a server killed: {out}{err}");
    assert!(out.contains("Imported the remaining"), "{out}");
    let (ok, out, err) = cli(&clustered, &state, &["cluster", "status"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("n2: offline") || out.contains("n2: catching up"),
        "{out}"
    );

    nats.start_server(1);
    nats.wait_ready(1);
    wait_until(
        Duration::from_secs(30),
        "the restarted server to catch up",
        || {
            let (ok, out, _) = cli(&clustered, &state, &["cluster", "status", "--json"]);
            let Ok(status) = serde_json::from_str::<serde_json::Value>(&out) else {
                return false;
            };
            ok && status["copies"].as_array().is_some_and(|c| {
                c.len() == 2 && c.iter().all(|r| r["current"] == true && r["lag"] == 0)
            })
        },
    );
}

#[test]
fn a_node_started_without_its_shared_key_or_its_location_is_told_how_to_give_them() {
    // No NATS server is needed: these are refused before any connection.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("forewarn.toml");
    let base = std::fs::read_to_string(fixture().join("forewarn.toml")).expect("fixture");
    std::fs::write(
        &path,
        format!("{base}\n[cluster]\nnats = [\"nats://127.0.0.1:9\"]\nnode = \"fra-1\"\n"),
    )
    .expect("write");
    let state = dir.path().join("state");
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = forewarn();
        cmd.arg("--config")
            .arg(&path)
            .arg("--state")
            .arg(&state)
            .arg("run")
            .args(args)
            .env_remove("FOREWARN_SECRET")
            .env_remove("FOREWARN_NODE")
            .env_remove("FOREWARN_LOCATION")
            .env_remove("FOREWARN_PROBE_FROM")
            .envs(env.iter().copied());
        run_bounded(&mut cmd, LIMIT)
    };
    let out = run(&[], &["--location", "Frankfurt"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("FOREWARN_SECRET"), "{err}");
    assert!(err.contains("state/secret"), "{err}");

    let key = [(
        "FOREWARN_SECRET",
        "a-shared-signing-key-of-at-least-32-characters",
    )];
    let out = run(&key, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    for way in ["location = ", "--location", "FOREWARN_LOCATION"] {
        assert!(err.contains(way), "{way} in {err}");
    }

    let out = run(
        &key,
        &["--location", "Frankfurt", "--probe-from", "192.0.2.77"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot send from 192.0.2.77"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_journal_stream_made_with_one_copy_gets_three_once_a_node_joins_asking_for_them() {
    // One cluster of NATS servers at a time on this machine.
    let _turn = common::nodes::serial();
    let Some(binary) = require_server() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let nats = NatsCluster::start(&binary, &dir.path().join("nats"), 3);
    let one = config(dir.path(), "one.toml", Some(&nats));
    let mut text_one = std::fs::read_to_string(&one).expect("config");
    text_one.push_str("replicas = 1\n");
    std::fs::write(&one, text_one).expect("write config");
    let state = state_with(dir.path(), "state", Some(batch_end_within(20)));
    let (ok, out, err) = cli(
        &one,
        &state,
        &[
            "cluster",
            "import",
            state.join("journal.jsonl").to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}{err}");
    let replicas = |config: &Path| {
        let (ok, out, err) = cli(config, &state, &["cluster", "status", "--json"]);
        assert!(ok, "{out}{err}");
        serde_json::from_str::<serde_json::Value>(&out).expect("status json")["replicas"].clone()
    };
    let three = config(dir.path(), "three.toml", Some(&nats));
    assert_eq!(replicas(&one), 1);
    assert_eq!(replicas(&three), 1, "a command only reads");

    // A node started with the default (3) has the servers copy the journal to all three.
    let node_state = dir.path().join("node").join("state");
    std::fs::create_dir_all(&node_state).expect("mkdir");
    let running = common::Running::new(
        common::daemon_command(&three, &node_state)
            .env("FOREWARN_SECRET", "a-shared-signing-key-for-every-node")
            .spawn()
            .expect("start a node"),
    );
    wait_until(Duration::from_secs(30), "three copies", || {
        replicas(&three) == 3
    });
    running.stop();
    assert!(
        common::daemon_log(&node_state)
            .contains("the journal stream now follows the configuration's replicas"),
        "{}",
        common::daemon_log(&node_state)
    );
}
