//! The `[cluster]` table: several forewarn nodes in several locations sharing one
//! journal on NATS JetStream. Absent, forewarn is one node with its file journal.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::diagnostic::Report;
use super::email::Secret;
use super::reader::{Table, array_string};
use super::values::{self, duration_key, show_duration};

const CLUSTER_KEYS: &[&str] = &[
    "nats",
    "credentials_env",
    "token_env",
    "tls_ca_file",
    "tls_cert_file",
    "tls_key_file",
    "tls_required",
    "node",
    "location",
    "quorum",
    "probe_from",
    "namespace",
    "replicas",
    "lease",
    "duplicate_window",
];

/// How long the leader's lease lasts unless `lease` says otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);
/// How long JetStream remembers a message id, unless `duplicate_window` says otherwise.
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// The longest a node retries one append before it gives up and says so; the
/// duplicate window must be longer, so a retry is never stored twice.
pub const APPEND_RETRY_FOR: Duration = Duration::from_secs(30);
/// How many servers keep each journal message unless `replicas` says otherwise.
pub const DEFAULT_REPLICAS: usize = 3;

/// The `[cluster]` table, read, with `node`, `location` and `probe_from` as the file
/// gives them (the command line and the environment may override them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// The NATS servers to connect to (`nats://host:port` or `tls://host:port`).
    pub nats: Vec<String>,
    /// A NATS credentials file's contents (JWT and seed), from `credentials_env`.
    pub credentials: Option<SecretText>,
    /// A NATS token, from `token_env`.
    pub token: Option<SecretText>,
    pub tls: ClusterTls,
    /// This node's name, unique in the cluster.
    pub node: Option<String>,
    /// Where this node probes from, as customers and operators read it ("Frankfurt").
    pub location: Option<String>,
    /// Locations that must confirm a failure; `None`: a majority of those seen.
    pub quorum: Option<usize>,
    /// The source address of this node's probes.
    pub probe_from: Option<IpAddr>,
    /// The prefix of the stream, bucket and subjects (several sites may share one
    /// NATS cluster).
    pub namespace: String,
    /// How many servers keep each journal message.
    pub replicas: usize,
    /// How long the leader's lease lasts without renewal.
    pub lease: Duration,
    /// How long JetStream remembers a message id, to store a retried append once.
    pub duplicate_window: Duration,
}

/// A secret that compares equal by value (for configuration reloads) and never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(pub String);

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(…)")
    }
}

impl From<Secret> for SecretText {
    fn from(s: Secret) -> Self {
        SecretText(s.0)
    }
}

/// TLS to the NATS servers, beyond what `tls://` addresses ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterTls {
    /// Require TLS even for `nats://` addresses.
    pub required: bool,
    /// Extra trusted roots (PEM), for servers with a private CA.
    pub ca_file: Option<PathBuf>,
    /// A client certificate and its key (PEM), for servers that ask for one.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

/// What may override the file for one node: `forewarn run --node/--location/--probe-from`
/// or `FOREWARN_NODE`, `FOREWARN_LOCATION`, `FOREWARN_PROBE_FROM`.
#[derive(Debug, Clone, Default)]
pub struct NodeOverrides {
    pub node: Option<String>,
    pub location: Option<String>,
    pub probe_from: Option<String>,
}

/// This node, with every override applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub location: String,
    pub probe_from: Option<IpAddr>,
}

/// What is wrong with the overrides, or what is missing once they are applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NodeError {
    #[error(
        "{what}: no value. Give it in [cluster] {key} = \"...\", with forewarn run --{flag}, or in the environment variable {env}"
    )]
    Missing {
        what: &'static str,
        key: &'static str,
        flag: &'static str,
        env: &'static str,
    },
    #[error("{source_name}: {problem}")]
    Invalid {
        source_name: &'static str,
        problem: String,
    },
}

impl ClusterSettings {
    /// This node, as the file says and the overrides change it.
    pub fn node(&self, overrides: &NodeOverrides) -> Result<Node, NodeError> {
        let name = match &overrides.node {
            Some(n) => Some(node_name(n).map_err(|problem| NodeError::Invalid {
                source_name: "--node (or FOREWARN_NODE)",
                problem,
            })?),
            None => self.node.clone(),
        };
        let location = match &overrides.location {
            Some(l) => Some(location_name(l).map_err(|problem| NodeError::Invalid {
                source_name: "--location (or FOREWARN_LOCATION)",
                problem,
            })?),
            None => self.location.clone(),
        };
        let probe_from = match &overrides.probe_from {
            Some(a) => Some(address(a).map_err(|problem| NodeError::Invalid {
                source_name: "--probe-from (or FOREWARN_PROBE_FROM)",
                problem,
            })?),
            None => self.probe_from,
        };
        Ok(Node {
            name: name.ok_or(NodeError::Missing {
                what: "this node's name",
                key: "node",
                flag: "node",
                env: "FOREWARN_NODE",
            })?,
            location: location.ok_or(NodeError::Missing {
                what: "this node's location",
                key: "location",
                flag: "location",
                env: "FOREWARN_LOCATION",
            })?,
            probe_from,
        })
    }
}

