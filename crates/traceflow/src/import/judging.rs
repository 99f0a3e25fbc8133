//! How evaluations are judged beyond what their tool says: per evaluation
//! name (or `*`, every evaluation), a score at or above which it passes
//! (`import --pass-at NAME=SCORE`), and words of one's own that say pass
//! or fail (`--pass-label NAME=WORD`, `--fail-label NAME=WORD`).
//!
//! A rule decides the evaluations it names: their `passed:NAME`,
//! `pass-rate.NAME` and `cases --evaluation`. A case's own pass or fail
//! follows its format's rule: where the format derives it from the
//! evaluations (OpenTelemetry, Inspect), the rules change it; where the
//! tool says it (promptfoo's `success`, DeepEval's, a JUnit testcase's,
//! a JSON-lines record's `passed`), the tool's verdict stands.

use std::collections::BTreeMap;

use super::{CaseResult, Format};
use crate::error::InvalidValue;

/// Every evaluation, in a rule's NAME.
const EVERY: &str = "*";

/// The rules, by evaluation name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Judging {
    pass_at: BTreeMap<String, f64>,
    /// (name, the word lowercased and trimmed) → passes.
    words: BTreeMap<(String, String), bool>,
}

impl Judging {
    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.pass_at.is_empty() && self.words.is_empty()
    }

    /// Adds `NAME=SCORE`: evaluation NAME (`*`: every one) passes when its
    /// score is at least SCORE.
    pub fn add_pass_at(&mut self, rule: &str) -> Result<(), InvalidValue> {
        // A score has no `=`; a name may.
        let (name, score) = match rule.rsplit_once('=') {
            Some((name, score)) if !name.trim().is_empty() => {
                (name.trim().to_owned(), score.to_owned())
            }
            _ => split(rule, "SCORE")?,
        };
        let score: f64 = score
            .trim()
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite())
            .ok_or_else(|| {
                InvalidValue::new(format!(
                    "{rule:?}: the score {score:?} is not a finite number"
                ))
            })?;
        self.pass_at.insert(name, score);
        Ok(())
    }

    /// Adds `NAME=WORD`: evaluation NAME's (`*`: any one's) label WORD (in
    /// any letter case) says it passed, or failed.
    pub fn add_label(&mut self, rule: &str, passes: bool) -> Result<(), InvalidValue> {
        let (name, word) = split(rule, "WORD")?;
        let word = word.trim().to_lowercase();
        if word.is_empty() {
            return Err(InvalidValue::new(format!("{rule:?}: the word is empty")));
        }
        if let Some(&other) = self.words.get(&(name.clone(), word.clone())) {
            if other != passes {
                return Err(InvalidValue::new(format!(
                    "{rule:?}: {word:?} is given as both a pass and a fail of {name:?}"
                )));
            }
        }
        self.words.insert((name, word), passes);
        Ok(())
    }

    /// `result` judged by the rules (a copy; the rules' text is part of an
    /// import's identity, so importing with other rules reads again).
    pub(crate) fn apply(&self, format: Format, result: &mut CaseResult) {
        if self.is_empty() {
            return;
        }
        for evaluation in &mut result.evaluations {
            let rule = |name: &str| {
                let word = evaluation.label.as_deref().map(|l| l.trim().to_lowercase());
                let by_word = word.and_then(|w| self.words.get(&(name.to_owned(), w)).copied());
                let by_score = self
                    .pass_at
                    .get(name)
                    .and_then(|&at| evaluation.score.map(|s| s >= at));
                by_word.or(by_score)
            };
            if let Some(passed) = rule(&evaluation.name).or_else(|| rule(EVERY)) {
                evaluation.passed = Some(passed);
            }
        }
        if matches!(format, Format::Otlp | Format::Inspect) {
            result.passed = result.passed_by_evaluations();
        }
    }
}

/// `NAME=VALUE`, NAME not empty.
fn split(rule: &str, what: &str) -> Result<(String, String), InvalidValue> {
    match rule.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(InvalidValue::new(format!(
            "{rule:?} is not NAME={what} (NAME an evaluation's name, or * for every one)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Evaluation;
    use super::*;

    fn result(evaluations: Vec<Evaluation>, passed: bool) -> CaseResult {
        let mut result = CaseResult::new("r", "c", jiff::Timestamp::UNIX_EPOCH);
        result.evaluations = evaluations;
        result.passed = passed;
        result
    }

    fn evaluation(name: &str, score: Option<f64>, label: Option<&str>) -> Evaluation {
        Evaluation {
            name: name.to_owned(),
            score,
            passed: label.and_then(super::super::label_passes),
            explanation: None,
            label: label.map(str::to_owned),
        }
    }

    #[test]
    fn a_rule_decides_the_evaluations_it_names_and_the_case_where_the_format_derives_it() {
        let mut judging = Judging::default();
        judging.add_pass_at("quality=0.7").unwrap();
        judging.add_label("relevance=partly", false).unwrap();
        judging.add_label("*=good", true).unwrap();
        let evaluations = vec![
            evaluation("quality", Some(0.6), None),
            evaluation("relevance", None, Some("Partly")),
            evaluation("tone", None, Some("good")),
            evaluation("other", Some(0.1), Some("unheard")),
        ];
        let mut otlp = result(evaluations.clone(), true);
        judging.apply(Format::Otlp, &mut otlp);
        let passed: Vec<Option<bool>> = otlp.evaluations.iter().map(|e| e.passed).collect();
        assert_eq!(passed, [Some(false), Some(false), Some(true), None]);
        assert!(!otlp.passed, "OpenTelemetry's case follows its evaluations");
        // The tool's own verdict of the case stands.
        let mut promptfoo = result(evaluations, true);
        judging.apply(Format::Promptfoo, &mut promptfoo);
        assert!(promptfoo.passed);
        assert_eq!(promptfoo.evaluations[0].passed, Some(false));
    }

    #[test]
    fn bad_rules_are_refused_with_what_was_expected() {
        let mut judging = Judging::default();
        assert!(judging
            .add_pass_at("quality")
            .unwrap_err()
            .to_string()
            .contains("is not NAME=SCORE"));
        assert!(judging.add_pass_at("=0.5").is_err());
        judging.add_pass_at("a=b=0.5").unwrap();
        assert_eq!(judging.pass_at.get("a=b"), Some(&0.5));
        assert!(judging
            .add_pass_at("q=high")
            .unwrap_err()
            .to_string()
            .contains("not a finite number"));
        assert!(judging.add_pass_at("q=NaN").is_err());
        assert!(judging.add_label("q= ", true).is_err());
        judging.add_label("q=meh", true).unwrap();
        assert!(judging
            .add_label("q=MEH", false)
            .unwrap_err()
            .to_string()
            .contains("both a pass and a fail"));
        assert!(Judging::default().is_empty());
    }
}
