//! `traceflow serve`: the reading commands over HTTP, for a page and for
//! scripts.
//!
//! Every answer is a command's own output: a request's query string is the
//! command's long flags (`/api/trend?group-by=day&window=all&metric=cost`
//! is `traceflow trend --group-by day --window all --metric cost`), parsed
//! by the command's own parser ([`query`]) and run by the command's own
//! code into the response instead of stdout. So `/api/*` is byte for byte
//! `--format json`, and the pages are the HTML reports (`--format html`).
//! A failure answers with the HTTP status of its kind ([`status`]).
//!
//! Loopback by default. A `--bind` elsewhere needs a token, which every
//! request then carries (`Authorization: Bearer TOKEN`), compared in
//! constant time ([`auth`]). Reading only: the store is opened read-only
//! for every request, as the commands open it.

mod auth;
mod cache;
mod page;
mod query;
mod status;

pub(crate) use cache::Version;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::args::{ServeArgs, StoreArgs};
use crate::commands::Out;
use crate::exit_codes;

/// What a request runs, and how its answer is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// The command's `--format json`.
    Json,
    /// The command's `--format html`: a page.
    Page,
}

impl Answer {
    fn format(self) -> &'static str {
        match self {
            Answer::Json => "json",
            Answer::Page => "html",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Answer::Json => "application/json",
            Answer::Page => "text/html; charset=utf-8",
        }
    }
}

/// The server's settings, shared by every request.
struct Served {
    store: StoreArgs,
    /// The store's file, for its version (a team database has none).
    store_file: Option<std::path::PathBuf>,
    token: Option<auth::Token>,
    cache: cache::Cache,
    /// Analyses running at once: one a core; the others wait their turn.
    running: Arc<tokio::sync::Semaphore>,
}

/// Runs the server until Ctrl-C (or SIGTERM); returns the exit code.
pub fn run(args: &ServeArgs) -> anyhow::Result<u8> {
    let token = auth::Token::for_bind(args.bind, args.token.as_deref())?;
    // A store that cannot be read is said now, not on the first request.
    let (db, _) = args.store.open()?;
    if let Some(watch) = alerts(args)? {
        // The alerts' engine beside the server, until the process ends.
        std::thread::spawn(move || {
            if let Err(err) = crate::watch::run(&watch) {
                crate::commands::say(&format!(
                    "error: alerts stopped: {}",
                    crate::commands::one_line(&err)
                ));
            }
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", args.bind))?;
        let at: SocketAddr = listener.local_addr()?;
        let served = Arc::new(Served {
            store: args.store.clone(),
            store_file: db.file().map(std::path::Path::to_path_buf),
            token,
            cache: cache::Cache::default(),
            running: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            )),
        });
        // The first line names the address (a test or a script reads the
        // port of `--bind 127.0.0.1:0` from it).
        crate::commands::say_out(&format!(
            "traceflow serve: http://{at}/ ({db}); Ctrl-C stops"
        ))?;
        axum::serve(listener, router(served))
            .with_graceful_shutdown(stopped())
            .await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(exit_codes::SUCCESS)
}

/// The alerts asked for (`--alert-webhook`): `traceflow watch` with the
/// gate's flags given as a query string, as the API takes them.
fn alerts(args: &ServeArgs) -> anyhow::Result<Option<crate::args::WatchArgs>> {
    if args.webhooks.is_empty() {
        return Ok(None);
    }
    let argv = query::argv("gate", &args.alert_gate, &[], "json")
        .map_err(|e| anyhow::anyhow!("--alert-gate: {e}"))?;
    let cli = <crate::args::Cli as clap::Parser>::try_parse_from(&argv)
        .map_err(|e| anyhow::anyhow!("--alert-gate: {}", first_line(&e.to_string())))?;
    let crate::args::Command::Gate(gate) = cli.command else {
        unreachable!("the line is the gate's")
    };
    let trend = gate.trend;
    let watch = crate::args::WatchArgs {
        store: args.store.clone(),
        window: trend.window,
        rule: trend.rule,
        method: trend.method,
        measure: trend.measure,
        webhooks: args.webhooks.clone(),
        alert_format: args.alert_format,
        interval: args.alert_interval,
        state: args.alert_state.clone(),
        once: false,
    };
    // The server does not start with alerts that could not work.
    crate::watch::check(&watch)?;
    Ok(Some(watch))
}

/// A parser's message's first line, without its `error: `.
fn first_line(message: &str) -> &str {
    message
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or(message)
        .trim_start_matches("error: ")
}

/// The routes.
fn router(served: Arc<Served>) -> Router {
    Router::new()
        .route("/", view("trend", Answer::Page))
        .route("/cases", view("cases", Answer::Page))
        .route("/compare", view("compare", Answer::Page))
        .route("/api/trend", view("trend", Answer::Json))
        .route("/api/cases", view("cases", Answer::Json))
        .route("/api/compare", view("compare", Answer::Json))
        .route("/api/traces", view("list", Answer::Json))
        .route("/api/traces/{id}", get(trace_api))
        .fallback(not_found)
        // Every answer, axum's own rejections (405, a path that is not
        // UTF-8) included, carries the security headers.
        .layer(axum::middleware::map_response(secured))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&served),
            auth::require_token,
        ))
        .with_state(served)
}

/// A route that answers with `command` run on the request's query.
fn view(command: &'static str, answer_as: Answer) -> axum::routing::MethodRouter<Arc<Served>> {
    get(
        move |State(s): State<Arc<Served>>, h: HeaderMap, RawQuery(q): RawQuery| async move {
            answer(s, h, command, q, &[], answer_as).await
        },
    )
}

