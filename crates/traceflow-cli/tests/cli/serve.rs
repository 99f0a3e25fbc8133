//! `traceflow serve`: the reading commands over HTTP. A server is started
//! on a free loopback port and asked as a script or a browser would; its
//! answers must be the command's own bytes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use super::Sandbox;

/// A running server, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(sandbox: &Sandbox, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--bind", "127.0.0.1:0"];
        args.extend(extra);
        let mut child = sandbox
            .command(&args)
            .env_remove("TRACEFLOW_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The first line names the address: "traceflow serve: http://...".
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .trim_end_matches('/')
            .to_owned();
        Server { child, url }
    }

    /// GETs `path`, with `token` as a bearer token: status, content type,
    /// CSP, body.
    fn get_with(&self, path: &str, token: Option<&str>) -> Answer {
        match token {
            Some(token) => self.request(path, &[("Authorization", format!("Bearer {token}"))]),
            None => self.request(path, &[]),
        }
    }

    /// GETs `path` with `headers`.
    fn request(&self, path: &str, headers: &[(&str, String)]) -> Answer {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut request = agent.get(format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut response = request.call().unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        let (content_type, csp, etag) = (
            header("content-type"),
            header("content-security-policy"),
            header("etag"),
        );
        Answer {
            status: response.status().as_u16(),
            content_type,
            csp,
            etag,
            body: response.body_mut().read_to_string().unwrap(),
        }
    }

    fn get(&self, path: &str) -> Answer {
        self.get_with(path, None)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    content_type: String,
    csp: String,
    etag: String,
    body: String,
}

#[test]
fn the_api_answers_with_the_commands_json_byte_for_byte() {
    let sandbox = Sandbox::new(&["cases.db"]);
    let server = Server::start(&sandbox, &["--db", "cases.db"]);
    let pairs: [(&str, &[&str]); 6] = [
        (
            "/api/trend?group-by=day&window=all&metric=cost&metric=pass-rate",
            &["trend", "--group-by", "day", "--window", "all", "--metric", "cost", "--metric", "pass-rate"],
        ),
        ("/api/trend", &["trend"]),
        ("/api/trend?all-metrics&window=all", &["trend", "--all-metrics", "--window", "all"]),
        ("/api/cases?window=all&all=true", &["cases", "--window", "all", "--all"]),
        (
            "/api/compare?baseline=until%3D2026-01-01T14%3A35%3A00Z&candidate=since%3D2026-01-01T14%3A35%3A00Z",
            &["compare", "--baseline", "until=2026-01-01T14:35:00Z", "--candidate", "since=2026-01-01T14:35:00Z"],
        ),
        ("/api/traces?limit=3", &["list", "--limit", "3"]),
    ];
    for (path, command) in pairs {
        let answer = server.get(path);
        assert_eq!(answer.status, 200, "{path}: {answer:?}");
        assert_eq!(answer.content_type, "application/json", "{path}");
        let mut args = command.to_vec();
        args.extend(["--db", "cases.db", "--format", "json"]);
        let cli = sandbox.run(&args);
        assert!(cli.code == 0 || cli.code == 1, "{cli}");
        assert_eq!(answer.body, cli.stdout, "{path}");
    }
    // One trace, by the id the listing gives.
    let listed = super::json(&server.get("/api/traces?limit=1").body);
    let id = listed["traces"][0]["trace_id"].as_str().unwrap().to_owned();
    let answer = server.get(&format!("/api/traces/{id}"));
    assert_eq!(answer.status, 200, "{answer:?}");
    let cli = sandbox.run(&["show", "--db", "cases.db", "--format", "json", "--", &id]);
    assert_eq!(answer.body, cli.stdout);
}

#[test]
fn a_failure_answers_with_its_kinds_status_and_one_line() {
    let sandbox = Sandbox::new(&["cases.db"]);
    let server = Server::start(&sandbox, &["--db", "cases.db"]);
    for (path, status, kind, says) in [
        (
            "/api/trend?group-by=fortnight",
            400,
            "invalid_input",
            "unknown grouping \"fortnight\"",
        ),
        (
            "/api/trend?no-such-flag=1",
            400,
            "invalid_input",
            "--no-such-flag",
        ),
        (
            "/api/trend?db=other.db",
            400,
            "invalid_input",
            "\"db\" is the server's to choose",
        ),
        (
            "/api/trend?format=table",
            400,
            "invalid_input",
            "\"format\" is the server's",
        ),
        // A key that smuggles a value in is no flag name: the server
        // writes no file.
        (
            "/api/trend?output%3Dwritten.json=1",
            400,
            "invalid_input",
            "is not a parameter",
        ),
        (
            "/api/trend?output=written.json",
            400,
            "invalid_input",
            "\"output\" is the server's",
        ),
        (
            "/api/trend?all-metrics=maybe",
            400,
            "invalid_input",
            "is a switch",
        ),
        (
            "/api/trend?group-by=config.nope",
            400,
            "invalid_input",
            "no trace has config key \"nope\"",
        ),
        (
            "/api/traces/no-such-trace",
            404,
            "not_found",
            "no trace \"no-such-trace\"",
        ),
        ("/nowhere", 404, "not_found", "no such page"),
    ] {
        let answer = server.get(path);
        assert_eq!(answer.status, status, "{path}: {answer:?}");
        assert_eq!(answer.content_type, "application/json", "{path}");
        let body = super::json(&answer.body);
        assert_eq!(body["kind"], kind, "{path}: {answer:?}");
        let error = body["error"].as_str().unwrap();
        assert!(
            error.contains(says) && !error.contains('\n'),
            "{path}: {error}"
        );
    }
    assert!(!sandbox.path("written.json=1").exists());
    assert!(!sandbox.path("written.json").exists());
    // Too little data is an answer (the report says so), not a failure.
    let sandbox = Sandbox::new(&["one_trace.db"]);
    let server = Server::start(&sandbox, &["--db", "one_trace.db"]);
    let answer = server.get("/api/trend");
    let cli = sandbox.run(&["trend", "--db", "one_trace.db", "--format", "json"]);
    assert_eq!(cli.code, 0, "{cli}");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, cli.stdout);
    assert!(answer.body.contains("\"verdict\":\"insufficient_data\""));
}

