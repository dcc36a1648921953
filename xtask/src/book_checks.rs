//! Checks of the book's sources that mdbook does not make:
//!
//! - the table of contents is numbered consecutively (二.1, 二.2, … per
//!   part) and each page's title starts with its number;
//! - every cross-reference like "三.2 节" names a section that exists (and
//!   no page uses an ambiguous range such as "二.2-3");
//! - every test function a 验证 section names exists in the crates the page
//!   includes code from (or the chapter crate of the same name);
//! - (in the built HTML) every link to `page.html#anchor` names a heading
//!   that exists on that page.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

const PARTS: &[char] = &['一', '二', '三', '四', '五'];

/// Section number ("二.3") → page file name ("ch02-balancers.md"), from SUMMARY.md.
pub fn numbering(src: &Path) -> Result<BTreeMap<String, String>> {
    let summary = fs::read_to_string(src.join("SUMMARY.md")).context("reading SUMMARY.md")?;
    let mut sections = BTreeMap::new();
    let mut problems = Vec::new();
    let mut last: BTreeMap<char, u32> = BTreeMap::new();
    for line in summary.lines() {
        let Some((title, target)) = link(line) else {
            continue;
        };
        let Some((part, number)) = section_number(title) else {
            continue;
        };
        let expected = last.get(&part).copied().unwrap_or(0) + 1;
        if number != expected {
            problems.push(format!(
                "SUMMARY.md: `{title}` is {part}.{number}, expected {part}.{expected} (numbers must be consecutive)"
            ));
        }
        last.insert(part, number);
        let page_title = fs::read_to_string(src.join(target))
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("# "))
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let key = format!("{part}.{number}");
        if !page_title.starts_with(&format!("# {key} ")) {
            problems.push(format!(
                "{target}: its title `{page_title}` must start with `# {key} ` as in SUMMARY.md"
            ));
        }
        sections.insert(key, target.to_string());
    }
    if !problems.is_empty() {
        bail!("table of contents:\n{}", problems.join("\n"));
    }
    Ok(sections)
}

/// `[title](target)` of a SUMMARY line.
fn link(line: &str) -> Option<(&str, &str)> {
    let start = line.find('[')?;
    let mid = line[start..].find("](")? + start;
    let end = line[mid..].find(')')? + mid;
    Some((&line[start + 1..mid], &line[mid + 2..end]))
}

/// "二.3 分区策略" → ('二', 3).
fn section_number(title: &str) -> Option<(char, u32)> {
    let mut chars = title.chars();
    let part = chars.next().filter(|c| PARTS.contains(c))?;
    let rest = chars.as_str().strip_prefix('.')?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().map(|n| (part, n))
}

/// Every "X.n" in `text` (X a part numeral), with the character after it.
fn references(text: &str) -> Vec<(String, Option<char>)> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    for i in 0..chars.len() {
        if !PARTS.contains(&chars[i]) || chars.get(i + 1) != Some(&'.') {
            continue;
        }
        // "§二.4" is the original brief's own numbering (关于本书 maps it).
        if i > 0 && chars[i - 1] == '§' {
            continue;
        }
        let digits: String = chars[i + 2..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if digits.is_empty() {
            continue;
        }
        let after = chars.get(i + 2 + digits.len()).copied();
        found.push((format!("{}.{digits}", chars[i]), after));
    }
    found
}

