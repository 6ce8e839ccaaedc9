fn main() {
    // Embedded migrations are read at compile time: rebuild when they change.
    println!("cargo:rerun-if-changed=migrations");
}
