//! Parsing of the small value types config keys hold: durations, URLs, cron expressions.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;

use super::diagnostic::Report;
use super::reader::Table;

/// What value parsing may consult besides the file itself.
pub struct Ctx<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub base_dir: &'a Path,
    /// False when the caller never uses what `*_env` variables hold (`forewarn build`):
    /// an unset variable is then no error, and what it would have filled is left out.
    pub secrets_needed: bool,
    /// The `[[upstream]]` ids, for `depends_on`.
    pub upstreams: &'a [String],
    /// An `[[upstream]]` table was broken (and reported): an id it may have held is
    /// not named unknown again.
    pub upstreams_broken: bool,
}

/// `"30s"`, `"5m"`, `"1h30m"`, `"250ms"`.
pub fn duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    match humantime::parse_duration(trimmed) {
        Ok(d) if d.is_zero() => Err(format!("\"{text}\" is zero; give a positive duration")),
        Ok(d) => Ok(d),
        Err(_) => Err(format!(
            "\"{text}\" is not a duration (write a number and a unit, such as \"30s\", \"5m\" or \"1h\")"
        )),
    }
}

/// Human form of a duration for messages: "30s", "5m", "1h 30m", "250ms".
pub fn show_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// An absolute http(s) URL.
pub fn http_url(text: &str) -> Result<reqwest::Url, String> {
    match reqwest::Url::parse(text.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u),
        Ok(u) => Err(format!(
            "\"{text}\" is not an http(s) address (scheme \"{}\")",
            u.scheme()
        )),
        Err(e) => Err(format!("\"{text}\" is not a valid URL ({e})")),
    }
}

/// A cron expression with seconds (`"0 */5 * * * *"`). A five-field expression is read
/// as firing at second 0. Fails if the expression never fires.
pub fn cron(text: &str, tz: chrono_tz::Tz) -> Result<cron::Schedule, String> {
    let trimmed = text.trim();
    let fields = trimmed.split_whitespace().count();
    let full = if fields == 5 {
        format!("0 {trimmed}")
    } else {
        trimmed.to_owned()
    };
    let schedule: cron::Schedule = full.parse().map_err(|e| {
        format!(
            "\"{text}\" is not a cron expression ({e}); use six fields starting with seconds, such as \"0 */5 * * * *\""
        )
    })?;
    if schedule.upcoming(tz).next().is_none() {
        return Err(format!("\"{text}\" never fires"));
    }
    Ok(schedule)
}

/// The shortest gap between the next few firings of a schedule.
pub fn shortest_gap(schedule: &cron::Schedule, tz: chrono_tz::Tz) -> Option<Duration> {
    let now = Utc::now().with_timezone(&tz);
    let times: Vec<_> = schedule.after(&now).take(16).collect();
    times
        .windows(2)
        .filter_map(|w| (w[1] - w[0]).to_std().ok())
        .min()
}

/// `host:port`, with `default_port` used when the port is left out.
pub fn host_port(text: &str, default_port: Option<u16>) -> Result<(String, u16), String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    // [::1]:443 or [::1]
    if let Some(rest) = text.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(format!("\"{text}\" has an unclosed '['"));
        };
        let port = match after.strip_prefix(':') {
            Some(p) => parse_port(text, p)?,
            None if after.is_empty() => default_port.ok_or_else(|| needs_port(text))?,
            None => return Err(format!("\"{text}\" is not host:port")),
        };
        return Ok((host.to_owned(), port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            if host.is_empty() {
                return Err(format!("\"{text}\" has no host"));
            }
            Ok((host.to_owned(), parse_port(text, port)?))
        }
        Some(_) => Err(format!(
            "\"{text}\": write IPv6 addresses in brackets, such as \"[::1]:443\""
        )),
        None => Ok((
            text.to_owned(),
            default_port.ok_or_else(|| needs_port(text))?,
        )),
    }
}

fn needs_port(text: &str) -> String {
    format!("\"{text}\" has no port (write host:port, such as \"db.example.com:5432\")")
}

fn parse_port(text: &str, port: &str) -> Result<u16, String> {
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("\"{text}\": \"{port}\" is not a port number")),
    }
}

