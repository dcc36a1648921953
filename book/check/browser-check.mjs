// Opens every page of the built book in headless Chromium, as a reader's
// browser would, and fails if a page shows an unexpanded {{#include}}, a broken
// image, a JavaScript error, a failed local request, or an empty code block.
// Saves screenshots of the architecture page (light and dark theme).
//
// Usage: node browser-check.mjs <built-book-dir> <screenshot-dir>
// (run by `cargo xtask book --browser-check`)

import { createServer } from "node:http";
import { readFile, readdir, mkdir } from "node:fs/promises";
import { extname, join, relative, resolve } from "node:path";
import { chromium } from "playwright-core";

const [bookDir, shotDir] = process.argv.slice(2).map((p) => resolve(p));
if (!bookDir || !shotDir) {
  console.error("usage: node browser-check.mjs <built-book-dir> <screenshot-dir>");
  process.exit(2);
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css",
  ".js": "text/javascript",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
  ".json": "application/json",
  ".ico": "image/x-icon",
};

// A tiny static server: the book is served over http, like on GitHub Pages.
const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const file = join(bookDir, path.endsWith("/") ? path + "index.html" : path);
  if (!file.startsWith(bookDir)) {
    res.writeHead(403).end();
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
  } catch {
    res.writeHead(404).end("not found");
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const base = `http://127.0.0.1:${server.address().port}`;

async function htmlPages(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await htmlPages(path)));
    else if (entry.name.endsWith(".html") && !["404.html", "toc.html"].includes(entry.name)) out.push(path);
  }
  return out.sort();
}

// Flags for a machine without outside network: no background connections.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

const problems = [];
const pages = await htmlPages(bookDir);
let codeBlocks = 0;
let images = 0;
for (const file of pages) {
  const url = `${base}/${relative(bookDir, file)}`;
  const page = await browser.newPage();
  const name = relative(bookDir, file);
  page.on("pageerror", (e) => problems.push(`${name}: JavaScript error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`${name}: console error: ${m.text()}`);
  });
  page.on("requestfailed", (r) => {
    if (r.url().startsWith(base)) problems.push(`${name}: request failed: ${r.url()}`);
  });
  page.on("response", (r) => {
    if (r.url().startsWith(base) && r.status() >= 400) problems.push(`${name}: ${r.status()} for ${r.url()}`);
  });
  await page.goto(url, { waitUntil: "load" });
  const report = await page.evaluate(() => {
    const main = document.querySelector("main") ?? document.body;
    const imgs = [...main.querySelectorAll("img")];
    const code = [...main.querySelectorAll("pre code")];
    return {
      leftover: main.innerText.includes("{{#include") || main.innerText.includes("{{#rustdoc_include"),
      brokenImages: imgs.filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.getAttribute("src")),
      images: imgs.length,
      emptyCode: code.filter((c) => c.textContent.trim() === "").length,
      code: code.length,
      title: document.title,
    };
  });
  if (report.leftover) problems.push(`${name}: an {{#include}} was not expanded`);
  for (const src of report.brokenImages) problems.push(`${name}: broken image ${src}`);
  if (report.emptyCode) problems.push(`${name}: ${report.emptyCode} empty code block(s)`);
  codeBlocks += report.code;
  images += report.images;
  await page.close();
}

// Screenshots of the architecture page, in the light and a dark theme.
await mkdir(shotDir, { recursive: true });
for (const theme of ["light", "navy"]) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${base}/ch01-architecture.html`, { waitUntil: "load" });
  await page.evaluate((t) => localStorage.setItem("mdbook-theme", t), theme);
  await page.reload({ waitUntil: "load" });
  const img = page.locator("main img").first();
  await img.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shotDir, `architecture-${theme}.png`) });
  await page.close();
}

await browser.close();
server.close();

console.log(
  `browser check: ${pages.length} pages, ${codeBlocks} code blocks, ${images} images checked; ` +
    `screenshots in ${shotDir}`,
);
if (problems.length) {
  console.error(problems.join("\n"));
  console.error(`browser check: ${problems.length} problem(s)`);
  process.exit(1);
}
