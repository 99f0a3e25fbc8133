//! `traceflow watch`: a webhook called once when a regression opens and
//! once when it recovers, never on every evaluation, and not again after a
//! restart. A receiver in the test records what arrives.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::routing::post;

use super::Sandbox;

/// A webhook receiver on a free loopback port: the bodies it accepted,
/// and how many requests it will still refuse with a 503 first.
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
    refuse: Arc<Mutex<usize>>,
    attempts: Arc<Mutex<usize>>,
}

impl Receiver {
    fn start() -> Receiver {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let refuse = Arc::new(Mutex::new(0));
        let attempts = Arc::new(Mutex::new(0));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!(
            "http://{}/hooks/SECRET-PATH",
            listener.local_addr().unwrap()
        );
        let (b, r, a) = (bodies.clone(), refuse.clone(), attempts.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = axum::Router::new()
                    // A hook that moved: a redirect followed would POST nothing.
                    .route(
                        "/moved",
                        post(|| async {
                            (
                                StatusCode::MOVED_PERMANENTLY,
                                [("location", "/hooks/SECRET-PATH")],
                            )
                        }),
                    )
                    .route(
                        "/hooks/SECRET-PATH",
                        post(move |body: String| async move {
                            *a.lock().unwrap() += 1;
                            let mut refuse = r.lock().unwrap();
                            if *refuse > 0 {
                                *refuse -= 1;
                                return StatusCode::SERVICE_UNAVAILABLE;
                            }
                            b.lock().unwrap().push(body);
                            StatusCode::OK
                        }),
                    );
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        Receiver {
            url,
            bodies,
            refuse,
            attempts,
        }
    }

    fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| super::json(b))
            .collect()
    }
}

/// `runs` runs of 20 cases from run `first`, the first `failing` of them
/// failing, as traceflow's JSON lines imported into `evals.db`.
fn import_runs(sandbox: &Sandbox, first: u32, runs: u32, failing: u32) {
    let mut lines = String::new();
    for run in first..first + runs {
        for case in 1..=20 {
            lines.push_str(
                &serde_json::json!({
                    "run": format!("run-{run:02}"),
                    "case": format!("case-{case}"),
                    "time": format!("2026-11-{run:02}T10:00:{case:02}Z"),
                    "passed": case > failing,
                })
                .to_string(),
            );
            lines.push('\n');
        }
    }
    let file = format!("runs-{first}.jsonl");
    std::fs::write(sandbox.path(&file), lines).unwrap();
    let out = sandbox.run(&["import", "--db", "evals.db", &file]);
    assert_eq!(out.code, 0, "{out}");
}

/// With `running` (a watch or a server) started on a healthy store: the
/// drop arrives, and what the receiver got within a minute, once it came.
fn alerts_after_a_drop(
    sandbox: &Sandbox,
    receiver: &Receiver,
    mut running: std::process::Child,
) -> Vec<serde_json::Value> {
    // Its first evaluation finds nothing to say; then the drop arrives.
    std::thread::sleep(std::time::Duration::from_secs(2));
    import_runs(sandbox, 9, 4, 5);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while receiver.bodies().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = running.kill();
    let _ = running.wait();
    receiver.bodies()
}

fn watch_once(sandbox: &Sandbox, hook: &str, extra: &[&str]) -> super::Outcome {
    let mut args = vec![
        "watch",
        "--db",
        "evals.db",
        "--group-by",
        "run",
        "--window",
        "8",
        "--once",
        "--state",
        "alerts.json",
        "--alert-webhook",
        hook,
    ];
    args.extend(extra);
    sandbox.run(&args)
}

#[test]
fn one_alert_when_a_regression_opens_and_one_when_it_recovers() {
    let sandbox = Sandbox::new(&[]);
    let receiver = Receiver::start();
    import_runs(&sandbox, 1, 8, 0);
    let quiet = watch_once(&sandbox, &receiver.url, &[]);
    assert_eq!(quiet.code, 0, "{quiet}");
    assert!(receiver.bodies().is_empty(), "{quiet}");

    // Five of twenty cases break: the regression opens, once.
    import_runs(&sandbox, 9, 4, 5);
    let opened = watch_once(&sandbox, &receiver.url, &[]);
    assert_eq!(opened.code, 0, "{opened}");
    assert!(
        opened
            .stderr
            .contains("alerted: regression_opened (opened: pass-rate; recovered: none)"),
        "{opened}"
    );
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["event"], "regression_opened");
    assert_eq!(bodies[0]["opened"][0]["key"], "pass-rate");
    assert!(bodies[0]["opened"][0]["summary"]
        .as_str()
        .unwrap()
        .contains("fell"));
    assert_eq!(bodies[0]["open"], serde_json::json!(["pass-rate"]));
    assert_eq!(bodies[0]["report"]["any_regression"], true);
    // The report is the gate's JSON, as the command writes it.
    let gate = sandbox.run(&[
        "gate",
        "--db",
        "evals.db",
        "--group-by",
        "run",
        "--window",
        "8",
        "--format",
        "json",
    ]);
    assert_eq!(bodies[0]["report"], super::json(&gate.stdout));

    // Evaluated again, or after a restart: nothing new, nothing sent.
    let again = watch_once(&sandbox, &receiver.url, &[]);
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(receiver.bodies().len(), 1);

    // Healthy runs push the drop out of the window: it recovers, once.
    import_runs(&sandbox, 13, 8, 0);
    let recovered = watch_once(&sandbox, &receiver.url, &[]);
    assert_eq!(recovered.code, 0, "{recovered}");
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["event"], "regression_recovered");
    assert_eq!(bodies[1]["recovered"], serde_json::json!(["pass-rate"]));
    assert_eq!(bodies[1]["open"], serde_json::json!([]));
    watch_once(&sandbox, &receiver.url, &[]);
    assert_eq!(receiver.bodies().len(), 2);
}

