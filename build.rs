//! Rebuilds when a migration is added or changed: `sqlx::migrate!` embeds
//! the files of `migrations/` at compile time, and Cargo does not watch
//! them on its own.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
