//! Compiles the chapter's `.proto` files at build time.
//!
//! `protox` is a protobuf compiler written in Rust: it parses the files into a
//! `FileDescriptorSet` (including the well-known `google/protobuf/timestamp.proto`,
//! which it ships), and `prost-build` generates Rust from that. No `protoc`
//! binary is needed on any machine that builds this crate.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/click_v1.proto",
        "proto/click_v2.proto",
        "proto/click_broken.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    // The same descriptors, serialized: the Python side loads message types
    // from them at run time, so it needs no protoc either.
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("clicks.fds.bin"), descriptors.encode_to_vec())?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
