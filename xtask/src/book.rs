//! `cargo xtask book`: build the mdBook with a pinned mdbook, and check what
//! mdbook itself lets through: includes that do not resolve, internal links
//! and images that point nowhere.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

use crate::{book_checks, paths};

pub const MDBOOK_VERSION: &str = "0.5.4";

#[derive(clap::Args)]
pub struct BookArgs {
    /// Serve the book on http://127.0.0.1:3000 and rebuild on changes
    #[arg(long)]
    serve: bool,
    /// Also open every page in headless Chromium (JavaScript errors, broken
    /// images, unexpanded includes, empty code blocks) and take screenshots
    #[arg(long, conflicts_with = "serve")]
    browser_check: bool,
}

pub fn run(args: &BookArgs) -> Result<ExitCode> {
    let summary = build_and_check(args.serve)?;
    println!("{summary}");
    if args.browser_check {
        return browser_check();
    }
    if args.serve {
        let status = Command::new(mdbook()?)
            .args(["serve", "-n", "127.0.0.1", "-p", "3000"])
            .arg(book_dir())
            .status()?;
        return Ok(if status.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `book/check/browser-check.mjs` with Node and Debian's Chromium.
fn browser_check() -> Result<ExitCode> {
    let check = book_dir().join("check");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        bail!(
            "no Chromium at {chromium}: install it (`apt-get install chromium`) or set CHROMIUM to its path"
        );
    }
    if !check.join("node_modules").join("playwright-core").exists() {
        println!("Installing the browser check's npm dependencies (once)...");
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&check)
            .status()
            .context("running npm (is Node.js installed?)")?;
        if !status.success() {
            bail!("npm ci failed in {}", check.display());
        }
    }
    let screenshots = paths::workspace().join("target").join("book-screenshots");
    let status = Command::new("node")
        .arg(check.join("browser-check.mjs"))
        .arg(output_dir())
        .arg(&screenshots)
        .env("CHROMIUM", &chromium)
        .status()
        .context("running node")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn book_dir() -> PathBuf {
    paths::workspace().join("book")
}

/// Where mdbook writes the HTML (set in book/book.toml).
pub fn output_dir() -> PathBuf {
    paths::workspace().join("target").join("book")
}

/// Checks the sources, builds the book, checks the output. Returns a one-line summary.
pub fn build_and_check(quiet_build: bool) -> Result<String> {
    let src = book_dir().join("src");
    let sources = markdown_files(&src)?;
    let includes = check_includes(&sources)?;
    let sections = book_checks::numbering(&src)?;
    let mut referring = sources.clone();
    rust_files(&paths::workspace().join("chapters"), &mut referring)?;
    let references = book_checks::check_cross_references(&referring, &sections)?;
    let tests_named = book_checks::check_verification_tests(&sources, &paths::workspace())?;
    let agendas = book_checks::check_workshop(&src, &paths::workspace())?;
    let mdbook = mdbook()?;
    let mut command = Command::new(&mdbook);
    command.arg("build").arg(book_dir());
    if quiet_build {
        command.env("RUST_LOG", "warn");
    }
    let output = command.output().context("running mdbook build")?;
    let log = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() || log.contains("ERROR") {
        bail!("mdbook build failed:\n{log}");
    }
    let (pages, links) = check_output(&output_dir())?;
    let anchors = book_checks::check_anchors(&html_files(&output_dir())?)?;
    Ok(format!(
        "{pages} pages, {} numbered sections, {includes} includes, {links} internal links/images, \
         {anchors} section anchors, {references} cross-references, {tests_named} named tests and {agendas} workshop agendas checked; output in {}",
        sections.len(),
        output_dir().display()
    ))
}

/// Whether the pinned mdbook is already in the tool cache.
pub fn mdbook_installed() -> bool {
    let binary = paths::cache().join("tools").join("bin").join("mdbook");
    Command::new(binary)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(MDBOOK_VERSION))
        .unwrap_or(false)
}

/// The pinned mdbook: from the tool cache, installed there with
/// `cargo install --locked` the first time.
pub fn mdbook() -> Result<PathBuf> {
    let root = paths::cache().join("tools");
    let binary = root.join("bin").join("mdbook");
    let version_ok = |path: &Path| {
        Command::new(path)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains(MDBOOK_VERSION))
            .unwrap_or(false)
    };
    if version_ok(&binary) {
        return Ok(binary);
    }
    println!(
        "Installing mdbook {MDBOOK_VERSION} into {} (once; a few minutes)...",
        root.display()
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "install",
            "mdbook",
            "--locked",
            "--version",
            MDBOOK_VERSION,
            "--root",
        ])
        .arg(&root)
        .status()
        .context("running cargo install mdbook")?;
    if !status.success() || !version_ok(&binary) {
        bail!("installing mdbook {MDBOOK_VERSION} failed ({status})");
    }
    Ok(binary)
}

