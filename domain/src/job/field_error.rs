//! Field-level validation errors: one [`FieldError`] per mistake, all of them collected in
//! [`ValidationErrors`] so a user fixes everything in one round trip.

use std::fmt;

use serde::Serialize;

/// An error that has a stable machine-readable code next to its human message (`Display`).
pub trait ErrorCode: fmt::Display {
    /// Stable snake_case code, e.g. `url_scheme`. Clients may branch on it; never rename one.
    fn code(&self) -> &'static str;
}

/// One rejected input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path of the field in the request, e.g. `url`, `headers[2].name`, `retry.max_attempts`.
    pub field: String,
    /// Stable machine-readable code, e.g. `url_scheme`.
    pub code: &'static str,
    /// What is wrong and how to fix it, for people.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// From a coded error: its code and its `Display` message.
    pub fn from_error(field: impl Into<String>, error: &dyn ErrorCode) -> Self {
        FieldError::new(field, error.code(), error.to_string())
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every problem found in one input, in field order. Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(transparent)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.0.iter()
    }

    /// Records the error of `result` under `field`, passing the value through.
    pub fn check<T, E: ErrorCode>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(FieldError::from_error(field, &error));
                None
            }
        }
    }

    /// Whether some error has this code (handy in tests and for API error `type`s).
    pub fn has_code(&self, code: &str) -> bool {
        self.0.iter().any(|e| e.code == code)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.len() {
            0 => f.write_str("no validation errors"),
            1 => write!(f, "{}", self.0[0]),
            n => {
                write!(f, "{n} fields are invalid: ")?;
                for (i, e) in self.0.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ValidationErrors {}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a FieldError;
    type IntoIter = std::slice::Iter<'a, FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("too loud")]
    struct Loud;

    impl ErrorCode for Loud {
        fn code(&self) -> &'static str {
            "loud"
        }
    }

    #[test]
    fn check_records_errors_and_passes_values_through() {
        let mut errors = ValidationErrors::default();
        assert_eq!(errors.check::<_, Loud>("a", Ok(3)), Some(3));
        assert_eq!(errors.check::<u8, _>("b", Err(Loud)), None);
        assert_eq!(errors.0, [FieldError::new("b", "loud", "too loud")]);
        assert!(errors.has_code("loud"));
    }

    #[test]
    fn display_lists_every_error() {
        let one = ValidationErrors(vec![FieldError::new("url", "url_scheme", "use https")]);
        assert_eq!(one.to_string(), "url: use https");
        let two = ValidationErrors(vec![
            FieldError::new("url", "url_scheme", "use https"),
            FieldError::new("name", "name_empty", "name it"),
        ]);
        assert_eq!(
            two.to_string(),
            "2 fields are invalid: url: use https; name: name it"
        );
    }

    #[test]
    fn serialises_as_a_list_of_field_code_message() {
        let errors = ValidationErrors(vec![FieldError::new(
            "headers[2].name",
            "header_name_invalid",
            "m",
        )]);
        assert_eq!(
            serde_json::to_string(&errors).unwrap(),
            r#"[{"field":"headers[2].name","code":"header_name_invalid","message":"m"}]"#
        );
    }
}
