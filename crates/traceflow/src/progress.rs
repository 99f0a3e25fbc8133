//! What a long analysis is doing, for a front end that shows progress.
//!
//! The library prints nothing: an analyzer given a hook
//! ([`SuiteAnalyzer::on_progress`](crate::trend::SuiteAnalyzer::on_progress)
//! and its siblings) calls it with each [`Stage`] as the stage begins, on
//! the analysis's own thread. The command draws a spinner on a terminal;
//! the Python package passes none.

/// A stage of an analysis, reported as it begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Reading every trace's head (its time, status and the keys runs,
    /// segments and cases are made of).
    ReadingTraces,
    /// Reading the facts (decisions, scores, usage) of the window's
    /// traces.
    ReadingFacts {
        /// How many traces.
        traces: usize,
    },
    /// Judging the runs: the tests of every metric and segment, or of
    /// every case.
    Judging {
        /// How many runs the window holds.
        runs: usize,
    },
    /// An import reading and checking a file (OTLP files, read together,
    /// once for all of them).
    ReadingFile {
        /// Which, from 1.
        file: usize,
        /// Of how many.
        files: usize,
    },
    /// An import writing a file's results.
    WritingFile {
        /// Which, from 1.
        file: usize,
        /// Of how many.
        files: usize,
    },
}

/// A progress hook: called with each stage as it begins. It should return
/// quickly; the analysis waits for it.
pub type Progress<'h> = dyn Fn(Stage) + Sync + 'h;
