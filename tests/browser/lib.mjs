// Shared helpers for the browser scenarios: launch Debian's chromium headless through
// playwright-core, sign users in, take screenshots, and fail loudly with the reason.
// The Python test (test_*.py) starts `columba serve` and passes, in the environment:
//   COLUMBA_URL          http://127.0.0.1:<port> of the node's HTTP listener
//   COLUMBA_ADMIN_TOKEN  its [admin] token
//   COLUMBA_USERS        JSON [{sid, number, name, password}, …]
//   CHROMIUM             the chromium executable
//   SCREENSHOTS          a directory for the screenshots
// A scenario prints "ok <step>" lines and exits 0, or prints the failure and exits 1.
import { chromium } from "playwright-core";
import path from "node:path";

export const env = {
  url: process.env.COLUMBA_URL,
  token: process.env.COLUMBA_ADMIN_TOKEN,
  users: JSON.parse(process.env.COLUMBA_USERS || "[]"),
  screenshots: process.env.SCREENSHOTS || ".",
  extra: JSON.parse(process.env.COLUMBA_EXTRA || "{}"),
};

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    // The test machine runs as root in a container: chromium's sandbox needs user namespaces.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/** A fresh browser context (its own cookies and storage) with one page, errors collected. */
export async function newPage(browser, { width = 1100, height = 760 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(String(error)));
  return page;
}

export async function signIn(page, user) {
  await page.goto(env.url + "/");
  await page.getByLabel("Columba id or phone number").fill(user.sid);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#workspace").waitFor({ state: "visible" });
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(env.screenshots, `${name}.png`), fullPage: false });
}

export function step(name) {
  console.log(`ok ${name}`);
}

/** Run a scenario: exit 0 on success, 1 with the error (and page errors) on failure. */
export async function run(scenario) {
  const browser = await launch();
  const pages = [];
  try {
    await scenario(browser, pages);
    for (const page of pages) {
      if (page.errors.length) throw new Error(`page errors: ${page.errors.join("; ")}`);
    }
  } catch (error) {
    console.log(`FAILED: ${error.stack || error}`);
    for (const [i, page] of pages.entries()) {
      try {
        await shot(page, `failure-${i}`);
      } catch {
        // the page may be gone
      }
    }
    await browser.close();
    process.exit(1);
  }
  await browser.close();
  process.exit(0);
}

/** The contact button for a sid in one page. */
export const contact = (page, sid) => page.locator(`#contact-list button[data-sid="${sid}"]`);

/** a asks b to be a contact, b accepts; both then see each other online. */
export async function befriend(a, aUser, b, bUser) {
  await a.getByLabel("Add a contact (id or number)").fill(bUser.sid);
  await a.getByRole("button", { name: "Add", exact: true }).click();
  const request = b.locator(`#requests .request[data-sid="${aUser.sid}"]`);
  await request.getByRole("button", { name: "Accept" }).click();
  await a.locator(`#contact-list button[data-sid="${bUser.sid}"][data-presence="400"]`).waitFor();
  await b.locator(`#contact-list button[data-sid="${aUser.sid}"][data-presence="400"]`).waitFor();
}

/** Every visible form control has a label (or aria-label) a screen reader can announce. */
export async function assertLabelled(page) {
  const unlabelled = await page.evaluate(() =>
    Array.from(document.querySelectorAll("input, textarea, select"))
      .filter((el) => el.offsetParent !== null)
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
      .map((el) => el.id || el.outerHTML.slice(0, 60)),
  );
  if (unlabelled.length) throw new Error(`controls without a label: ${unlabelled.join(", ")}`);
  const nameless = await page.evaluate(() =>
    Array.from(document.querySelectorAll("button"))
      .filter((el) => el.offsetParent !== null && !el.textContent.trim() && !el.getAttribute("aria-label"))
      .map((el) => el.outerHTML.slice(0, 60)),
  );
  if (nameless.length) throw new Error(`buttons without a name: ${nameless.join(", ")}`);
}

/** Ask the Python side to restart the server (same ports and data); resolves once it has. */
export async function restartServer() {
  console.log("restart-server");
  const { createInterface } = await import("node:readline");
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === "restarted") {
      lines.close();
      return;
    }
  }
  throw new Error("the server was not restarted");
}
