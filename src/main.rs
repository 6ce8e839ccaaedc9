//! `storefront [serve | migrate | create-admin --email EMAIL | seed-demo]`

fn main() -> std::process::ExitCode {
    storefront::cli::run(std::env::args().skip(1).collect())
}
