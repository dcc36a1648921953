//! The Python side of the interop tests: a virtual environment under
//! `target/py-ch04` with the pinned `python/requirements.txt`, created on
//! first use.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// `chapters/ch04-serialization/python`.
pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// `target/py-ch04` (CARGO_TARGET_TMPDIR is `target/tmp`).
fn venv_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("py-ch04")
}

fn run(command: &mut Command, what: &str) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not start {command:?}: {e}"));
    if !output.status.success() {
        panic!(
            "{what} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

/// The venv's python, with the requirements installed. Reinstalls when
/// requirements.txt changed. Panics with what to do when that is impossible.
pub fn python() -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let venv = venv_dir();
    let python = venv.join("bin/python");
    let requirements = python_dir().join("requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).expect("python/requirements.txt");
    let stamp = venv.join("installed-requirements.txt");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        return python;
    }
    let advice = "the interop tests need Python 3.9+ with the venv module \
                  (Debian: apt-get install python3-venv) and access to PyPI";
    if !python.exists() {
        run(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            &format!("creating {} ({advice})", venv.display()),
        );
    }
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
        &format!("pip install -r {} ({advice})", requirements.display()),
    );
    std::fs::write(&stamp, wanted).expect("writing the venv stamp");
    python
}

/// Runs `clicks.py` with `args`; returns stdout, panics with both streams on failure.
pub fn clicks_py(args: &[&str]) -> String {
    let output = run(
        Command::new(python())
            .arg(python_dir().join("clicks.py"))
            .args(args),
        &format!("python clicks.py {}", args.join(" ")),
    );
    String::from_utf8(output.stdout).expect("UTF-8 from python")
}

/// The compiled .proto files as a FileDescriptorSet file for Python.
pub fn descriptor_file() -> PathBuf {
    static WRITTEN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    WRITTEN
        .get_or_init(|| {
            let path = venv_dir().join("clicks.fds");
            std::fs::create_dir_all(venv_dir()).expect("target/py-ch04");
            std::fs::write(&path, ch04_serialization::FILE_DESCRIPTOR_SET)
                .expect("writing clicks.fds");
            path
        })
        .clone()
}
