//! `--stale-after`: running traces that never finished count as failed.

use super::{json, Sandbox};

#[test]
fn stale_running_traces_count_as_failed_and_are_reported_apart() {
    let sandbox = Sandbox::new(&["quirks.db"]);
    // quirks.db's three running traces started in 2025-12-31/2026-01-01.
    let table = sandbox.run(&["trend", "--db", "quirks.db", "--stale-after", "1d"]);
    assert_eq!(table.code, 0, "{table}");
    assert!(
        table
            .stdout
            .contains("Counted as failed: 3 traces still running that started before "),
        "{table}"
    );
    assert!(!table.stdout.contains("Left out: "), "{table}");
    for args in [&[][..], &["--group-by", "day"][..]] {
        let outcome = sandbox.run(
            &[
                &[
                    "trend",
                    "--db",
                    "quirks.db",
                    "--stale-after",
                    "2h",
                    "--format",
                    "json",
                ][..],
                args,
            ]
            .concat(),
        );
        assert_eq!(outcome.code, 0, "{outcome}");
        let doc = json(&outcome.stdout);
        assert_eq!(doc["stale"]["failed"], 3, "{args:?}");
        assert_eq!(doc["left_out_running"], 0, "{args:?}");
    }
    let off = json(
        &sandbox
            .run(&["trend", "--db", "quirks.db", "--format", "json"])
            .stdout,
    );
    assert!(off.get("stale").is_none(), "off by default: {off}");
    let bad = sandbox.run(&["trend", "--db", "quirks.db", "--stale-after", "yesterday"]);
    assert_eq!(bad.code, 2, "{bad}");
    assert!(
        bad.stderr.contains("expected an age such as 2h or 1d"),
        "{bad}"
    );
}
