//! Counts heap allocations on the hot path: the parsers allocate nothing, and parse + normalise + `kv`
//! encode allocates only for values that must be decoded, never per field.
//!
//! Its own test binary, so the counting `#[global_allocator]` sees only this file's work. The count is
//! per thread, so tests running in parallel do not disturb each other.

#[path = "../benches/common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::cell::Cell;

use common::{Fixture, Pipeline};
use logferry::event::{Event, Value};
use logferry_parsers::{access, drupal, sshd, su, sudo, syslog};

/// The system allocator, counting the allocations (and reallocations) of the current thread.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: a thread that is being torn down still allocates; it is simply not counted.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to `System`; the counter is a thread-local `Cell`
// with a const initialiser, so counting never allocates or re-enters the allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Allocations made by this thread while running `f`.
fn allocations_in<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (ALLOCATIONS.with(Cell::get) - before, out)
}

const LINES: usize = 2_000;

fn fixtures() -> [Fixture; 4] {
    [
        common::apache_combined(LINES),
        common::nginx_combined(LINES),
        common::syslog_rfc3164(LINES),
        common::syslog_rfc5424(LINES),
    ]
}

/// Every parser entry point on the line (and on its syslog message): what the normaliser calls.
fn parse_everything(line: &[u8]) -> usize {
    let mut parsed = 0;
    if let Ok(record) = access::parse(line) {
        parsed += usize::from(record.status.is_some());
    }
    if let Ok(record) = syslog::parse(line) {
        parsed += 1;
        if let Some(sd) = record.structured_data {
            parsed += syslog::sd_params(sd).filter(Result::is_ok).count();
        }
        let message = record.message;
        parsed += usize::from(sshd::parse(message).is_some())
            + usize::from(sudo::parse(message).is_some())
            + usize::from(su::parse(message).is_some())
            + usize::from(drupal::parse(message).is_some());
    }
    parsed
}

#[test]
fn parsers_allocate_nothing() {
    for fixture in fixtures() {
        let (allocations, parsed) = allocations_in(|| {
            fixture
                .lines
                .iter()
                .map(|line| parse_everything(line.as_bytes()))
                .sum::<usize>()
        });
        assert!(
            parsed >= fixture.lines.len(),
            "{}: lines were not parsed",
            fixture.name
        );
        assert_eq!(
            allocations, 0,
            "{}: the parsers allocated on {} lines",
            fixture.name, LINES
        );
    }
}

/// Values of the event that own their text: each one needed (at most) one allocation to decode.
fn decoded_values(event: &Event<'_>) -> usize {
    let owned = |c: &Cow<'_, str>| usize::from(matches!(c, Cow::Owned(_)));
    let fields: usize = event
        .fields
        .iter()
        .map(|f| {
            owned(&f.name)
                + match &f.value {
                    Value::Str(s) | Value::Ip(s) => owned(s),
                    Value::Int(_) | Value::Float(_) => 0,
                }
        })
        .sum();
    fields
        + event.labels.iter().map(owned).sum::<usize>()
        + owned(&event.msg)
        + usize::from(event.parse_error.is_some())
}

#[test]
fn processing_allocates_only_decoded_values() {
    for fixture in fixtures() {
        let mut pipeline = Pipeline::new(fixture.format);
        // Warm-up batch: grows the output buffer and any lazily built state once.
        pipeline.run(&fixture.lines);
        pipeline.clear_output();

        let mut event = Event::new("bench", "/var/log/x.log");
        let (mut allocations, mut decoded, mut fields) = (0, 0, 0);
        for line in &fixture.lines {
            event.reset();
            let (n, ()) = allocations_in(|| pipeline.run_line(line.as_bytes(), &mut event));
            let values = decoded_values(&event);
            assert!(
                n <= values,
                "{}: {n} allocations for {values} decoded values on: {line}\n{:?}",
                fixture.name,
                event.fields
            );
            assert_ne!(event.norm_id, "Raw", "{}: not parsed: {line}", fixture.name);
            allocations += n;
            decoded += values;
            fields += event.fields.len();
        }
        // The whole batch as the processing stage runs it: one more allocation, the event's field list.
        let (batch, _) = allocations_in(|| pipeline.run(&fixture.lines));
        assert!(
            batch <= decoded + 1,
            "{}: {batch} allocations for a batch with {decoded} decoded values",
            fixture.name
        );
        eprintln!(
            "{}: {LINES} lines, {fields} fields, {decoded} decoded values, {allocations} allocations per line in sum, {batch} per batch",
            fixture.name
        );
    }
}
