//! Rebuilds `store` when a migration file is added or removed. `sqlx::migrate!` embeds
//! `migrations/` at compile time and Cargo only tracks the files it included, so without this a
//! new migration was missing from a build that had nothing else to recompile (tests and
//! `api-fn migrate` then ran without it). Cargo scans a directory named here for any change.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