/// A name suitable for ids used in file names and URLs: lowercase letters, digits, `-`, `_`.
pub fn slug(text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{text}\" is not a valid id (use 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit)"
        ))
    }
}

/// The name of an environment variable and its value.
pub fn env_value(ctx: &Ctx<'_>, name: &str) -> Result<String, String> {
    secret_value(ctx, name)?.ok_or_else(|| match (ctx.env)(name) {
        Some(_) => format!("environment variable {name} is empty"),
        None => format!("environment variable {name} is not set"),
    })
}

/// What a `*_env` key's variable holds; `None` when it is unset or empty and the caller
/// never uses secrets (an error when it does). A name that cannot be a variable's is an
/// error either way.
pub fn secret_value(ctx: &Ctx<'_>, name: &str) -> Result<Option<String>, String> {
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !valid {
        return Err(format!("\"{name}\" is not an environment variable name"));
    }
    match (ctx.env)(name) {
        Some(v) if !v.is_empty() => Ok(Some(v)),
        Some(_) if ctx.secrets_needed => Err(format!("environment variable {name} is empty")),
        None if ctx.secrets_needed => Err(format!("environment variable {name} is not set")),
        _ => Ok(None),
    }
}

/// A duration key such as `timeout = "10s"`, its error at the value.
pub(super) fn duration_key(
    t: &mut Table<'_, '_>,
    rep: &mut Report,
    key: &str,
) -> Option<toml::Spanned<Duration>> {
    let s = t.string(rep, key)?;
    match duration(s.get_ref()) {
        Ok(d) => Some(toml::Spanned::new(s.span(), d)),
        Err(e) => {
            t.error(rep, s.span(), key, &e);
            None
        }
    }
}

/// A table's `id`: required, a slug; once read, the table's errors name it
/// (`component "api"`). Returns the id and where it is written.
pub(super) fn id_key(
    t: &mut Table<'_, '_>,
    rep: &mut Report,
    what: &str,
    help: &str,
) -> (Option<String>, std::ops::Range<usize>) {
    let id = t.required_string(rep, "id", help);
    let span = id.as_ref().map_or(t.span(), |s| s.span());
    let id = id.and_then(|s| match slug(s.get_ref()) {
        Ok(()) => Some(s.into_inner()),
        Err(e) => {
            t.error(rep, s.span(), "id", &e);
            None
        }
    });
    if let Some(id) = &id {
        t.set_context(&format!("{what} \"{id}\""));
    }
    (id, span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(
            duration("30x")
                .unwrap_err()
                .contains("\"30x\" is not a duration")
        );
        assert!(duration("0s").unwrap_err().contains("zero"));
    }

    #[test]
    fn cron_expressions() {
        let tz = chrono_tz::UTC;
        assert!(cron("0 */5 * * * *", tz).is_ok());
        assert!(cron("*/5 * * * *", tz).is_ok(), "five fields mean second 0");
        assert!(
            cron("0 0 0 30 2 *", tz)
                .unwrap_err()
                .contains("never fires")
        );
        assert!(
            cron("every minute", tz)
                .unwrap_err()
                .contains("not a cron expression")
        );
        let s = cron("0 */5 * * * *", tz).unwrap();
        assert_eq!(shortest_gap(&s, tz), Some(Duration::from_secs(300)));
    }

    #[test]
    fn host_ports() {
        assert_eq!(host_port("db:5432", None), Ok(("db".into(), 5432)));
        assert_eq!(host_port("[::1]:443", None), Ok(("::1".into(), 443)));
        assert_eq!(
            host_port("example.com", Some(443)),
            Ok(("example.com".into(), 443))
        );
        assert!(
            host_port("example.com", None)
                .unwrap_err()
                .contains("no port")
        );
        assert!(
            host_port("db:99999", None)
                .unwrap_err()
                .contains("not a port")
        );
        assert!(host_port("::1:443", None).unwrap_err().contains("brackets"));
    }

    #[test]
    fn slugs() {
        assert!(slug("api").is_ok());
        assert!(slug("check-out_2").is_ok());
        assert!(slug("API").is_err());
        assert!(slug("-api").is_err());
        assert!(slug("a/b").is_err());
    }
}
