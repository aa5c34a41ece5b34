//! `forewarn serve`: the HTTP front as a process of its own. The daemon, which owns the
//! journal, answers the front's questions on a Unix socket in the state folder
//! (`<state>/front.sock`), one JSON line each way; `forewarn serve` forwards every
//! question there. Without a running daemon the site is still served and the rest
//! answers "try again".

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{Ask, Manage, SignUp};

/// The socket's name in the state folder.
pub const SOCKET: &str = "front.sock";
/// The longest question or answer line.
const MAX_LINE: u64 = 256 * 1024;
const WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "ask", rename_all = "snake_case")]
enum Question {
    Lookup {
        token: String,
    },
    Unsubscribe {
        token: String,
    },
    Ready,
    Metrics,
    Heartbeat {
        token: String,
        fail: bool,
    },
    Subscribe {
        address: String,
        components: Vec<String>,
    },
    Confirm {
        token: String,
        commit: bool,
    },
    Manage {
        token: String,
        set: Option<Vec<String>>,
    },
    RegisterWebhook {
        request: super::WebhookRequest,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "answer", content = "value", rename_all = "snake_case")]
enum Answer {
    Text(Option<String>),
    Flag(bool),
    Metrics(String),
    SignUp(SignUp),
    Manage(Option<Manage>),
    Registered(Result<super::Registered, (u16, String)>),
}

/// Where the daemon of `state_dir` listens.
pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join(SOCKET)
}

/// The daemon's side: answer questions on the socket by passing them to `asks`.
pub fn listen(
    state_dir: &Path,
    asks: mpsc::Sender<Ask>,
    shutdown: CancellationToken,
) -> std::io::Result<PathBuf> {
    let path = socket_path(state_dir);
    // A socket left by an earlier run: this process holds the journal's lock, so no
    // other daemon is using it.
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    let cleanup = path.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                conn = listener.accept() => {
                    if let Ok((stream, _)) = conn {
                        tokio::spawn(answer_one(stream, asks.clone()));
                    }
                }
            }
        }
        let _ = std::fs::remove_file(cleanup);
    });
    Ok(path)
}

async fn answer_one(stream: UnixStream, asks: mpsc::Sender<Ask>) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read).take(MAX_LINE);
    if reader.read_line(&mut line).await.is_err() {
        return;
    }
    let Ok(question) = serde_json::from_str::<Question>(&line) else {
        return;
    };
    let answer = tokio::time::timeout(WAIT, ask_daemon(question, &asks))
        .await
        .ok()
        .flatten();
    if let Some(answer) = answer
        && let Ok(mut text) = serde_json::to_string(&answer)
    {
        text.push('\n');
        let _ = write.write_all(text.as_bytes()).await;
    }
}

async fn ask_daemon(q: Question, asks: &mpsc::Sender<Ask>) -> Option<Answer> {
    macro_rules! ask {
        ($variant:ident { $($field:ident),* }, $wrap:expr) => {{
            let (reply, rx) = oneshot::channel();
            asks.send(Ask::$variant { $($field,)* reply }).await.ok()?;
            Some($wrap(rx.await.ok()?))
        }};
    }
    match q {
        Question::Lookup { token } => ask!(Lookup { token }, Answer::Text),
        Question::Unsubscribe { token } => ask!(Unsubscribe { token }, Answer::Text),
        Question::Ready => ask!(Ready {}, Answer::Flag),
        Question::Metrics => ask!(Metrics {}, Answer::Metrics),
        Question::Heartbeat { token, fail } => ask!(Heartbeat { token, fail }, Answer::Text),
        Question::Subscribe {
            address,
            components,
        } => ask!(
            Subscribe {
                address,
                components
            },
            Answer::SignUp
        ),
        Question::Confirm { token, commit } => ask!(Confirm { token, commit }, Answer::Text),
        Question::Manage { token, set } => ask!(Manage { token, set }, Answer::Manage),
        Question::RegisterWebhook { request } => {
            ask!(RegisterWebhook { request }, Answer::Registered)
        }
    }
}

/// The `forewarn serve` side: pass every question from the front to the daemon's
/// socket. A question the daemon does not answer gets no reply (the page says "try
/// again").
pub async fn forward(socket: PathBuf, mut asks: mpsc::Receiver<Ask>) {
    while let Some(ask) = asks.recv().await {
        let socket = socket.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(WAIT, forward_one(&socket, ask)).await;
        });
    }
}

async fn forward_one(socket: &Path, ask: Ask) -> Option<()> {
    let (question, reply): (Question, Box<dyn FnOnce(Answer) + Send>) = match ask {
        Ask::Lookup { token, reply } => (
            Question::Lookup { token },
            Box::new(move |a| {
                if let Answer::Text(t) = a {
                    let _ = reply.send(t);
                }
            }),
        ),
        Ask::Unsubscribe { token, reply } => (
            Question::Unsubscribe { token },
            Box::new(move |a| {
                if let Answer::Text(t) = a {
                    let _ = reply.send(t);
                }
            }),
        ),
        Ask::Heartbeat { token, fail, reply } => (
            Question::Heartbeat { token, fail },
            Box::new(move |a| {
                if let Answer::Text(t) = a {
                    let _ = reply.send(t);
                }
            }),
        ),
        Ask::Ready { reply } => (
            Question::Ready,
            Box::new(move |a| {
                if let Answer::Flag(f) = a {
                    let _ = reply.send(f);
                }
            }),
        ),
        Ask::Metrics { reply } => (
            Question::Metrics,
            Box::new(move |a| {
                if let Answer::Metrics(m) = a {
                    let _ = reply.send(m);
                }
            }),
        ),
        Ask::Subscribe {
            address,
            components,
            reply,
        } => (
            Question::Subscribe {
                address,
                components,
            },
            Box::new(move |a| {
                if let Answer::SignUp(s) = a {
                    let _ = reply.send(s);
                }
            }),
        ),
        Ask::Confirm {
            token,
            commit,
            reply,
        } => (
            Question::Confirm { token, commit },
            Box::new(move |a| {
                if let Answer::Text(t) = a {
                    let _ = reply.send(t);
                }
            }),
        ),
        Ask::Manage { token, set, reply } => (
            Question::Manage { token, set },
            Box::new(move |a| {
                if let Answer::Manage(m) = a {
                    let _ = reply.send(m);
                }
            }),
        ),
        Ask::RegisterWebhook { request, reply } => (
            Question::RegisterWebhook { request },
            Box::new(move |a| {
                if let Answer::Registered(r) = a {
                    let _ = reply.send(r);
                }
            }),
        ),
    };
    let stream = UnixStream::connect(socket).await.ok()?;
    let (read, mut write) = stream.into_split();
    let mut text = serde_json::to_string(&question).ok()?;
    text.push('\n');
    write.write_all(text.as_bytes()).await.ok()?;
    let mut line = String::new();
    BufReader::new(read)
        .take(MAX_LINE)
        .read_line(&mut line)
        .await
        .ok()?;
    let answer: Answer = serde_json::from_str(&line).ok()?;
    reply(answer);
    Some(())
}
