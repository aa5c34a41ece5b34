//! What the HTTP front asks of the daemon, which owns the journal, and the answers it
//! gets: each ask carries the sender of its answer. The front (`serve`) sends them; the
//! daemon routes them to [`super::self_service`] and the other owners.

use tokio::sync::oneshot;

/// What the front asks of the daemon.
#[derive(Debug)]
pub enum Ask {
    /// Who an unsubscribe token stands for, if anyone still subscribed: the address,
    /// partly hidden.
    Lookup {
        token: String,
        reply: oneshot::Sender<Option<String>>,
    },
    /// Unsubscribe whoever the token stands for. `Some(address)` when the token is
    /// valid (already gone counts as done).
    Unsubscribe {
        token: String,
        reply: oneshot::Sender<Option<String>>,
    },
    /// Can the daemon record events now?
    Ready { reply: oneshot::Sender<bool> },
    /// A job reports to its heartbeat check (`fail`: it failed). The component's name
    /// when the token is one.
    Heartbeat {
        token: String,
        fail: bool,
        reply: oneshot::Sender<Option<String>>,
    },
    /// A subscriber's choices, from their (unsubscribe) token; with `set`, change the
    /// components they hear about (empty: everything).
    Manage {
        token: String,
        set: Option<Vec<String>>,
        reply: oneshot::Sender<Option<Manage>>,
    },
    /// The Prometheus text exposition.
    Metrics { reply: oneshot::Sender<String> },
    /// Register a webhook subscriber (`POST /webhooks`, already authorised).
    RegisterWebhook {
        request: WebhookRequest,
        reply: oneshot::Sender<Result<Registered, (u16, String)>>,
    },
    /// Someone asks to subscribe: record it and send the one confirmation email.
    Subscribe {
        address: String,
        components: Vec<String>,
        reply: oneshot::Sender<SignUp>,
    },
    /// A confirmation link: whom it confirms (address partly hidden), if it is valid;
    /// with `commit`, confirm them.
    Confirm {
        token: String,
        commit: bool,
        reply: oneshot::Sender<Option<String>>,
    },
}

impl Ask {
    /// The asker stopped waiting (it timed out and answered the visitor already).
    pub fn abandoned(&self) -> bool {
        match self {
            Ask::Lookup { reply, .. }
            | Ask::Unsubscribe { reply, .. }
            | Ask::Heartbeat { reply, .. } => reply.is_closed(),
            Ask::Ready { reply } => reply.is_closed(),
            Ask::Subscribe { reply, .. } => reply.is_closed(),
            Ask::Confirm { reply, .. } => reply.is_closed(),
            Ask::Manage { reply, .. } => reply.is_closed(),
            Ask::Metrics { reply } => reply.is_closed(),
            Ask::RegisterWebhook { reply, .. } => reply.is_closed(),
        }
    }
}

/// What `POST /webhooks` takes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct WebhookRequest {
    pub url: String,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub components: Vec<String>,
}

/// What `POST /webhooks` answers, once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Registered {
    pub id: String,
    pub format: String,
    /// The `whsec_` signing secret (standard format): shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// What the manage page shows.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Manage {
    /// Partly hidden.
    pub address: String,
    /// Every component: (id, name, chosen).
    pub components: Vec<(String, String, bool)>,
    /// Listed by the operator in `subscribers.toml`: only they change the choice.
    pub from_file: bool,
    /// The choice was just saved.
    pub saved: bool,
    /// Why the choice could not be saved.
    pub problem: Option<String>,
}

/// What became of a sign-up. Known and unknown addresses get the same answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SignUp {
    /// A confirmation email is on its way (or they are subscribed already).
    Accepted,
    /// The request itself is wrong: what to fix.
    Invalid(String),
    /// Too many confirmation emails to this address lately.
    TooMany { retry_after_secs: u64 },
}

/// `o…@example.com`: enough for its owner to recognise, not enough to harvest.
pub fn mask(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}…@{domain}")
        }
        None => "…".into(),
    }
}