async fn trace_api(
    State(s): State<Arc<Served>>,
    h: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    answer(s, h, "show", q, &[id], Answer::Json).await
}

async fn secured(mut response: Response) -> Response {
    status::secure(response.headers_mut());
    response
}

async fn not_found() -> Response {
    status::error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such page: the pages are /, /cases and /compare, the data /api/trend, /api/cases, /api/compare, /api/traces and /api/traces/ID",
    )
}

/// Runs `command` with the request's query as its flags (and `positional`
/// after them), on a blocking thread: the analyses are synchronous and
/// CPU-bound. An answer kept for the store's version is sent again
/// without running anything; one the client has is a 304.
async fn answer(
    served: Arc<Served>,
    headers: HeaderMap,
    command: &'static str,
    query: Option<String>,
    positional: &[String],
    answer: Answer,
) -> Response {
    let query = query.unwrap_or_default();
    let argv = match query::argv(command, &query, positional, answer.format()) {
        Ok(argv) => argv,
        Err(message) => {
            return status::error_response(StatusCode::BAD_REQUEST, "invalid_input", &message)
        }
    };
    let has = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // One analysis a core at a time: a burst of heavy requests queues
    // rather than starving the machine.
    let Ok(permit) = Arc::clone(&served.running).acquire_owned().await else {
        return status::error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "stopping",
            "the server is stopping",
        );
    };
    let ran = tokio::task::spawn_blocking(move || {
        let kept = kept_or_run(&served, argv, has.as_deref());
        drop(permit);
        kept
    })
    .await;
    match ran {
        Ok(Ok(Kept::Unchanged(etag))) => {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            let headers = response.headers_mut();
            if let Ok(etag) = HeaderValue::from_str(&etag) {
                headers.insert(header::ETAG, etag);
            }
            status::secure(headers);
            response
        }
        Ok(Ok(Kept::Body(body, etag))) => {
            let body = match answer {
                Answer::Page => page::decorate(&body, command, &query).into(),
                // The kept answer itself: a reference, not a copy.
                Answer::Json => body,
            };
            let mut response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(answer.content_type()),
            );
            if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
                headers.insert(header::ETAG, etag);
            }
            status::secure(headers);
            response
        }
        Ok(Err(failure)) => failure,
        Err(_) => status::error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the analysis stopped unexpectedly",
        ),
    }
}

/// An answer: the body (with its entity tag when the store has a
/// version), or that the client has it already.
enum Kept {
    Body(axum::body::Bytes, Option<String>),
    Unchanged(String),
}

/// The answer to `argv`: the one kept for the store's version, else run
/// and kept when the store did not change while it ran.
fn kept_or_run(served: &Served, argv: Vec<String>, has: Option<&str>) -> Result<Kept, Response> {
    let before = cache::Version::of(served.store_file.as_deref());
    let Some(version) = before else {
        return Ok(Kept::Body(
            axum::body::Bytes::from(run_command(&served.store, argv)?),
            None,
        ));
    };
    let etag = version.etag(&argv);
    if has == Some(etag.as_str()) {
        return Ok(Kept::Unchanged(etag));
    }
    if let Some(body) = served.cache.get(&argv, &version) {
        return Ok(Kept::Body(body, Some(etag)));
    }
    let body = axum::body::Bytes::from(run_command(&served.store, argv.clone())?);
    if cache::Version::of(served.store_file.as_deref()).as_ref() == Some(&version) {
        served.cache.put(argv, version, body.clone());
        return Ok(Kept::Body(body, Some(etag)));
    }
    Ok(Kept::Body(body, None))
}

/// Parses `argv` as the command line would, points it at the served store,
/// and runs it into a buffer.
fn run_command(store: &StoreArgs, argv: Vec<String>) -> Result<Vec<u8>, Response> {
    use crate::args::Command;
    let mut cli = query::parse(&argv)?;
    // Whatever was parsed, the answer goes to the response, never a file.
    let stdout = std::path::PathBuf::from("-");
    match &mut cli.command {
        Command::Trend(args) => args.report.output.clone_from(&stdout),
        Command::Cases(args) => args.report.output.clone_from(&stdout),
        Command::Compare(args) => args.report.output.clone_from(&stdout),
        _ => {}
    }
    let mut body = Vec::new();
    let mut out = Out::buffer(&mut body);
    let ran = match &mut cli.command {
        Command::Trend(args) => {
            args.store = store.clone();
            crate::commands::trend::run(args, &mut out)
        }
        Command::Cases(args) => {
            args.store = store.clone();
            crate::commands::cases::run(args, &mut out)
        }
        Command::Compare(args) => {
            args.store = store.clone();
            crate::commands::compare::run(args, &mut out)
        }
        Command::List(args) => {
            args.store = store.clone();
            crate::commands::list::run(args, &mut out)
        }
        Command::Show(args) => {
            args.store = store.clone();
            crate::commands::show::run(args, &mut out)
        }
        _ => unreachable!("query::argv builds only the reading commands"),
    };
    drop(out);
    match ran {
        Ok(_) => Ok(body),
        Err(err) => Err(status::failure(&err)),
    }
}

/// How long a stopping server waits for the analyses it is running.
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// Resolves on Ctrl-C or SIGTERM: the server stops taking connections and
/// finishes the requests it has, for [`DRAIN_FOR`] at most (an analysis
/// cannot be interrupted; the process then ends without it).
async fn stopped() {
    signalled().await;
    std::thread::spawn(|| {
        std::thread::sleep(DRAIN_FOR);
        crate::commands::say("traceflow serve: stopped without the analyses still running");
        std::process::exit(i32::from(exit_codes::SUCCESS));
    });
}

/// Ctrl-C or SIGTERM.
async fn signalled() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
