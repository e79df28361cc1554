//! The one error type of the tool: a message with the context it was raised in.
//!
//! A load generator has no caller that matches on error variants; it needs a readable line on
//! stderr that says what failed and where. `Context` adds that "where" to any displayable error.

use std::fmt;

/// A failure, already phrased for a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with this message.
    pub fn msg(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Adds context to a failing result: `thing.context(|| format!("reading {path}"))?`.
pub trait Context<T> {
    /// Wraps the error as `"{what}: {error}"`.
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error(format!("{}: {e}", what())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_prefixes_the_message() {
        let r: std::result::Result<(), &str> = Err("refused");
        assert_eq!(r.context(|| "connecting".to_owned()), Err(Error::msg("connecting: refused")));
    }
}
