//! The README's samples of the demo store, checked against the commands.
//!
//! Every ` ```text ` block of `README.md` whose first line is `$ traceflow
//! … --db traceflow-demo.db …` is run, with the README's arguments, against
//! the store `traceflow demo` writes with its defaults (a fixed end, so the
//! same store on any day), and the command's standard output must be the
//! block's other lines exactly; a line `...` stands for any lines, none or
//! more, and trailing blank lines are not compared. The exit code and
//! standard error are not shown in the README and not compared.
//!
//! Skipped: `$ traceflow` samples on any other store (there are none at
//! present; the test prints any it skips), and blocks that are not `text`:
//! the commands under "With your TraceFlow Lite store" and the like (`sh`,
//! no output), and the demo store's JSON under "## JSON" (a `json` block,
//! indented and rounded by hand).

use super::Sandbox;

/// A `$ traceflow …` block.
struct Sample {
    /// Its first line's number in the README, from 1.
    line: usize,
    /// The arguments after `traceflow`.
    args: Vec<String>,
    /// The output shown.
    expected: Vec<String>,
}

fn samples(readme: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut lines = readme.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if line.trim_end() != "```text" {
            continue;
        }
        let block: Vec<&str> = lines
            .by_ref()
            .map(|(_, l)| l)
            .take_while(|l| !l.starts_with("```"))
            .collect();
        let Some(command) = block.first().and_then(|l| l.strip_prefix("$ traceflow ")) else {
            continue;
        };
        assert!(
            !command.contains(['"', '\'', '\\', '$']),
            "README.md:{}: a sample's arguments are split at spaces; quote nothing",
            n + 2
        );
        samples.push(Sample {
            line: n + 2,
            args: command.split_whitespace().map(str::to_owned).collect(),
            expected: block[1..].iter().map(|l| (*l).to_owned()).collect(),
        });
    }
    samples
}

/// Whether `actual` is `expected`, each `...` line in it any lines.
fn matches(expected: &[String], actual: &[&str]) -> bool {
    let chunks: Vec<&[String]> = expected.split(|l| l.trim() == "...").collect();
    let fits = |chunk: &[String], at: usize| {
        actual.len() >= at + chunk.len() && chunk.iter().zip(&actual[at..]).all(|(e, a)| e == a)
    };
    let (first, rest) = chunks
        .split_first()
        .expect("split yields one chunk at least");
    if !fits(first, 0) {
        return false;
    }
    let Some((last, middle)) = rest.split_last() else {
        // No `...`: the whole output.
        return first.len() == actual.len();
    };
    let mut at = first.len();
    for chunk in middle {
        match (at..=actual.len()).find(|&i| fits(chunk, i)) {
            Some(i) => at = i + chunk.len(),
            None => return false,
        }
    }
    actual.len() >= at + last.len() && fits(last, actual.len() - last.len())
}

fn trimmed<T: AsRef<str>>(lines: &[T]) -> &[T] {
    let end = lines
        .iter()
        .rposition(|l| !l.as_ref().trim().is_empty())
        .map_or(0, |i| i + 1);
    &lines[..end]
}

#[test]
fn a_dotted_line_stands_for_any_lines_and_the_rest_is_exact() {
    let expected = |text: &str| -> Vec<String> { text.lines().map(str::to_owned).collect() };
    let actual = ["a", "b", "c", "d"];
    assert!(matches(&expected("a\nb\nc\nd"), &actual));
    assert!(matches(&expected("a\n...\nd"), &actual));
    assert!(matches(&expected("a\n...\nb\n...\nd"), &actual));
    assert!(!matches(&expected("a\nb\n...\nb\nc\nd"), &actual));
    assert!(matches(&expected("...\nc\n..."), &actual));
    assert!(matches(&expected("a\nb\nc\nd\n..."), &actual));
    assert!(!matches(&expected("a\nb\nc"), &actual));
    assert!(!matches(&expected("a\n...\nc"), &actual));
    assert!(!matches(&expected("a\nB\n..."), &actual));
    assert!(!matches(&expected("...\nd\nc"), &actual));
}

#[test]
fn the_readmes_demo_samples_are_the_commands_output() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let sandbox = Sandbox::new(&[]);
    let demo = sandbox.run(&["demo"]);
    assert_eq!(demo.code, 0, "{demo}");
    let mut checked = 0;
    let mut failures = Vec::new();
    for sample in samples(&readme) {
        if !sample
            .args
            .windows(2)
            .any(|w| w == ["--db", "traceflow-demo.db"])
        {
            eprintln!("README.md:{}: not on the demo store, skipped", sample.line);
            continue;
        }
        let args: Vec<&str> = sample.args.iter().map(String::as_str).collect();
        let out = sandbox.run(&args);
        let actual: Vec<&str> = out.stdout.lines().collect();
        if !matches(trimmed(&sample.expected), trimmed(&actual)) {
            failures.push(format!(
                "README.md:{}: $ traceflow {}\n--- the README shows ---\n{}\n--- the command prints ---\n{}",
                sample.line,
                args.join(" "),
                sample.expected.join("\n"),
                out
            ));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The README's four: trend, trend by day and model, cases, compare.
    assert!(checked >= 4, "only {checked} samples found");
}
