//! The one spelling of each field-less enum's values: what Postgres stores and the wire carries.
//! [`stored_names!`] writes `as_str`, `Display` and `FromStr` from a single list of pairs, so a
//! value's name is never typed twice.

/// A name that is none of an enum's values (a corrupt row, a typo in a setting).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
}

/// `stored_names!(Type, "what it is" { Variant => "name", … })`: `Type::ALL`, `as_str`,
/// `Display`, equality with a `&str`, and an exact-match `FromStr` (and `TryFrom<String>`, for
/// rows) whose error is [`UnknownName`].
macro_rules! stored_names {
    ($ty:ident, $what:literal { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stored and wire spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// A value compares equal to its stored name.
        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        /// Rows carry the stored name as text.
        impl TryFrom<String> for $ty {
            type Error = $crate::names::UnknownName;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::names::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => Err($crate::names::UnknownName { what: $what, value: other.to_owned() }),
                }
            }
        }
    };
}

pub(crate) use stored_names;