/// Rust sources under `dir` (comments there cite sections too).
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn markdown_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(markdown_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Every `{{#include path:anchor}}` names an existing file and, if it names an
/// anchor, the file has `ANCHOR: anchor` and `ANCHOR_END: anchor`.
fn check_includes(files: &[PathBuf]) -> Result<usize> {
    let mut problems = Vec::new();
    let mut count = 0;
    for file in files {
        let text = fs::read_to_string(file)?;
        for spec in directives(&text) {
            count += 1;
            let (path, anchor) = match spec.split_once(':') {
                Some((p, a)) => (p, Some(a)),
                None => (spec.as_str(), None),
            };
            let target = file.parent().unwrap_or(Path::new(".")).join(path);
            let Ok(source) = fs::read_to_string(&target) else {
                problems.push(format!(
                    "{}: {{{{#include {spec}}}}}: no file {}",
                    file.display(),
                    target.display()
                ));
                continue;
            };
            let Some(anchor) = anchor else { continue };
            let is_line_range = anchor.chars().all(|c| c.is_ascii_digit() || c == ':');
            let has_anchor = source.contains(&format!("ANCHOR: {anchor}"))
                && source.contains(&format!("ANCHOR_END: {anchor}"));
            if !is_line_range && !has_anchor {
                problems.push(format!(
                    "{}: {{{{#include {spec}}}}}: no anchor `{anchor}` in {}",
                    file.display(),
                    target.display()
                ));
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "book includes that do not resolve:\n{}",
            problems.join("\n")
        );
    }
    Ok(count)
}

/// The argument of every `{{#include ...}}` / `{{#rustdoc_include ...}}`.
fn directives(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices("{{#") {
        let rest = &text[start + 3..];
        let Some(end) = rest.find("}}") else { continue };
        let mut words = rest[..end].split_whitespace();
        if let (Some("include" | "rustdoc_include"), Some(arg)) = (words.next(), words.next()) {
            found.push(arg.to_string());
        }
    }
    found
}

/// In the built HTML: no directive left unexpanded, and every relative link
/// or image points at a file that exists. Returns (pages, links checked).
fn check_output(dir: &Path) -> Result<(usize, usize)> {
    let mut problems = Vec::new();
    let mut pages = 0;
    let mut links = 0;
    for page in html_files(dir)? {
        // mdbook's own pages (print.html, toc.html, 404.html) repeat links.
        let name = page
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if matches!(name, "print.html" | "toc.html" | "404.html") {
            continue;
        }
        pages += 1;
        let html = fs::read_to_string(&page)?;
        if html.contains("{{#include") || html.contains("{{#rustdoc_include") {
            problems.push(format!("{}: an include was not expanded", page.display()));
        }
        for target in attribute_values(&html, "href=\"").chain(attribute_values(&html, "src=\"")) {
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with('#')
                || target.starts_with("mailto:")
                || target.starts_with("data:")
                || target.starts_with("javascript:")
            {
                continue;
            }
            let path = target.split(['#', '?']).next().unwrap_or_default();
            if path.is_empty() {
                continue;
            }
            links += 1;
            let resolved = page.parent().unwrap_or(dir).join(path);
            if !resolved.exists() {
                problems.push(format!(
                    "{}: broken link or image `{target}`",
                    page.display()
                ));
            }
        }
    }
    if pages == 0 {
        bail!("mdbook produced no pages in {}", dir.display());
    }
    if !problems.is_empty() {
        bail!("problems in the built book:\n{}", problems.join("\n"));
    }
    Ok((pages, links))
}

fn attribute_values<'a>(html: &'a str, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    html.match_indices(prefix).filter_map(move |(i, _)| {
        let rest = &html[i + prefix.len()..];
        rest.find('"').map(|end| &rest[..end])
    })
}

fn html_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(html_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "html") {
            files.push(path);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_include_directives() {
        let text = "a {{#include ../../chapters/x/src/main.rs:setup}} b {{#rustdoc_include f.rs}} {{#title t}}";
        assert_eq!(
            directives(text),
            vec!["../../chapters/x/src/main.rs:setup", "f.rs"]
        );
    }
}