/// Cross-references in the book's pages and the chapters' sources.
pub fn check_cross_references(
    files: &[PathBuf],
    sections: &BTreeMap<String, String>,
) -> Result<usize> {
    let mut problems = Vec::new();
    let mut count = 0;
    for file in files {
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        for (line_no, line) in text.lines().enumerate() {
            for (reference, after) in references(line) {
                count += 1;
                if !sections.contains_key(&reference) {
                    problems.push(format!(
                        "{}:{}: `{reference}` is not a section of SUMMARY.md",
                        file.display(),
                        line_no + 1
                    ));
                } else if matches!(after, Some('-' | '–' | '~')) {
                    problems.push(format!(
                        "{}:{}: `{reference}{}…` is a range; name one section",
                        file.display(),
                        line_no + 1,
                        after.unwrap_or_default()
                    ));
                }
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "cross-references that do not resolve:\n{}",
            problems.join("\n")
        );
    }
    Ok(count)
}

/// Test names in a page's 验证 section: backticked snake_case words with
/// at least two underscores (so config keys like `acks` are not taken), in
/// the last cell of a table row (the "test" column; the claim cell may
/// mention API names) or in a list item.
fn verified_test_names(page: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in page.lines() {
        if line.starts_with("## ") {
            inside = line.trim_start_matches("## ").starts_with("验证");
            continue;
        }
        if !inside {
            continue;
        }
        let trimmed = line.trim();
        let cell = if trimmed.starts_with('|') {
            trimmed
                .trim_end_matches('|')
                .rsplit('|')
                .next()
                .unwrap_or_default()
        } else {
            trimmed
        };
        for (i, piece) in cell.split('`').enumerate() {
            let is_code = i % 2 == 1;
            let snake = piece
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if is_code && snake && piece.matches('_').count() >= 2 && !piece.starts_with('_') {
                names.push(piece.to_string());
            }
        }
    }
    names
}

/// Crate directories a page includes code from ("../../chapters/x/src/…").
fn included_crates(page: &str, root: &Path) -> BTreeSet<PathBuf> {
    let mut crates = BTreeSet::new();
    for (start, _) in page.match_indices("{{#include ../../") {
        let rest = &page[start + "{{#include ../../".len()..];
        let parts: Vec<&str> = rest.split('/').take(2).collect();
        if let [top, name] = parts.as_slice() {
            crates.insert(root.join(top).join(name));
        }
    }
    crates
}

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n != "target" && n != "node_modules")
            {
                rust_sources(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every test a 验证 section names is a function of the page's crates.
pub fn check_verification_tests(pages: &[PathBuf], root: &Path) -> Result<usize> {
    let mut problems = Vec::new();
    let mut count = 0;
    for page in pages {
        let text = fs::read_to_string(page)?;
        let names = verified_test_names(&text);
        if names.is_empty() {
            continue;
        }
        let mut crates = included_crates(&text, root);
        if let Some(stem) = page.file_stem().and_then(|s| s.to_str()) {
            let own = root.join("chapters").join(stem);
            if own.is_dir() {
                crates.insert(own);
            }
        }
        let mut sources = Vec::new();
        for dir in &crates {
            rust_sources(dir, &mut sources);
        }
        let code: String = sources
            .iter()
            .filter_map(|f| fs::read_to_string(f).ok())
            .collect::<Vec<_>>()
            .join("\n");
        for name in names {
            count += 1;
            if !code.contains(&format!("fn {name}(")) && !code.contains(&format!("fn {name}<")) {
                problems.push(format!(
                    "{}: 验证 names `{name}`, but no such function in {}",
                    page.display(),
                    crates
                        .iter()
                        .map(|c| c.strip_prefix(root).unwrap_or(c).display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "验证 tables name tests that do not exist:\n{}",
            problems.join("\n")
        );
    }
    Ok(count)
}

/// In the built HTML: every `page.html#anchor` (and `#anchor`) names an
/// element id on that page. Returns how many anchors were checked.
pub fn check_anchors(pages: &[PathBuf]) -> Result<usize> {
    let mut ids: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for page in pages {
        let html = fs::read_to_string(page)?;
        ids.insert(
            page.clone(),
            values(&html, " id=\"").map(percent_decode).collect(),
        );
    }
    let mut problems = Vec::new();
    let mut count = 0;
    for page in pages {
        let name = page
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if matches!(name, "print.html" | "toc.html" | "404.html") {
            continue;
        }
        let html = fs::read_to_string(page)?;
        for href in values(&html, "href=\"") {
            if href.contains("://") || href.starts_with("mailto:") {
                continue;
            }
            let Some((path, anchor)) = href.split_once('#') else {
                continue;
            };
            if anchor.is_empty() {
                continue;
            }
            let target = if path.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap_or(Path::new(".")).join(path)
            };
            let Some(known) = ids.get(&target) else {
                continue;
            };
            count += 1;
            let anchor = percent_decode(anchor);
            if !known.contains(&anchor) {
                problems.push(format!(
                    "{}: link `{href}`: no `#{anchor}` on that page",
                    page.display()
                ));
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "links to section anchors that do not exist:\n{}",
            problems.join("\n")
        );
    }
    Ok(count)
}

fn values<'a>(html: &'a str, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    html.match_indices(prefix).filter_map(move |(i, _)| {
        let rest = &html[i + prefix.len()..];
        rest.find('"').map(|end| &rest[..end])
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_section_numbers_and_ranges() {
        assert_eq!(section_number("二.13 x"), Some(('二', 13)));
        assert_eq!(section_number("附录 A"), None);
        let refs = references("见二.2-3 节与三.1 节，以及 v2.3 和大纲 §三.4");
        assert_eq!(
            refs,
            vec![
                ("二.2".to_string(), Some('-')),
                ("三.1".to_string(), Some(' '))
            ]
        );
    }

    #[test]
    fn reads_test_names_only_from_the_verification_section() {
        let page = "## 陷阱\n`not_a_test_name_here`\n## 验证\n| `in_flight_count` | `writer.rs`: `a_b_c` and `acks` |\n## 其他\n";
        assert_eq!(verified_test_names(page), vec!["a_b_c"]);
        assert_eq!(percent_decode("%E9%AA%8C%E8%AF%81"), "验证");
    }
}

/// The workshop guide (`workshop.md`): every agenda table under a heading
/// that says `= N 分钟` adds up to N, and every exercise it names (a
/// backticked `ex-…`) exists under `exercises/`, while every exercise that
/// exists is listed. Returns the number of agenda tables checked.
pub fn check_workshop(src: &Path, root: &Path) -> Result<usize> {
    let page = src.join("workshop.md");
    let Ok(text) = fs::read_to_string(&page) else {
        return Ok(0);
    };
    let mut problems = Vec::new();
    let mut tables = 0;
    let mut total: Option<(String, u32)> = None;
    let mut column: Option<usize> = None;
    let mut sum = 0;
    let mut finish =
        |total: &mut Option<(String, u32)>, sum: &mut u32, problems: &mut Vec<String>| {
            if let Some((heading, want)) = total.take() {
                tables += 1;
                if *sum != want {
                    problems.push(format!(
                    "workshop.md: the agenda under `{heading}` adds up to {sum} minutes, not {want}"
                ));
                }
            }
            *sum = 0;
        };
    for line in text.lines() {
        if line.starts_with('#') {
            finish(&mut total, &mut sum, &mut problems);
            column = None;
            total =
                agenda_minutes(line).map(|m| (line.trim_start_matches('#').trim().to_string(), m));
            continue;
        }
        if total.is_none() || !line.starts_with('|') {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        match column {
            None => column = cells.iter().position(|c| *c == "分钟"),
            Some(index) => {
                if let Some(minutes) = cells.get(index).and_then(|c| c.parse::<u32>().ok()) {
                    sum += minutes;
                }
            }
        }
    }
    finish(&mut total, &mut sum, &mut problems);

    let named: BTreeSet<String> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("ex-") && !s.contains(' '))
        .map(str::to_string)
        .collect();
    let on_disk: BTreeSet<String> = fs::read_dir(root.join("exercises"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("ex-"))
                .collect()
        })
        .unwrap_or_default();
    for missing in named.difference(&on_disk) {
        problems.push(format!(
            "workshop.md names the exercise `{missing}`, but exercises/{missing} does not exist"
        ));
    }
    for unlisted in on_disk.difference(&named) {
        problems.push(format!(
            "exercises/{unlisted} is not in workshop.md: add it to the exercise table and an agenda"
        ));
    }
    if !problems.is_empty() {
        bail!("workshop guide:\n{}", problems.join("\n"));
    }
    Ok(tables)
}

/// `N` of a heading like `### 半天（3.5 小时 = 210 分钟）`.
fn agenda_minutes(heading: &str) -> Option<u32> {
    let (_, after) = heading.split_once('=')?;
    let digits: String = after
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    after.contains("分钟").then_some(())?;
    digits.parse().ok()
}

#[cfg(test)]
mod workshop_tests {
    use super::*;

    #[test]
    fn agenda_minutes_are_read_from_headings() {
        assert_eq!(agenda_minutes("### 半天（3.5 小时 = 210 分钟）"), Some(210));
        assert_eq!(
            agenda_minutes("### 全天（6.5 小时 = 390 分钟，不含午餐）"),
            Some(390)
        );
        assert_eq!(agenda_minutes("## 练习"), None);
    }

    #[test]
    fn a_wrong_sum_and_an_unknown_exercise_are_reported() {
        let dir = std::env::temp_dir().join(format!("workshop-check-{}", std::process::id()));
        let (src, root) = (dir.join("src"), dir.clone());
        fs::create_dir_all(&src).unwrap();
        fs::create_dir_all(root.join("exercises/ex-real")).unwrap();
        fs::write(
            src.join("workshop.md"),
            "# F\n\n`ex-real`\n\n### 半天（1 小时 = 60 分钟）\n\n| 段 | 分钟 | 练习 |\n| --- | --- | --- |\n\
             | a | 20 | `ex-real` |\n| b | 30 | `ex-ghost` |\n",
        )
        .unwrap();
        let error = check_workshop(&src, &root).unwrap_err().to_string();
        let _ = fs::remove_dir_all(&dir);
        assert!(error.contains("adds up to 50 minutes, not 60"), "{error}");
        assert!(error.contains("`ex-ghost`"), "{error}");
    }
}
