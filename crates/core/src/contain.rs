//! Panics of third-party code, contained: [`contain`] runs a closure and turns a panic inside
//! it into an error message, and [`panic_is_contained`] tells a panic hook that the panic it
//! sees will be caught (the `quantsweep` binary's hook then prints nothing).
//!
//! For decoders that should return errors on corrupt input but sometimes assert instead
//! (arrow's IPC reader on some corrupt offsets, found by fuzzing: docs/security.md).

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    /// How many [`contain`] calls are running on this thread.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f`; a panic inside it (on this thread) comes back as `Err` with its message.
pub fn contain<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    DEPTH.with(|d| d.set(d.get() + 1));
    let outcome = catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get() - 1));
    outcome.map_err(|payload| panic_message(payload.as_ref()))
}

/// True inside [`contain`] on this thread: the panic being raised will be caught there.
pub fn panic_is_contained() -> bool {
    DEPTH.with(Cell::get) > 0
}

/// A panic's message: its `&str` or `String` payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_is_an_error_and_the_hook_knows() {
        assert_eq!(contain(|| 2 + 2), Ok(4));
        assert!(!panic_is_contained());
        let inside = contain(|| {
            assert!(panic_is_contained());
            panic!("offset {} beyond {}", 9, 3)
        });
        assert_eq!(inside, Err::<(), _>("offset 9 beyond 3".into()));
        assert!(!panic_is_contained(), "the depth is restored after a panic");
    }
}
