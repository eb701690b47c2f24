// Single sign-in from the browser: Alice signs in (through SSI), opens the example
// third-party app from the Apps panel and is signed in there; the admin console lists the app
// and its key, and shows the SMS and groups panels.
import { env, newPage, run, shot, signIn, step } from "./lib.mjs";

const [alice] = env.users;
const { app_id: appId, app_name: appName } = env.extra;

await run(async (browser, pages) => {
  const a = await newPage(browser);
  pages.push(a);
  await signIn(a, alice);
  await a.getByRole("tab", { name: "Apps" }).click();
  await a.locator(`#app-list li[data-app="${appId}"]`).waitFor();
  await shot(a, "apps");
  step("apps listed");

  const [app] = await Promise.all([
    a.waitForEvent("popup"),
    a.getByRole("button", { name: `Open ${appName}` }).click(),
  ]);
  await app.getByText(`Hello, ${alice.name}.`).waitFor();
  step("signed in to the app");
  await shot(app, "third-party-app");

  const admin = await newPage(browser);
  pages.push(admin);
  await admin.goto(env.url + "/admin");
  await admin.locator("#token").fill(env.token);
  await admin.getByRole("button", { name: "Open the console" }).click();
  await admin.getByRole("tab", { name: "Apps" }).click();
  await admin.locator(`#apps tr[data-app="${appId}"]`).waitFor();
  await shot(admin, "admin-apps");
  step("admin apps");
  await admin.getByRole("tab", { name: "SMS" }).click();
  await admin.locator(`#sms-users tr[data-sid="${alice.sid}"]`).waitFor();
  await shot(admin, "admin-sms");
  step("admin sms");
});
