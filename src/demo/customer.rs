//! The demo's customer: signs up on the status page through the real HTTP front, then
//! presses the link in the confirmation email that landed as an `.eml` file.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::script::Beat;
use crate::notify::send::MAIL_DIR;

const ADDRESS: &str = "customer@demo-shop.test";

/// Do the customer's beat; the line to print.
pub async fn act(front: SocketAddr, state_dir: &Path, beat: Beat) -> String {
    let result = match beat {
        Beat::SignUp => sign_up(front).await,
        _ => confirm(front, state_dir).await,
    };
    result.unwrap_or_else(|e| format!("(customer) could not do it: {e}"))
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())
}

async fn sign_up(front: SocketAddr) -> Result<String, String> {
    let resp = client()?
        .post(format!("http://{front}/subscribe"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "email={}&components=checkout",
            ADDRESS.replace('@', "%40")
        ))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "(customer) signs up on http://{front}/ for checkout notices as {ADDRESS}: HTTP {}, \"check your inbox\"",
        resp.status().as_u16()
    ))
}

async fn confirm(front: SocketAddr, state_dir: &Path) -> Result<String, String> {
    let prefix = format!("http://{front}/confirm/");
    let (path, link) =
        find_link(&state_dir.join(MAIL_DIR), &prefix).ok_or("no confirmation email has arrived")?;
    let resp = client()?
        .post(&link)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "(customer) presses \"Confirm\" from the email in {}: HTTP {}, subscribed to checkout",
        path.display(),
        resp.status().as_u16()
    ))
}

/// The confirmation link in the `.eml` files, with the file it is in.
fn find_link(dir: &Path, prefix: &str) -> Option<(std::path::PathBuf, String)> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let Ok(raw) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let text = quoted_printable(&raw);
        if let Some(at) = text.find(prefix) {
            let link: String = text[at..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
                .collect();
            return Some((entry.path(), link));
        }
    }
    None
}

/// Undo quoted-printable: soft line breaks and `=XX` escapes.
fn quoted_printable(s: &str) -> String {
    let joined = s.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_printable_is_undone() {
        assert_eq!(super::quoted_printable("a=3Db=\r\nc =C3=A9"), "a=bc é");
    }
}