#[test]
fn pages_are_the_html_reports_under_a_policy_without_script() {
    let sandbox = Sandbox::new(&["cases.db"]);
    let server = Server::start(&sandbox, &["--db", "cases.db"]);
    for (path, command) in [
        ("/?window=all", vec!["trend", "--window", "all"]),
        ("/cases?window=all", vec!["cases", "--window", "all"]),
    ] {
        let answer = server.get(path);
        assert_eq!(answer.status, 200, "{path}: {answer:?}");
        assert_eq!(answer.content_type, "text/html; charset=utf-8");
        assert!(
            answer.csp.starts_with("default-src 'none';"),
            "{}",
            answer.csp
        );
        assert!(!answer.csp.contains("script"), "{}", answer.csp);
        // The report, with the server's bar of links and a form on top.
        let (start, end) = (
            answer.body.find("<nav").unwrap(),
            answer.body.find("</nav>").unwrap() + "</nav>".len(),
        );
        let bar = &answer.body[start..end];
        assert!(bar.contains("<form method=\"get\""), "{bar}");
        assert!(bar.contains("name=\"window\" value=\"all\""), "{bar}");
        let report = format!("{}{}", &answer.body[..start], &answer.body[end..]);
        let mut args = command.clone();
        args.extend(["--db", "cases.db", "--format", "html"]);
        assert_eq!(report, sandbox.run(&args).stdout, "{path}");
    }
    // The form's empty fields are as if absent.
    let empty = server.get("/?group-by=&window=all&metric=&all-metrics=true");
    assert_eq!(empty.status, 200, "{empty:?}");
}

#[test]
fn beyond_loopback_a_token_is_required_and_checked() {
    let sandbox = Sandbox::new(&["cases.db"]);
    let refused = sandbox.run(&["serve", "--db", "cases.db", "--bind", "0.0.0.0:0"]);
    assert_eq!(refused.code, 2, "{refused}");
    assert!(
        refused
            .stderr
            .contains("reachable from other machines: give a --token"),
        "{refused}"
    );

    // A token given is required on loopback too.
    let token = format!("test-{}", std::process::id());
    let server = Server::start(&sandbox, &["--db", "cases.db", "--token", &token]);
    assert_eq!(server.get("/api/trend").status, 401);
    assert_eq!(server.get_with("/api/trend", Some("wrong")).status, 401);
    let answer = server.get_with("/api/trend", Some(&token));
    assert_eq!(answer.status, 200, "{answer:?}");
    // The scheme's name in any letter case (RFC 7235).
    let lower = server.request(
        "/api/trend",
        &[("Authorization", format!("bearer {token}"))],
    );
    assert_eq!(lower.status, 200, "{lower:?}");
    assert!(!answer.body.contains(&token));
}

