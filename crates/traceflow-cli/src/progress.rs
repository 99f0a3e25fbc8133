//! A spinner on stderr while an analysis runs, for a person at a terminal:
//! an analysis of every metric by day over a million traces takes seconds
//! on a file and most of a minute on a team database, and said nothing.

use std::io::IsTerminal as _;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use traceflow::progress::Stage;

/// The spinner appears only for analyses that last longer than this: a
/// quick one prints nothing more than its report.
const QUIET_FOR: Duration = Duration::from_secs(1);

/// A spinner that shows an analysis's stage once it has run for
/// [`QUIET_FOR`]; nothing at all unless stderr is a terminal, so that
/// files, pipes, tests and CI logs never hold it. Dropped, it clears its
/// line.
pub struct Spinner {
    bar: ProgressBar,
    done: Arc<(Mutex<bool>, Condvar)>,
    shower: Option<JoinHandle<()>>,
}

impl Spinner {
    /// A spinner for an analysis of `store`, or `None` when stderr is not
    /// a terminal.
    pub fn on_terminal(store: &str) -> Option<Spinner> {
        std::io::stderr()
            .is_terminal()
            .then(|| Spinner::start(store, ProgressDrawTarget::stderr(), QUIET_FOR))
    }

    fn start(store: &str, target: ProgressDrawTarget, quiet_for: Duration) -> Spinner {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(traceflow::report::terminal::printable(store).into_owned());
        bar.set_message("opening");
        let done = Arc::new((Mutex::new(false), Condvar::new()));
        let shower = {
            let (bar, done) = (bar.clone(), Arc::clone(&done));
            std::thread::spawn(move || {
                let (lock, wake) = &*done;
                let Ok(guard) = lock.lock() else { return };
                let Ok((finished, _)) = wake.wait_timeout_while(guard, quiet_for, |d| !*d) else {
                    return;
                };
                if !*finished {
                    bar.set_draw_target(target);
                    bar.enable_steady_tick(Duration::from_millis(120));
                }
            })
        };
        Spinner {
            bar,
            done,
            shower: Some(shower),
        }
    }

    /// The hook the library calls at each stage.
    pub fn hook(&self) -> impl Fn(Stage) + Sync + 'static {
        let bar = self.bar.clone();
        move |stage| bar.set_message(describe(stage))
    }
}

/// A stage in words.
fn describe(stage: Stage) -> String {
    match stage {
        Stage::ReadingTraces => "reading the traces".to_owned(),
        Stage::ReadingFacts { traces } => format!("reading the decisions of {traces} traces"),
        Stage::Judging { runs } => format!("judging {runs} runs"),
        Stage::ReadingFile { file, files } => format!("reading file {file} of {files}"),
        Stage::WritingFile { file, files } => format!("writing file {file} of {files}"),
        _ => "working".to_owned(),
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        let (lock, wake) = &*self.done;
        if let Ok(mut done) = lock.lock() {
            *done = true;
        }
        wake.notify_all();
        if let Some(shower) = self.shower.take() {
            let _ = shower.join();
        }
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_analysis_shows_nothing_and_a_slow_one_its_stage() {
        // Hidden targets stand in for the terminal: what matters is
        // whether the spinner was asked to draw.
        let quick = Spinner::start(
            "a.db",
            ProgressDrawTarget::hidden(),
            Duration::from_secs(60),
        );
        let bar = quick.bar.clone();
        drop(quick);
        assert!(bar.is_finished());
        assert!(bar.is_hidden());

        let slow = Spinner::start(
            "a.db",
            ProgressDrawTarget::term_like(Box::new(Sink)),
            Duration::ZERO,
        );
        let hook = slow.hook();
        hook(Stage::ReadingFacts { traces: 3 });
        let mut slow = slow;
        slow.shower.take().unwrap().join().unwrap();
        assert!(!slow.bar.is_hidden(), "shown once the quiet time is over");
        assert_eq!(slow.bar.message(), "reading the decisions of 3 traces");
    }

    /// A terminal that swallows what is drawn.
    #[derive(Debug)]
    struct Sink;

    impl indicatif::TermLike for Sink {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, _: &str) -> std::io::Result<()> {
            Ok(())
        }
        fn write_str(&self, _: &str) -> std::io::Result<()> {
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
