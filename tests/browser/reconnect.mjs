// The server restarts under two signed-in browsers: both reconnect by themselves with their
// single sign-in session, presence comes back, and a message sent right after reaches the
// other side; history is intact.
import { befriend, contact, env, newPage, restartServer, run, signIn, step } from "./lib.mjs";

const [alice, bob] = env.users;

await run(async (browser, pages) => {
  const a = await newPage(browser);
  const b = await newPage(browser);
  pages.push(a, b);
  await signIn(a, alice);
  await signIn(b, bob);
  await befriend(a, alice, b, bob);
  await contact(a, bob.sid).click();
  await a.getByRole("textbox", { name: "Message" }).fill("before the restart");
  await a.getByRole("button", { name: "Send" }).click();
  await a.locator('#messages li.mine[data-state="delivered"]').waitFor();
  step("chatting");

  const restarted = restartServer();
  // Both notice the drop and say so.
  await a.locator('body[data-connection="reconnecting"]').waitFor({ timeout: 30000 });
  await b.locator('body[data-connection="reconnecting"]').waitFor({ timeout: 30000 });
  await restarted;
  await a.locator('body[data-connection="online"]').waitFor({ timeout: 30000 });
  await b.locator('body[data-connection="online"]').waitFor({ timeout: 30000 });
  await a.locator(`#contact-list button[data-sid="${bob.sid}"][data-presence="400"]`).waitFor();
  step("both reconnected");

  await a.getByRole("textbox", { name: "Message" }).fill("after the restart");
  await a.getByRole("button", { name: "Send" }).click();
  await contact(b, alice.sid).click();
  await b.locator("#messages li", { hasText: "after the restart" }).waitFor();
  await b.locator("#messages li", { hasText: "before the restart" }).waitFor();
  step("messages flow again");
});
