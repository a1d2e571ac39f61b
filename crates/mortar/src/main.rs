//! The `mortar` binary: everything lives in the library.

fn main() {
    std::process::exit(mortar::main_entry());
}
