//! Running out of memory is an error with exit code 2, not an abort.
//!
//! Rust's default answer to a failed allocation prints "memory allocation
//! of N bytes failed" and aborts (SIGABRT, exit 134, a core dump where
//! enabled); stable Rust has no hook to change that
//! (`std::alloc::set_alloc_error_hook` is unstable). So the command's
//! global allocator is the system's, checked: when the system refuses an
//! allocation, it writes one line to standard error and exits with 2
//! (`exit_codes::ERROR`), without allocating (the message is
//! built on the stack). Nothing is half-written: the command writes its
//! report to a temporary file renamed into place, and `push` writes in one
//! transaction the server rolls back when the connection drops.

// The one place the workspace allows unsafe code: a global allocator is an
// `unsafe impl` by definition. Each method forwards to `System` with the
// caller's own layout and pointer, which is what `GlobalAlloc`'s contract
// asks of a forwarding allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;

/// The system allocator, exiting with one line when it runs out.
pub struct ExitOnOutOfMemory;

// SAFETY: every method forwards to `System` unchanged; a null result, which
// `System` returns only when it cannot allocate, ends the process instead
// of being returned.
unsafe impl GlobalAlloc for ExitOnOutOfMemory {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, as `GlobalAlloc::alloc` requires.
        checked(unsafe { System.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        checked(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, so from `System`, with
        // `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`, with the caller's new size.
        checked(unsafe { System.realloc(ptr, layout, new_size) }, new_size)
    }
}

/// `ptr`, or the end of the process when it is null.
fn checked(ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        out_of_memory(size)
    }
    ptr
}

/// Writes "error: out of memory …" and exits with code 2, allocating
/// nothing.
fn out_of_memory(size: usize) -> ! {
    let mut line = [0u8; 256];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        let n = bytes.len().min(line.len() - at);
        line[at..at + n].copy_from_slice(&bytes[..n]);
        at += n;
    };
    put(b"error: out of memory: the system refused ");
    let mut digits = [0u8; 20];
    let mut k = digits.len();
    let mut n = size;
    loop {
        k -= 1;
        digits[k] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    put(&digits[k..]);
    put(b" more bytes (a smaller --window, a --since, fewer segments or a lower --limit needs less)\n");
    // Unbuffered: no allocation on the way out.
    let _ = std::io::stderr().write_all(&line[..at]);
    std::process::exit(i32::from(crate::exit_codes::ERROR))
}
