// gql calls the API from inside the signed-in page, with the console's own
// token, and returns data (it throws on errors).
import { base } from "./browser.mjs";

export async function gql(page, query, variables = {}) {
  return page.evaluate(async ({ url, query, variables }) => {
    const token = sessionStorage.getItem("outbox.console.token");
    const r = await fetch(url + "/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify({ query, variables }),
    });
    const body = await r.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  }, { url: base, query, variables });
}

// sendMany sends the inputs in one sendNotifications call and returns the
// messages' ids.
export async function sendMany(page, inputs) {
  const d = await gql(page, "mutation($inputs: [SendNotificationInput!]!) { sendNotifications(inputs: $inputs) { id } }", { inputs });
  return d.sendNotifications.map((m) => m.id);
}
