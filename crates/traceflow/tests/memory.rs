//! What a report holds: the window once, whatever the number of metrics
//! and segments. A million runs judged on every metric by model held a row
//! per run per report before (3.4 GB; docs/performance.md, issue 22).
//!
//! The heap is counted by a global allocator that keeps a running total,
//! so this binary holds this one test: another running beside it would be
//! counted too.

// Implementing `GlobalAlloc` is unsafe by definition; each method only
// forwards to the system allocator and adds to a counter.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use traceflow::store::SqliteStore;
use traceflow::trend::{Metric, SegmentBy, SuiteAnalyzer, SuiteOptions, Window};
use traceflow::window::WindowOptions;
use traceflow_testkit::suite::{write_suite, SuiteSpec};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is System's with the caller's arguments; the counter
// does not touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is System's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

#[test]
fn a_report_holds_its_window_once_whatever_it_judges() {
    const TRACES: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("suite.db");
    write_suite(
        &path,
        &SuiteSpec {
            traces: TRACES,
            cases: 200,
            ..SuiteSpec::default()
        },
    );
    let store = SqliteStore::open_read_only(&path).unwrap();
    // Bytes the report holds once the analysis is done.
    let held = |metrics: Vec<Metric>, segment_by: Option<SegmentBy>| {
        let before = LIVE.load(Ordering::Relaxed);
        let report = SuiteAnalyzer::new(
            &store,
            SuiteOptions {
                window: WindowOptions {
                    runs: Window::All,
                    ..WindowOptions::default()
                },
                metrics,
                segment_by,
                ..SuiteOptions::default()
            },
        )
        .analyze()
        .unwrap();
        let held = LIVE.load(Ordering::Relaxed).saturating_sub(before);
        (report, held)
    };
    let (one, one_bytes) = held(vec![Metric::PassRate], None);
    let (all, all_bytes) = held(Metric::ALL.to_vec(), Some(SegmentBy::Mode));
    assert_eq!(one.runs, TRACES);
    // Nine metrics in the total and two or three modes: 27 or 36 reports.
    assert!(all.reports.len() >= 27, "{} reports", all.reports.len());
    // Every report still lists every run of its segment.
    assert_eq!(all.reports[0].summaries.len(), TRACES);
    assert_eq!(
        all.reports[0]
            .summaries
            .iter()
            .map(|r| r.traces)
            .sum::<usize>(),
        TRACES
    );
    // The window's steps are read for cost, latency and tokens: a little
    // more per trace; a row per run per report would be 27 times as much.
    assert!(
        all_bytes < one_bytes * 3 / 2,
        "one report holds {one_bytes} bytes, {} reports {all_bytes}",
        all.reports.len()
    );
}
