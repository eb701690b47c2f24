// Two browser users add each other and chat with presence updating live; history and each
// message's fate; the admin console's users, sessions and live metrics. Saves screenshots.
import { assertLabelled, env, newPage, run, shot, signIn, step } from "./lib.mjs";

const [alice, bob] = env.users;

/** The contact button for a sid, in one page. */
const contact = (page, sid) => page.locator(`#contact-list button[data-sid="${sid}"]`);

await run(async (browser, pages) => {
  const a = await newPage(browser);
  const b = await newPage(browser);
  pages.push(a, b);

  await a.goto(env.url + "/");
  await a.getByRole("heading", { name: "Sign in" }).waitFor();
  await shot(a, "sign-in");
  await signIn(a, alice);
  await signIn(b, bob);
  step("both signed in");

  // Alice asks Bob to be a contact; Bob sees the request live and accepts it.
  await a.getByLabel("Add a contact (id or number)").fill(bob.sid);
  await a.getByRole("button", { name: "Add", exact: true }).click();
  await contact(a, bob.sid).waitFor();
  const request = b.locator(`#requests .request[data-sid="${alice.sid}"]`);
  await request.waitFor();
  await request.getByRole("button", { name: "Accept" }).click();
  step("contact request accepted");

  // Presence, live on both sides.
  await a.locator(`#contact-list button[data-sid="${bob.sid}"][data-presence="400"]`).waitFor();
  await b.locator(`#contact-list button[data-sid="${alice.sid}"][data-presence="400"]`).waitFor();
  step("both see each other online");

  // Alice writes; Bob gets it live; Alice sees it delivered.
  await contact(a, bob.sid).click();
  await a.getByRole("textbox", { name: "Message" }).fill("Hello Bob, this is Alice in a browser");
  await a.getByRole("textbox", { name: "Message" }).press("Enter");
  await b.locator(`#contact-list button[data-sid="${alice.sid}"] .unread`).waitFor();
  await contact(b, alice.sid).click();
  await b.locator("#messages li", { hasText: "Hello Bob, this is Alice" }).waitFor();
  await a.locator('#messages li.mine[data-state="delivered"]', { hasText: "Hello Bob" }).waitFor();
  step("message delivered and shown as delivered");

  await b.getByRole("textbox", { name: "Message" }).fill("Hi Alice! Bob here.");
  await b.getByRole("button", { name: "Send" }).click();
  await a.locator("#messages li:not(.mine)", { hasText: "Hi Alice! Bob here." }).waitFor();
  await a.locator('#messages li.mine[data-state="delivered"]').first().waitFor();
  step("reply received");
  await shot(a, "chat");

  // History survives a reload: sign in again and the conversation is there.
  await b.reload();
  await signIn(b, bob);
  await contact(b, alice.sid).click();
  await b.locator("#messages li", { hasText: "Hello Bob, this is Alice" }).waitFor();
  await b.locator("#messages li.mine", { hasText: "Hi Alice! Bob here." }).waitFor();
  step("history after signing in again");

  await assertLabelled(a);
  await assertLabelled(b);
  step("every control labelled");

  // Phone width: the same screen, stacked; signed in with the keyboard only.
  const phone = await newPage(browser, { width: 390, height: 800 });
  pages.push(phone);
  await phone.goto(env.url + "/");
  await phone.getByLabel("Columba id or phone number").focus();
  await phone.keyboard.type(alice.sid);
  await phone.keyboard.press("Tab");
  await phone.keyboard.type(alice.password);
  await phone.keyboard.press("Enter");
  await phone.locator("#workspace").waitFor({ state: "visible" });
  // The tab list moves with the arrow keys.
  await phone.getByRole("tab", { name: "Groups" }).waitFor();
  await phone.getByRole("tab", { name: "Chats" }).focus();
  await phone.keyboard.press("ArrowRight");
  if ((await phone.getByRole("tab", { name: "Chats" }).getAttribute("aria-selected")) !== "false") {
    throw new Error("the arrow key did not move to the next tab");
  }
  await phone.keyboard.press("Home");
  await contact(phone, bob.sid).click();
  await phone.locator("#messages li", { hasText: "Hi Alice! Bob here." }).waitFor();
  await shot(phone, "chat-phone-width");
  await phone.getByRole("button", { name: "Sign out" }).click();
  step("phone width");

  // The password login of sipc.js (SCRAM-SHA-256 by WebCrypto), which the page uses when the
  // server has no single sign-in: right password in, wrong one refused.
  const scram = await phone.evaluate(async ({ sid, password }) => {
    const { SipcClient } = await import("/static/sipc.js");
    const url = `ws://${location.host}/sip`;
    const good = new SipcClient(url);
    await good.connect();
    const doc = await good.login(sid, password);
    const me = doc.querySelector("user-info > personal").getAttribute("sid");
    await good.logout();
    const bad = new SipcClient(url);
    await bad.connect();
    let refused = null;
    try {
      await bad.login(sid, password + "x");
    } catch (error) {
      refused = error.status;
    }
    bad.close();
    return { me, refused };
  }, alice);
  if (scram.me !== alice.sid || scram.refused !== 401) throw new Error(`SCRAM login: ${JSON.stringify(scram)}`);
  step("password login (SCRAM) in the browser");

  // The admin console: token, metrics, users, sessions.
  const admin = await newPage(browser);
  pages.push(admin);
  await admin.goto(env.url + "/admin");
  await admin.locator("#token").fill(env.token);
  await admin.getByRole("button", { name: "Open the console" }).click();
  await admin.locator('[data-metric="columba_messages_received_total"] .value', { hasText: /^[1-9]/ }).waitFor();
  await shot(admin, "admin-metrics");
  await admin.getByRole("tab", { name: "Users" }).click();
  await admin.locator(`#users tr[data-sid="${alice.sid}"]`).waitFor();
  await shot(admin, "admin-users");
  await admin.getByRole("tab", { name: "Sessions" }).click();
  await admin.locator(`#sessions tr[data-sid="${bob.sid}"]`).waitFor();
  await shot(admin, "admin-sessions");
  await assertLabelled(admin);
  step("admin console");

  // Bob goes offline: Alice sees it live. (The admin ends Bob's sessions from the console.)
  await admin.getByRole("button", { name: `End the sessions of ${bob.sid}` }).click();
  await a.locator(`#contact-list button[data-sid="${bob.sid}"][data-presence="0"]`).waitFor();
  step("presence goes offline live");
});
