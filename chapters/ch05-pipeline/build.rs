//! Compiles `proto/window_result.proto` with the pure-Rust `protox` (no
//! `protoc` binary), as chapter 四.1 does for the click event.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = "proto/window_result.proto";
    println!("cargo:rerun-if-changed={file}");
    let descriptors = protox::compile([file], ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
