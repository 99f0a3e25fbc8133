//! An alert's POST, retried with backoff.

use std::time::Duration;

/// Attempts, and the wait before each retry (doubling).
const ATTEMPTS: u32 = 4;
const FIRST_WAIT: Duration = Duration::from_millis(500);
/// A webhook that does not answer in this long has failed this attempt.
const TIMEOUT: Duration = Duration::from_secs(10);

/// POSTs `body` (JSON) to `url`: done on a 2xx answer; a 5xx, 429 or a
/// network failure is retried; anything else is final. The error is one
/// line.
pub(super) fn post(url: &str, body: &[u8]) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
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
                last = format!("HTTP {status}");
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

/// A webhook's URL as it may be shown: its scheme and host, never its path
/// or query (a Slack webhook's path is its secret).
pub(super) fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = host.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}/…")
        }
        None => "the webhook".to_owned(),
    }
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
        assert_eq!(super::shown("not a url"), "the webhook");
    }
}
