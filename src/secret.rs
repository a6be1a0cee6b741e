//! A secret setting (an API key): readable where it is used, never printed.

use std::fmt;

/// Its `Debug` prints `[redacted]` and it has no `Display`, so a `{:?}` of
/// the configuration, of a settings struct or in a log line cannot leak it.
/// No `PartialEq` either: keys are compared in constant time where they are
/// checked (`http::middleware`).
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that sends or checks it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let secret = Secret::new("sk-live-123");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some([redacted])");
        assert_eq!(secret.expose(), "sk-live-123");
    }
}
