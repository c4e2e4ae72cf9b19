//! The store's error type: conflicts the caller can act on, kept apart from everything else.

/// What a repository call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (e.g. a slug or e-mail already taken).
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// A stored value the domain refuses (a bug or a manual edit): names the column and value.
    #[error("column {column} holds an unexpected value {value:?}")]
    Corrupt { column: &'static str, value: String },
    /// A sealed value or data key that does not open (a master key missing from the configuration,
    /// or altered data); never carries key material.
    #[error("sealed data: {0}")]
    Sealed(domain::sealed::SealError),
    /// Any other database failure; it reads as its cause, for logs, never for API responses.
    #[error(transparent)]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                return StoreError::Conflict { constraint: db.constraint().unwrap_or("unique").to_owned() };
            }
        }
        StoreError::Database(err)
    }
}

impl StoreError {
    /// True when the write hit the named unique constraint.
    pub fn is_conflict_on(&self, name: &str) -> bool {
        matches!(self, StoreError::Conflict { constraint } if constraint == name)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Parses a text column into its domain type (tiers, roles, statuses…).
pub(crate) fn parse_column<T: std::str::FromStr>(column: &'static str, value: String) -> StoreResult<T> {
    value.parse().map_err(|_| StoreError::Corrupt { column, value })
}
