// IM ⇄ SMS in the browser: Bob goes offline, Alice's message shows as sent by SMS and lands on
// Bob's virtual phone; the phone's reply appears in Alice's chat; the receipt shows as
// "SMS delivered"; the SMS preferences panel.
import { befriend, contact, env, newPage, run, shot, signIn, step } from "./lib.mjs";

const [alice, bob] = env.users;

await run(async (browser, pages) => {
  const a = await newPage(browser);
  const b = await newPage(browser);
  pages.push(a, b);
  await signIn(a, alice);
  await signIn(b, bob);
  await befriend(a, alice, b, bob);
  step("contacts");

  // Bob signs out: Alice sees him go offline.
  await b.getByRole("button", { name: "Sign out" }).click();
  await a.locator(`#contact-list button[data-sid="${bob.sid}"][data-presence="0"]`).waitFor();
  step("bob offline");

  // Alice writes: the server sends it on as SMS, and she is shown so.
  await contact(a, bob.sid).click();
  await a.getByRole("textbox", { name: "Message" }).fill("Bob, are you there? Call me.");
  await a.getByRole("button", { name: "Send" }).click();
  await a.locator('#messages li.mine[data-state="sent_as_sms"], #messages li.mine[data-state="sms_delivered"]').first().waitFor();
  step("shown as sent by SMS");

  // Bob's virtual phone has it.
  await a.getByRole("tab", { name: "Virtual phones" }).click();
  await a.getByLabel("Or another number").fill(bob.number);
  await a.getByRole("button", { name: "Use", exact: true }).click();
  await a.locator("#phone-messages li", { hasText: "Bob, are you there? Call me." }).waitFor();
  step("sms on bob's virtual phone");

  // The phone answers Alice; the reply lands in her chat with Bob.
  await a.getByLabel("Text an IM user (Columba id or number)").fill(alice.sid);
  await a.getByLabel("SMS text").fill("On the train, will call at 6");
  await a.getByRole("button", { name: "Send SMS" }).click();
  await a.locator("#phone-messages li.mine", { hasText: "On the train" }).waitFor();
  await shot(a, "virtual-phones");
  await a.getByRole("tab", { name: "Chats" }).click();
  await a.locator("#messages li:not(.mine)", { hasText: "On the train, will call at 6" }).waitFor();
  step("phone reply in the chat");

  // The SMSC's receipt: "SMS delivered".
  await a.locator('#messages li.mine[data-state="sms_delivered"]', { hasText: "Call me" }).waitFor();
  step("sms delivered");
  await shot(a, "chat-sms");

  // SMS preferences.
  await a.getByRole("tab", { name: "SMS" }).click();
  await a.locator("#sms-summary", { hasText: alice.number }).waitFor();
  await a.getByLabel("From").fill("22:00");
  await a.getByLabel("To", { exact: true }).fill("07:00");
  await a.getByRole("button", { name: "Save SMS settings" }).click();
  await a.locator("#status", { hasText: "SMS settings saved" }).waitFor();
  await a.reload();
  await signIn(a, alice);
  await a.getByRole("tab", { name: "SMS" }).click();
  await a.locator("#sms-summary", { hasText: alice.number }).waitFor();
  if ((await a.getByLabel("From").inputValue()) !== "22:00") throw new Error("quiet hours not kept");
  await shot(a, "sms-settings");
  step("sms settings");
});