#[test]
fn an_alert_that_cannot_be_delivered_is_retried_and_never_lost() {
    let sandbox = Sandbox::new(&[]);
    let receiver = Receiver::start();
    import_runs(&sandbox, 1, 8, 0);
    import_runs(&sandbox, 9, 4, 5);

    // Two 503s, then accepted: one alert, after three attempts.
    *receiver.refuse.lock().unwrap() = 2;
    let retried = watch_once(&sandbox, &receiver.url, &["--alert-format", "slack"]);
    assert_eq!(retried.code, 0, "{retried}");
    assert_eq!(*receiver.attempts.lock().unwrap(), 3);
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    let text = bodies[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Regression: pass-rate: The pass rate fell"),
        "{text}"
    );

    // A webhook that is down: exit 2, the alert kept for the next time,
    // and the webhook's secret path never printed.
    let sandbox = Sandbox::new(&[]);
    import_runs(&sandbox, 1, 8, 0);
    import_runs(&sandbox, 9, 4, 5);
    let down = "http://127.0.0.1:9/hooks/SECRET-PATH";
    let failed = watch_once(&sandbox, down, &[]);
    assert_eq!(failed.code, 2, "{failed}");
    assert!(
        failed
            .stderr
            .contains("alert not delivered to http://127.0.0.1:9/…"),
        "{failed}"
    );
    assert!(!failed.stderr.contains("SECRET"), "{failed}");
    let delivered = watch_once(&sandbox, &receiver.url, &[]);
    assert_eq!(delivered.code, 0, "{delivered}");
    assert_eq!(receiver.bodies().len(), 2);
    assert_eq!(receiver.bodies()[1]["event"], "regression_opened");
}

#[test]
fn a_running_watch_alerts_when_the_store_changes_not_only_on_its_interval() {
    let sandbox = Sandbox::new(&[]);
    let receiver = Receiver::start();
    import_runs(&sandbox, 1, 8, 0);
    let child = sandbox
        .command(&[
            "watch",
            "--db",
            "evals.db",
            "--group-by",
            "run",
            "--window",
            "8",
            "--interval",
            "1h",
            "--state",
            "alerts.json",
            "--alert-webhook",
            &receiver.url,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let bodies = alerts_after_a_drop(&sandbox, &receiver, child);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["event"], "regression_opened");
}

#[test]
fn a_server_given_a_webhook_alerts_as_watch_does() {
    let sandbox = Sandbox::new(&[]);
    let receiver = Receiver::start();
    import_runs(&sandbox, 1, 8, 0);
    let bad = sandbox.run(&[
        "serve",
        "--db",
        "evals.db",
        "--bind",
        "127.0.0.1:0",
        "--alert-webhook",
        &receiver.url,
        "--alert-gate",
        "group-by=fortnight",
    ]);
    assert_eq!(bad.code, 2, "{bad}");
    assert!(
        bad.stderr.contains("--alert-gate: ") && bad.stderr.contains("fortnight"),
        "{bad}"
    );
    // Alerts that could not work stop the server from starting.
    for (flag, value, says) in [
        (
            "--alert-webhook",
            "ftp://example/hook",
            "not an http or https URL",
        ),
        (
            "--alert-state",
            "no/such/folder/alerts.json",
            "cannot be written",
        ),
    ] {
        let mut args = vec![
            "serve",
            "--db",
            "evals.db",
            "--bind",
            "127.0.0.1:0",
            "--alert-webhook",
            &receiver.url,
        ];
        args.extend([flag, value]);
        let out = sandbox.run(&args);
        assert_eq!(out.code, 2, "{out}");
        assert!(out.stderr.contains(says), "{out}");
    }

    let child = sandbox
        .command(&[
            "serve",
            "--db",
            "evals.db",
            "--bind",
            "127.0.0.1:0",
            "--alert-webhook",
            &receiver.url,
            "--alert-gate",
            "group-by=run&window=8",
            "--alert-interval",
            "1h",
            "--alert-state",
            "alerts.json",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let bodies = alerts_after_a_drop(&sandbox, &receiver, child);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["event"], "regression_opened");
    assert_eq!(bodies[0]["opened"][0]["key"], "pass-rate");
}

#[test]
fn a_redirect_or_an_unwritable_state_is_not_taken_for_a_delivery() {
    let sandbox = Sandbox::new(&[]);
    let receiver = Receiver::start();
    import_runs(&sandbox, 1, 8, 0);
    import_runs(&sandbox, 9, 4, 5);
    let moved = receiver.url.replace("/hooks/SECRET-PATH", "/moved");
    let out = watch_once(&sandbox, &moved, &[]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("HTTP 301"), "{out}");
    assert!(receiver.bodies().is_empty());
    assert!(!sandbox.path("alerts.json").exists());

    // A state that could not be kept would repeat every alert: refused
    // before anything is sent.
    let out = sandbox.run(&[
        "watch",
        "--db",
        "evals.db",
        "--group-by",
        "run",
        "--window",
        "8",
        "--once",
        "--state",
        "no/such/folder/alerts.json",
        "--alert-webhook",
        &receiver.url,
    ]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("cannot be written"), "{out}");
    // And so is a webhook that is no http URL.
    let out = watch_once(&sandbox, "ftp://example/hook", &[]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("not an http or https URL"), "{out}");
    assert!(receiver.bodies().is_empty());
}
