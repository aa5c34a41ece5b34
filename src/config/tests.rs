//! Unit tests of configuration loading with inline TOML.

use super::*;

pub(crate) const MINIMAL: &str = r#"
[site]
title = "Acme Status"
base_url = "https://status.acme.test"

[site.contact]
email = "help@acme.test"

[[component]]
id = "api"
name = "Public API"

[component.check]
url = "https://api.acme.test/health"
every = "30s"
"#;

pub(crate) fn minimal() -> Config {
    parse(MINIMAL).expect("the minimal config is valid")
}

fn parse(src: &str) -> Result<Config, Diagnostics> {
    let env = |name: &str| (name == "TOKEN").then(|| "s3cret".to_owned());
    Config::parse(Path::new("config/forewarn.toml"), src, &env)
}

#[test]
fn defaults_are_filled_in() {
    let c = minimal();
    assert_eq!(c.site.timezone, chrono_tz::UTC);
    let check = &c.components[0].check;
    assert_eq!(check.fail_after, DEFAULT_FAIL_AFTER);
    assert_eq!(check.recover_after, DEFAULT_RECOVER_AFTER);
    assert_eq!(check.timeout, DEFAULT_TIMEOUT);
    assert_eq!(check.severity, ComponentStatus::MajorOutage);
    match &check.target {
        Target::Http(h) => {
            assert!(h.follow_redirects);
            assert_eq!(h.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
            assert!(h.expect_status.is_empty());
        }
        other => panic!("expected http, got {other:?}"),
    }
}

#[test]
fn the_shipped_example_is_valid() {
    let c = parse(include_str!("../../config/forewarn.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.components.len(), 6);
    let kinds: Vec<&str> = c.components.iter().map(|c| c.check.target.kind()).collect();
    assert_eq!(kinds, ["http", "http", "tls", "tcp", "dns", "tcp"]);
    assert_eq!(
        c.components.iter().filter(|c| !c.public).count(),
        1,
        "one component for operators only"
    );
}

#[test]
fn secrets_come_from_the_environment_and_never_show() {
    let src = MINIMAL.replace(
        "every = \"30s\"",
        "every = \"30s\"\nheaders_env = { Authorization = \"TOKEN\" }",
    );
    let c = parse(&src).unwrap();
    let Target::Http(h) = &c.components[0].check.target else {
        panic!("http expected")
    };
    assert_eq!(h.headers["authorization"], "s3cret");
    assert!(h.headers["authorization"].is_sensitive());
    assert!(
        !format!("{c:?}").contains("s3cret"),
        "Debug output must not reveal secrets"
    );

    let missing = MINIMAL.replace(
        "every = \"30s\"",
        "every = \"30s\"\nheaders_env = { Authorization = \"NOT_SET\" }",
    );
    let e = parse(&missing).unwrap_err().to_string();
    assert!(e.contains("environment variable NOT_SET is not set"), "{e}");
}

#[test]
fn dollar_variables_are_not_expanded() {
    let src = MINIMAL.replace("Public API", "Costs ${TOKEN}");
    assert_eq!(parse(&src).unwrap().components[0].name, "Costs ${TOKEN}");
}

#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    let src = r#"
[site]
title = "Acme"
base_url = "ftp://acme.test"

[site.contact]
email = "help@acme.test"

[[component]]
id = "api"
name = "API"

[component.check]
url = "https://api.acme.test/"
every = "30x"
timout = "5s"
"#;
    let diags = parse(src).unwrap_err();
    let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].starts_with("config/forewarn.toml:4:12: site.base_url:"),
        "{lines:#?}"
    );
    assert_eq!(
        lines[1],
        "config/forewarn.toml:15:9: component \"api\": check.every: \"30x\" is not a duration (write a number and a unit, such as \"30s\", \"5m\" or \"1h\")"
    );
    assert_eq!(
        lines[2],
        "config/forewarn.toml:16:1: component \"api\": check.timout: unknown key; did you mean \"timeout\"?"
    );
}

#[test]
fn a_cluster_table_is_read_with_its_defaults() {
    let c = parse(&format!(
        "{MINIMAL}\n[cluster]\nnats = [\"nats://10.0.0.1:4222\", \"10.0.0.2:4222\"]\ntoken_env = \"TOKEN\"\nnode = \"fra-1\"\nlocation = \"Frankfurt\"\nquorum = 2\nprobe_from = \"192.0.2.10\"\n"
    ))
    .expect("valid");
    let cluster = c.cluster.expect("[cluster]");
    assert_eq!(
        cluster.nats,
        ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]
    );
    assert_eq!(cluster.token.as_ref().map(|t| t.0.as_str()), Some("s3cret"));
    assert_eq!(cluster.quorum, Some(2));
    assert_eq!(cluster.replicas, 3);
    assert_eq!(cluster.lease, cluster::DEFAULT_LEASE);
    assert_eq!(cluster.namespace, "forewarn");
    assert!(minimal().cluster.is_none());
}

#[test]
fn a_broken_cluster_table_is_told_key_by_key() {
    let err = parse(&format!(
        "{MINIMAL}\n[cluster]\nnats = [\"http://10.0.0.1:4222\"]\ntoken_env = \"UNSET_VAR\"\nnode = \"Frankfurt One\"\nquorum = 0\nprobe_from = \"somewhere\"\nlease = \"50ms\"\nduplicate_window = \"10s\"\npassword = \"x\"\n"
    ))
    .unwrap_err()
    .to_string();
    for expected in [
        "cluster.nats: \"http://10.0.0.1:4222\" is not a NATS server address",
        "cluster.token_env: environment variable UNSET_VAR is not set",
        "cluster.node: \"Frankfurt One\" is not a valid id",
        "cluster.quorum: 0 is out of range",
        "cluster.probe_from: \"somewhere\" is not an IP address",
        "cluster.lease: 50ms is out of range",
        "cluster.duplicate_window: 10s is out of range",
        "secrets come from the environment",
    ] {
        assert!(err.contains(expected), "{expected:?} in:\n{err}");
    }
    assert!(err.contains("config/forewarn.toml:"), "{err}");
}
