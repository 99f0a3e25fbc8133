//! An alert's POST, retried with backoff.

use std::time::Duration;

/// Attempts, and the wait before each retry (doubling).
const ATTEMPTS: u32 = 4;
const FIRST_WAIT: Duration = Duration::from_millis(500);
/// A webhook that does not answer in this long has failed this attempt.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A webhook's URL, checked before anything is evaluated: `http` or
/// `https` with a host.
pub(crate) fn check(url: &str) -> anyhow::Result<()> {
    let uri: axum::http::Uri = url
        .parse()
        .map_err(|_| anyhow::anyhow!("--alert-webhook {}: not a URL", shown(url)))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(()),
        _ => anyhow::bail!("--alert-webhook {}: not an http or https URL", shown(url)),
    }
}

/// POSTs `body` (JSON) to `url`: done on a 2xx answer; a 5xx, 429 or a
/// network failure is retried; anything else is final, a redirect too (a
/// redirect followed would turn the POST into a GET without the alert).
/// The error is one line.
pub(super) fn post(url: &str, body: &[u8]) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(TIMEOUT))
        .build()
        .into();
    let mut wait = FIRST_WAIT;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body)
        {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => {
                let status = response.status();
                last = if status.is_redirection() {
                    format!("HTTP {status}: the webhook redirects elsewhere; give its new URL")
                } else {
                    format!("HTTP {status}")
                };
                if !(status.is_server_error() || status.as_u16() == 429) {
                    return Err(last);
                }
            }
            Err(err) => last = err.to_string(),
        }
        if attempt < ATTEMPTS {
            std::thread::sleep(wait);
            wait *= 2;
        }
    }
    Err(format!("{last} ({ATTEMPTS} attempts)"))
}

/// A webhook's URL as it may be shown: its scheme, host and port, never
/// its credentials, path or query (a Slack webhook's path is its secret).
pub(crate) fn shown(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "the webhook".to_owned();
    };
    // Credentials end at the last `@`, whatever they hold (a password
    // with an unencoded `#`, `/` or `?`); the host ends at the path.
    let after = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let host = after.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return "the webhook".to_owned();
    }
    format!("{scheme}://{host}/…")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_webhooks_secret_path_and_credentials_are_never_shown() {
        assert_eq!(
            super::shown("https://hooks.slack.com/services/T0/B0/SECRET"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            super::shown("http://user:pw@host:8080/x?y"),
            "http://host:8080/…"
        );
        // A password with a `#`, `/` or `?` in it (not percent-encoded).
        for url in [
            "http://user:pa#ss@host/x",
            "http://user:pa/ss@host/x",
            "http://u:p?q@host/",
        ] {
            let shown = super::shown(url);
            assert!(
                !shown.contains("pa") && !shown.contains("user") && !shown.contains("p?q"),
                "{url}: {shown}"
            );
        }
        assert_eq!(super::shown("not a url"), "the webhook");
        assert!(super::check("https://hooks.example/x").is_ok());
        for bad in ["ftp://host/x", "http:/x", "a b", "/relative"] {
            assert!(super::check(bad).is_err(), "{bad}");
        }
    }
}