/// A node's name: it goes into NATS subjects and key names, so it is a slug.
pub fn node_name(text: &str) -> Result<String, String> {
    values::slug(text.trim()).map(|()| text.trim().to_owned())
}

/// A location as people read it: one line, at most 60 characters.
pub fn location_name(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("must not be empty".into());
    }
    if t.chars().count() > 60 {
        return Err("is longer than 60 characters".into());
    }
    if t.chars().any(char::is_control) {
        return Err("must be one line of text".into());
    }
    Ok(t.to_owned())
}

/// A source address for probes.
pub fn address(text: &str) -> Result<IpAddr, String> {
    text.trim().parse().map_err(|_| {
        format!("\"{text}\" is not an IP address (such as \"192.0.2.10\" or \"2001:db8::10\")")
    })
}

/// One NATS server address: `nats://`, `tls://` (or a bare `host:port`, taken as
/// `nats://`); no user name or password (those come from the environment).
fn nats_url(text: &str) -> Result<String, String> {
    let t = text.trim();
    let with_scheme = if t.contains("://") {
        t.to_owned()
    } else {
        format!("nats://{t}")
    };
    let url = reqwest::Url::parse(&with_scheme).map_err(|_| {
        // The text is not repeated: it may hold a password.
        "is not a NATS server address (such as \"nats://10.0.0.1:4222\")".to_owned()
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "holds a user name or password; give secrets in the environment (credentials_env or token_env)"
                .into(),
        );
    }
    if !matches!(url.scheme(), "nats" | "tls") {
        return Err(format!(
            "\"{text}\" is not a NATS server address: use nats:// or tls://"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("\"{text}\" names no server"));
    }
    Ok(with_scheme)
}

pub(super) fn cluster(
    mut t: Table<'_, '_>,
    rep: &mut Report,
    ctx: &values::Ctx<'_>,
) -> Option<ClusterSettings> {
    let mut ok = true;
    let mut nats = Vec::new();
    match t.array(rep, "nats") {
        Some(items) => {
            for v in items {
                match array_string(&t, rep, "nats", v) {
                    Some(s) => match nats_url(s.get_ref()) {
                        Ok(u) if nats.contains(&u) => {
                            t.error(rep, s.span(), "nats", &format!("\"{u}\" is listed twice"));
                            ok = false;
                        }
                        Ok(u) => nats.push(u),
                        Err(e) => {
                            t.error(rep, s.span(), "nats", &e);
                            ok = false;
                        }
                    },
                    None => ok = false,
                }
            }
            if nats.is_empty() && ok {
                t.error(
                    rep,
                    t.span(),
                    "nats",
                    "list at least one NATS server, such as [\"nats://10.0.0.1:4222\"]",
                );
                ok = false;
            }
        }
        None => {
            if !t.has("nats") {
                t.missing(
                    rep,
                    "nats",
                    "the NATS servers to connect to, such as [\"nats://10.0.0.1:4222\"]",
                );
            }
            ok = false;
        }
    }
    let mut secret = |t: &mut Table<'_, '_>, rep: &mut Report, key: &str| {
        let var = t.string(rep, key)?;
        match values::secret_value(ctx, var.get_ref()) {
            Ok(v) => v.map(SecretText),
            Err(e) => {
                t.error(rep, var.span(), key, &e);
                ok = false;
                None
            }
        }
    };
    let credentials = secret(&mut t, rep, "credentials_env");
    let token = secret(&mut t, rep, "token_env");
    let mut file = |t: &mut Table<'_, '_>, rep: &mut Report, key: &str| {
        let f = t.string(rep, key)?;
        let path = ctx.base_dir.join(f.get_ref());
        match std::fs::read(&path) {
            Ok(pem) if String::from_utf8_lossy(&pem).contains("-----BEGIN ") => Some(path),
            Ok(_) => {
                t.error(
                    rep,
                    f.span(),
                    key,
                    &format!("\"{}\" holds nothing in PEM form", f.get_ref()),
                );
                ok = false;
                None
            }
            Err(e) => {
                t.error(
                    rep,
                    f.span(),
                    key,
                    &format!("cannot read \"{}\": {e}", f.get_ref()),
                );
                ok = false;
                None
            }
        }
    };
    let tls = ClusterTls {
        ca_file: file(&mut t, rep, "tls_ca_file"),
        cert_file: file(&mut t, rep, "tls_cert_file"),
        key_file: file(&mut t, rep, "tls_key_file"),
        required: t.boolean(rep, "tls_required").unwrap_or(false),
    };
    if tls.cert_file.is_some() != tls.key_file.is_some() {
        let missing = if tls.cert_file.is_some() {
            "tls_key_file"
        } else {
            "tls_cert_file"
        };
        t.missing(
            rep,
            missing,
            "a client certificate needs both tls_cert_file and tls_key_file",
        );
        ok = false;
    }
    let mut text = |t: &mut Table<'_, '_>,
                    rep: &mut Report,
                    key: &str,
                    check: fn(&str) -> Result<String, String>| {
        let s = t.string(rep, key)?;
        match check(s.get_ref()) {
            Ok(v) => Some(v),
            Err(e) => {
                t.error(rep, s.span(), key, &e);
                ok = false;
                None
            }
        }
    };
    let node = text(&mut t, rep, "node", node_name);
    let location = text(&mut t, rep, "location", location_name);
    let namespace = text(&mut t, rep, "namespace", node_name).unwrap_or_else(|| "forewarn".into());
    let probe_from = t
        .string(rep, "probe_from")
        .and_then(|s| match address(s.get_ref()) {
            Ok(a) => Some(a),
            Err(e) => {
                t.error(rep, s.span(), "probe_from", &e);
                ok = false;
                None
            }
        });
    let quorum = t
        .integer(rep, "quorum", 1..=64)
        .map(|q| q.into_inner() as usize);
    let replicas = t
        .integer(rep, "replicas", 1..=5)
        .map_or(DEFAULT_REPLICAS, |r| r.into_inner() as usize);
    let lease = match duration_key(&mut t, rep, "lease") {
        None => DEFAULT_LEASE,
        Some(d)
            if *d.get_ref() < Duration::from_secs(1) || *d.get_ref() > Duration::from_secs(300) =>
        {
            t.error(
                rep,
                d.span(),
                "lease",
                &format!(
                    "{} is out of range (use 1s to 5m: how long the cluster waits for a silent leader)",
                    show_duration(*d.get_ref())
                ),
            );
            ok = false;
            DEFAULT_LEASE
        }
        Some(d) => d.into_inner(),
    };
    let duplicate_window = match duration_key(&mut t, rep, "duplicate_window") {
        None => DEFAULT_DUPLICATE_WINDOW,
        Some(d)
            if *d.get_ref() <= APPEND_RETRY_FOR
                || *d.get_ref() > Duration::from_secs(24 * 3600) =>
        {
            t.error(
                rep,
                d.span(),
                "duplicate_window",
                &format!(
                    "{} is out of range: it must be longer than the {} a node retries one append, so a retry is stored once (and at most a day)",
                    show_duration(*d.get_ref()),
                    show_duration(APPEND_RETRY_FOR)
                ),
            );
            ok = false;
            DEFAULT_DUPLICATE_WINDOW
        }
        Some(d) => d.into_inner(),
    };
    t.finish(rep, CLUSTER_KEYS, &|key| match key {
        "user" | "password" | "credentials" | "token" => Some(format!(
            "secrets come from the environment: use {key}_env… (credentials_env or token_env) naming an environment variable"
        )),
        _ => None,
    });
    ok.then_some(ClusterSettings {
        nats,
        credentials,
        token,
        tls,
        node,
        location,
        quorum,
        probe_from,
        namespace,
        replicas,
        lease,
        duplicate_window,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ClusterSettings {
        ClusterSettings {
            nats: vec!["nats://127.0.0.1:4222".into()],
            credentials: None,
            token: None,
            tls: ClusterTls::default(),
            node: Some("fra-1".into()),
            location: Some("Frankfurt".into()),
            quorum: None,
            probe_from: None,
            namespace: "forewarn".into(),
            replicas: 3,
            lease: DEFAULT_LEASE,
            duplicate_window: DEFAULT_DUPLICATE_WINDOW,
        }
    }

    #[test]
    fn the_command_line_overrides_the_file() {
        let s = settings();
        let node = s
            .node(&NodeOverrides {
                node: Some("iad-1".into()),
                location: Some(" Virginia ".into()),
                probe_from: Some("127.0.0.3".into()),
            })
            .unwrap();
        assert_eq!(node.name, "iad-1");
        assert_eq!(node.location, "Virginia");
        assert_eq!(node.probe_from, Some("127.0.0.3".parse().unwrap()));
        assert_eq!(s.node(&NodeOverrides::default()).unwrap().name, "fra-1");
    }

    #[test]
    fn a_node_without_a_name_or_location_is_told_every_way_to_give_one() {
        let mut s = settings();
        s.location = None;
        let e = s.node(&NodeOverrides::default()).unwrap_err().to_string();
        assert!(e.contains("location = "), "{e}");
        assert!(e.contains("--location"), "{e}");
        assert!(e.contains("FOREWARN_LOCATION"), "{e}");
        let bad = s.node(&NodeOverrides {
            node: Some("Not A Slug".into()),
            ..Default::default()
        });
        assert!(matches!(bad, Err(NodeError::Invalid { .. })));
    }

    #[test]
    fn nats_addresses() {
        assert_eq!(nats_url("10.0.0.1:4222").unwrap(), "nats://10.0.0.1:4222");
        assert!(nats_url("tls://nats.example:4222").is_ok());
        assert!(nats_url("http://nats.example:4222").is_err());
        assert!(nats_url("nats://user:pw@nats.example:4222").is_err());
        // A password is never repeated in the message.
        let e = nats_url("http://user:s3cret@nats.example:4222").unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
    }
}