#[test]
fn a_store_that_cannot_be_read_is_said_at_start() {
    let sandbox = Sandbox::new(&[]);
    let out = sandbox.run(&["serve", "--db", "missing.db", "--bind", "127.0.0.1:0"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.starts_with("error: ") && out.stderr.contains("missing.db"),
        "{out}"
    );
    assert!(!sandbox.path("missing.db").exists());
}

/// Writes `runs` runs of an 8-case suite to `file` (traceflow's JSON
/// lines), run `first` on; from run 7 on, case-1 and case-2 fail.
fn suite_runs(sandbox: &Sandbox, file: &str, first: u32, runs: u32) {
    let mut lines = String::new();
    for run in first..first + runs {
        for case in 1..=8 {
            let passed = !(run >= 7 && case <= 2);
            lines.push_str(
                &serde_json::json!({
                    "run": format!("run-{run:02}"),
                    "case": format!("case-{case}"),
                    "time": format!("2026-11-{run:02}T10:00:0{case}Z"),
                    "passed": passed,
                })
                .to_string(),
            );
            lines.push('\n');
        }
    }
    std::fs::write(sandbox.path(file), lines).unwrap();
}

#[test]
fn an_unchanged_store_answers_from_what_was_kept_and_a_change_is_seen() {
    let sandbox = Sandbox::new(&[]);
    suite_runs(&sandbox, "first.jsonl", 1, 6);
    let imported = sandbox.run(&["import", "--db", "evals.db", "first.jsonl"]);
    assert_eq!(imported.code, 0, "{imported}");
    let server = Server::start(&sandbox, &["--db", "evals.db"]);
    let path = "/api/trend?group-by=run&window=all";
    let first = server.get(path);
    assert_eq!(first.status, 200, "{first:?}");
    assert!(first.etag.starts_with('"'), "{first:?}");
    assert_eq!(server.get(path).body, first.body);
    // A client that has it is told so.
    let again = server.request(path, &[("If-None-Match", first.etag.clone())]);
    assert_eq!(again.status, 304, "{again:?}");
    assert!(again.body.is_empty());

    // The store changes: the same question has a new answer, the
    // command's.
    suite_runs(&sandbox, "more.jsonl", 7, 4);
    let imported = sandbox.run(&["import", "--db", "evals.db", "more.jsonl"]);
    assert_eq!(imported.code, 0, "{imported}");
    let after = server.request(path, &[("If-None-Match", first.etag.clone())]);
    assert_eq!(after.status, 200, "{after:?}");
    assert_ne!(after.etag, first.etag);
    let cli = sandbox.run(&[
        "trend",
        "--db",
        "evals.db",
        "--group-by",
        "run",
        "--window",
        "all",
        "--format",
        "json",
    ]);
    assert_eq!(after.body, cli.stdout);
    assert_eq!(super::json(&after.body)["runs"], 10);
}

#[test]
fn axums_own_answers_carry_the_security_headers_too() {
    let sandbox = Sandbox::new(&["cases.db"]);
    let server = Server::start(&sandbox, &["--db", "cases.db"]);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .post(format!("{}/api/trend", server.url))
        .send("")
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert!(response.headers().get("content-security-policy").is_some());
    let bad = server.get("/api/traces/%ff");
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(bad.csp.starts_with("default-src 'none'"), "{bad:?}");
}

#[test]
fn a_stopped_server_waits_a_bounded_time_for_an_analysis_it_is_running() {
    let sandbox = Sandbox::new(&["cases.db"]);
    let server = Server::start(&sandbox, &["--db", "cases.db"]);
    // An analysis that runs for minutes (10,000 evaluations' simulated
    // levels for every metric).
    let url = format!(
        "{}/api/trend?evaluations=10000&all-metrics&segment-by=model&group-by=day",
        server.url
    );
    std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let _ = agent.get(url).call();
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    let pid = server.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let mut server = server;
    let started = std::time::Instant::now();
    let code = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(40),
            "still running 40 s after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(code, Some(0));
}
