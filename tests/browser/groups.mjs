// Groups with a robot in the browser: Alice creates a group, invites Bob, adds the FAQ robot
// with the default read scope, mentions and commands (shown to every member); Bob asks with
// the robot's command, the robot answers in the group, and both see the answer. The admin console lists the group and its robot.
import { env, newPage, run, shot, signIn, step } from "./lib.mjs";

const [alice, bob] = env.users;
const robot = env.extra.robot || "faq";
const question = env.extra.question || "/faq How many people can be in a group?";

await run(async (browser, pages) => {
  const a = await newPage(browser);
  const b = await newPage(browser);
  pages.push(a, b);
  await signIn(a, alice);
  await signIn(b, bob);

  await a.getByRole("tab", { name: "Groups" }).click();
  await a.getByLabel("Group name").fill("Lunch club");
  await a.getByRole("button", { name: "Create group" }).click();
  await a.locator("#group-title", { hasText: "Lunch club" }).waitFor();
  await a.locator(`#group-members li[data-sid="${alice.sid}"]`).waitFor();
  step("group created");

  await a.getByLabel("Invite a member (Columba id)").fill(bob.sid);
  await a.getByRole("button", { name: "Invite", exact: true }).click();
  await b.getByRole("tab", { name: "Groups" }).click();
  await b.locator("#group-invites .request").getByRole("button", { name: "Join" }).click();
  await b.locator("#group-list button", { hasText: "Lunch club" }).click();
  await b.locator(`#group-members li[data-sid="${alice.sid}"]`).waitFor();
  step("bob joined");

  await a.getByLabel("Add a robot (its name)").fill(robot);
  await a.getByLabel("What the robot may read").selectOption("mentions");
  await a.getByRole("button", { name: "Add robot" }).click();
  await a.locator('#group-members li[data-role="robot"] .scope', { hasText: "reads messages that mention it" }).waitFor();
  // Every member sees what the robot may read.
  await b.locator("#group-list button", { hasText: "Lunch club" }).click();
  await b.locator('#group-members li[data-role="robot"] .scope', { hasText: "reads messages that mention it" }).waitFor();
  const robotSid = await b.locator('#group-members li[data-role="robot"]').first().getAttribute("data-sid");
  step("robot added with its read scope shown");

  await b.getByRole("textbox", { name: "Group message" }).fill(question);
  await b.getByRole("textbox", { name: "Group message" }).press("Enter");
  await a.locator(`#group-messages li[data-from="${bob.sid}"]`, { hasText: question }).waitFor();
  const answer = env.extra.answer || "150";
  await a.locator(`#group-messages li[data-from="${robotSid}"]`, { hasText: answer }).waitFor();
  await b.locator(`#group-messages li[data-from="${robotSid}"]`, { hasText: answer }).waitFor();
  step("robot answered in the group");
  await shot(b, "group-robot");

  const admin = await newPage(browser);
  pages.push(admin);
  await admin.goto(env.url + "/admin");
  await admin.locator("#token").fill(env.token);
  await admin.getByRole("button", { name: "Open the console" }).click();
  await admin.getByRole("tab", { name: "Groups & robots" }).click();
  await admin.locator("#groups tr", { hasText: "Lunch club" }).waitFor();
  await shot(admin, "admin-groups");
  step("admin groups");
});
