//! The token a server bound beyond loopback requires of every request.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::Served;

/// A token requests must carry.
pub(super) struct Token(Vec<u8>);

impl Token {
    /// The token for a server bound at `bind`: none needed on loopback
    /// (one given is still required); anywhere else one is.
    pub(super) fn for_bind(bind: SocketAddr, token: Option<&str>) -> anyhow::Result<Option<Token>> {
        match token {
            Some(token) if token.trim().is_empty() => {
                anyhow::bail!("the token is empty: give one that is hard to guess")
            }
            // A header cannot carry it: no request could ever match.
            Some(token) if token.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                anyhow::bail!("the token has a space or a control character: no request header could carry it")
            }
            Some(token) => Ok(Some(Token(token.as_bytes().to_vec()))),
            None if bind.ip().is_loopback() => Ok(None),
            None => anyhow::bail!(
                "--bind {bind} is reachable from other machines: give a --token (or $TRACEFLOW_TOKEN) that every request must carry, or bind to 127.0.0.1"
            ),
        }
    }

    /// Whether `given` is the token, compared in constant time.
    fn accepts(&self, given: &[u8]) -> bool {
        given.ct_eq(&self.0).into()
    }
}

/// Lets a request through when no token is set, or when it carries
/// `Authorization: Bearer TOKEN`; else 401.
pub(super) async fn require_token(
    State(served): State<Arc<Served>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &served.token else {
        return next.run(request).await;
    };
    // The scheme's name is case-insensitive (RFC 7235).
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.as_bytes())
        .filter(|value| value.len() > 7 && value[..7].eq_ignore_ascii_case(b"bearer "))
        .map(|value| &value[7..]);
    if given.is_some_and(|given| token.accepts(given)) {
        return next.run(request).await;
    }
    let mut response = super::status::error_response(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this server needs its token: send Authorization: Bearer TOKEN",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_loopback_a_token_is_required() {
        let anywhere: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert!(Token::for_bind(anywhere, None).is_err());
        assert!(Token::for_bind(anywhere, Some(" ")).is_err());
        assert!(Token::for_bind(anywhere, Some("abc\n")).is_err());
        assert!(Token::for_bind(anywhere, Some("a b")).is_err());
        assert!(Token::for_bind(loopback, None).unwrap().is_none());
        let token = Token::for_bind(anywhere, Some("s3cret")).unwrap().unwrap();
        assert!(token.accepts(b"s3cret"));
        assert!(!token.accepts(b"s3cre"));
        assert!(!token.accepts(b"s3cret "));
    }
}
